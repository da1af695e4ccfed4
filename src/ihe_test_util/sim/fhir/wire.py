"""FHIR RESTful wire handling for the simulator's FHIR actors: the request as a FHIR call, format
negotiation (``_format``, ``Accept``), resource bodies in JSON or XML, answers, OperationOutcome
errors and searchset Bundles (``total``, ``self`` link, ``_sort``, ``_count``).

JSON is the simulator's own model; XML goes through the FHIR XML writer and reader of
:mod:`ihe_test_util.ihe.jsonxml`.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, quote, urlsplit

from lxml import etree

from ihe_test_util.ihe.jsonxml import JsonViewError, fhir_json, fhir_xml, parse_json_view
from ihe_test_util.ihe.vocabulary import FHIR_MEDIA_JSON, FHIR_MEDIA_XML
from ihe_test_util.safexml import parse_xml
from ihe_test_util.transport.content import decode_content, media_type_of
from ihe_test_util.transport.endpoint import HttpAnswer, HttpCall

JSON_TYPES = frozenset({FHIR_MEDIA_JSON, "application/json", "application/json+fhir"})
XML_TYPES = frozenset({FHIR_MEDIA_XML, "application/xml", "text/xml", "application/xml+fhir"})
#: Media types that ask for a FHIR resource (rather than, for a Binary, the raw content).
FORMAT_TYPES = frozenset({FHIR_MEDIA_JSON, FHIR_MEDIA_XML})
_FORMATS = {"json": "json", "xml": "xml", **dict.fromkeys(JSON_TYPES, "json"),
            **dict.fromkeys(XML_TYPES, "xml")}
#: Search result parameters every search accepts besides its own.
RESULT_PARAMETERS = frozenset({"_format", "_count", "_sort", "_offset", "_pretty", "_summary",
                               "_elements", "_total"})


class FhirError(Exception):
    """An answer with an OperationOutcome: HTTP ``status``, ``issue.code`` and diagnostics;
    ``details`` goes into ``issue.details.text`` (an XDS error code, for MHD)."""

    def __init__(self, status: int, code: str, diagnostics: str, *, details: str | None = None,
                 severity: str = "error", issues: Sequence[dict[str, Any]] = ()) -> None:
        super().__init__(diagnostics)
        self.status = status
        self.issues = list(issues) or [issue(code, diagnostics, details=details,
                                             severity=severity)]


def issue(code: str, diagnostics: str, *, details: str | None = None,
          severity: str = "error", location: str | None = None) -> dict[str, Any]:
    found: dict[str, Any] = {"severity": severity, "code": code}
    if details:
        found["details"] = {"text": details}
    found["diagnostics"] = diagnostics
    if location:
        found["expression"] = [location]
    return found


def operation_outcome(issues: Sequence[dict[str, Any]]) -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "issue": list(issues)}


@dataclass(frozen=True)
class FhirCall:
    """One request under the FHIR base: ``parts`` are the path segments after ``/fhir``."""

    method: str
    parts: tuple[str, ...]
    params: tuple[tuple[str, str], ...]
    headers: Any
    body: bytes
    base: str          # absolute URL of the FHIR base (http://host:port/fhir)
    query: str         # the query string as received
    format: str = "json"

    def values(self, name: str) -> list[str]:
        return [value for key, value in self.params if key == name]

    def first(self, name: str) -> str | None:
        found = self.values(name)
        return found[0] if found else None

    @property
    def url(self) -> str:
        path = "/".join(quote(p, safe="$:") for p in self.parts)
        return f"{self.base}/{path}" + (f"?{self.query}" if self.query else "")

    def resource(self, max_bytes: int) -> dict[str, Any]:
        """The request body as a FHIR JSON resource (JSON or XML on the wire)."""
        content_type = self.headers.get("Content-Type") or ""
        media, params = media_type_of(content_type)
        try:
            data = decode_content(self.body, self.headers.get("Content-Encoding"), max_bytes)
        except ValueError as exc:
            raise FhirError(400, "invalid", f"cannot decode the request body: {exc}") from None
        if not data.strip():
            raise FhirError(400, "required", "the request has no body")
        if media in XML_TYPES or (not media and data.lstrip()[:1] == b"<"):
            try:
                root = parse_xml(data, source="request body")
            except Exception as exc:  # safexml raises its own errors: all are the client's
                raise FhirError(400, "structure", f"the XML body is not readable: {exc}",
                                ) from None
            if etree.QName(root).namespace != "http://hl7.org/fhir":
                raise FhirError(400, "structure", "the XML body is not a FHIR resource "
                                f"(root {root.tag})")
            return fhir_json(root)
        if media and media not in JSON_TYPES:
            raise FhirError(415, "not-supported", f"unsupported Content-Type {media!r}; send "
                            f"{FHIR_MEDIA_JSON} or {FHIR_MEDIA_XML}")
        try:
            parse_json_view(data)  # the project's bounds on nesting and number sizes
            value = json.loads(data.decode(params.get("charset", "utf-8-sig")))
        except (JsonViewError, ValueError, LookupError) as exc:
            raise FhirError(400, "structure", f"the JSON body is not readable: {exc}") from None
        if not isinstance(value, dict) or not isinstance(value.get("resourceType"), str):
            raise FhirError(400, "structure", "the body is not a FHIR resource (no resourceType)")
        return value


def read_call(call: HttpCall, prefix: str) -> FhirCall:
    """``call`` as a FHIR call under ``prefix`` (``/fhir``), its answer format negotiated."""
    split = urlsplit(call.path)
    rest = split.path[len(prefix):].strip("/")
    parts = tuple(p for p in rest.split("/") if p) if rest else ()
    params = tuple(parse_qsl(split.query, keep_blank_values=True))
    media = media_type_of(call.content_type or "")[0]
    if call.method == "POST" and parts[-1:] == ("_search",) and (
            media == "application/x-www-form-urlencoded"):
        try:  # POST [type]/_search: the parameters come in the form body too
            params += tuple(parse_qsl(call.body.decode("utf-8"), keep_blank_values=True))
        except UnicodeDecodeError:
            params += ()
    fhir = FhirCall(call.method, parts, params, call.headers, call.body,
                    call.base_url + prefix, split.query)
    return FhirCall(fhir.method, fhir.parts, fhir.params, fhir.headers, fhir.body, fhir.base,
                    fhir.query, negotiate(fhir))


def negotiate(call: FhirCall) -> str:
    """``json`` or ``xml``: ``_format`` first, then ``Accept``, then the request's own format."""
    wanted = call.first("_format")
    if wanted is not None:
        found = _FORMATS.get(wanted.strip().lower()) or _FORMATS.get(media_type_of(wanted)[0])
        if found is None:
            raise FhirError(406, "not-supported", f"_format {wanted!r} is not supported; use "
                            "json or xml", severity="error")
        return found
    accept = call.headers.get("Accept") or ""
    ranked: list[tuple[float, int, str]] = []
    for position, item in enumerate(accept.split(",")):
        media, params = media_type_of(item)
        if not media:
            continue
        try:
            quality = float(params.get("q", "1"))
        except ValueError:
            quality = 1.0
        ranked.append((-quality, position, media))
    own = media_type_of(call.headers.get("Content-Type") or "")[0]
    fallback = "xml" if own in XML_TYPES else "json"
    for quality, _, media in sorted(ranked):
        if quality == 0:
            continue
        if media in _FORMATS:
            return _FORMATS[media]
        if media in ("*/*", "application/*", "text/*"):
            return fallback
    if ranked and not call.parts[:1] == ("Binary",):
        raise FhirError(406, "not-supported", f"none of Accept {accept!r} can be served; "
                        f"ask for {FHIR_MEDIA_JSON} or {FHIR_MEDIA_XML}")
    return fallback


