"""What a recorder reads from a response: its IHE status (for people) and captured values.

The status line uses the comparer's own verdict readers, so what ``ihe record`` shows
(``Success, 2 result(s)``, ``ack AA, query OK, 1 result(s)``, ``SOAP Fault Sender``) is what
``ihe replay`` will compare.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from ihe_test_util.ihe.catalogue import detect_exchange, spec_for
from ihe_test_util.ihe.er7 import ROOT_TAG as ER7_ROOT
from ihe_test_util.ihe.er7 import FieldRef, tree_values
from ihe_test_util.ihe.jsonpath import JsonPath, cut, json_document
from ihe_test_util.ihe.message import Message, message_of
from ihe_test_util.ihe.specs import TransactionSpec
from ihe_test_util.ihe.verdicts import read_verdict
from ihe_test_util.ihe.xpath import values_of
from ihe_test_util.model import Headers, Request, Response
from ihe_test_util.record.variables import Value


@dataclass(frozen=True)
class ResponseReading:
    """The transaction the exchange is (as detected), its status words, the parsed body."""

    transaction: str | None
    status: str | None
    body: Message


def read_response(request: Request, response: Response, transaction: str | None) -> (
        ResponseReading):
    body = message_of(response, source="response")
    spec = _spec(request, response, body, transaction)
    return ResponseReading(spec.id, status_words(body, spec), body)


def _spec(request: Request, response: Response, body: Message, transaction: str | None) -> (
        TransactionSpec):
    if transaction:
        try:
            return spec_for(transaction)
        except KeyError:
            pass
    return detect_exchange(request, response, response_message=body)


_WORDS = {
    "soap_fault": "SOAP Fault {}",
    "error_codes": "errors {}",
    "ack_code": "ack {}",
    "query_response_code": "query {}",
    "msa_code": "MSA {}",
    "result_count": "{} result(s)",
    "bundle_total": "total {}",
}


def status_words(body: Message, spec: TransactionSpec) -> str | None:
    """``Success, 2 result(s)``, ``ack AA, query OK, 1 result(s)``, ``SOAP Fault Sender``, ...
    or None when the body cannot be read."""
    if not body.parsed:
        return None
    parts: list[str] = []
    for verdict in spec.verdicts:
        value = read_verdict(body, verdict).value
        if value is None or value == [] or value == "":
            continue
        if isinstance(value, list):
            value = ", ".join(str(v) for v in value)
        parts.append(_WORDS.get(verdict.name, "{}").format(value))
        if verdict.name == "soap_fault":
            break  # nothing else of a Fault is meaningful
    return ", ".join(parts) or None


@dataclass(frozen=True)
class Captured:
    values: dict[str, Value] = field(default_factory=dict)
    missed: dict[str, str] = field(default_factory=dict)  # name -> why there is no value


class FieldCapture:
    """A capture written as an HL7 v2 field reference (``PID-3[1].1``, ``MSA-1``): the value
    as ER7 text at that place of the response (:func:`ihe_test_util.ihe.er7.tree_values`)."""

    def __init__(self, reference: str) -> None:
        self.ref = FieldRef.parse(reference)
        self.path = str(self.ref)

    def __call__(self, root: etree._Element) -> list[str]:
        return tree_values(root, self.ref) if root.tag == ER7_ROOT else []


class JsonCapture:
    """A capture written ``{json: PATH, pattern: RE}``: values of a JSON (or FHIR XML) body
    selected by a JSON path (:class:`ihe_test_util.ihe.jsonpath.JsonPath`, the code of
    replay's ``[[correlate]]`` ``json`` rules), each cut by the pattern."""

    def __init__(self, path: JsonPath, pattern: re.Pattern[str] | None = None) -> None:
        self.json_path = path
        self.pattern = pattern
        self.path = f"json {path.text}"

    def read(self, body: Message, headers: Headers) -> tuple[list[str], str | None]:
        document = json_document(body)
        if document is not None:
            return cut(self.json_path.values(document), self.pattern), None
        if body.root is not None and body.kind == "xml":  # FHIR XML: the same path on the tree
            return cut(self.json_path.tree_values(body.root), self.pattern), None
        return [], f"the response is neither JSON nor FHIR XML ({body.error or body.kind})"


class HeaderCapture:
    """A capture written ``{header: NAME, pattern: RE}``: the response header's values (a
    ``Location``, an ``ETag``), each cut by the pattern."""

    def __init__(self, name: str, pattern: re.Pattern[str] | None = None) -> None:
        self.name = name
        self.pattern = pattern
        self.path = f"header {name}"

    def read(self, body: Message, headers: Headers) -> tuple[list[str], str | None]:
        return cut((value.strip() for value in headers.get_all(self.name)), self.pattern), None


#: How a capture reads a response: an XPath, an HL7 v2 field reference, a JSON path or a
#: response header.
Capturer = etree.XPath | FieldCapture | JsonCapture | HeaderCapture


def capture(body: Message, xpaths: Mapping[str, Capturer], *,
            headers: Headers | None = None) -> Captured:
    """Evaluate every capture on the response (XPath on the SOAP envelope, root part of MTOM,
    or the XML view of a FHIR JSON body; an HL7 v2 field reference on an ER7 message; a JSON
    path on a JSON body; a header on the response's ``headers``); values are read as replay's
    ``[[correlate]]`` rules read them (:func:`ihe_test_util.ihe.xpath.node_value`)."""
    result = Captured()
    for name, xpath in xpaths.items():
        if isinstance(xpath, (JsonCapture, HeaderCapture)):
            found, reason = xpath.read(body, headers if headers is not None else Headers())
            if reason is not None:
                result.missed[name] = reason
            elif not found:
                result.missed[name] = f"{xpath.path!r} matched nothing in the response"
            else:
                result.values[name] = found[0] if len(found) == 1 else found
            continue
        if body.root is None:
            result.missed[name] = f"the response is not XML ({body.error or body.kind})"
            continue
        try:
            found = values_of(xpath(body.root))
        except etree.XPathError as exc:
            result.missed[name] = f"XPath failed: {exc}"
            continue
        if not found:
            what = "field" if isinstance(xpath, FieldCapture) else "XPath"
            result.missed[name] = f"{what} {xpath.path!r} matched nothing in the response"
        else:
            result.values[name] = found[0] if len(found) == 1 else found
    return result


def flatten(values: Mapping[str, Value]) -> dict[str, str]:
    """Captured values as the cassette stores them: lists as ``name[0]``, ``name[1]``, ..."""
    flat: dict[str, str] = {}
    for name, value in values.items():
        if isinstance(value, list):
            flat.update({f"{name}[{index}]": item for index, item in enumerate(value)})
        else:
            flat[name] = value
    return flat
