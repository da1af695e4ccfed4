"""Readable views of bodies a reviewer cannot read as stored.

vcrpy plays back ``body.string`` and nothing else, so a body that is not UTF-8 text (an MTOM
message with a PDF attachment, an ISO-8859-1 HL7 message, a gzip-coded FHIR response) has to be
stored there as exact ``!!binary``, and a minified JSON body is one line of thousands of
characters. A reviewer cannot read either, so beside the body we write a *view*: the MIME parts
of a multipart body (text parts as text, binary parts as size and SHA-256), the text of a
single-part body decoded with its declared charset, the body a ``Content-Encoding`` (gzip,
deflate, br) stands for (``content_encoding`` and what the decoded body shows), and JSON
indented (``json``) when the server sent it minified. The view is derived data: it is written
on save and checked against the body on load, so it can never show something that does not
play back.
"""

from __future__ import annotations

import codecs
import hashlib
import json
import re
from dataclasses import dataclass
from email.parser import BytesHeaderParser
from typing import Any

from ihe_test_util.model import Headers
from ihe_test_util.transport.content import decode_content, media_type_of
from ihe_test_util.transport.mtom import content_type_params, is_multipart

#: Bytes looked at first to tell text from binary without decoding a whole large part.
_SAMPLE_BYTES = 64 * 1024
#: Share of control characters above which UTF-8 bytes are treated as binary, not text.
MAX_CONTROL_SHARE = 0.01
# Controls that real text carries: TAB, LF, VT, FF, CR, ESC, FS (HL7 MLLP framing uses VT/FS).
_BINARY_CONTROL = re.compile("[\x00-\x08\x0e-\x1a\x1d-\x1f\x7f]")
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8_NAMES = frozenset({"utf-8", "utf8"})
#: A JSON body gets an indented view when one of its lines is longer than this (minified).
JSON_VIEW_LINE_CHARS = 160
#: Largest JSON body indented for its view (bigger ones are shown as stored).
MAX_JSON_VIEW_BYTES = 8 * 1024 * 1024