def render(resource: dict[str, Any], fmt: str, status: int = 200,
           headers: Sequence[tuple[str, str]] = ()) -> HttpAnswer:
    """A resource as an HTTP answer in ``fmt`` (``json`` or ``xml``)."""
    if fmt == "xml":
        body = etree.tostring(fhir_xml(resource), xml_declaration=True, encoding="UTF-8")
        return HttpAnswer(status, body, f"{FHIR_MEDIA_XML};charset=UTF-8", tuple(headers))
    body = json.dumps(resource, ensure_ascii=False, separators=(",", ":")).encode()
    return HttpAnswer(status, body, f"{FHIR_MEDIA_JSON};charset=UTF-8", tuple(headers))


def render_error(error: FhirError, fmt: str) -> HttpAnswer:
    return render(operation_outcome(error.issues), fmt, error.status)


@dataclass
class SortKey:
    """A search parameter ``_sort`` may name: how to read its value from a found item."""

    read: Callable[[Any], str]


@dataclass
class Page:
    """What a searchset needs: every match (already filtered) and how to show each."""

    items: list[Any]
    entry: Callable[[Any], dict[str, Any]]
    sort_keys: dict[str, SortKey] = field(default_factory=dict)


def sort_items(items: list[Any], spec: str | None, keys: dict[str, SortKey]) -> list[Any]:
    """``items`` ordered by ``_sort`` (``a,-b``); an unknown parameter is an error."""
    if not spec:
        return items
    ordered = list(items)
    for name in reversed([p.strip() for p in spec.split(",") if p.strip()]):
        descending = name.startswith("-")
        key = keys.get(name.lstrip("-"))
        if key is None:
            raise FhirError(400, "not-supported", f"_sort by {name.lstrip('-')!r} is not "
                            f"supported; use one of {', '.join(sorted(keys)) or 'none'}")
        ordered.sort(key=lambda item, k=key: k.read(item), reverse=descending)  # type: ignore[misc]
    return ordered


def count_of(call: FhirCall) -> tuple[int | None, int]:
    """``_count`` (None: all) and ``_offset`` of a search."""
    numbers: list[int | None] = []
    for name in ("_count", "_offset"):
        raw = call.first(name)
        if raw is None:
            numbers.append(None)
            continue
        try:
            value = int(raw)
            if value < 0:
                raise ValueError(raw)
        except ValueError:
            raise FhirError(400, "invalid", f"{name} must be a non-negative integer, "
                            f"got {raw!r}") from None
        numbers.append(value)
    return numbers[0], numbers[1] or 0


@dataclass(frozen=True)
class FhirReply:
    """A handler's answer: a resource, its HTTP status and extra headers (``Location``)."""

    resource: dict[str, Any]
    status: int = 200
    headers: tuple[tuple[str, str], ...] = ()
