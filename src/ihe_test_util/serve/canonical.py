"""What a request *means*, as a hashable match key: the same logical request, sent again by a
client with fresh ids, gets the same key.

A :class:`RequestShape` is (HTTP method, path with sorted query, SOAP action, digest of the
canonical body). The canonical body is the IHE payload (the SOAP Body's child; the SOAP Header
carries only addressing, security and framing) with

* the values every send changes blanked, per transaction, exactly where
  the catalogue's regeneration rules regenerate them on replay: HL7 v3
  message id, creationTime and queryId, XDS uniqueIds and submissionTime, client-chosen
  ``urn:uuid:`` entryUUIDs (and every reference to them);
* binary content (``xop:Include`` attachments or inline base64 in ``xdsb:Document``) replaced by
  the SHA-256 of the bytes, so MTOM boundaries, Content-IDs and the choice of XOP or inline
  never matter while the documents themselves do;
* namespace prefixes, attribute order and surrounding whitespace ignored, and the children of
  containers whose order IHE does not define (:data:`UNORDERED_PARENTS`) sorted.

The blanked tree is kept, so a request that matches nothing can be explained value by value
(:meth:`RequestShape.facts`).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from urllib.parse import parse_qsl, urlencode, urlsplit

from lxml import etree

from ihe_test_util.ihe.catalogue import detect, regeneration_rules
from ihe_test_util.ihe.message import Message, message_of
from ihe_test_util.ihe.namespaces import (
    HL7V3,
    RIM,
    WSA,
    XDSB,
    XOP,
    qname,
)
from ihe_test_util.ihe.patterns import attributes
from ihe_test_util.ihe.specs import GLOBAL_KINDS, Rule, ValueKind
from ihe_test_util.ihe.xpath import compiled_xpath, identifier_attribute
from ihe_test_util.model import Request
from ihe_test_util.serve.fixups import EchoValue, capture_echoes
from ihe_test_util.serve.renames import Renames
from ihe_test_util.transport.mtom import normalise_cid

#: What a blanked value reads as in the canonical body and in explanations.
BLANK = "~"

#: Containers whose children IHE attaches no order to (ihe-domain.md §6): sorted before hashing.
UNORDERED_PARENTS = frozenset({
    *(qname(RIM, local) for local in (
        "RegistryObjectList", "ValueList", "AdhocQuery", "ExtrinsicObject", "RegistryPackage",
        "Association", "Classification")),
    qname(XDSB, "RetrieveDocumentSetRequest"),
    qname(XDSB, "ProvideAndRegisterDocumentSetRequest"),
    qname(HL7V3, "parameterList"),
    qname(HL7V3, "patient"),
})
#: Attributes that name an element in explanations: ``Slot[@name='$XDSDocumentEntryPatientId']``.
NAMING_ATTRIBUTES = ("name",)

_INCLUDE = qname(XOP, "Include")
_DOCUMENT = qname(XDSB, "Document")


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
            self._fact_cache = tuple(_facts(self.tree)) if self.tree is not None else \
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
    spec = detect(None, message, path=path)
    transaction = spec.id
    if payload is None:
        return RequestShape(method, path, action, transaction, _digest(b""),
                            message_id=_wsa(envelope, "MessageID"), soap=envelope is not None,
                            _raw_facts=("soap:Body is empty",))
    echoes = capture_echoes(spec, root)
    _digest_binaries(payload, {_cid(part.content_id): part.content
                               for part in message.attachments if part.content_id})
    if renames is not None:
        renames.to_recorded(payload)
    identifiers = _blank_noise(payload, transaction)
    text = canonical_text(payload)
    return RequestShape(method, path, action, transaction, _digest(text.encode("utf-8")),
                        echoes=echoes, message_id=_wsa(envelope, "MessageID"),
                        soap=envelope is not None, identifiers=identifiers, tree=payload)


# -- reading ------------------------------------------------------------------------------------


def _wsa(envelope: etree._Element | None, local: str) -> str | None:
    if envelope is None:
        return None
    header = envelope.find(f"{{{etree.QName(envelope).namespace}}}Header")
    found = header.find(qname(WSA, local)) if header is not None else None
    return (found.text or "").strip() if found is not None else None


def _failed_xml(message: Message) -> bool:
    """Whether the body is XML (or MTOM) that could not be read, rather than not XML at all."""
    return message.kind == "unparseable" and (
        message.multipart or message.raw.lstrip(b"\xef\xbb\xbf \t\r\n")[:1] == b"<")


def _header_action(message: Message) -> str:
    """The action from HTTP headers alone (the body is not an envelope)."""
    return message.header_actions[0] if message.header_actions else ""


def _cid(value: str | None) -> str:
    return normalise_cid(value or "")


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
            return RequestShape(method, path, action, None, _digest(data),
                                opaque=reason, _raw_facts=tuple(_json_facts(value)))
    preview = data[:120].decode("utf-8", "replace")
    facts = (f"body = {preview!r}" + (" ..." if len(data) > 120 else ""),) if data else ()
    return RequestShape(method, path, action, None, _digest(data), opaque=reason,
                        _raw_facts=facts)


def _json_facts(value: object) -> Iterator[str]:
    """``/entry/0/resource/id = "x"`` lines, keys sorted (iteratively, like the XML ones)."""
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            stack.extend((f"{path}/{key}", item[key]) for key in sorted(item, reverse=True))
        elif isinstance(item, list):
            stack.extend((f"{path}/{index}", entry)
                         for index, entry in reversed(list(enumerate(item))))
        else:
            yield f"{path or '/'} = {json.dumps(item)}"


def _digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- blanking -----------------------------------------------------------------------------------


def _digest_binaries(payload: etree._Element, attachments: dict[str, bytes]) -> None:
    """Attachments and inline base64 documents become the digest of their bytes."""
    for include in list(payload.iter(_INCLUDE)):
        parent = include.getparent()
        if parent is None:
            continue
        href = include.get("href") or ""
        content = attachments.get(_cid(href))
        parent.remove(include)
        parent.text = f"sha256:{_digest(content)}" if content is not None else \
            f"missing attachment {href}"
    for document in payload.iter(_DOCUMENT):
        text = "".join((document.text or "").split())
        if text and not text.startswith(("sha256:", "missing attachment")):
            try:
                document.text = f"sha256:{_digest(base64.b64decode(text, validate=True))}"
            except (binascii.Error, ValueError):
                document.text = f"not base64: sha256:{_digest(text.encode())}"


def _blank_noise(payload: etree._Element, transaction: str | None) -> tuple[str, ...]:
    """Blank what the transaction's regeneration rules change; return the global-kind values."""
    identifiers: list[str] = []
    for rule in regeneration_rules(transaction):
        found = compiled_xpath(rule.xpath)(payload)
        for node in found if isinstance(found, list) else ():
            value = _blank_node(node, rule)
            if value is not None and rule.kind in GLOBAL_KINDS:
                identifiers.append(value)
    if identifiers:  # references to client-chosen ids (classifiedObject, sourceObject, ...)
        Renames.blanking(identifiers, BLANK).to_recorded(payload)
    return tuple(identifiers)


