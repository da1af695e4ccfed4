"""Upgrade profiles: what an "upgraded" endpoint does differently, as a table of named deviations.

A profile is a set of :class:`Deviation` names; the actors ask ``profile.has(...)`` at the one
place each deviation changes their behaviour. ``compatible`` holds only noise and benign drift
(nothing a verdict field would show); ``breaking`` holds real regressions, each tied to the
verdict field an IHE-aware comparer must flag. docs/simulator.md describes every entry.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from ihe_test_util.errors import UsageError


class Kind(str, Enum):
    NOISE = "noise"            # spelling only: a comparer must report nothing
    DRIFT = "drift"            # benign payload drift: at most "changed", never a regression
    REGRESSION = "regression"  # changes a verdict field


@dataclass(frozen=True)
class DeviationInfo:
    kind: Kind
    transactions: tuple[str, ...]
    #: the verdict field a comparer sees change (cli.md), or the payload part for drift/noise
    affects: str
    description: str


class Deviation(str, Enum):
    # compatible
    ALTERNATE_XML_STYLE = "alternate-xml-style"
    REORDERED_RESULTS = "reordered-results"
    DOCUMENTS_INLINE = "documents-inline"
    EXTRA_OPTIONAL_SLOT = "extra-optional-slot"
    REWORDED_ERROR_CONTEXT = "reworded-error-context"
    FHIR_ID_FORMAT = "fhir-id-format"
    FHIR_ENTRY_ORDER = "fhir-entry-order"
    FHIR_META_TAG = "fhir-meta-tag"
    FHIR_BUNDLE_LINKS = "fhir-bundle-links"
    V2_CONTROL_ID_FORMAT = "v2-control-id-format"
    V2_TRAILING_EMPTY_FIELDS = "v2-trailing-empty-fields"
    V2_REORDERED_RESULTS = "v2-reordered-results"
    # breaking
    FIND_DOCUMENTS_IGNORES_STATUS = "find-documents-ignores-status"
    GET_DOCUMENTS_DROPS_LAST = "get-documents-drops-last"
    REQUIRED_SLOT_DROPPED = "required-slot-dropped"
    DUPLICATE_UNIQUE_ID_CODE_CHANGED = "duplicate-uniqueid-code-changed"
    REVISE_FEED_REJECTED = "revise-feed-rejected"
    PIX_UNKNOWN_PATIENT_NF = "pix-unknown-patient-nf"
    PDQ_IGNORES_BIRTH_TIME = "pdq-ignores-birth-time"
    RETRIEVE_PARTIAL_AS_FAILURE = "retrieve-partial-as-failure"
    FHIR_CHAINED_SEARCH_IGNORED = "fhir-chained-search-ignored"
    FHIR_SORT_IGNORED = "fhir-sort-ignored"
    MHD_STATUS_FILTER_IGNORED = "mhd-status-filter-ignored"
    MHD_VALIDATION_RELAXED = "mhd-validation-relaxed"
    PIXM_DROPS_IDENTIFIER = "pixm-drops-identifier"
    V2_MERGE_IGNORED = "v2-merge-ignored"
    V2_KNOWN_PATIENT_NF = "v2-known-patient-nf"
    V2_BIRTH_DATE_DROPPED = "v2-birth-date-dropped"

    @property
    def info(self) -> DeviationInfo:
        return DEVIATIONS[self]


DEVIATIONS: dict[Deviation, DeviationInfo] = {
    Deviation.ALTERNATE_XML_STYLE: DeviationInfo(
        Kind.NOISE, ("all",), "namespace prefixes, declarations, whitespace, XML declaration",
        "Responses are written JAXB/CXF-style: numbered prefixes (S:, ns2:, ns6:, ...) "
        "declared on the envelope, HL7v3 prefixed instead of the default namespace, indented, "
        "no XML declaration.",
    ),
    Deviation.REORDERED_RESULTS: DeviationInfo(
        Kind.NOISE, ("ITI-18", "ITI-43", "ITI-47", "ITI-55"),
        "order of rim:RegistryObjectList children, DocumentResponse and subject elements",
        "Lists whose order IHE does not define come back in reverse order.",
    ),
    Deviation.DOCUMENTS_INLINE: DeviationInfo(
        Kind.NOISE, ("ITI-43",), "MTOM framing of document bytes",
        "Retrieved documents travel as inline base64 inside xdsb:Document instead of "
        "xop:Include attachments (the decoded bytes are identical).",
    ),
    Deviation.EXTRA_OPTIONAL_SLOT: DeviationInfo(
        Kind.DRIFT, ("ITI-18",), "an extra rim:Slot on DocumentEntries",
        "LeafClass DocumentEntries carry an extra optional slot documentAvailability = "
        "urn:ihe:iti:2010:DocumentAvailability:Online.",
    ),
    Deviation.REWORDED_ERROR_CONTEXT: DeviationInfo(
        Kind.NOISE, ("ITI-18", "ITI-41", "ITI-42", "ITI-43"), "RegistryError/@codeContext",
        "Error texts are worded differently; errorCode, severity and location are unchanged.",
    ),
    Deviation.FHIR_ID_FORMAT: DeviationInfo(
        Kind.NOISE, ("ITI-65", "ITI-66", "ITI-67", "ITI-68", "ITI-78", "ITI-83", "ITI-104",
                     "ITI-119"),
        "server-assigned resource ids (Resource.id, references, Location, fullUrl)",
        "Server-assigned FHIR ids have another format: UUIDs without dashes for documents and "
        "lists, name-based UUIDs instead of numbers for patients.",
    ),
    Deviation.FHIR_ENTRY_ORDER: DeviationInfo(
        Kind.NOISE, ("ITI-66", "ITI-67", "ITI-78"), "Bundle.entry order of searches without _sort",
        "Searchset entries come back in reverse order when the search has no _sort (FHIR "
        "defines no order then); sorted searches keep their order.",
    ),
    Deviation.FHIR_META_TAG: DeviationInfo(
        Kind.DRIFT, ("ITI-65", "ITI-66", "ITI-67", "ITI-78", "ITI-104", "ITI-119"),
        "an extra meta.tag on returned resources",
        "Every resource the FHIR actors return carries an extra meta.tag "
        "(http://ihe-test-utility.invalid/sim-tag|upgraded).",
    ),
    Deviation.FHIR_BUNDLE_LINKS: DeviationInfo(
        Kind.NOISE, ("ITI-66", "ITI-67", "ITI-78", "ITI-119"), "Bundle.link",
        "Searchset Bundles spell their self link with the parameters sorted and add a "
        "'first' link.",
    ),
    Deviation.V2_CONTROL_ID_FORMAT: DeviationInfo(
        Kind.NOISE, ("ITI-8", "ITI-9", "ITI-21"), "MSH-10 of acknowledgments and responses",
        "HL7 v2 replies carry their message control id (MSH-10) as a UUID instead of ACK "
        "followed by 17 hex digits.",
    ),
    Deviation.V2_TRAILING_EMPTY_FIELDS: DeviationInfo(
        Kind.NOISE, ("ITI-8", "ITI-9", "ITI-21"), "trailing field separators",
        "Every segment of an HL7 v2 reply after MSH ends with empty fields (MSA|AA|MSG1|||), "
        "as many v2 interface engines write them.",
    ),
    Deviation.V2_REORDERED_RESULTS: DeviationInfo(
        Kind.NOISE, ("ITI-21",), "order of the PID groups of an RSP^K22",
        "The patients of a PDQ v2 answer come back in reverse order (ITI-21 defines none).",
    ),
    Deviation.FIND_DOCUMENTS_IGNORES_STATUS: DeviationInfo(
        Kind.REGRESSION, ("ITI-18",), "result count",
        "FindDocuments ignores $XDSDocumentEntryStatus: Deprecated (replaced) entries come "
        "back alongside Approved ones.",
    ),
    Deviation.GET_DOCUMENTS_DROPS_LAST: DeviationInfo(
        Kind.REGRESSION, ("ITI-18",), "result count",
        "GetDocuments (and GetDocumentsAndAssociations) leaves out the last DocumentEntry it "
        "found (an off-by-one in paging), so a document is missing from the result.",
    ),
    Deviation.REQUIRED_SLOT_DROPPED: DeviationInfo(
        Kind.REGRESSION, ("ITI-18",), "payload: required slot creationTime missing",
        "LeafClass DocumentEntries lack the required creationTime slot.",
    ),
    Deviation.DUPLICATE_UNIQUE_ID_CODE_CHANGED: DeviationInfo(
        Kind.REGRESSION, ("ITI-41", "ITI-42"), "error codes",
        "A duplicate DocumentEntry.uniqueId is reported as XDSRegistryError instead of "
        "XDSDuplicateUniqueIdInRegistry.",
    ),
    Deviation.REVISE_FEED_REJECTED: DeviationInfo(
        Kind.REGRESSION, ("ITI-44",), "acknowledgement typeCode",
        "Revise feeds (PRPA_IN201302UV02) it used to accept are answered AE (code 200, "
        "unsupported interaction) and not applied.",
    ),
    Deviation.PIX_UNKNOWN_PATIENT_NF: DeviationInfo(
        Kind.REGRESSION, ("ITI-45",), "acknowledgement typeCode and queryResponseCode",
        "A PIX query for an unknown patient id in a known domain is answered AA/NF instead of "
        "AE/AE with acknowledgementDetail 204.",
    ),
    Deviation.PDQ_IGNORES_BIRTH_TIME: DeviationInfo(
        Kind.REGRESSION, ("ITI-47", "ITI-55"), "result count",
        "PDQ and XCPD matching ignores livingSubjectBirthTime, so patients with another birth date "
        "match too.",
    ),
    Deviation.RETRIEVE_PARTIAL_AS_FAILURE: DeviationInfo(
        Kind.REGRESSION, ("ITI-43",), "status and document count",
        "A retrieve in which some documents are unknown answers Failure with no documents "
        "instead of PartialSuccess with the known ones.",
    ),
    Deviation.FHIR_CHAINED_SEARCH_IGNORED: DeviationInfo(
        Kind.REGRESSION, ("ITI-66", "ITI-67"), "Bundle.total",
        "A chained search parameter (patient.identifier) is ignored, so documents and lists "
        "of every patient match.",
    ),
    Deviation.FHIR_SORT_IGNORED: DeviationInfo(
        Kind.REGRESSION, ("ITI-66", "ITI-67", "ITI-78"), "Bundle.entry order under _sort",
        "_sort is accepted but ignored: entries come back in storage order.",
    ),
    Deviation.MHD_STATUS_FILTER_IGNORED: DeviationInfo(
        Kind.REGRESSION, ("ITI-67",), "Bundle.total",
        "The DocumentReference status parameter is ignored: superseded documents come back "
        "alongside current ones.",
    ),
    Deviation.MHD_VALIDATION_RELAXED: DeviationInfo(
        Kind.REGRESSION, ("ITI-65",), "HTTP status and OperationOutcome",
        "ITI-65 no longer checks the required DocumentReference and List metadata: a bundle "
        "the baseline refuses with 422 and an OperationOutcome is accepted (200) and stored "
        "with placeholder codes.",
    ),
    Deviation.PIXM_DROPS_IDENTIFIER: DeviationInfo(
        Kind.REGRESSION, ("ITI-83",), "Parameters.parameter (targetIdentifier)",
        "$ihe-pix returns one targetIdentifier fewer than it should (the last one is lost).",
    ),
    Deviation.V2_MERGE_IGNORED: DeviationInfo(
        Kind.REGRESSION, ("ITI-8", "ITI-9", "ITI-21", "ITI-45", "ITI-47", "ITI-78"),
        "result count and acknowledgment codes of later queries",
        "ADT^A40 merges are acknowledged AA but not applied: the subsumed identifier keeps "
        "its own patient, so a PIX query for it answers OK instead of AE and a PDQ query "
        "finds both patients.",
    ),
    Deviation.V2_KNOWN_PATIENT_NF: DeviationInfo(
        Kind.REGRESSION, ("ITI-9",), "QAK-2 and the number of PID segments",
        "A PIX v2 query (QBP^Q23) for a known patient with identifiers in the requested "
        "domains answers QAK-2 NF with no PID instead of OK.",
    ),
    Deviation.V2_BIRTH_DATE_DROPPED: DeviationInfo(
        Kind.REGRESSION, ("ITI-21",), "payload: PID-7 missing",
        "The PID segments of a PDQ v2 answer (RSP^K22) lack the date of birth (PID-7).",
    ),
}


@dataclass(frozen=True)
class Profile:
    name: str
    deviations: frozenset[Deviation]

    def has(self, deviation: Deviation) -> bool:
        return deviation in self.deviations


PROFILE_TABLE: dict[str, frozenset[Deviation]] = {
    "baseline": frozenset(),
    "compatible": frozenset(
        d for d, info in DEVIATIONS.items() if info.kind is not Kind.REGRESSION
    ),
    "breaking": frozenset(d for d, info in DEVIATIONS.items() if info.kind is Kind.REGRESSION),
}

PROFILES: tuple[str, ...] = tuple(PROFILE_TABLE)


def get_profile(profile: str | Profile) -> Profile:
    """The profile called ``profile`` (a :class:`Profile` is passed through, for tests)."""
    if isinstance(profile, Profile):
        return profile
    deviations = PROFILE_TABLE.get(profile)
    if deviations is None:
        raise UsageError(
            f"unknown simulator profile {profile!r}",
            hint=f"choose one of: {', '.join(PROFILES)}",
        )
    return Profile(profile, deviations)
