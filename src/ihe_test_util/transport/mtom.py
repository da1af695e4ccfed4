"""MTOM/XOP (multipart/related) packaging: pure functions, no I/O.

The one home for parsing, building and re-packaging MTOM (:func:`repackage`: an edited root part
re-wrapped with fresh framing), and for comparing Content-IDs (:func:`normalise_cid`). A leaf:
nothing here imports :mod:`ihe_test_util.ihe`.

Parsing uses requests-toolbelt's ``MultipartDecoder`` and building uses urllib3's multipart
encoder with explicit part headers; both keep every octet of binary parts exactly (the
standard library's ``email`` package rewrites line endings inside binary payloads).
Header parameters are parsed with ``email.message`` so quoting rules are the standard ones.
"""

from __future__ import annotations

import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from email.message import Message
from urllib.parse import unquote

from lxml import etree
from requests_toolbelt.multipart.decoder import (
    ImproperBodyPartContentException,
    MultipartDecoder,
    NonMultipartContentTypeException,
)
from urllib3.fields import RequestField
from urllib3.filepost import encode_multipart_formdata

from ihe_test_util.errors import XmlInputError
from ihe_test_util.model import Headers
from ihe_test_util.safexml import serialise_like

XOP_NS = "http://www.w3.org/2004/08/xop/include"


@dataclass(frozen=True)
class MimePart:
    headers: Headers
    content: bytes

    @property
    def content_type(self) -> str:
        return self.headers.get("Content-Type") or "application/octet-stream"

    @property
    def content_id(self) -> str | None:
        """Content-ID without angle brackets (the form ``cid:`` URLs use)."""
        raw = self.headers.get("Content-ID")
        return raw.strip().strip("<>") if raw else None


@dataclass(frozen=True)
class MultipartMessage:
    """A parsed multipart/related body: the root (SOAP) part first, then the attachments."""

    boundary: str
    root: MimePart
    attachments: tuple[MimePart, ...] = field(default_factory=tuple)

    def attachment(self, cid: str) -> MimePart | None:
        """The attachment a ``cid:`` reference points at (``cid:`` prefix and URL escapes ok)."""
        wanted = normalise_cid(cid)
        for part in self.attachments:
            if part.content_id is not None and normalise_cid(part.content_id) == wanted:
                return part
        return None


def content_type_params(content_type: str) -> tuple[str, dict[str, str]]:
    """Split ``type/subtype; a=b`` into the lower-cased media type and its parameters."""
    message = Message()
    message["Content-Type"] = content_type
    media = message.get_content_type()
    params: dict[str, str] = {}
    for key, value in (message.get_params() or [])[1:]:
        params[key.lower()] = str(value)
    return media, params


def is_multipart(content_type: str | None) -> bool:
    """Whether the media type is ``multipart/*`` (checked on every message: kept cheap)."""
    return bool(content_type) and (content_type or "").lstrip().lower().startswith("multipart/")


def parse_multipart(body: bytes, content_type: str, *, source: str | None = None) -> (
    MultipartMessage
):
    """Split an MTOM body into root part and attachments, exactly as the octets came.

    The root is the part named by the ``start`` parameter, else the first part (RFC 2387).
    Raises :class:`XmlInputError` for a truncated body or a missing boundary.
    """
    media, params = content_type_params(content_type)
    boundary = params.get("boundary")
    if not media.startswith("multipart/") or not boundary:
        raise XmlInputError(
            f"expected a multipart body with a boundary, got Content-Type {content_type!r}",
            source=source,
        )
    closing = b"--" + boundary.encode("latin-1") + b"--"
    if closing not in body:
        raise XmlInputError(
            f"truncated multipart body: closing boundary --{boundary}-- not found",
            source=source, hint="the message was cut off; re-capture it",
        )
    try:
        # part headers as Latin-1: every octet is a character, so no header can fail to
        # decode and each keeps its exact bytes
        decoder = MultipartDecoder(body, content_type, encoding="latin-1")
        parts = [
            MimePart(
                Headers(
                    (k.decode("latin-1"), v.decode("latin-1")) for k, v in part.headers.items()
                ),
                part.content,
            )
            for part in decoder.parts
        ]
    except (ImproperBodyPartContentException, NonMultipartContentTypeException,
            UnicodeError, ValueError) as exc:
        raise XmlInputError(f"malformed multipart body: {exc}", source=source) from None
    if not parts:
        raise XmlInputError("multipart body has no parts", source=source)
    start = params.get("start")
    root_index = 0
    if start:
        wanted = normalise_cid(start)
        for index, part in enumerate(parts):
            if part.content_id is not None and normalise_cid(part.content_id) == wanted:
                root_index = index
                break
    root = parts[root_index]
    attachments = tuple(p for i, p in enumerate(parts) if i != root_index)
    return MultipartMessage(boundary=boundary, root=root, attachments=attachments)


