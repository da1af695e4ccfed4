"""What a request *means*, as a hashable match key: the same logical request, sent again by a
client with fresh ids, gets the same key.

A :class:`RequestShape` is (HTTP method, path with sorted query, SOAP action, digest of the
canonical body, the format a REST client asks for: :mod:`.negotiation`). The canonical body is
the IHE payload (the SOAP Body's child; the SOAP Header carries only addressing, security and
framing) with the values every send changes blanked and binary content replaced by its digest
(:mod:`.blanking`), written in its canonical form (:mod:`.canonical`: prefixes, attribute
order, whitespace and the order of unordered containers ignored). A FHIR JSON resource is read
as its element tree (the shape of FHIR XML) and keyed the same way; an HL7 v2 message by its
ER7 fields (:func:`er7_shape`). Other bodies are compared as bytes (other JSON by its
sorted-key form).

The blanked tree is kept, so a request that matches nothing can be explained value by value
(:meth:`RequestShape.facts`, :mod:`.facts`).
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

from lxml import etree

from ihe_test_util.ihe.catalogue import detect, fhir_request_path, regeneration_rules
from ihe_test_util.ihe.er7 import Er7Text, FieldRef, decode_er7, message_type, parse_er7
from ihe_test_util.ihe.message import Message, message_of
from ihe_test_util.ihe.namespaces import FHIR, WSA, qname
from ihe_test_util.ihe.patterns import compile_patterns
from ihe_test_util.model import Request
from ihe_test_util.serve.blanking import BLANK, blank_noise, digest_binaries, sha256_hex
from ihe_test_util.serve.canonical import canonical_text
from ihe_test_util.serve.facts import er7_facts, fhir_facts, json_facts, xml_facts
from ihe_test_util.serve.fixups import EchoValue, capture_echoes
from ihe_test_util.serve.negotiation import JSON, XML, is_soap_media, wanted_format
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
    #: The response format the client asked for (``_format`` / ``Accept``, REST requests
    #: only: :mod:`.negotiation`), part of the key; ``""`` for no preference and for SOAP.
    format: str = ""
    #: Whether the client speaks FHIR / REST rather than SOAP: refusals are then
    #: OperationOutcomes in its format with a 4xx status, never SOAP faults.
    fhir: bool = False
    #: An HL7 v2 (ER7) message: explanations name fields as ``PID-5.1``.
    hl7v2: bool = False
    tree: etree._Element | None = field(default=None, repr=False)
    _fact_cache: tuple[str, ...] | None = field(default=None, repr=False)
    _raw_facts: tuple[str, ...] = field(default=(), repr=False)

    @property
    def key(self) -> tuple[str, str, str, str, str]:
        return (self.method, self.path, self.action, self.digest, self.format)

    def facts(self) -> tuple[str, ...]:
        """``location = value`` lines of the canonical body, for explaining a mismatch."""
        if self._fact_cache is None:
            tree = self.tree
            self._fact_cache = self._raw_facts if tree is None else \
                tuple(er7_facts(tree)) if self.hl7v2 else \
                tuple(fhir_facts(tree)) if str(tree.tag).startswith(f"{{{FHIR}}}") else \
                tuple(xml_facts(tree))
        return self._fact_cache


def shape_of(request: Request, *, renames: Renames | None = None) -> RequestShape:
    """The match key and explanation material of ``request`` (recorded or incoming).

    ``renames`` turns identifiers a client chose back into the recorded ones first (in the
    body, and in query values: a FHIR search by the client's uniqueId). The transaction is
    always detected from the request itself (payload root, then action; method, path and
    resource type for FHIR), never taken from cassette metadata, so recorded and incoming
    requests get their keys alike.
    """
    split = urlsplit(request.uri)
    query = split.query
    path = split.path or "/"
    if query:
        pairs = parse_qsl(query, keep_blank_values=True)
        if renames is not None and len(renames):
            pairs = [(name, renames.to_recorded_text(value)) for name, value in pairs]
        path += "?" + urlencode(sorted(pairs))
    method = request.method.upper()
    message = message_of(request, source="request body")
    rest = _is_rest(request, message)
    wanted = wanted_format(request.headers, query) if rest else ""
    fhir = rest and _speaks_fhir(request, message, split.path or "/", query, wanted)
    if message.kind == "hl7v2":
        return er7_shape(method, request.body, message)
    if message.kind != "xml" and not _fhir_json(message):
        # other JSON, ER7, binary, empty or unreadable: compared as bytes
        shape = _opaque(method, path, _header_action(message),
                        request.body if message.multipart else message.raw or request.body,
                        message.error if _failed_xml(message) else None)
        shape.format, shape.fhir = wanted, fhir
        if message.kind == "empty" or not request.body:
            shape.transaction = detect(None, None, path=split.path or "/", method=method,
                                       query=query).id
        return shape
    message = message.private()  # blanking edits the tree
    root = message.root
    assert root is not None
    envelope = message.envelope
    payload = message.payload
    action = message.action or ""
    spec = detect(None, message, path=split.path or "/", method=method, query=query)
    transaction = spec.id
    if payload is None:
        return RequestShape(method, path, action, transaction, sha256_hex(b""),
                            message_id=_wsa(envelope, "MessageID"), soap=envelope is not None,
                            soap_version=_version(envelope), _raw_facts=("soap:Body is empty",),
                            format=wanted, fhir=fhir)
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
                        identifiers=identifiers, tree=payload, format=wanted, fhir=fhir)


def er7_shape(method: str, body: bytes, message: Message) -> RequestShape:
    """An HL7 v2 message (MLLP): keyed by its fields with what the catalogue says a sender
    makes up per message blanked: the transaction's regeneration rules (MSH-7, MSH-10, the
    QPD-2 query tag) and its noise fields (EVN-2, ...). The path is the message type
    (``ADT^A01``, as the recording proxy shows it): an MLLP port has no path, and the recorded
    peer's address does not matter."""
    spec = detect(None, message)
    text, codec = decode_er7(body)
    editable = Er7Text(text)
    for rule in regeneration_rules(spec.id):
        ref = FieldRef.parse(rule.xpath)
        if editable.read(ref) is not None:
            editable.replace(ref, BLANK)
    tree = parse_er7(editable.text().encode(codec, errors="replace"))
    for pattern in spec.noise:
        for parts in compile_patterns(pattern):
            for node in parts.select(tree):
                if isinstance(node, etree._Element):
                    node[:] = []
                    node.text = BLANK
    return RequestShape(method, message_type(tree) or "", "", spec.id,
                        sha256_hex(canonical_text(tree).encode()), tree=tree, hl7v2=True)


