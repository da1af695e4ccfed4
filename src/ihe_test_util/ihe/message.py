"""The one message reader: bytes + headers -> an immutable parsed :class:`Message`.

Every part of the harness that needs to know what a request or response *says* (correlation,
regeneration input, comparison, serve matching, recording, reports) reads it here, so content
codings (``gzip``, ``deflate``, ``br``, stacked), the UTF-8 BOM, a declared charset, MTOM/XOP
packaging, the SOAP payload and the SOAP action are each handled in exactly one place. The
format-neutral steps (codings, MTOM root part, BOM/charset, SOAP payload) are
:mod:`ihe_test_util.transport.content`, which the SOAP client and server share; this module
adds what needs IHE knowledge (HL7 v2, JSON, actions, detection) and the per-run cache.

SOAP (plain or MTOM/XOP multipart), bare XML, HL7 v2 ER7 and JSON all become one lxml tree
(see :mod:`ihe_test_util.ihe.er7`, :mod:`ihe_test_util.ihe.jsonxml`). A body that cannot be
read is not an exception: it is a message of kind ``unparseable`` whose ``error`` says why,
because "the response can no longer be parsed" is itself a finding.

**Trees are shared and read-only.** A message is parsed once per run and the same tree is read
by correlation, detection, verdicts and the comparer, so nobody may edit ``root`` (or any
element reached from it). Code that needs to change a tree takes :meth:`Message.editable`, a
private deep copy (much cheaper than parsing the bytes again).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Literal

from lxml import etree

from ihe_test_util.errors import XmlInputError
from ihe_test_util.ihe.er7 import Er7Error, looks_like_er7, parse_er7
from ihe_test_util.ihe.jsonxml import JsonViewError, parse_json_view
from ihe_test_util.model import Headers, Request, Response
from ihe_test_util.safexml import MAX_XML_BYTES
from ihe_test_util.transport.content import (
    BOM,
    ENVELOPES,
    decode_content,
    media_type_of,
    parse_xml_body,
    payload_of,
    root_part,
    soap_child,
)
from ihe_test_util.transport.content import UTF8_CHARSETS as _UTF8
from ihe_test_util.transport.mtom import MimePart, MultipartMessage

MessageKind = Literal["xml", "hl7v2", "json", "binary", "empty", "unparseable"]

#: Media types whose bodies are not text: not parsed, compared by bytes.
_BINARY_PREFIXES = ("image/", "audio/", "video/")
_BINARY_TYPES = frozenset({
    "application/octet-stream", "application/pdf", "application/zip", "application/gzip",
    "application/dicom",
})


@dataclass(frozen=True, eq=False)
class Message:
    """A parsed request or response body. ``root`` is None exactly when ``kind`` is
    ``empty``, ``binary`` or ``unparseable``; it is shared: read it, never edit it
    (:meth:`editable` gives a private copy)."""

    kind: MessageKind
    root: etree._Element | None = None
    error: str | None = None
    #: The MIME package of a multipart body that could be split (root part and attachments,
    #: bytes as sent): what an MTOM body is re-packaged from.
    mime: MultipartMessage | None = None
    multipart: bool = False
    #: The media type of the HTTP body (``multipart/related`` for MTOM), lower case.
    media_type: str = ""
    #: The decoded bytes the tree was read from (the root part of a multipart body).
    raw: bytes = b""
    #: Actions from the HTTP headers (Content-Type ``action``/``start-info-action``,
    #: SOAPAction), in that order; see :attr:`actions` for the full list.
    header_actions: tuple[str, ...] = ()

    @property
    def attachments(self) -> tuple[MimePart, ...]:
        """The non-root MIME parts of a multipart body (Content-ID, media type, bytes)."""
        return self.mime.attachments if self.mime is not None else ()

    @property
    def parsed(self) -> bool:
        return self.root is not None

    @property
    def envelope(self) -> etree._Element | None:
        """The SOAP Envelope, when the body is one."""
        if self.root is not None and self.root.tag in ENVELOPES:
            return self.root
        return None

    @cached_property
    def payload(self) -> etree._Element | None:
        """What the transaction is about: the first element in the SOAP Body, else the root."""
        return payload_of(self.root)

    @cached_property
    def actions(self) -> tuple[str, ...]:
        """Every action the message names: wsa:Action first, then the HTTP header ones."""
        return tuple(dict.fromkeys((*_wsa_actions(self.envelope), *self.header_actions)))

    @property
    def action(self) -> str | None:
        """The SOAP action (wsa:Action, else Content-Type ``action``, else SOAPAction)."""
        return self.actions[0] if self.actions else None

    def editable(self) -> etree._Element | None:
        """A private deep copy of ``root`` for code that changes the tree."""
        return deepcopy(self.root) if self.root is not None else None

    def private(self) -> Message:
        """This message over a private copy of the tree (for readers that edit it)."""
        return replace(self, root=self.editable()) if self.root is not None else self


def attachment_sha256(part: MimePart) -> str:
    """The digest an attachment is compared by."""
    return hashlib.sha256(part.content).hexdigest()


def header_actions(headers: Headers) -> tuple[str, ...]:
    """The SOAP action as HTTP headers carry it: Content-Type ``action`` (SOAP 1.2) and
    ``start-info-action`` (MTOM), then ``SOAPAction`` (SOAP 1.1)."""
    found: list[str] = []
    content_type = headers.get("Content-Type")
    if content_type:
        params = media_type_of(content_type)[1]
        for name in ("action", "start-info-action"):
            value = params.get(name, "").strip()
            if value:
                found.append(value)
    soap_action = (headers.get("SOAPAction") or "").strip().strip('"').strip()
    if soap_action:
        found.append(soap_action)
    return tuple(found)


def _wsa_actions(envelope: etree._Element | None) -> tuple[str, ...]:
    if envelope is None:
        return ()
    header = soap_child(envelope, "Header")
    if header is None:
        return ()
    return tuple(
        element.text.strip() for element in header
        if isinstance(element.tag, str) and etree.QName(element).localname == "Action"
        and element.text and element.text.strip()
    )


# -- reading --------------------------------------------------------------------------------


def message_of(message: Request | Response, *, source: str | None = None,
               max_bytes: int = MAX_XML_BYTES) -> Message:
    """Read a model request or response (see :func:`read_message`)."""
    return read_message(message.body, message.headers, source=source, max_bytes=max_bytes)


def read_message(data: bytes, headers: Headers | None = None, *,
                 content_type: str | None = None, source: str | None = None,
                 max_bytes: int = MAX_XML_BYTES) -> Message:
    """Parse a body by its headers (Content-Encoding, Content-Type), else by its first bytes.

    ``content_type`` is for callers that have only that header. Decoded bodies above
    ``max_bytes`` are not parsed (decompression bombs): the message says so.
    """
    headers = headers if headers is not None else Headers()
    if content_type is None:
        content_type = headers.get("Content-Type")
    elif "Content-Type" not in headers:
        headers = headers.with_value("Content-Type", content_type)
    media, params = media_type_of(content_type) if content_type else ("", {})
    actions = header_actions(headers)
    try:
        data = decode_content(data, headers.get("Content-Encoding"), max_bytes)
    except ValueError as exc:
        return Message("unparseable", error=str(exc), media_type=media, raw=data,
                       header_actions=actions, multipart=media.startswith("multipart/"))
    if media.startswith("multipart/"):
        return _read_multipart(data, content_type or "", media, actions, source, max_bytes)
    if not data or data.isspace():
        return Message("empty", error="the body is empty", media_type=media,
                       header_actions=actions)
    return _read_single(data, media, params.get("charset"), source, max_bytes, actions)


def _read_multipart(data: bytes, content_type: str, media: str, actions: tuple[str, ...],
                    source: str | None, max_bytes: int) -> Message:
    try:
        part = root_part(data, content_type, source=source)
    except XmlInputError as exc:
        return Message("unparseable", error=exc.message, media_type=media, raw=data,
                       multipart=True, header_actions=actions)
    root_action = media_type_of(part.content_type)[1].get("action", "").strip()
    if root_action and root_action not in actions:
        actions = (*actions, root_action)
    single = _read_single(part.data, part.media_type, part.charset, source, max_bytes, actions)
    return replace(single, mime=part.mime, multipart=True, media_type=media)


def _read_single(data: bytes, media: str, charset: str | None, source: str | None,
                 max_bytes: int, actions: tuple[str, ...]) -> Message:
    head = data[:256].lstrip(BOM + b" \t\r\n")  # sniff without copying the body
    try:
        if looks_like_er7(head):
            return Message("hl7v2", parse_er7(_utf8(data, charset)), media_type=media,
                           raw=data, header_actions=actions)
        if head[:1] in (b"{", b"["):
            return Message("json", parse_json_view(_utf8(data, charset)), media_type=media,
                           raw=data, header_actions=actions)
        if head[:1] != b"<" and _is_binary(media):
            return Message("binary", error=f"a binary body ({media}, {len(data):,} bytes)",
                           media_type=media, raw=data, header_actions=actions)
        root = parse_xml_body(data, charset, source=source, max_bytes=max_bytes)
        return Message("xml", root, media_type=media, raw=data, header_actions=actions)
    except XmlInputError as exc:
        return Message("unparseable", error=exc.message, media_type=media, raw=data,
                       header_actions=actions)
    except (Er7Error, JsonViewError, LookupError, UnicodeDecodeError) as exc:
        return Message("unparseable", error=str(exc), media_type=media, raw=data,
                       header_actions=actions)


def _utf8(data: bytes, charset: str | None) -> bytes:
    """Text bodies (ER7, JSON) as UTF-8 without a BOM."""
    if data.startswith(BOM):
        return data[len(BOM):]
    if charset and charset.lower() not in _UTF8:
        return data.decode(charset).encode("utf-8")
    return data


def _is_binary(media: str) -> bool:
    return media in _BINARY_TYPES or media.startswith(_BINARY_PREFIXES)


# -- one parse per message per run ------------------------------------------------------------

Reader = Callable[[Request | Response, str], Message]


class MessageCache:
    """Parsed messages by the identity of the request/response they were read from, so a
    run parses each recorded and replayed message once (see the module docstring on sharing).

    Not thread-safe: one per cassette replay.
    """

    def __init__(self) -> None:
        self._messages: dict[int, tuple[Request | Response, Message]] = {}

    def read(self, message: Request | Response, source: str | None = None) -> Message:
        entry = self._messages.get(id(message))
        if entry is not None and entry[0] is message:
            return entry[1]
        parsed = message_of(message, source=source)
        self._messages[id(message)] = (message, parsed)
        return parsed

    def forget(self, *messages: Request | Response | None) -> None:
        for message in messages:
            if message is not None:
                self._messages.pop(id(message), None)

    def __len__(self) -> int:
        return len(self._messages)


def read_uncached(message: Request | Response, source: str | None = None) -> Message:
    """The :data:`Reader` that always parses (one-off comparisons, ``ihe diff``)."""
    return message_of(message, source=source)


# ENVELOPES, decode_content, media_type_of and payload_of live in transport/content.py; they are
# part of the reader's API too.
__all__ = [
    "ENVELOPES",
    "Message",
    "MessageCache",
    "MessageKind",
    "Reader",
    "attachment_sha256",
    "decode_content",
    "header_actions",
    "media_type_of",
    "message_of",
    "payload_of",
    "read_message",
    "read_uncached",
]
