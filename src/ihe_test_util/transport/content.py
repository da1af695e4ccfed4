"""Reading an HTTP body as XML, format-neutral: the one home of the steps every reader shares.

``Content-Encoding`` (:func:`decode_content`: ``gzip``, ``deflate``, ``br``, stacked, with a
size cap against decompression bombs), the MTOM/XOP root part (:func:`root_part`), the UTF-8
BOM and a declared charset (:func:`parse_xml_body`), "bytes + Content-Type -> XML root"
(:func:`read_xml`) and "SOAP payload = first element of the Body" (:func:`payload_of`).

It lives in ``transport`` so that the SOAP client and server (:mod:`.soap`,
:mod:`.soap_server`) read bodies the same way as the message reader
(:mod:`ihe_test_util.ihe.message`), which builds its :class:`~ihe_test_util.ihe.message.Message`
(HL7 v2, JSON, actions, transactions) on these steps; ``transport`` never imports ``ihe``.
"""

from __future__ import annotations

import gzip
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from types import MappingProxyType

from lxml import etree

from ihe_test_util.errors import XmlInputError
from ihe_test_util.ihe.namespaces import SOAP11, SOAP12
from ihe_test_util.safexml import MAX_XML_BYTES, parse_xml
from ihe_test_util.transport.mtom import MultipartMessage, content_type_params, parse_multipart

BOM = b"\xef\xbb\xbf"
#: The SOAP 1.2 and 1.1 Envelope tags.
ENVELOPES = frozenset({f"{{{SOAP12}}}Envelope", f"{{{SOAP11}}}Envelope"})
#: Charsets a UTF-8 reader takes as they are.
UTF8_CHARSETS = frozenset({"utf-8", "utf8", "us-ascii", "ascii"})


@lru_cache(maxsize=1024)
def media_type_of(content_type: str) -> tuple[str, Mapping[str, str]]:
    """:func:`~ihe_test_util.transport.mtom.content_type_params`, remembered: every message
    needs it and a run sends the same few Content-Types again and again (read-only result)."""
    media, params = content_type_params(content_type)
    return media, MappingProxyType(params)


# -- XML root ---------------------------------------------------------------------------------


def looks_like_xml(data: bytes) -> bool:
    """Whether a (decoded) body starts like XML: ``<`` after an optional BOM and whitespace
    (the cheap sniff that decides between "not XML: leave it" and "XML: must parse")."""
    return data[:4096].lstrip(BOM + b" \t\r\n")[:1] == b"<"


@dataclass(frozen=True)
class RootPart:
    """The bytes a body's XML is read from: the body itself, or the root MIME part of a
    multipart (MTOM/XOP) body, with its own Content-Type."""

    data: bytes
    content_type: str
    #: The MIME package of a multipart body (root part and attachments as sent), else None.
    mime: MultipartMessage | None = None

    @property
    def media_type(self) -> str:
        return media_type_of(self.content_type)[0] if self.content_type else ""

    @property
    def charset(self) -> str | None:
        return media_type_of(self.content_type)[1].get("charset") if self.content_type \
            else None


def root_part(data: bytes, content_type: str | None, *, source: str | None = None) -> RootPart:
    """The part of a (decoded) body that holds its XML; :class:`XmlInputError` for a broken
    multipart package (truncated, no boundary)."""
    if content_type and media_type_of(content_type)[0].startswith("multipart/"):
        mime = parse_multipart(data, content_type, source=source)
        return RootPart(mime.root.content, mime.root.content_type, mime)
    return RootPart(data, content_type or "")


def parse_xml_body(data: bytes, charset: str | None = None, *, source: str | None = None,
                   max_bytes: int = MAX_XML_BYTES) -> etree._Element:
    """XML by its own BOM / declaration; a Content-Type ``charset`` counts only when the
    document declares none (RFC 7303), so it is transcoded to UTF-8 first."""
    if charset and charset.lower() not in UTF8_CHARSETS and not data.startswith(BOM) and \
            data.lstrip()[:5] != b"<?xml":
        try:
            data = data.decode(charset).encode("utf-8")
        except (LookupError, UnicodeDecodeError) as exc:
            raise XmlInputError(f"body is not {charset}: {exc}", source=source) from None
    return parse_xml(data, source=source, max_bytes=max_bytes)


def read_xml(data: bytes, content_type: str | None, *, source: str | None = None,
             max_bytes: int = MAX_XML_BYTES) -> tuple[etree._Element, MultipartMessage | None]:
    """Bytes + Content-Type -> the XML root (of the root part, for MTOM) and the MIME package.

    ``data`` is the body with its content codings already undone (:func:`decode_content`).
    Raises :class:`~ihe_test_util.errors.XmlInputError` saying why it cannot be read.
    """
    part = root_part(data, content_type, source=source)
    return parse_xml_body(part.data, part.charset, source=source, max_bytes=max_bytes), part.mime


# -- SOAP payload -----------------------------------------------------------------------------


def payload_of(root: etree._Element | None) -> etree._Element | None:
    """The SOAP payload (first element child of the Body) of an envelope, else ``root``.

    None for an envelope without a Body or with an empty one.
    """
    if root is None:
        return None
    if root.tag in ENVELOPES:
        body = soap_child(root, "Body")
        if body is None:
            return None
        for child in body:
            if isinstance(child.tag, str):
                return child
        return None
    return root


