"""Documents carried by a response (MTOM/XOP attachments or inline base64), compared by content.

MIME boundaries, Content-IDs and part order are noise, and so is the choice between XOP and
inline base64. Before the tree walk each document-carrying element (the parent of an
``xop:Include``, or a catalogue ``binary`` location such as ``xdsb:Document``) gets its content
replaced by a digest of the decoded bytes, so the walk compares documents by what they contain,
at the place that references them. Afterwards a differing digest becomes a ``part`` difference
(and, when both documents are XML, the differences inside them).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from lxml import etree

from ihe_test_util.compare.findings import Finding
from ihe_test_util.compare.rules import CompiledRules
from ihe_test_util.ihe.message import Message, attachment_sha256
from ihe_test_util.ihe.namespaces import XOP
from ihe_test_util.results import DifferenceKind
from ihe_test_util.transport.mtom import MimePart, normalise_cid

MISSING = "missing attachment"


@dataclass(frozen=True)
class Document:
    """The bytes an element stands for (``content`` None: its XOP part is not in the message)."""

    content: bytes | None
    content_id: str | None = None
    content_type: str = ""

    @property
    def marker(self) -> str:
        if self.content is None:
            return MISSING
        return f"sha256:{hashlib.sha256(self.content).hexdigest()}"

    def summary(self) -> str:
        if self.content is None:
            return MISSING
        kind = f", {self.content_type}" if self.content_type else ""
        return f"{self.marker[:23]}… ({len(self.content):,} bytes{kind})"

    @property
    def is_xml(self) -> bool:
        return self.content is not None and self.content.lstrip()[:1] == b"<"


@dataclass
class Documents:
    """The documents of one body: by carrying element, and the attachments nothing references."""

    by_element: dict[etree._Element, Document]
    unreferenced: list[MimePart]


def carries_documents(body: Message, rules: CompiledRules) -> bool:
    """Whether :func:`extract_documents` would change the tree (so it needs a private copy)."""
    root = body.root
    if root is None:
        return False
    if body.multipart and next(root.iter(f"{{{XOP}}}Include"), None) is not None:
        return True
    return any(isinstance(node, etree._Element) and not len(node)
               for pattern in rules.binary for node in pattern.select(root))


def extract_documents(body: Message, rules: CompiledRules) -> Documents:
    """Replace document content by digests in ``body.root`` (in place: give it a message
    with a private tree, see :func:`carries_documents`) and return the documents."""
    found: dict[etree._Element, Document] = {}
    root = body.root
    if root is None:
        return Documents(found, list(body.attachments))
    parts = {normalise_cid(a.content_id): a for a in body.attachments if a.content_id}
    used: set[str] = set()
    if body.multipart:
        for include in list(root.iter(f"{{{XOP}}}Include")):
            holder = include.getparent()
            if holder is None:
                continue
            cid = normalise_cid(include.get("href", ""))
            part = parts.get(cid)
            used.add(cid)
            shown = part.content_id if part is not None and part.content_id else cid
            document = Document(part.content if part else None, shown,
                                part.content_type if part else "")
            holder.remove(include)
            holder.text = document.marker
            found[holder] = document
    for pattern in rules.binary:
        for node in pattern.select(root):
            if not isinstance(node, etree._Element) or node in found or len(node):
                continue
            text = "".join((node.text or "").split())
            try:
                content = base64.b64decode(text, validate=True)
            except (binascii.Error, ValueError):
                continue
            document = Document(content)
            node.text = document.marker
            found[node] = document
    unreferenced = [a for a in body.attachments
                    if not a.content_id or normalise_cid(a.content_id) not in used]
    return Documents(found, unreferenced)


def document_findings(findings: list[Finding], recorded: Documents,
                      replayed: Documents) -> Iterator[tuple[Finding, Document, Document]]:
    """Turn walk findings on document digests into ``part`` findings (in place); yield the
    document pairs whose contents differ, for a closer look."""
    for finding in findings:
        if finding.kind is not DifferenceKind.VALUE or finding.attribute is not None:
            continue
        rec = recorded.by_element.get(finding.recorded_element)  # type: ignore[arg-type]
        rep = replayed.by_element.get(finding.replayed_element)  # type: ignore[arg-type]
        if rec is None and rep is None:
            continue
        finding.kind = DifferenceKind.PART
        if rec is not None and rec.content_id:
            finding.path = f"part:{rec.content_id}"
        finding.recorded = rec.summary() if rec else finding.recorded
        finding.replayed = rep.summary() if rep else finding.replayed
        if rec is not None and rep is not None:
            yield finding, rec, rep


def unreferenced_findings(recorded: Documents, replayed: Documents) -> list[Finding]:
    """Attachments no element points at, matched by content regardless of Content-ID."""
    waiting: dict[str, list[MimePart]] = {}
    for attachment in replayed.unreferenced:
        waiting.setdefault(attachment_sha256(attachment), []).append(attachment)
    findings: list[Finding] = []
    for attachment in recorded.unreferenced:
        same = waiting.get(attachment_sha256(attachment))
        if same:
            same.pop()
            continue
        document = Document(attachment.content, attachment.content_id, attachment.content_type)
        findings.append(Finding(DifferenceKind.PART, None, path=f"part:{attachment.content_id}",
                                recorded=document.summary(), membership=True,
                                description=f"attachment {attachment.content_id} removed"))
    for left in waiting.values():
        for attachment in left:
            document = Document(attachment.content, attachment.content_id,
                                attachment.content_type)
            findings.append(Finding(
                DifferenceKind.PART, None, path=f"part:{attachment.content_id}",
                replayed=document.summary(), membership=True,
                description=f"attachment {attachment.content_id} added"))
    return findings