def _blank_node(node: object, rule: Rule) -> str | None:
    if isinstance(node, etree._Element):  # an HL7 II: extension if present, else root
        attribute = identifier_attribute(node)
        if attribute is None:
            return None
        old = node.get(attribute) or ""
        node.set(attribute, BLANK)
        return old
    if not isinstance(node, etree._ElementUnicodeResult):
        return None
    parent = node.getparent()
    old = str(node)
    if parent is None or (rule.kind is ValueKind.ENTRY_UUID
                          and not old.strip().lower().startswith("urn:uuid:")):
        return None  # symbolic ids ("Document01") are what the client wrote, every time
    if node.is_attribute:
        parent.set(str(node.attrname), BLANK)
    else:
        parent.text = BLANK
    return old


# -- canonical forms ----------------------------------------------------------------------------


def canonical_text(root: etree._Element) -> str:
    """A text that is equal for two elements exactly when they say the same thing, whatever
    their prefixes, attribute order and indentation (children of unordered parents sorted).

    Built bottom-up without recursion: a hostile document nests as deep as the parser allows.
    """
    elements = [element for element in root.iter() if isinstance(element.tag, str)]
    done: dict[etree._Element, str] = {}
    for element in reversed(elements):  # every child before its parent
        parts = []
        for child in element:
            if isinstance(child.tag, str):
                parts.append(done.pop(child))
            tail = (child.tail or "").strip()
            if tail:
                parts.append(repr(tail))
        if element.tag in UNORDERED_PARENTS:
            parts.sort()
        attributes = "".join(
            f" {name}={value!r}" for name, value in sorted(
                (str(k), _attribute_value(element, str(k), str(v)))
                for k, v in element.attrib.items()))
        text = (element.text or "").strip()
        done[element] = f"<{element.tag}{attributes}>{text!r}{''.join(parts)}</>"
    return done[root]


def _attribute_value(element: etree._Element, name: str, value: str) -> str:
    """``xsi:type="hl7:II"`` reads as ``{urn:hl7-org:v3}II``: QName values by meaning."""
    if name.endswith("}type") and ":" in value:
        prefix, local = value.split(":", 1)
        namespace = element.nsmap.get(prefix)
        if namespace is not None:
            return f"{{{namespace}}}{local}"
    return value


def _facts(root: etree._Element) -> Iterator[str]:
    stack: list[tuple[etree._Element, str]] = [(root, _step(root))]
    while stack:
        element, path = stack.pop()
        text = (element.text or "").strip()
        if text:
            yield f"{path} = {text}"
        for name, value in sorted(attributes(element).items()):
            if name not in NAMING_ATTRIBUTES:  # already in the path
                yield f"{path}/@{etree.QName(name).localname} = {value}"
        children = [child for child in element if isinstance(child.tag, str)]
        stack.extend((child, f"{path}/{_step(child)}") for child in reversed(children))


def _step(element: etree._Element) -> str:
    local = etree.QName(element).localname
    for attribute in NAMING_ATTRIBUTES:
        value = element.get(attribute)
        if value is not None:
            return f"{local}[@{attribute}='{value}']"
    return local
