"""What a request *means*, as a hashable match key: the same logical request, sent again by a
client with fresh ids, gets the same key.

A :class:`RequestShape` is (HTTP method, path with sorted query, SOAP action, digest of the
canonical body). The canonical body is the IHE payload (the SOAP Body's child; the SOAP Header
carries only addressing, security and framing) with the values every send changes blanked and
binary content replaced by its digest (:mod:`.blanking`), written in its canonical form
(:mod:`.canonical`: prefixes, attribute order, whitespace and the order of unordered containers
ignored). Bodies that are not XML are compared as bytes (JSON by its sorted-key form).

The blanked tree is kept, so a request that matches nothing can be explained value by value
(:meth:`RequestShape.facts`, :mod:`.facts`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

from lxml import etree

from ihe_test_util.ihe.catalogue import detect
from ihe_test_util.ihe.message import Message, message_of
from ihe_test_util.ihe.namespaces import WSA, qname
from ihe_test_util.model import Request
from ihe_test_util.serve.blanking import blank_noise, digest_binaries, sha256_hex
from ihe_test_util.serve.canonical import canonical_text
from ihe_test_util.serve.facts import json_facts, xml_facts
from ihe_test_util.serve.fixups import EchoValue, capture_echoes
from ihe_test_util.serve.renames import Renames
from ihe_test_util.transport.mtom import normalise_cid


@dataclass(eq=False)
class RequestShape:
    """A request reduced to what matching compares; ``key`` is its dictionary key."""

    method: str
    path: str
    action: str
    transaction: str | None
    digest: str
    #: What the request holds where a response echoes it (RelatesTo, targetMessage id, ...).
    echoes: tuple[EchoValue, ...] = ()
    message_id: str | None = None
    #: Whether the request is a SOAP envelope (a refusal is then a SOAP fault).
    soap: bool = False
    #: The envelope namespace (SOAP 1.1 or 1.2) of a SOAP request: a recording answers only
    #: requests of its own version, and faults are written in the client's version.
    soap_version: str | None = None
    #: Values of the uniqueId / entryUUID rules in document order (to learn client renames).
    identifiers: tuple[str, ...] = ()
    #: Why the body is compared as opaque bytes (not XML, or XML that failed to parse).
    opaque: str | None = None
    tree: etree._Element | None = field(default=None, repr=False)
    _fact_cache: tuple[str, ...] | None = field(default=None, repr=False)
    _raw_facts: tuple[str, ...] = field(default=(), repr=False)

    @property
    def key(self) -> tuple[str, str, str, str]:
        return (self.method, self.path, self.action, self.digest)

    def facts(self) -> tuple[str, ...]:
        """``location = value`` lines of the canonical body, for explaining a mismatch."""
        if self._fact_cache is None:
            self._fact_cache = tuple(xml_facts(self.tree)) if self.tree is not None else \
                self._raw_facts
        return self._fact_cache


def shape_of(request: Request, *, renames: Renames | None = None) -> RequestShape:
    """The match key and explanation material of ``request`` (recorded or incoming).

    ``renames`` turns identifiers a client chose back into the recorded ones first. The
    transaction is always detected from the request itself (payload root, then action), never
    taken from cassette metadata, so recorded and incoming requests get their keys alike.
    """
    split = urlsplit(request.uri)
    path = split.path or "/"
    if split.query:
        path += "?" + urlencode(sorted(parse_qsl(split.query, keep_blank_values=True)))
    method = request.method.upper()
    message = message_of(request, source="request body")
    if message.kind != "xml":  # JSON, ER7, binary, empty or unreadable: compared as bytes
        return _opaque(method, path, _header_action(message),
                       request.body if message.multipart else message.raw or request.body,
                       message.error if _failed_xml(message) else None)
    message = message.private()  # blanking edits the tree
    root = message.root
    assert root is not None
    envelope = message.envelope
    payload = message.payload
    action = message.action or ""
    spec = detect(None, message, path=split.path or "/", method=method, query=split.query)
    transaction = spec.id
    if payload is None:
        return RequestShape(method, path, action, transaction, sha256_hex(b""),
                            message_id=_wsa(envelope, "MessageID"), soap=envelope is not None,
                            soap_version=_version(envelope), _raw_facts=("soap:Body is empty",))
    echoes = capture_echoes(spec, root)
    digest_binaries(payload, {normalise_cid(part.content_id or ""): part.content
                               for part in message.attachments if part.content_id})
    if renames is not None:
        renames.to_recorded(payload)
    identifiers = blank_noise(payload, transaction)
    text = canonical_text(payload)
    return RequestShape(method, path, action, transaction, sha256_hex(text.encode("utf-8")),
                        echoes=echoes, message_id=_wsa(envelope, "MessageID"),
                        soap=envelope is not None, soap_version=_version(envelope),
                        identifiers=identifiers, tree=payload)


# -- reading ------------------------------------------------------------------------------------


def _wsa(envelope: etree._Element | None, local: str) -> str | None:
    if envelope is None:
        return None
    header = envelope.find(f"{{{etree.QName(envelope).namespace}}}Header")
    found = header.find(qname(WSA, local)) if header is not None else None
    return (found.text or "").strip() if found is not None else None


def _version(envelope: etree._Element | None) -> str | None:
    return etree.QName(envelope).namespace if envelope is not None else None


def _failed_xml(message: Message) -> bool:
    """Whether the body is XML (or MTOM) that could not be read, rather than not XML at all."""
    return message.kind == "unparseable" and (
        message.multipart or message.raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<")


def _header_action(message: Message) -> str:
    """The action from HTTP headers alone (the body is not an envelope)."""
    return message.header_actions[0] if message.header_actions else ""


def _opaque(method: str, path: str, action: str, body: bytes,
            reason: str | None) -> RequestShape:
    """Bodies that are not XML: JSON by its sorted-key form, anything else byte for byte."""
    data = body.strip()
    facts: tuple[str, ...]
    if data[:1] in (b"{", b"["):
        try:
            value = json.loads(data)
            data = json.dumps(value, sort_keys=True, separators=(",", ":")).encode()
        except (ValueError, RecursionError):  # not JSON, or nested beyond reason
            pass
        else:
            return RequestShape(method, path, action, None, sha256_hex(data),
                                opaque=reason, _raw_facts=tuple(json_facts(value)))
    preview = data[:120].decode("utf-8", "replace")
    facts = (f"body = {preview!r}" + (" ..." if len(data) > 120 else ""),) if data else ()
    return RequestShape(method, path, action, None, sha256_hex(data), opaque=reason,
                        _raw_facts=facts)
