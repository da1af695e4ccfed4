"""What a REST / FHIR client asks for: the format it wants back (content negotiation), and
whether it is a FHIR client at all (then refusals are OperationOutcomes, not SOAP faults).

FHIR (R4 http.html#mime-type) lets a client choose the response format with ``_format``
(``json``, ``xml``, ``application/fhir+json``, ...), which wins, or with ``Accept``. A server
answers the same search 200 in JSON and 406 in XML, so the format is part of serve's match
key: two requests that differ only in what they accept are different requests.
"""

from __future__ import annotations

from urllib.parse import parse_qsl

from ihe_test_util.model import Headers
from ihe_test_util.transport.content import media_type_of

JSON = "json"
XML = "xml"
#: Media types (and ``_format`` values) -> the format they name; anything else names none.
_FORMATS = {
    "json": JSON, "application/json": JSON, "application/fhir+json": JSON,
    "application/json+fhir": JSON, "text/json": JSON,
    "xml": XML, "application/xml": XML, "application/fhir+xml": XML,
    "application/xml+fhir": XML, "text/xml": XML,
}
_SOAP_MEDIA = frozenset({"application/soap+xml"})


def wanted_format(headers: Headers, query: str) -> str:
    """``json``, ``xml``, another media type asked for, or ``""`` (no preference: no Accept,
    ``*/*``). ``_format`` wins over ``Accept``; of several ``Accept`` types the first with the
    highest ``q`` counts."""
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name == "_format" and value.strip():
            return _format_of(value)
    accept = headers.get("Accept") or ""
    best, best_q = "", 0.0
    for item in accept.split(","):
        if "/" not in item:
            continue
        media, params = media_type_of(item)
        if not media or media == "*/*":
            continue
        try:
            q = float(params.get("q", "1"))
        except ValueError:
            q = 1.0
        if q > best_q:
            best, best_q = _format_of(media), q
    return best


def _format_of(value: str) -> str:
    text = value.strip().lower().replace(" ", "+")  # an unencoded "+" in a query
    media = media_type_of(text)[0] if "/" in text else text
    return _FORMATS.get(media, media)


def response_format(content_type: str | None) -> str:
    """The format a response is in (``json``, ``xml``, another media type, ``""``)."""
    return _format_of(content_type) if content_type else ""


def is_soap_media(content_type: str | None) -> bool:
    """Whether a Content-Type announces SOAP (SOAP 1.2's media type, or MTOM's SOAP root)."""
    media, params = media_type_of(content_type or "")
    return media in _SOAP_MEDIA or params.get("type", "").lower() in (
        "application/soap+xml", "text/xml")


__all__ = ["JSON", "XML", "is_soap_media", "response_format", "wanted_format"]
