"""Making a recorded request acceptable to a server a second time (replay).

A server rejects a verbatim replay: the message id was seen, the SubmissionSet uniqueId
already exists, the client-chosen entryUUIDs are taken, the SAML assertion expired. What must
change is listed per transaction in :data:`REGENERATION_RULES` (ihe-domain.md §4), as data:
XPath -> :class:`ValueKind`. Everything else is left exactly as recorded.

Replacements are *consistent across a cassette*: one :class:`IdMap` (recorded value -> fresh
value) is shared by all requests of a cassette, so the DocumentEntry uniqueId regenerated in
an ITI-41 is the one the later ITI-43 asks for, and every reference to a client-chosen
``urn:uuid:`` id (``classifiedObject``, ``registryObject``, ``sourceObject``,
``targetObject``, ``xdsb:Document/@id``) follows its object. The comparer reads the same map
so a response echoing a new value is not a difference.

MTOM requests are re-packaged with a fresh boundary and Content-IDs (``xop:Include`` hrefs
follow); attachment bytes, and so ``hash`` and ``size``, are untouched. WS-Security headers
are always removed (a recorded assertion is expired and must never be resent) and re-issued
when a :class:`~ihe_test_util.transport.wssecurity.SecurityHeader` is configured.
"""

from __future__ import annotations

import enum
import re
import threading
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass

from lxml import etree

from ihe_test_util.errors import XmlInputError
from ihe_test_util.ihe.identifiers import DEFAULT_IDS, IdGenerator, is_oid, is_uuid
from ihe_test_util.ihe.namespaces import (
    HL7V3,
    LCM,
    PREFIXES,
    QUERY,
    WSA,
    WSSE,
    XDSB,
    XOP,
    qname,
)
from ihe_test_util.model import Request
from ihe_test_util.safexml import parse_xml
from ihe_test_util.transport.mtom import (
    Attachment,
    MimePart,
    build_mtom,
    content_type_params,
    is_multipart,
    new_content_id,
    normalise_cid,
    parse_multipart,
)
from ihe_test_util.transport.soap import SoapMessage
from ihe_test_util.transport.wssecurity import SecurityHeader


class ValueKind(enum.Enum):
    """What a regenerated value is, which decides how its fresh value looks and where the
    mapping applies."""

    MESSAGE_ID = "message-id"  # wsa:MessageID: a UUID URI, spelled like the recorded one
    HL7_ID = "hl7-id"  # an HL7 v3 II element: the extension, or the root when there is none
    TIMESTAMP = "timestamp"  # the current time in the recorded shape; never mapped
    UNIQUE_ID = "unique-id"  # XDS uniqueId: a fresh OID (OID^ext keeps ^ext)
    ENTRY_UUID = "entry-uuid"  # client-chosen urn:uuid: object id; symbolic ids stay
    PATIENT_ID = "patient-id"  # an id of a patient *created* by a feed (--fresh-patients)


#: Kinds whose mapping is applied wherever the recorded value reappears in later requests.
#: Message ids are only ever referenced from responses (RelatesTo), and HL7 extensions such
#: as "345" are too short to be replaced blindly: those change only at their rule paths.
GLOBAL_KINDS = frozenset({ValueKind.UNIQUE_ID, ValueKind.ENTRY_UUID, ValueKind.PATIENT_ID})


@dataclass(frozen=True)
class Rule:
    """Regenerate the nodes ``xpath`` selects (relative to the IHE payload) as ``kind``."""

    xpath: str
    kind: ValueKind
    what: str


@dataclass(frozen=True)
class TransactionRules:
    """Body root elements that identify the transaction, and what to regenerate in it."""

    roots: tuple[str, ...]
    rules: tuple[Rule, ...]