def as_text(data: bytes, encoding: str = "utf-8") -> str | None:
    """``data`` decoded, if it is text in ``encoding``: no NUL, few other control characters."""
    if len(data) > _SAMPLE_BYTES:  # a large binary body fails here, before a full decode
        try:
            codecs.getincrementaldecoder(encoding)().decode(data[:_SAMPLE_BYTES], final=False)
        except (UnicodeDecodeError, LookupError):
            return None
    try:
        text = data.decode(encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    if "\x00" in text:
        return None
    if text and len(_BINARY_CONTROL.findall(text)) > len(text) * MAX_CONTROL_SHARE:
        return None
    return text


def declared_charset(data: bytes, content_type: str | None) -> str | None:
    """The charset a body declares: Content-Type ``charset=``, else the XML declaration."""
    if content_type:
        charset = content_type_params(content_type)[1].get("charset")
        if charset:
            return charset.strip().lower()
    match = _XML_ENCODING.match(data[:200])
    return match.group(1).decode("ascii").lower() if match else None


@dataclass(frozen=True)
class MimeSpan:
    """One MIME part located in a body: its headers and where its content lies (no copy)."""

    headers: Headers
    start: int
    end: int


def mime_spans(body: bytes, content_type: str | None) -> list[MimeSpan] | None:
    """The parts of a multipart body, in wire order, as offsets; None if it is not one.

    :func:`ihe_test_util.transport.mtom.parse_multipart` copies every part twice, which for a
    50 MB attachment is 100 MB more; views and redaction only need where the parts are.
    """
    if not content_type or not is_multipart(content_type):
        return None
    boundary = content_type_params(content_type)[1].get("boundary")
    if not boundary:
        return None
    delimiter = b"--" + boundary.encode("latin-1")
    position = body.find(delimiter)
    spans: list[MimeSpan] = []
    while position >= 0:
        after = position + len(delimiter)
        if body.startswith(b"--", after):
            return spans or None  # the closing delimiter
        header_start = body.find(b"\r\n", after) + 2
        header_end = body.find(b"\r\n\r\n", header_start - 2)
        if header_start < 2 or header_end < 0:
            return None
        start = header_end + 4
        position = body.find(b"\r\n" + delimiter, header_end)
        if position < 0:
            return None  # truncated: no next delimiter
        message = BytesHeaderParser().parsebytes(body[header_start:header_end])
        headers = Headers((name, str(value)) for name, value in message.items())
        spans.append(MimeSpan(headers, start, position))
        position += 2
    return None


def readable_text(data: bytes | memoryview, encoding: str) -> tuple[str, int] | None:
    """Text to show for ``data``: decoded strictly, else with U+FFFD for the (rare) invalid
    sequences, and the number replaced; None for binary data."""
    if len(data) > _SAMPLE_BYTES and _decoded(data[:_SAMPLE_BYTES], encoding) is None:
        return None  # clearly binary: do not decode megabytes to find out
    return _decoded(data, encoding)


def _decoded(data: bytes | memoryview, encoding: str) -> tuple[str, int] | None:
    try:
        text, replaced = str(data, encoding), 0
    except LookupError:
        return _decoded(data, "utf-8") if encoding != "utf-8" else None
    except UnicodeDecodeError:
        text = str(data, encoding, "replace")
        replaced = text.count("\ufffd")
    if "\x00" in text:
        return None
    unusual = replaced + sum(1 for _ in _BINARY_CONTROL.finditer(text))
    if text and unusual > len(text) * MAX_CONTROL_SHARE:
        return None
    return text, replaced


def body_view(body: bytes, content_type: str | None,
              content_encoding: str | None = None) -> dict[str, Any] | None:
    """The readable view of a body as stored, or None when it reads well as it is (text)."""
    coding = (content_encoding or "").strip()
    if coding and coding.lower() != "identity" and body:
        try:
            decoded = decode_content(body, coding)
        except ValueError as exc:
            return {"content_encoding": coding, "undecodable": str(exc)}
        inner = _readable(decoded, content_type)
        if inner is None:
            inner = {"binary": {"size": len(decoded),
                                "sha256": hashlib.sha256(decoded).hexdigest()}}
        return {"content_encoding": coding, **inner}
    if as_text(body) is not None:  # stored as text: only minified JSON needs a view
        return _json_view(body, content_type, minified_only=True)
    return _readable(body, content_type)


def _readable(body: bytes, content_type: str | None) -> dict[str, Any] | None:
    if content_type and is_multipart(content_type):
        spans = mime_spans(body, content_type)
        if spans is None:
            return None
        content = memoryview(body)
        return {"parts": [_part_view(span.headers, content[span.start:span.end])
                          for span in spans]}
    json_view = _json_view(body, content_type, minified_only=True)
    if json_view is not None:
        return json_view
    return _text_view(body, declared_charset(body, content_type))


def _json_view(body: bytes, content_type: str | None, *,
               minified_only: bool) -> dict[str, Any] | None:
    """``{"json": indented}`` for a JSON body (by media type, else by its first character)
    that was minified: a line longer than :data:`JSON_VIEW_LINE_CHARS`, and indenting it at
    least doubles its lines; None otherwise."""
    if not body or len(body) > MAX_JSON_VIEW_BYTES:
        return None
    media = media_type_of(content_type)[0].lower() if content_type else ""
    if media:
        if not media.endswith(("/json", "+json")):
            return None
    elif body.lstrip()[:1] not in (b"{", b"["):
        return None
    if minified_only and max(map(len, body.splitlines()), default=0) <= JSON_VIEW_LINE_CHARS:
        return None
    try:
        value = json.loads(body.decode("utf-8-sig"))
    except (RecursionError, UnicodeDecodeError, ValueError):
        return None
    pretty = json.dumps(value, indent=2, ensure_ascii=False) + "\n"
    if minified_only and pretty.count("\n") < 2 * (body.count(b"\n") + 1):
        return None  # laid out already (one long narrative line is no reason for a view)
    return {"json": pretty}


def _text_view(data: bytes | memoryview, charset: str | None) -> dict[str, Any] | None:
    decoded = readable_text(data, charset or "utf-8")
    if decoded is None:
        return None
    text, replaced = decoded
    view: dict[str, Any] = {}
    if charset and charset not in _UTF8_NAMES:
        view["charset"] = charset
    if replaced:
        view["replaced"] = replaced  # invalid byte sequences shown as U+FFFD
    view["text"] = text
    return view


def _part_view(headers: Headers, content: memoryview) -> dict[str, Any]:
    view: dict[str, Any] = {"headers": headers.as_multidict()}
    charset = declared_charset(bytes(content[:200]), headers.get("Content-Type"))
    text_view = _text_view(content, charset)
    if text_view is not None:
        view.update(text_view)
    else:
        view["binary"] = {"size": len(content), "sha256": hashlib.sha256(content).hexdigest()}
    return view
