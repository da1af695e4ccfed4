"""Blanking what every send changes, so two sends of one logical request read alike.

Per transaction, exactly where the catalogue's regeneration rules regenerate values on replay
(HL7 v3 message id, creationTime and queryId, XDS uniqueIds and submissionTime, client-chosen
``urn:uuid:`` entryUUIDs and every reference to them) the value becomes :data:`BLANK`; binary
content (``xop:Include`` attachments or inline base64 in ``xdsb:Document``) becomes the SHA-256
of its bytes, so MTOM boundaries, Content-IDs and the choice of XOP or inline never matter
while the documents themselves do.
"""

from __future__ import annotations

import base64
import binascii
import hashlib

from lxml import etree

from ihe_test_util.ihe.catalogue import regeneration_rules
from ihe_test_util.ihe.namespaces import XDSB, XOP, qname
from ihe_test_util.ihe.specs import GLOBAL_KINDS, Rule, ValueKind
from ihe_test_util.ihe.xpath import compiled_xpath, identifier_attribute
from ihe_test_util.serve.renames import Renames
from ihe_test_util.transport.mtom import normalise_cid

#: What a blanked value reads as in the canonical body and in explanations.
BLANK = "~"

_INCLUDE = qname(XOP, "Include")
_DOCUMENT = qname(XDSB, "Document")


def digest_binaries(payload: etree._Element, attachments: dict[str, bytes]) -> None:
    """Attachments and inline base64 documents become the digest of their bytes."""
    for include in list(payload.iter(_INCLUDE)):
        parent = include.getparent()
        if parent is None:
            continue
        href = include.get("href") or ""
        content = attachments.get(normalise_cid(href))
        parent.remove(include)
        parent.text = f"sha256:{sha256_hex(content)}" if content is not None else \
            f"missing attachment {href}"
    for document in payload.iter(_DOCUMENT):
        text = "".join((document.text or "").split())
        if text and not text.startswith(("sha256:", "missing attachment")):
            try:
                document.text = f"sha256:{sha256_hex(base64.b64decode(text, validate=True))}"
            except (binascii.Error, ValueError):
                document.text = f"not base64: sha256:{sha256_hex(text.encode())}"


def blank_noise(payload: etree._Element, transaction: str | None) -> tuple[str, ...]:
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


def sha256_hex(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()