_UNIQUE_ID_SCHEMES = {
    "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8": "SubmissionSet.uniqueId",
    "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab": "DocumentEntry.uniqueId",
    "urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a": "Folder.uniqueId",
}
_XDS_SUBMISSION = (
    *(Rule(f".//rim:ExternalIdentifier[@identificationScheme='{scheme}']/@value",
           ValueKind.UNIQUE_ID, what) for scheme, what in _UNIQUE_ID_SCHEMES.items()),
    Rule(".//rim:RegistryPackage/rim:Slot[@name='submissionTime']/rim:ValueList/rim:Value/"
         "text()", ValueKind.TIMESTAMP, "SubmissionSet.submissionTime"),
    Rule(".//rim:RegistryObjectList//*[@id][not(self::rim:ObjectRef)]/@id",
         ValueKind.ENTRY_UUID, "client-chosen entryUUID"),
)
_HL7_WRAPPER = (
    Rule("hl7:id", ValueKind.HL7_ID, "HL7 v3 message id"),
    Rule("hl7:creationTime/@value", ValueKind.TIMESTAMP, "HL7 v3 creationTime"),
)
_HL7_QUERY = (
    *_HL7_WRAPPER,
    Rule("hl7:controlActProcess/hl7:queryByParameter/hl7:queryId", ValueKind.HL7_ID,
         "HL7 v3 queryId"),
    Rule("hl7:controlActProcess/hl7:queryContinuation/hl7:queryId", ValueKind.HL7_ID,
         "HL7 v3 queryId (continuation)"),
)


def _hl7(*names: str) -> tuple[str, ...]:
    return tuple(qname(HL7V3, name) for name in names)


#: What to regenerate per transaction (ITI TF-2; ihe-domain.md §4). The wsa:MessageID of the
#: SOAP envelope, MTOM framing and WS-Security are handled for every transaction.
REGENERATION_RULES: Mapping[str, TransactionRules] = {
    "ITI-41": TransactionRules((qname(XDSB, "ProvideAndRegisterDocumentSetRequest"),),
                               _XDS_SUBMISSION),
    "ITI-42": TransactionRules((qname(LCM, "SubmitObjectsRequest"),), _XDS_SUBMISSION),
    "ITI-18": TransactionRules((qname(QUERY, "AdhocQueryRequest"),), ()),
    "ITI-43": TransactionRules((qname(XDSB, "RetrieveDocumentSetRequest"),), ()),
    "ITI-44": TransactionRules(_hl7("PRPA_IN201301UV02", "PRPA_IN201302UV02",
                                    "PRPA_IN201304UV02"), _HL7_WRAPPER),
    "ITI-45": TransactionRules(_hl7("PRPA_IN201309UV02"), _HL7_QUERY),
    "ITI-47": TransactionRules(_hl7("PRPA_IN201305UV02", "QUQI_IN000003UV01"), _HL7_QUERY),
}
#: With ``fresh_patients``: a patient *added* by an ITI-44 feed (PRPA_IN201301UV02) gets new
#: ids on every replay, consistently in every later request of the cassette (ITI-45 queries,
#: ITI-41 metadata, ITI-18 parameters). Replays against a stateful system then never meet the
#: documents an earlier replay registered for the same patient.
FRESH_PATIENT_RULES: Mapping[str, tuple[Rule, ...]] = {
    "ITI-44": (Rule("self::hl7:PRPA_IN201301UV02/hl7:controlActProcess/hl7:subject/"
                    "hl7:registrationEvent/hl7:subject1/hl7:patient/hl7:id",
                    ValueKind.PATIENT_ID, "patient id of a new patient (ITI-44 add)"),),
}

#: Transactions that share a body root with another and the same rules.
ALIASES = {"ITI-38": "ITI-18", "ITI-39": "ITI-43", "ITI-55": "ITI-47"}

_ENVELOPE_RULES = (Rule("./*[local-name()='Header']/wsa:MessageID/text()",
                        ValueKind.MESSAGE_ID, "wsa:MessageID"),)
_NAMESPACES = dict(PREFIXES)


@dataclass(frozen=True)
class Change:
    """One regenerated value: where, what it was and what it is now (``kind`` None: MTOM)."""

    what: str
    location: str
    old: str
    new: str
    kind: ValueKind | None = None