def _fhir_json(message: Message) -> bool:
    """A FHIR resource in JSON: read as its element tree (the shape of FHIR XML), so the
    catalogue's rules for the transaction blank what a client makes up per send."""
    return message.kind == "json" and message.root is not None and \
        message.root.tag.startswith(f"{{{FHIR}}}")


def _is_rest(request: Request, message: Message) -> bool:
    """Not a SOAP request (no envelope, no SOAP media type): content negotiation applies."""
    return message.envelope is None and not is_soap_media(request.content_type)


def _speaks_fhir(request: Request, message: Message, path: str, query: str,
                 wanted: str) -> bool:
    """A REST client that should be refused in FHIR terms: it sent FHIR or JSON, asked for
    JSON or for FHIR XML (a FHIR media type or ``_format``), or addressed a FHIR resource type
    without a body. A plain XML client (``Accept: text/xml``) keeps getting SOAP faults."""
    if message.kind == "json" or wanted == JSON:
        return True
    if message.root is not None and message.root.tag.startswith(f"{{{FHIR}}}"):
        return True
    if wanted == XML and ("fhir" in (request.headers.get("Accept") or "").lower()
                          or "_format=" in query):
        return True
    return message.kind in ("empty", "unparseable") and \
        fhir_request_path(path).resource is not None


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