@dataclass(frozen=True)
class Attachment:
    """An attachment to package: its Content-ID (without brackets), media type and bytes."""

    content_id: str
    content_type: str
    content: bytes


def new_content_id(domain: str = "ihe-test-util") -> str:
    return f"{uuid.uuid4()}@{domain}"


def build_mtom(
    soap_xml: bytes,
    attachments: Sequence[Attachment] = (),
    *,
    soap_action: str | None = None,
    boundary: str | None = None,
    root_content_id: str | None = None,
) -> tuple[bytes, str]:
    """Package a SOAP 1.2 envelope and attachments as MTOM; returns ``(body, content_type)``.

    Boundaries and Content-IDs are fresh unless given: they are noise by design.
    """
    boundary = boundary or f"MIMEBoundary_{uuid.uuid4().hex}"
    root_cid = root_content_id or f"root.message@{new_content_id().split('@', 1)[1]}"
    root_type = 'application/xop+xml; charset=UTF-8; type="application/soap+xml"'
    if soap_action:
        root_type += f'; action="{soap_action}"'
    fields = [
        RequestField(
            name="root", data=soap_xml,
            headers={
                "Content-Type": root_type,
                "Content-Transfer-Encoding": "binary",
                "Content-ID": f"<{root_cid}>",
            },
        )
    ]
    fields.extend(
        RequestField(
            name=att.content_id, data=att.content,
            headers={
                "Content-Type": att.content_type,
                "Content-Transfer-Encoding": "binary",
                "Content-ID": f"<{att.content_id}>",
            },
        )
        for att in attachments
    )
    body, _ = encode_multipart_formdata(fields, boundary=boundary)
    content_type = (
        f'multipart/related; type="application/xop+xml"; boundary="{boundary}"; '
        f'start="<{root_cid}>"; start-info="application/soap+xml"'
    )
    if soap_action:
        content_type += f'; action="{soap_action}"'
    return body, content_type


def normalise_cid(value: str) -> str:
    """A Content-ID or ``cid:`` URL in one comparable form (no brackets, unescaped, lower)."""
    value = value.strip().strip("<>")
    if value.lower().startswith("cid:"):
        value = value[4:]
    return unquote(value).strip("<>").lower()


@dataclass(frozen=True)
class Repackaged:
    """An MTOM body rebuilt around an edited root part, and each ``xop:Include`` it re-pointed
    as (element, old href, new href)."""

    body: bytes
    content_type: str
    renamed: tuple[tuple[etree._Element, str, str], ...]


def repackage(root: etree._Element, message: MultipartMessage, content_type: str, *,
              domain: str = "ihe-test-util", strict: bool = True,
              contents: Mapping[str, bytes] | None = None) -> Repackaged:
    """Re-wrap ``root`` (the edited root part of ``message``) as MTOM with a fresh boundary
    and fresh Content-IDs.

    A message sent again must not reuse its framing, yet its documents must stay byte for byte:
    every ``xop:Include`` href follows its attachment, attachment bytes (so digests and sizes)
    do not move, and the ``action`` of ``content_type`` (or of the root part) is kept. An href
    that names no part raises :class:`XmlInputError` with ``strict``, else it stays as it was.
    ``contents`` (normalised Content-ID -> bytes) replaces the bytes of those attachments (a
    document whose caller changed it on purpose, its metadata updated to match).
    """
    fresh: list[Attachment] = []
    new_cids: dict[str, str] = {}
    for part in message.attachments:
        cid = new_content_id(domain)
        key = normalise_cid(part.content_id) if part.content_id else ""
        if part.content_id:
            new_cids[key] = cid
        content = (contents or {}).get(key, part.content)
        fresh.append(Attachment(cid, part.content_type, content))
    renamed: list[tuple[etree._Element, str, str]] = []
    for include in root.iter(f"{{{XOP_NS}}}Include"):
        href = include.get("href") or ""
        target = new_cids.get(normalise_cid(href))
        if target is None:
            if strict:
                raise XmlInputError(f"xop:Include points at {href!r}, which is not among the "
                                    "MIME parts of the message")
            continue
        include.set("href", f"cid:{target}")
        renamed.append((include, href, f"cid:{target}"))
    action = content_type_params(content_type)[1].get("action") or \
        content_type_params(message.root.content_type)[1].get("action")
    xml = serialise_like(root, message.root.content, encoding="UTF-8")
    body, new_type = build_mtom(xml, fresh, soap_action=action)
    return Repackaged(body, new_type, tuple(renamed))