class IdMap:
    """Recorded value -> fresh value, shared by every request of one cassette.

    Not thread-safe: a cassette is replayed in order, one request after the other; give each
    cassette its own map.
    """

    def __init__(self, ids: IdGenerator = DEFAULT_IDS) -> None:
        self.ids = ids
        self._fresh: dict[tuple[bool, str], str] = {}
        self._globals = 0
        self._pattern: re.Pattern[str] | None = None

    def fresh(self, recorded: str, kind: ValueKind) -> str:
        """The fresh value for ``recorded`` (made on first use, then always the same)."""
        key = (kind in GLOBAL_KINDS, recorded)
        value = self._fresh.get(key)
        if value is None:
            value = self._generate(recorded, kind)
            self._fresh[key] = value
            if key[0]:
                self._globals += 1
                self._pattern = None
        return value

    def get(self, recorded: str) -> str | None:
        return self._fresh.get((True, recorded)) or self._fresh.get((False, recorded))

    def items(self) -> dict[str, str]:
        """Every recorded -> fresh pair (what the comparer needs to accept echoed values)."""
        return {recorded: fresh for (_, recorded), fresh in self._fresh.items()}

    def __len__(self) -> int:
        return len(self._fresh)

    def has_global(self) -> bool:
        """Whether any value may need substituting outside the rule paths."""
        return self._globals > 0

    def remap(self, text: str) -> str:
        """``text`` with every recorded value of a global kind replaced by its fresh value.

        Matches whole tokens only: ``1.2.3`` is not replaced inside ``1.2.34``.
        """
        pattern = self.pattern()
        return text if pattern is None else pattern.sub(self._replacement, text)

    def pattern(self) -> re.Pattern[str] | None:
        """One regular expression matching any recorded value of a global kind (or None)."""
        if self._globals == 0:
            return None
        if self._pattern is None:
            keys = sorted((r for glob, r in self._fresh if glob), key=len, reverse=True)
            self._pattern = re.compile(
                r"(?<![\w.\-])(" + "|".join(re.escape(k) for k in keys) + r")(?![\w.\-])")
        return self._pattern

    def _replacement(self, match: re.Match[str]) -> str:
        return self._fresh[(True, match.group(1))]

    def _generate(self, recorded: str, kind: ValueKind) -> str:
        value = recorded.strip()
        if kind in (ValueKind.MESSAGE_ID, ValueKind.ENTRY_UUID) or (
                kind is not ValueKind.TIMESTAMP and is_uuid(value)):
            return _uuid_like(value, self.ids.uuid())
        if kind is ValueKind.UNIQUE_ID:
            oid, sep, extension = value.partition("^")
            return self.ids.oid() + (sep + extension if is_oid(oid) else "")
        if kind is ValueKind.PATIENT_ID:
            return f"{value}-R{self.ids.uuid().replace('-', '')[:8].upper()}"
        if kind is ValueKind.HL7_ID:
            if value.isdigit():
                return str(int(self.ids.uuid().replace("-", ""), 16))[:max(len(value), 13)]
            return self.ids.oid() if is_oid(value) else self.ids.uuid()
        return self.ids.timestamp_like(value)


def _uuid_like(recorded: str, fresh: str) -> str:
    """``fresh`` spelled like ``recorded``: same ``urn:uuid:`` / ``uuid:`` prefix and case."""
    lowered = recorded.lower()
    prefix = next((recorded[: len(p)] for p in ("urn:uuid:", "uuid:") if lowered.startswith(p)),
                  "")
    body = recorded[len(prefix):]
    if not is_uuid(body):
        return f"urn:uuid:{fresh}"
    return prefix + (fresh.upper() if body.isupper() else fresh)


@dataclass(frozen=True)
class Regenerated:
    """The request to send, which transaction it was taken for, and every value changed."""

    request: Request
    transaction: str | None
    changes: tuple[Change, ...]


def detect_transaction(payload: etree._Element) -> str | None:
    """The transaction whose body root ``payload`` is (by element, never by wsa:Action)."""
    tag = payload.tag
    return next((name for name, rules in REGENERATION_RULES.items() if tag in rules.roots),
                None)


def regenerate_request(
    request: Request,
    id_map: IdMap,
    *,
    transaction: str | None = None,
    security: SecurityHeader | None = None,
    to: str | None = None,
    source: str | None = None,
    fresh_patients: bool = False,
) -> Regenerated:
    """A copy of ``request`` with the values of :data:`REGENERATION_RULES` made fresh
    (and of :data:`FRESH_PATIENT_RULES` with ``fresh_patients``).

    Values regenerated by earlier requests of the cassette (``id_map``) are substituted
    wherever they reappear. ``transaction`` overrides detection by body root; ``to``
    rewrites ``wsa:To`` for a new target; ``security`` re-issues WS-Security. Bodies that are
    not XML (HL7 v2, JSON) come back unchanged. Malformed XML raises
    :class:`~ihe_test_util.errors.XmlInputError` naming ``source``.
    """
    detected: list[str | None] = [transaction]

    def edit(root: etree._Element, xml: bytes) -> list[Change]:
        envelope = _envelope_of(root)
        payload = _payload_of(envelope) if envelope is not None else root
        if transaction is None and payload is not None:
            detected[0] = detect_transaction(payload)
        rules = REGENERATION_RULES.get(ALIASES.get(detected[0] or "", detected[0] or ""))
        changes: list[Change] = []
        if envelope is not None:
            changes.extend(_apply(envelope, _ENVELOPE_RULES, id_map))
            if to is not None:
                _set_to(envelope, to)
            SoapMessage(envelope).replace_security(security)
        if rules is not None and payload is not None:
            changes.extend(_apply(payload, rules.rules, id_map))
        if fresh_patients and payload is not None:
            extra = FRESH_PATIENT_RULES.get(detected[0] or "", ())
            changes.extend(_apply(payload, extra, id_map))
        replaced = sum(1 for change in changes if change.kind in GLOBAL_KINDS)
        _remap_everywhere(root, id_map, xml, replaced)
        return changes

    rewritten, changes = rewrite_request(request, edit, source)
    return Regenerated(rewritten, detected[0], tuple(changes))


