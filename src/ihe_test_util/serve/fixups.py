"""Making a recorded response consistent with the request that is being answered now.

A recorded response echoes the *recorded* request: its ``wsa:RelatesTo`` names the recorded
``wsa:MessageID``, its HL7 v3 ``acknowledgement/targetMessage/id`` and ``queryAck/queryId``
name the recorded message and query. A client checks those against what it just sent, so:

* every echo the catalogue declares for the transaction
  (:attr:`~ihe_test_util.ihe.specs.TransactionSpec.echoes`: RelatesTo, targetMessage id,
  queryAck queryId, the echoed queryByParameter) is set from the incoming request;
* the values a server makes up per response (:data:`FRESH_VALUES`: ``wsa:MessageID``, the HL7
  v3 message id and creationTime) are made fresh, in the recorded spelling;
* identifiers the client chose differently from the recording are put back in
  (:class:`~ihe_test_util.serve.renames.Renames`);
* MTOM responses are re-packaged with a fresh boundary and Content-IDs (``xop:Include`` hrefs
  follow; attachment bytes are untouched); Content-Length is computed by the server.

A recorded ``Content-Encoding`` (gzip, deflate, br) is undone by the message reader and the
fixed body is served decoded (the header dropped). Bodies that are not XML are served as
recorded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from copy import deepcopy
from dataclasses import dataclass
from functools import lru_cache

from lxml import etree

from ihe_test_util.cassette import find_placeholders
from ihe_test_util.ihe.identifiers import DEFAULT_IDS
from ihe_test_util.ihe.idmap import IdMap
from ihe_test_util.ihe.message import Message, Reader, message_of
from ihe_test_util.ihe.patterns import Pattern, compile_patterns
from ihe_test_util.ihe.specs import Echo, TransactionSpec, ValueKind
from ihe_test_util.ihe.xpath import PerThread, identifier_attribute
from ihe_test_util.model import Response
from ihe_test_util.safexml import serialise_like
from ihe_test_util.serve.renames import Renames
from ihe_test_util.transport.endpoint import HttpAnswer
from ihe_test_util.transport.hop_by_hop import HOP_BY_HOP
from ihe_test_util.transport.mtom import repackage

#: Response values a server makes up for every response: made fresh when serving.
FRESH_VALUES: tuple[tuple[str, ValueKind], ...] = (
    ("/Envelope/Header/MessageID", ValueKind.MESSAGE_ID),
    ("/Envelope/Body/*[hl7:interactionId]/hl7:id", ValueKind.HL7_ID),
    ("/Envelope/Body/*[hl7:interactionId]/hl7:creationTime/@value", ValueKind.TIMESTAMP),
)
#: Response headers never replayed: hop-by-hop ones, or values about this server.
HOP_HEADERS = HOP_BY_HOP | {"date", "server", "content-type"}


@dataclass(frozen=True)
class EchoValue:
    """What the incoming request holds where a response echoes it (None: nothing there)."""

    echo: Echo
    value: str | etree._Element | None


def capture_echoes(spec: TransactionSpec, root: etree._Element) -> tuple[EchoValue, ...]:
    """The request side of every echo of ``spec``, read before anything is blanked."""
    captured = []
    for echo in spec.echoes:
        node = _first(_patterns(echo.request), root)
        value: str | etree._Element | None
        if isinstance(node, etree._Element) and _is_text_value(node):
            # wsa:MessageID: its value is its text; its attributes (soap:mustUnderstand,
            # wsu:Id) say how the request header is processed, not what it names.
            value = (node.text or "").strip()
        elif isinstance(node, etree._Element):
            value = deepcopy(node)  # an HL7 II, an echoed queryByParameter
        else:
            value = None if node is None else str(node).strip()
        captured.append(EchoValue(echo, value))
    return tuple(captured)


def _is_text_value(node: etree._Element) -> bool:
    """Whether an echoed request element is a plain text value (no child elements, text, or
    no attributes either), rather than a structure copied as a whole (an HL7 II's
    attributes, a queryByParameter's children)."""
    has_children = any(isinstance(child.tag, str) for child in node)
    return not has_children and (bool((node.text or "").strip()) or not node.attrib)


def fix_response(response: Response, echoes: Iterable[EchoValue], renames: Renames, *,
                 read: Reader | None = None, base_url: str = "",
                 origins: tuple[str, ...] = ()) -> HttpAnswer:
    """The recorded ``response`` made consistent with the request being answered.

    It is parsed afresh, or taken from a shared ``read`` (a cache) and copied: the fix-ups
    edit the tree. Absolute URLs to the recorded server (``origins``) in headers and text
    bodies point to ``base_url`` instead (the stub).
    """
    headers = tuple((name, value) for name, value in response.headers
                    if name.lower() not in HOP_HEADERS and not find_placeholders(value))
    content_type = response.content_type or "application/octet-stream"
    message = message_of(response, source="recorded response") if read is None else \
        read(response, "recorded response").private()
    body = response.body
    decoded = False
    if message.kind == "xml":
        body, content_type = _fixed(message, content_type, echoes, renames)
        decoded = True
    elif message.kind == "json":  # FHIR: the client's identifiers back in, as text
        body = message.raw
        if len(renames):
            body = renames.client_text(body.decode("utf-8", "replace")).encode("utf-8")
        decoded = True
    if decoded:
        # The reader undid any Content-Encoding: the fixed body goes out decoded (identity
        # is acceptable to every client), so its echoes are the request's, not the recording's.
        headers = tuple((name, value) for name, value in headers
                        if name.lower() != "content-encoding")
    if base_url and origins:
        rebase = _rebaser(origins, base_url)
        if decoded and message.mime is None:
            body = rebase(body)
        headers = tuple((name, rebase(value.encode("latin-1", "replace")).decode("latin-1")
                         if name.lower() in _URL_HEADERS else value)
                        for name, value in headers)
    return HttpAnswer(response.status, body, content_type, headers)


#: Response headers that hold URLs of the server (FHIR: Location after a create, paging Link).
_URL_HEADERS = frozenset({"location", "content-location", "link"})


@lru_cache(maxsize=64)
def _rebaser(origins: tuple[str, ...], base_url: str) -> Callable[[bytes], bytes]:
    """``origin`` -> ``base_url`` wherever an origin starts a URL (also JSON's ``\\/``
    spelling), never inside a longer host or port (``:8080`` is not ``:80801``)."""
    spellings: dict[bytes, bytes] = {}
    base = base_url.rstrip("/").encode()
    for origin in origins:
        spellings[origin.encode()] = base
        spellings[origin.replace("/", "\\/").encode()] = base.replace(b"/", b"\\/")
    pattern = re.compile(b"(?:" + b"|".join(re.escape(o) for o in sorted(
        spellings, key=len, reverse=True)) + rb")(?![\w.:\-])")

    def rebase(data: bytes) -> bytes:
        return pattern.sub(lambda m: spellings[m.group(0)], data)

    return rebase


def _fixed(message: Message, content_type: str, echoes: Iterable[EchoValue],
           renames: Renames) -> tuple[bytes, str]:
    """The body of a (private) XML ``message`` with the fix-ups made; MTOM gets fresh framing
    (boundary and Content-IDs) around the fixed root part, attachments byte for byte."""
    root = message.root
    assert root is not None
    changed = _fix_tree(root, echoes, renames)
    if message.mime is not None:
        packed = repackage(root, message.mime, content_type, domain="ihe-serve", strict=False)
        return packed.body, packed.content_type
    return (serialise_like(root, message.raw) if changed else message.raw), content_type


def _fix_tree(root: etree._Element, echoes: Iterable[EchoValue], renames: Renames) -> bool:
    changed = False
    for echo in echoes:
        for node in _select(_patterns(echo.echo.response), root):
            changed = _put(node, echo.value) or changed
    for pattern, kind in FRESH_VALUES:
        for node in _select(_patterns(pattern), root):
            changed = _refresh(node, kind) or changed
    if len(renames):
        changed = renames.to_client(root) > 0 or changed
    return changed


def _put(node: object, value: str | etree._Element | None) -> bool:
    """Set an echoing node to the request's value; remove it when the request has none."""
    if isinstance(node, etree._Element):
        if value is None:
            parent = node.getparent()
            if parent is not None:
                parent.remove(node)
            return True
        if isinstance(value, etree._Element):
            node.attrib.clear()
            node.attrib.update(value.attrib)
            node.text = value.text
            node[:] = [deepcopy(child) for child in value]
        else:
            node.text = value
        return True
    if isinstance(node, etree._ElementUnicodeResult) and node.is_attribute and \
            isinstance(value, str):
        parent = node.getparent()
        if parent is not None:
            parent.set(str(node.attrname), value)
            return True
    return False


def _refresh(node: object, kind: ValueKind) -> bool:
    fresh = IdMap()
    if isinstance(node, etree._Element):
        if kind is ValueKind.MESSAGE_ID:
            node.text = fresh.fresh(node.text or "", kind)
            return True
        attribute = identifier_attribute(node)
        if attribute is not None:
            node.set(attribute, fresh.fresh(node.get(attribute) or "", kind))
            return True
        return False
    if isinstance(node, etree._ElementUnicodeResult) and node.is_attribute:
        parent = node.getparent()
        if parent is not None:
            parent.set(str(node.attrname), DEFAULT_IDS.timestamp_like(str(node)))
            return True
    return False


# -- patterns (compiled once per thread: the server answers on several) -----------------------

_patterns: PerThread[tuple[Pattern, ...]] = PerThread(compile_patterns)


def _first(patterns: tuple[Pattern, ...], root: etree._Element) -> object | None:
    for pattern in patterns:
        for node in pattern.select(root):
            return node
    return None


def _select(patterns: tuple[Pattern, ...], root: etree._Element) -> list[object]:
    for pattern in patterns:
        found = pattern.select(root)
        if found:
            return found
    return []
