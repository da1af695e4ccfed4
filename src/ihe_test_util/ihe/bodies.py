"""A message body as an element tree, whatever its wire format.

SOAP (plain or MTOM/XOP multipart), bare XML, HL7 v2 ER7 and JSON all become one lxml tree
(see :mod:`ihe_test_util.ihe.er7`, :mod:`ihe_test_util.ihe.jsonxml`), so detection, verdicts and
the comparer work on one representation. A body that cannot be read is not an exception here:
it is a :class:`Body` whose ``error`` says why, because "the response can no longer be parsed"
is itself a finding.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from typing import Literal

from lxml import etree

from ihe_test_util.errors import XmlInputError
from ihe_test_util.ihe.er7 import Er7Error, looks_like_er7, parse_er7
from ihe_test_util.ihe.jsonxml import JsonViewError, parse_json_view
from ihe_test_util.ihe.namespaces import SOAP11, SOAP12
from ihe_test_util.safexml import parse_xml
from ihe_test_util.transport.mtom import MimePart, content_type_params, parse_multipart

BodyKind = Literal["xml", "hl7v2", "json", "empty", "unparseable"]
ENVELOPES = {f"{{{SOAP12}}}Envelope", f"{{{SOAP11}}}Envelope"}


@dataclass(frozen=True)
class Attachment:
    """One MIME attachment of a multipart body, with the digest it is compared by."""

    content_id: str | None
    content_type: str
    content: bytes

    @property
    def sha256(self) -> str:
        return hashlib.sha256(self.content).hexdigest()

    @property
    def is_xml(self) -> bool:
        media = content_type_params(self.content_type)[0] if self.content_type else ""
        return media.endswith(("/xml", "+xml")) or self.content.lstrip()[:1] == b"<"


@dataclass
class Body:
    """The element view of a body. ``root`` is None exactly when ``kind`` is empty/unparseable."""

    kind: BodyKind
    root: etree._Element | None = None
    error: str | None = None
    attachments: tuple[Attachment, ...] = ()
    multipart: bool = False
    media_type: str = ""
    raw: bytes = b""

    @property
    def parsed(self) -> bool:
        return self.root is not None

    @property
    def envelope(self) -> etree._Element | None:
        """The SOAP Envelope, when the body is one."""
        if self.root is not None and self.root.tag in ENVELOPES:
            return self.root
        return None

    @property
    def payload(self) -> etree._Element | None:
        """What the transaction is about: the first element in the SOAP Body, else the root."""
        return payload_of(self.root)


def payload_of(root: etree._Element | None) -> etree._Element | None:
    if root is None:
        return None
    if root.tag in ENVELOPES:
        namespace = root.tag[1:].split("}", 1)[0]
        body = root.find(f"{{{namespace}}}Body")
        if body is None:
            return None
        for child in body:
            if isinstance(child.tag, str):
                return child
        return None
    return root


def read_body(data: bytes, content_type: str | None, *, source: str | None = None) -> Body:
    """Parse ``data`` by its Content-Type, else by sniffing its first bytes."""
    media = content_type_params(content_type)[0] if content_type else ""
    if media.startswith("multipart/"):
        return _read_multipart(data, content_type or "", source)
    if not data or data.isspace():
        return Body("empty", error="the body is empty", media_type=media)
    return _read_single(data, media, source)


def _read_multipart(data: bytes, content_type: str, source: str | None) -> Body:
    media = content_type_params(content_type)[0]
    try:
        message = parse_multipart(data, content_type, source=source)
    except XmlInputError as exc:
        return Body("unparseable", error=exc.message, media_type=media, raw=data, multipart=True)
    root_part: MimePart = message.root
    body = _read_single(root_part.content, content_type_params(root_part.content_type)[0],
                        source)
    body.multipart = True
    body.media_type = media
    body.attachments = tuple(
        Attachment(part.content_id, part.content_type, part.content)
        for part in message.attachments
    )
    return body


def _read_single(data: bytes, media: str, source: str | None) -> Body:
    head = data[:256].lstrip(b"\xef\xbb\xbf \t\r\n")  # sniff without copying the body
    try:
        if looks_like_er7(head):
            return Body("hl7v2", parse_er7(data), media_type=media, raw=data)
        if head[:1] in (b"{", b"["):
            return Body("json", parse_json_view(data), media_type=media, raw=data)
        return Body("xml", parse_xml(data, source=source), media_type=media, raw=data)
    except XmlInputError as exc:
        return Body("unparseable", error=exc.message, media_type=media, raw=data)
    except (Er7Error, JsonViewError) as exc:
        return Body("unparseable", error=str(exc), media_type=media, raw=data)
