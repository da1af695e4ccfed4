"""Readable views of bodies that must be stored as base64.

vcrpy plays back ``body.string`` and nothing else, so a body that is not UTF-8 text (an MTOM
message with a PDF attachment, an ISO-8859-1 HL7 message) has to be stored there as exact
``!!binary``. A reviewer cannot read base64, so beside it we write a *view*: the MIME parts of a
multipart body (text parts as text, binary parts as size and SHA-256), or the text of a
single-part body decoded with its declared charset. The view is derived data: it is written
on save and checked against the body on load, so it can never show something that does not
play back.
"""

from __future__ import annotations

import hashlib
import re
from typing import Any

from ihe_test_util.errors import XmlInputError
from ihe_test_util.transport.mtom import (
    MimePart,
    content_type_params,
    is_multipart,
    parse_multipart,
)

#: Share of control characters above which UTF-8 bytes are treated as binary, not text.
MAX_CONTROL_SHARE = 0.01
# Controls that real text carries: TAB, LF, VT, FF, CR, ESC, FS (HL7 MLLP framing uses VT/FS).
_BINARY_CONTROL = re.compile("[\x00-\x08\x0e-\x1a\x1d-\x1f\x7f]")
_XML_ENCODING = re.compile(rb"""^\s*<\?xml[^>]*?encoding\s*=\s*["']([A-Za-z0-9._-]+)["']""")
_UTF8_NAMES = frozenset({"utf-8", "utf8"})


def as_text(data: bytes, encoding: str = "utf-8") -> str | None:
    """``data`` decoded, if it is text in ``encoding``: no NUL, few other control characters."""
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


def readable_text(data: bytes, encoding: str) -> tuple[str, int] | None:
    """Text to show for ``data``: decoded strictly, else with U+FFFD for the (rare) invalid
    sequences, and the number replaced; None for binary data."""
    try:
        text, replaced = data.decode(encoding), 0
    except LookupError:
        return readable_text(data, "utf-8") if encoding != "utf-8" else None
    except UnicodeDecodeError:
        text = data.decode(encoding, errors="replace")
        replaced = text.count("\ufffd")
    if "\x00" in text:
        return None
    unusual = replaced + len(_BINARY_CONTROL.findall(text))
    if text and unusual > len(text) * MAX_CONTROL_SHARE:
        return None
    return text, replaced


def body_view(body: bytes, content_type: str | None) -> dict[str, Any] | None:
    """The readable view of a body stored as ``!!binary``, or None when there is none to give."""
    if content_type and is_multipart(content_type):
        try:
            message = parse_multipart(body, content_type)
        except XmlInputError:
            return None
        return {"parts": [_part_view(part) for part in (message.root, *message.attachments)]}
    return _text_view(body, declared_charset(body, content_type))


def _text_view(data: bytes, charset: str | None) -> dict[str, Any] | None:
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


def _part_view(part: MimePart) -> dict[str, Any]:
    view: dict[str, Any] = {"headers": part.headers.as_multidict()}
    text_view = _text_view(part.content, declared_charset(part.content, part.content_type))
    if text_view is not None:
        view.update(text_view)
    else:
        view["binary"] = {
            "size": len(part.content),
            "sha256": hashlib.sha256(part.content).hexdigest(),
        }
    return view
