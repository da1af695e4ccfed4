"""Registry Stored Query (ITI-18): FindDocuments, FindSubmissionSets, GetDocuments,
GetAssociations, GetDocumentsAndAssociations, GetSubmissionSets, GetSubmissionSetAndContents,
with returnType ObjectRef or LeafClass.

Parameter values are SQL literals (``'a'``, ``('a','b')``); values inside one Slot are ORed and
repeated Slots ANDed (ITI TF-2 3.18.4.1.2.3.5). A query id IHE defines but this registry does
not implement is answered XDSUnknownStoredQuery, like a registry without that query would.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from lxml import etree

from ihe_test_util.ihe.catalogue import spec_for
from ihe_test_util.ihe.namespaces import QUERY, qname
from ihe_test_util.ihe.vocabulary import (
    APPROVED,
    DEPRECATED,
    DOCUMENT_ENTRY_STABLE,
    HAS_MEMBER,
    STATUS_FAILURE,
    STATUS_SUCCESS,
    STORED_QUERIES,
)
from ihe_test_util.safexml import parse_xml
from ihe_test_util.sim.context import ActorContext
from ihe_test_util.sim.ebrim import (
    RegistryError,
    error_list,
    insert_child,
    make_slot,
    remove_slot,
    rim,
)
from ihe_test_util.sim.profiles import Deviation
from ihe_test_util.sim.store import RegistryRecord
from ihe_test_util.sim.xds_metadata import ASSOCIATION, DOCUMENT_ENTRY, FOLDER, SUBMISSION_SET
from ihe_test_util.transport.soap_server import SoapReply, SoapRequest

MISSING_PARAM = "XDSStoredQueryMissingParam"
PARAM_NUMBER = "XDSStoredQueryParamNumber"
DOCUMENT_AVAILABILITY = "urn:ihe:iti:2010:DocumentAvailability:Online"

#: Stored queries IHE defines that this registry does not implement (id -> name).
NOT_IMPLEMENTED = {
    STORED_QUERIES[name]: name
    for name in ("FindFolders", "GetAll", "GetFolders", "GetFolderAndContents",
                 "GetFoldersForDocument", "GetRelatedDocuments", "FindDocumentsByReferenceId")
}


class QueryFailed(Exception):
    def __init__(self, code: str, context: str, location: str | None = None) -> None:
        super().__init__(context)
        self.error = RegistryError(code, context, location)


@dataclass
class Params:
    """Query slots: name -> one list of ORed values per Slot element (Slots are ANDed)."""

    slots: dict[str, list[list[str]]] = field(default_factory=dict)

    def has(self, name: str) -> bool:
        return name in self.slots

    def values(self, name: str) -> list[str]:
        """All values of ``name`` (for parameters where several Slots make no difference)."""
        return [v for group in self.slots.get(name, []) for v in group]

    def single(self, name: str) -> str | None:
        values = self.values(name)
        if len(values) > 1:
            raise QueryFailed(PARAM_NUMBER, f"{name} takes one value, got {len(values)}", name)
        return values[0] if values else None

    def groups(self, name: str) -> list[list[str]]:
        return self.slots.get(name, [])


@dataclass(frozen=True)
class StoredQuery:
    name: str
    #: each entry is a set of alternatives: exactly one of them must be present
    required: tuple[tuple[str, ...], ...]
    run: Callable[[Params, ActorContext], list[RegistryRecord]]

    @property
    def id(self) -> str:
        """The query id IHE assigns to this name."""
        return STORED_QUERIES[self.name]


def parse_values(raw: str, name: str) -> list[str]:
    """``'a'`` -> [a]; ``('a','b')`` -> [a, b]; bare numbers pass (``$MetadataLevel`` 1)."""
    text = raw.strip()
    if text.startswith("(") and text.endswith(")"):
        text = text[1:-1]
    values: list[str] = []
    position = 0
    while position < len(text):
        while position < len(text) and text[position] in " ,\t\r\n":
            position += 1
        if position >= len(text):
            break
        if text[position] == "'":
            end = position + 1
            chunk: list[str] = []
            while True:
                if end >= len(text):
                    raise QueryFailed("XDSRegistryError", f"{name}: unterminated quote in "
                                      f"{raw!r}", name)
                if text[end] == "'" and text[end + 1:end + 2] == "'":
                    chunk.append("'")
                    end += 2
                elif text[end] == "'":
                    break
                else:
                    chunk.append(text[end])
                    end += 1
            values.append("".join(chunk))
            position = end + 1
        else:
            end = position
            while end < len(text) and text[end] not in ",":
                end += 1
            token = text[position:end].strip()
            if not token.lstrip("-").isdigit():
                raise QueryFailed("XDSRegistryError", f"{name}: value {token!r} must be quoted "
                                  "('...')", name)
            values.append(token)
            position = end
    return values


def read_params(query: etree._Element) -> Params:
    params = Params()
    for slot in query.findall(rim("Slot")):
        name = slot.get("name", "")
        group: list[str] = []
        for value in slot.iterfind(f"{rim('ValueList')}/{rim('Value')}"):
            group.extend(parse_values(value.text or "", name))
        params.slots.setdefault(name, []).append(group)
    return params


# -- filters -------------------------------------------------------------------------------


def _codes_match(facet: list[str], groups: list[list[str]]) -> bool:
    """Every Slot (group) needs one value in the facet; ``code`` alone matches any scheme."""
    def hit(wanted: str) -> bool:
        return any(have == wanted or (
            "^^" not in wanted and have.split("^^", 1)[0] == wanted) for have in facet)
    return all(any(hit(w) for w in group) for group in groups)


def _time_in(values: list[str], low: str | None, high: str | None) -> bool:
    """``low <= value < high`` on HL7 DTM strings compared on their common precision."""
    if not low and not high:
        return True
    for value in values:
        if low and value[:len(low)] < low[:len(value)]:
            continue
        if high and value[:len(high)] >= high[:len(value)]:
            continue
        return True
    return False


def _like(values: list[str], patterns: list[str]) -> bool:
    import fnmatch

    return any(fnmatch.fnmatchcase(v, p.replace("%", "*").replace("_", "?"))
               for v in values for p in patterns)


@dataclass(frozen=True)
class Filter:
    """One optional query parameter and how it narrows a facet."""

    facet: str
    kind: str  # codes | time-from | time-to | like | values


_DE_FILTERS: dict[str, Filter] = {
    "$XDSDocumentEntryClassCode": Filter("classCode", "codes"),
    "$XDSDocumentEntryTypeCode": Filter("typeCode", "codes"),
    "$XDSDocumentEntryPracticeSettingCode": Filter("practiceSettingCode", "codes"),
    "$XDSDocumentEntryHealthcareFacilityTypeCode": Filter("healthcareFacilityTypeCode", "codes"),
    "$XDSDocumentEntryEventCodeList": Filter("eventCodeList", "codes"),
    "$XDSDocumentEntryConfidentialityCode": Filter("confidentialityCode", "codes"),
    "$XDSDocumentEntryFormatCode": Filter("formatCode", "codes"),
    "$XDSDocumentEntryCreationTimeFrom": Filter("creationTime", "time-from"),
    "$XDSDocumentEntryCreationTimeTo": Filter("creationTime", "time-to"),
    "$XDSDocumentEntryServiceStartTimeFrom": Filter("serviceStartTime", "time-from"),
    "$XDSDocumentEntryServiceStartTimeTo": Filter("serviceStartTime", "time-to"),
    "$XDSDocumentEntryServiceStopTimeFrom": Filter("serviceStopTime", "time-from"),
    "$XDSDocumentEntryServiceStopTimeTo": Filter("serviceStopTime", "time-to"),
    "$XDSDocumentEntryAuthorPerson": Filter("authorPerson", "like"),
    "$XDSDocumentEntryType": Filter("objectType", "values"),
}
_SS_FILTERS: dict[str, Filter] = {
    "$XDSSubmissionSetSourceId": Filter("sourceId", "values"),
    "$XDSSubmissionSetSubmissionTimeFrom": Filter("submissionTime", "time-from"),
    "$XDSSubmissionSetSubmissionTimeTo": Filter("submissionTime", "time-to"),
    "$XDSSubmissionSetAuthorPerson": Filter("authorPerson", "like"),
    "$XDSSubmissionSetContentType": Filter("contentTypeCode", "codes"),
}
#: Filters GetSubmissionSetAndContents applies to the documents it returns.
_CONTENT_FILTERS = {name: _DE_FILTERS[name] for name in (
    "$XDSDocumentEntryFormatCode", "$XDSDocumentEntryConfidentialityCode",
    "$XDSDocumentEntryType")}


def _passes(record: RegistryRecord, params: Params, filters: dict[str, Filter]) -> bool:
    for name, rule in filters.items():
        if not params.has(name):
            continue
        facet = list(record.facets.get(rule.facet, []))
        if rule.kind == "codes" and not _codes_match(facet, params.groups(name)):
            return False
        if rule.kind == "time-from" and not _time_in(facet, params.single(name), None):
            return False
        if rule.kind == "time-to" and not _time_in(facet, None, params.single(name)):
            return False
        if rule.kind == "like" and not _like(facet, params.values(name)):
            return False
        if rule.kind == "values" and not set(facet) & set(params.values(name)):
            return False
    return True


# -- the queries ---------------------------------------------------------------------------


def _statuses(params: Params, name: str) -> list[str]:
    statuses = params.values(name)
    unknown = [s for s in statuses if s not in (APPROVED, DEPRECATED)]
    if unknown:
        raise QueryFailed("XDSRegistryError", f"{name}: unknown status {unknown[0]!r}", name)
    return statuses


def find_documents(params: Params, ctx: ActorContext) -> list[RegistryRecord]:
    patient = params.single("$XDSDocumentEntryPatientId")
    statuses = _statuses(params, "$XDSDocumentEntryStatus")
    if ctx.has(Deviation.FIND_DOCUMENTS_IGNORES_STATUS):
        statuses = [APPROVED, DEPRECATED]
    found = ctx.store.objects(kind=DOCUMENT_ENTRY, patient_id=patient, statuses=statuses)
    if not params.has("$XDSDocumentEntryType"):
        found = [r for r in found if DOCUMENT_ENTRY_STABLE in r.facets.get("objectType", [])]
    return [r for r in found if _passes(r, params, _DE_FILTERS)]


def find_submission_sets(params: Params, ctx: ActorContext) -> list[RegistryRecord]:
    patient = params.single("$XDSSubmissionSetPatientId")
    statuses = _statuses(params, "$XDSSubmissionSetStatus")
    found = ctx.store.objects(kind=SUBMISSION_SET, patient_id=patient, statuses=statuses)
    return [r for r in found if _passes(r, params, _SS_FILTERS)]


def get_documents(params: Params, ctx: ActorContext) -> list[RegistryRecord]:
    found = ctx.store.objects(
        kind=DOCUMENT_ENTRY,
        entry_uuids=params.values("$XDSDocumentEntryEntryUUID") or None,
        unique_ids=params.values("$XDSDocumentEntryUniqueId") or None,
    )
    if ctx.has(Deviation.GET_DOCUMENTS_DROPS_LAST):
        found = found[:-1]
    return found


def get_associations(params: Params, ctx: ActorContext) -> list[RegistryRecord]:
    return ctx.store.associations_of(params.values("$uuid"))


def get_documents_and_associations(params: Params, ctx: ActorContext) -> list[RegistryRecord]:
    documents = get_documents(params, ctx)
    return documents + ctx.store.associations_of(r.entry_uuid for r in documents)


def get_submission_sets(params: Params, ctx: ActorContext) -> list[RegistryRecord]:
    """SubmissionSets that hold the given objects, with the HasMember associations."""
    wanted = set(params.values("$uuid"))
    links = [a for a in ctx.store.associations_of(wanted)
             if a.assoc_type == HAS_MEMBER and a.target in wanted]
    sets = ctx.store.objects(kind=SUBMISSION_SET, entry_uuids={a.source for a in links if a.source})
    chosen = {s.entry_uuid for s in sets}
    return sets + [a for a in links if a.source in chosen]


def get_submission_set_and_contents(params: Params, ctx: ActorContext) -> list[RegistryRecord]:
    sets = ctx.store.objects(
        kind=SUBMISSION_SET,
        entry_uuids=params.values("$XDSSubmissionSetEntryUUID") or None,
        unique_ids=params.values("$XDSSubmissionSetUniqueId") or None,
    )
    if not sets:
        return []
    package = sets[0]
    links = [a for a in ctx.store.associations_of([package.entry_uuid])
             if a.assoc_type == HAS_MEMBER and a.source == package.entry_uuid]
    members = ctx.store.objects(entry_uuids=[a.target for a in links if a.target])
    documents = [m for m in members if m.kind == DOCUMENT_ENTRY
                 and _passes(m, params, _CONTENT_FILTERS)]
    folders = [m for m in members if m.kind == FOLDER]
    shown = {m.entry_uuid for m in documents + folders}
    return [package, *documents, *folders, *(a for a in links if a.target in shown)]


#: The stored queries this registry answers, by query id.
IMPLEMENTED: dict[str, StoredQuery] = {query.id: query for query in (
    StoredQuery(
        "FindDocuments",
        (("$XDSDocumentEntryPatientId",), ("$XDSDocumentEntryStatus",)), find_documents),
    StoredQuery(
        "FindSubmissionSets",
        (("$XDSSubmissionSetPatientId",), ("$XDSSubmissionSetStatus",)), find_submission_sets),
    StoredQuery(
        "GetDocuments",
        (("$XDSDocumentEntryEntryUUID", "$XDSDocumentEntryUniqueId"),), get_documents),
    StoredQuery(
        "GetAssociations", (("$uuid",),), get_associations),
    StoredQuery(
        "GetDocumentsAndAssociations",
        (("$XDSDocumentEntryEntryUUID", "$XDSDocumentEntryUniqueId"),),
        get_documents_and_associations),
    StoredQuery(
        "GetSubmissionSets", (("$uuid",),), get_submission_sets),
    StoredQuery(
        "GetSubmissionSetAndContents",
        (("$XDSSubmissionSetEntryUUID", "$XDSSubmissionSetUniqueId"),),
        get_submission_set_and_contents),
)}


def _check_required(query: StoredQuery, params: Params) -> None:
    for alternatives in query.required:
        present = [name for name in alternatives if params.values(name)]
        if not present:
            raise QueryFailed(MISSING_PARAM, f"{query.name} requires "
                              f"{' or '.join(alternatives)}", alternatives[0])
        if len(present) > 1:
            raise QueryFailed(PARAM_NUMBER, f"{query.name} takes only one of "
                              f"{' and '.join(present)}", present[1])


# -- the transaction -----------------------------------------------------------------------


def stored_query(request: SoapRequest, ctx: ActorContext) -> SoapReply:
    """ITI-18: run the stored query and answer AdhocQueryResponse."""
    body = request.body
    option = body.find(qname(QUERY, "ResponseOption"))
    return_type = option.get("returnType", "") if option is not None else ""
    response = etree.Element(qname(QUERY, "AdhocQueryResponse"))
    if body.get("id"):
        response.set("requestId", body.get("id", ""))
    try:
        if return_type not in ("LeafClass", "ObjectRef"):
            raise QueryFailed("XDSRegistryError", "ResponseOption/@returnType must be "
                              f"LeafClass or ObjectRef, got {return_type!r}")
        records = _run(body, ctx)
    except QueryFailed as failure:
        response.set("status", STATUS_FAILURE)
        error_list(response, [failure.error], reworded=ctx.has(Deviation.REWORDED_ERROR_CONTEXT))
        etree.SubElement(response, rim("RegistryObjectList"))
        return SoapReply(spec_for("ITI-18").response_action(), response)
    response.set("status", STATUS_SUCCESS)
    listing = etree.SubElement(response, rim("RegistryObjectList"))
    if ctx.has(Deviation.REORDERED_RESULTS):
        records.reverse()
    for record in records:
        if return_type == "ObjectRef":
            etree.SubElement(listing, rim("ObjectRef"), id=record.entry_uuid)
        else:
            listing.append(leaf_class(record, ctx))
    return SoapReply(spec_for("ITI-18").response_action(), response)


def _run(body: etree._Element, ctx: ActorContext) -> list[RegistryRecord]:
    adhoc = body.find(rim("AdhocQuery"))
    query_id = (adhoc.get("id") or "").strip() if adhoc is not None else ""
    if adhoc is None or not query_id:
        raise QueryFailed("XDSUnknownStoredQuery", "no AdhocQuery/@id in the request")
    query = IMPLEMENTED.get(query_id)
    if query is None:
        known = NOT_IMPLEMENTED.get(query_id)
        detail = f"{known} is not supported by this registry" if known else "unknown query id"
        raise QueryFailed("XDSUnknownStoredQuery", f"{query_id}: {detail}", query_id)
    params = read_params(adhoc)
    _check_required(query, params)
    return query.run(params, ctx)


def leaf_class(record: RegistryRecord, ctx: ActorContext) -> etree._Element:
    """The full ebRIM object as the registry returns it (current status, profile drift)."""
    element = parse_xml(record.xml, source="simulator state")
    if record.kind != ASSOCIATION or element.get("status"):
        element.set("status", record.status)
    if record.kind == DOCUMENT_ENTRY:
        if ctx.has(Deviation.EXTRA_OPTIONAL_SLOT):
            insert_child(element, make_slot("documentAvailability", [DOCUMENT_AVAILABILITY]))
        if ctx.has(Deviation.REQUIRED_SLOT_DROPPED):
            remove_slot(element, "creationTime")
    return element