def soap_child(envelope: etree._Element, local: str) -> etree._Element | None:
    """``soap:Header`` / ``soap:Body`` of an envelope (a child scan: no path to compile)."""
    tag = envelope.tag[:-len("Envelope")] + local
    for child in envelope:
        if child.tag == tag:
            return child
    return None


# -- content codings --------------------------------------------------------------------------


def decode_content(data: bytes, coding: str | None, max_bytes: int = MAX_XML_BYTES) -> bytes:
    """Undo ``Content-Encoding`` (``gzip``, ``deflate``, ``br``, stacked: last applied is
    undone first). Raises ValueError saying why (unknown coding, corrupt data, or a decoded
    size above ``max_bytes``).

    The last body decoded on each thread is remembered: the HTTP client checks a response's
    coding as it arrives and the message reader decodes the same bytes object right after,
    which then costs nothing (one entry per thread, so memory stays flat).
    """
    if not coding:
        return data
    last: tuple[bytes, str, int, bytes] | None = getattr(_LAST_DECODED, "entry", None)
    if last is not None and last[0] is data and last[1] == coding and last[2] == max_bytes:
        return last[3]
    decoded = _decode(data, coding, max_bytes)
    _LAST_DECODED.entry = (data, coding, max_bytes, decoded)
    return decoded


#: The last body :func:`decode_content` decoded, per thread: (body, coding, max_bytes, result).
_LAST_DECODED = threading.local()


def _decode(data: bytes, coding: str, max_bytes: int) -> bytes:
    codings = [c.strip().lower() for c in coding.split(",") if c.strip()]
    for name in reversed(codings):
        if name == "identity":
            continue
        decoder = _DECODERS.get(name)
        if decoder is None:
            raise ValueError(f"unsupported Content-Encoding {name!r}")
        try:
            data = decoder(data, max_bytes)
        except (zlib.error, _BrotliError) as exc:
            raise ValueError(f"body is not valid {name}: {exc}") from None
        if len(data) > max_bytes:
            raise ValueError(f"decoded body exceeds {max_bytes:,} bytes")
    return data


def _zlib(wbits: int) -> Callable[[bytes, int], bytes]:
    def decode(data: bytes, max_bytes: int) -> bytes:
        decoder = zlib.decompressobj(wbits)
        out = decoder.decompress(data, max_bytes + 1)
        if len(out) <= max_bytes and not decoder.eof and not decoder.unconsumed_tail:
            raise zlib.error("truncated data")
        return out
    return decode


def _deflate(data: bytes, max_bytes: int) -> bytes:
    """``deflate`` is zlib-wrapped by the RFC, raw in some servers: both are accepted."""
    try:
        return _zlib(zlib.MAX_WBITS)(data, max_bytes)
    except zlib.error:
        return _zlib(-zlib.MAX_WBITS)(data, max_bytes)


def _brotli(data: bytes, max_bytes: int) -> bytes:
    try:
        import brotli
    except ImportError:  # pragma: no cover - brotli is a dependency
        raise ValueError("Content-Encoding br needs the brotli package") from None
    decoder = brotli.Decompressor()
    try:
        out = decoder.process(data, output_buffer_limit=max_bytes + 1)
    except brotli.error as exc:
        raise _BrotliError(str(exc) or "corrupt data") from None
    if len(out) <= max_bytes and not decoder.is_finished():
        raise _BrotliError("truncated data")
    return bytes(out)


class _BrotliError(Exception):
    pass


_DECODERS: dict[str, Callable[[bytes, int], bytes]] = {
    "gzip": _zlib(16 + zlib.MAX_WBITS),
    "x-gzip": _zlib(16 + zlib.MAX_WBITS),
    "deflate": _deflate,
    "br": _brotli,
}


def encode_content(data: bytes, coding: str | None) -> bytes:
    """Apply ``Content-Encoding`` ``coding`` (the inverse of :func:`decode_content`, stacked
    codings in order): redaction re-encodes a body whose decoded text held a secret."""
    for name in (c.strip().lower() for c in (coding or "").split(",") if c.strip()):
        if name in ("gzip", "x-gzip"):
            data = gzip.compress(data, mtime=0)
        elif name == "deflate":
            data = zlib.compress(data)
        elif name == "br":
            import brotli
            data = brotli.compress(data)
        elif name != "identity":
            raise ValueError(f"unsupported Content-Encoding {name!r}")
    return data


def decodable_accept_encoding(accept: str | None) -> str:
    """An ``Accept-Encoding`` value asking only for codings :func:`decode_content` undoes.

    What replay sends instead of the recorded value: the recorded preferences (and their
    ``q`` weights) are kept for ``gzip``, ``deflate``, ``br`` and ``identity``; a coding this
    tool cannot read (``zstd``, ``compress``, ``*``) is dropped, so a server never answers in
    one and the comparison never depends on compression. ``identity`` when nothing is left
    (or nothing was recorded).
    """
    kept = []
    for item in (accept or "").split(","):
        name = item.split(";", 1)[0].strip().lower()
        if name in _DECODERS or name == "identity":
            kept.append(item.strip())
    return ", ".join(kept) or "identity"


__all__ = [
    "BOM",
    "ENVELOPES",
    "UTF8_CHARSETS",
    "RootPart",
    "decodable_accept_encoding",
    "decode_content",
    "looks_like_xml",
    "media_type_of",
    "parse_xml_body",
    "payload_of",
    "read_xml",
    "root_part",
    "soap_child",
]