def apply_id_map(request: Request, id_map: IdMap, *, source: str | None = None) -> Request:
    """Only substitute values already in ``id_map`` (nothing new is generated)."""
    if not id_map.has_global():
        return request

    def edit(root: etree._Element, xml: bytes) -> list[Change]:
        _remap_everywhere(root, id_map, xml)
        return []

    return rewrite_request(request, edit, source)[0]


# -- internals ------------------------------------------------------------------------------

Edit = Callable[[etree._Element, bytes], list[Change]]


def rewrite_request(request: Request, edit: Edit, source: str | None = None) -> (
    tuple[Request, list[Change]]
):
    """Parse the request's XML (root part if MTOM), ``edit`` it, serialise it back.

    MTOM is re-packaged with a fresh boundary and Content-IDs; a plain body keeps its
    declared encoding; ``Content-Type`` and ``Content-Length`` follow the new body.
    """
    content_type = request.content_type
    multipart = is_multipart(content_type)
    mime = parse_multipart(request.body, content_type or "", source=source) if multipart \
        else None
    xml = mime.root.content if mime is not None else request.body
    if not xml.lstrip(b" \t\r\n\xef\xbb\xbf").startswith(b"<"):
        return request, []  # HL7 v2, JSON, empty: nothing to regenerate here
    root = parse_xml(xml, source=source)
    changes = edit(root, xml)
    if mime is not None:
        body, content_type, renamed = _repackage(root, mime.root.content_type, mime.attachments,
                                                 content_type or "")
        changes.extend(renamed)
    else:
        body = _serialise(root, xml)
    headers = request.headers
    if content_type is not None:
        headers = headers.with_value("Content-Type", content_type)
    if "Content-Length" in headers:
        headers = headers.with_value("Content-Length", str(len(body)))
    return request.evolve(body=body, headers=headers), changes



def _envelope_of(root: etree._Element) -> etree._Element | None:
    return root if etree.QName(root).localname == "Envelope" else None


def _payload_of(envelope: etree._Element) -> etree._Element | None:
    for child in envelope.iterchildren("*"):
        if etree.QName(child).localname == "Body":
            return next(child.iterchildren("*"), None)
    return None


_compiled = threading.local()


def compiled_xpath(expression: str) -> etree.XPath:
    """A compiled XPath (conventional prefixes), cached per thread: compiled evaluators are not
    shared across threads. Also used by :mod:`ihe_test_util.serve` to read the same rules."""
    cache: dict[str, etree.XPath] | None = getattr(_compiled, "cache", None)
    if cache is None:
        cache = _compiled.cache = {}
    found = cache.get(expression)
    if found is None:
        found = cache[expression] = etree.XPath(expression, namespaces=_NAMESPACES)
    return found


def _apply(context: etree._Element, rules: tuple[Rule, ...], id_map: IdMap) -> Iterator[Change]:
    for rule in rules:
        found = compiled_xpath(rule.xpath)(context)
        for node in found if isinstance(found, list) else ():
            change = _regenerate_node(node, rule, id_map)
            if change is not None:
                yield change


def _regenerate_node(node: object, rule: Rule, id_map: IdMap) -> Change | None:
    if isinstance(node, etree._Element):  # an HL7 II: extension if present, else root
        attribute = "extension" if node.get("extension") else "root"
        old = node.get(attribute)
        if not old:
            return None  # nullFlavor ids carry nothing to regenerate
        new = id_map.fresh(old, rule.kind)
        node.set(attribute, new)
        return Change(rule.what, f"{_where(node)}/@{attribute}", old, new, rule.kind)
    if not isinstance(node, etree._ElementUnicodeResult):
        return None
    parent = node.getparent()
    if parent is None:
        return None
    old = str(node)
    if rule.kind is ValueKind.ENTRY_UUID and not old.strip().lower().startswith("urn:uuid:"):
        return None  # a symbolic id: the registry assigns the entryUUID
    new = id_map.fresh(old, rule.kind) if rule.kind is not ValueKind.TIMESTAMP else \
        id_map.ids.timestamp_like(old)
    if node.is_attribute:
        name = str(node.attrname)
        parent.set(name, new)
        return Change(rule.what, f"{_where(parent)}/@{etree.QName(name).localname}", old, new,
                      rule.kind)
    parent.text = new
    return Change(rule.what, _where(parent), old, new, rule.kind)


def _where(element: etree._Element) -> str:
    """An XPath to the element in its document (prefixed as written), for reports."""
    return str(element.getroottree().getpath(element))


_SECURITY = qname(WSSE, "Security")
_DOCUMENT = qname(XDSB, "Document")


def _remap_everywhere(
    root: etree._Element, id_map: IdMap, original: bytes, replaced: int = 0,
) -> None:
    """Substitute recorded values of global kinds in every text and attribute value.

    Never inside ``wsse:Security`` (signed) nor in the text of ``xdsb:Document`` (the
    document's own bytes, inline base64); its ``@id`` reference is remapped. Skipped at once
    when recorded values occur in the ``original`` bytes no more often than the rules have
    already ``replaced`` them (the common case: nothing refers to them).
    """
    pattern = id_map.pattern()
    if pattern is None:
        return
    occurrences = sum(1 for _ in pattern.finditer(original.decode("utf-8", "replace")))
    if occurrences <= replaced:
        return
    search, replace = pattern.search, id_map.remap
    stack = [root]
    while stack:
        element = stack.pop()
        if element.tag == _SECURITY:
            continue
        text = element.text
        if text and element.tag != _DOCUMENT and search(text):
            element.text = replace(text)
        for name, value in element.attrib.items():
            if search(value):  # type: ignore[arg-type]
                element.set(name, replace(str(value)))
        stack.extend(element.iterchildren("*"))


def _set_to(envelope: etree._Element, to: str) -> None:
    header = SoapMessage(envelope).header
    element = header.find(qname(WSA, "To")) if header is not None else None
    if element is not None:
        element.text = to


def _serialise(root: etree._Element, original: bytes) -> bytes:
    """Serialise like the recorded document: same declared encoding, declaration or not."""
    encoding = root.getroottree().docinfo.encoding or "UTF-8"
    declaration = original.lstrip().startswith(b"<?xml")
    data = etree.tostring(root, xml_declaration=declaration, encoding=encoding)
    return data if isinstance(data, bytes) else data.encode(encoding)


def _repackage(
    root: etree._Element, root_type: str, parts: tuple[MimePart, ...], content_type: str,
) -> tuple[bytes, str, list[Change]]:
    """Re-wrap as MTOM with a fresh boundary and Content-IDs; hrefs follow, bytes do not move."""
    changes: list[Change] = []
    fresh: list[Attachment] = []
    renamed: dict[int, str] = {}
    by_cid = {normalise_cid(p.content_id): i for i, p in enumerate(parts) if p.content_id}
    for index, part in enumerate(parts):
        cid = new_content_id()
        renamed[index] = cid
        fresh.append(Attachment(cid, part.content_type, part.content))
    for include in root.iter(qname(XOP, "Include")):
        href = include.get("href") or ""
        target = by_cid.get(normalise_cid(href))
        if target is None:
            raise XmlInputError(f"xop:Include points at {href!r}, which is not among the MIME "
                                "parts of the recorded request")
        include.set("href", f"cid:{renamed[target]}")
        changes.append(Change("MTOM Content-ID", f"{_where(include)}/@href", href,
                              f"cid:{renamed[target]}"))
    action = content_type_params(content_type)[1].get("action") or \
        content_type_params(root_type)[1].get("action")
    xml = etree.tostring(root, xml_declaration=True, encoding="UTF-8")
    body, new_type = build_mtom(xml, fresh, soap_action=action)
    return body, new_type, changes
