"""IHE vocabulary, each value spelled once: status and severity URNs, metadata UUIDs, association
types, stored-query ids, unordered containers, ack classes.

Builders write these values, the simulator checks and answers with them, the comparer and
serve read them; none of them spells a URN or UUID itself. Sources: ITI TF-3 4.2.3 (metadata
UUIDs), 4.2.2 (associations) and 4.2.4 (status / severity URNs); ITI TF-2 3.18.4.1.2.3.7
(stored queries) and 3.44-3.55 (HL7v3 acknowledgement codes); ``shared/design/ihe-domain.md``
section 6 (ordering) and 7 (quirks).
"""

from __future__ import annotations

from ihe_test_util.ihe.namespaces import FHIR, HL7V3, RIM, RS, XDSB, qname

# -- Registry response status (ITI TF-3 4.2.4.1): RegistryResponse / AdhocQueryResponse @status
STATUS_SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
STATUS_FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
STATUS_PARTIAL_SUCCESS = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
#: The ebXML spelling of PartialSuccess some registries send (openxds): read, never written.
STATUS_PARTIAL_SUCCESS_EBXML = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:PartialSuccess"

#: RegistryResponse / AdhocQueryResponse ``@status``, normalised to its short name. Both
#: PartialSuccess spellings occur in practice (IHE URN per TF-3, ebXML URN from openxds).
REGISTRY_STATUS: dict[str, str] = {
    STATUS_SUCCESS: "Success",
    STATUS_FAILURE: "Failure",
    STATUS_PARTIAL_SUCCESS: "PartialSuccess",
    STATUS_PARTIAL_SUCCESS_EBXML: "PartialSuccess",
}

# -- RegistryError @severity (ITI TF-3 4.2.4.2) ---------------------------------------------------
SEVERITY_ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
SEVERITY_WARNING = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning"

#: RegistryError ``@severity``: the URNs and the bare words some systems send (CONNECT mocks).
ERROR_SEVERITY: dict[str, str] = {
    SEVERITY_ERROR: "Error",
    SEVERITY_WARNING: "Warning",
    "Error": "Error",
    "Warning": "Warning",
}

#: HL7v3 acknowledgement typeCode and HL7v2 MSA-1: original (A*) and enhanced (C*) mode codes
#: fall into the same three classes; a class change is a regression, a spelling change is not.
ACK_CLASS: dict[str, str] = {
    "AA": "accept", "CA": "accept",
    "AE": "error", "CE": "error",
    "AR": "reject", "CR": "reject",
}

#: FHIR OperationOutcome.issue.severity, most severe last.
FHIR_SEVERITY_ORDER = ("information", "warning", "error", "fatal")

# ITI TF-3 4.2.3 / 4.2.5: metadata UUIDs (all written with the urn:uuid: prefix on the wire).
DOCUMENT_ENTRY_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
DOCUMENT_ENTRY_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
SUBMISSION_SET_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
SUBMISSION_SET_SOURCE_ID = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
SUBMISSION_SET_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
FOLDER_UNIQUE_ID = "urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a"
FOLDER_PATIENT_ID = "urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a"
SUBMISSION_SET_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
FOLDER_NODE = "urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2"

# -- More metadata UUIDs (ITI TF-3 4.2.5): objectType and the classification schemes not above
DOCUMENT_ENTRY_ON_DEMAND = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248"
DOCUMENT_ENTRY_EVENT_CODE_LIST = "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4"
FOLDER_CODE_LIST = "urn:uuid:1ba97051-7806-41a8-a48b-8fce7af683c5"

# -- Registry object status (ebRIM StatusType: availabilityStatus, stored-query $...Status) ---
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"

# -- Association types (ITI TF-3 4.2.2) ---------------------------------------------------------
HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
XFRM_RPLC = "urn:ihe:iti:2007:AssociationType:XFRM_RPLC"
APND = "urn:ihe:iti:2007:AssociationType:APND"
XFRM = "urn:ihe:iti:2007:AssociationType:XFRM"
SIGNS = "urn:ihe:iti:2007:AssociationType:signs"
#: Document relationships: the source is a new DocumentEntry, the target one in the registry.
DOCUMENT_RELATIONSHIPS = frozenset({RPLC, XFRM_RPLC, APND, XFRM, SIGNS})
#: Relationships that deprecate their target.
REPLACING_RELATIONSHIPS = frozenset({RPLC, XFRM_RPLC})

# -- Containers whose children IHE attaches no order to (ihe-domain.md section 6) -------------
#: Namespace-qualified parent -> qualified children names (``*``: every child), in SOAP and FHIR
#: XML, requests and responses both: the comparer pairs these children by key, serve sorts them
#: before hashing. Not expressible here: a FHIR searchset Bundle's entries (a condition on
#: Bundle.type) and HL7 v2 PID-3 repetitions (not XML); the catalogue names those.
RIM_OBJECTS = ("AdhocQuery", "ExtrinsicObject", "RegistryPackage", "Association",
               "Classification")
UNORDERED_CONTAINERS: dict[str, frozenset[str]] = {
    qname(RIM, "RegistryObjectList"): frozenset({"*"}),
    qname(RIM, "ValueList"): frozenset({qname(RIM, "Value")}),
    **{qname(RIM, local): frozenset({qname(RIM, "Slot"), qname(RIM, "Classification"),
                                     qname(RIM, "ExternalIdentifier")})
       for local in RIM_OBJECTS},
    qname(RS, "RegistryErrorList"): frozenset({qname(RS, "RegistryError")}),
    qname(XDSB, "RetrieveDocumentSetRequest"): frozenset({qname(XDSB, "DocumentRequest")}),
    qname(XDSB, "RetrieveDocumentSetResponse"): frozenset({qname(XDSB, "DocumentResponse")}),
    qname(XDSB, "ProvideAndRegisterDocumentSetRequest"): frozenset({qname(XDSB, "Document")}),
    qname(HL7V3, "parameterList"): frozenset({"*"}),
    qname(HL7V3, "controlActProcess"): frozenset({qname(HL7V3, "subject")}),
    qname(HL7V3, "patient"): frozenset({qname(HL7V3, "id")}),
    qname(HL7V3, "patientPerson"): frozenset({qname(HL7V3, "asOtherIDs")}),
    qname(FHIR, "Parameters"): frozenset({qname(FHIR, "parameter")}),
}

# ITI TF-3 4.2.5: more metadata UUIDs (urn:uuid: prefix on the wire).
DOCUMENT_ENTRY_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
DOCUMENT_ENTRY_STABLE = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
SUBMISSION_SET_CONTENT_TYPE = "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"
SUBMISSION_SET_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"

#: classificationScheme of each coded DocumentEntry attribute (ITI TF-3 4.2.5).
DOCUMENT_ENTRY_SCHEMES: dict[str, str] = {
    "classCode": "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a",
    "confidentialityCode": "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f",
    "formatCode": "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d",
    "healthcareFacilityTypeCode": "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1",
    "practiceSettingCode": "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead",
    "typeCode": "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983",
}

#: Stored query name -> query id (ITI TF-2 3.18.4.1.2.3.7, ITI-51 for multiple patients).
STORED_QUERIES: dict[str, str] = {
    "FindDocuments": "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d",
    "FindSubmissionSets": "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9",
    "FindFolders": "urn:uuid:958f3006-baad-4929-a4de-ff1114824431",
    "GetAll": "urn:uuid:10b545ea-725c-446d-9b95-8aeb444eddf3",
    "GetDocuments": "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4",
    "GetFolders": "urn:uuid:5737b14c-8a1a-4539-b659-e03a34a5e1e4",
    "GetAssociations": "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155",
    "GetDocumentsAndAssociations": "urn:uuid:bab9529a-4a10-40b3-a01f-f68a615d247a",
    "GetSubmissionSets": "urn:uuid:51224314-5390-4169-9b91-b1980040715a",
    "GetSubmissionSetAndContents": "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83",
    "GetFolderAndContents": "urn:uuid:b909a503-523d-4517-8acf-8e5834dfc4c7",
    "GetFoldersForDocument": "urn:uuid:10cae35a-c7f9-4cf5-b61e-fc3278ffb578",
    "GetRelatedDocuments": "urn:uuid:d90e5407-b356-4d91-a89f-873917b4b0e6",
    "FindDocumentsByReferenceId": "urn:uuid:12941a89-e02e-4be5-967c-ce4bfc8fe492",
    "FindDocumentsForMultiplePatients": "urn:uuid:3d1bdb10-39a2-11de-89c2-2f44d94eaa9f",
}

#: Metadata UUIDs -> the attribute names people use (descriptions: "classCode 34133-9").
METADATA_NAMES: dict[str, str] = {
    DOCUMENT_ENTRY_UNIQUE_ID: "uniqueId",
    DOCUMENT_ENTRY_PATIENT_ID: "patientId",
    SUBMISSION_SET_UNIQUE_ID: "uniqueId",
    SUBMISSION_SET_SOURCE_ID: "sourceId",
    SUBMISSION_SET_PATIENT_ID: "patientId",
    FOLDER_UNIQUE_ID: "uniqueId",
    FOLDER_PATIENT_ID: "patientId",
    SUBMISSION_SET_NODE: "SubmissionSet",
    FOLDER_NODE: "Folder",
    DOCUMENT_ENTRY_AUTHOR: "author",
    **{scheme: name for name, scheme in DOCUMENT_ENTRY_SCHEMES.items()},
    DOCUMENT_ENTRY_EVENT_CODE_LIST: "eventCodeList",
    SUBMISSION_SET_AUTHOR: "author",
    SUBMISSION_SET_CONTENT_TYPE: "contentTypeCode",
    FOLDER_CODE_LIST: "codeList",
    DOCUMENT_ENTRY_STABLE: "stable DocumentEntry",
    DOCUMENT_ENTRY_ON_DEMAND: "on-demand DocumentEntry",
}


def short_urn(value: str) -> str:
    """The last segment of a URN-style code (``...:StatusType:Approved`` -> ``Approved``)."""
    if value.startswith("urn:") and not value.startswith(("urn:uuid:", "urn:oid:")):
        return value.rsplit(":", 1)[-1]
    return value


def registry_status(value: str | None) -> str | None:
    """Short status name; unknown spellings are kept verbatim so they still compare."""
    if value is None:
        return None
    return REGISTRY_STATUS.get(value.strip(), value.strip())


def error_severity(value: str | None) -> str:
    if value is None:
        return ""
    return ERROR_SEVERITY.get(value.strip(), value.strip())


# -- IHE mobile profiles on FHIR R4: MHD 4.2, PDQm 3.x, PIXm 3.x -------------------------------
#: An OID as a URI (RFC 3001): FHIR Identifier.system of an OID-named domain, XCA
#: homeCommunityId.
OID_URN_PREFIX = "urn:oid:"
#: Identifier.system of a UUID-valued identifier (MHD: entryUUID as ``urn:uuid:...``).
FHIR_UUID_SYSTEM = "urn:ietf:rfc:3986"
#: List.code of the MHD list types (MHD 4.2 CodeSystem MHDlistTypes).
MHD_LIST_TYPES = "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes"
MHD_SUBMISSION_SET = "submissionset"
MHD_FOLDER = "folder"
#: SubmissionSet.sourceId and .contentTypeCode on List (MHD 4.2 extensions).
MHD_SOURCE_ID_EXTENSION = "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-sourceId"
MHD_DESIGNATION_TYPE_EXTENSION = (
    "https://profiles.ihe.net/ITI/MHD/StructureDefinition/ihe-designationType")
#: DocumentEntry.availabilityStatus <-> DocumentReference.status (MHD 4.2 mapping table).
FHIR_DOCUMENT_STATUS: dict[str, str] = {APPROVED: "current", DEPRECATED: "superseded"}
#: DocumentReference.relatesTo.code <-> association type (MHD 4.2 mapping table).
FHIR_RELATES_TO: dict[str, str] = {
    "replaces": RPLC, "transforms": XFRM, "appends": APND, "signs": SIGNS,
}
#: DocumentReference element -> the coded DocumentEntry attribute it carries (MHD 4.2
#: DocumentEntry mapping; ``content.format`` is a Coding, the others CodeableConcepts).
MHD_DOCUMENT_REFERENCE_CODES: dict[str, str] = {
    "type": "typeCode",
    "category": "classCode",
    "securityLabel": "confidentialityCode",
    "content.format": "formatCode",
    "context.event": "eventCodeList",
    "context.facilityType": "healthcareFacilityTypeCode",
    "context.practiceSetting": "practiceSettingCode",
}
#: PIXm $ihe-pix failures: HTTP status, OperationOutcome issue code and diagnostics
#: (ITI TF-2 3.83.4.2.3, cases 3-5).
PIXM_SOURCE_DOMAIN_UNKNOWN = (400, "code-invalid",
                              "sourceIdentifier Assigning Authority not found")
PIXM_SOURCE_PATIENT_UNKNOWN = (404, "not-found", "sourceIdentifier Patient Identifier not found")
PIXM_TARGET_SYSTEM_UNKNOWN = (403, "code-invalid", "targetSystem not found")
#: PDQm $match result grades (FHIR R4 extension match-grade, ITI-119).
FHIR_MATCH_GRADE_EXTENSION = "http://hl7.org/fhir/StructureDefinition/match-grade"
#: Patient.gender <-> HL7 v3 administrativeGenderCode (AdministrativeGender concept maps).
FHIR_GENDER_TO_V3: dict[str, str] = {"male": "M", "female": "F", "other": "UN"}
V3_GENDER_TO_FHIR: dict[str, str] = {"M": "male", "F": "female", "UN": "other"}
#: HL7 v2 PID-8 (table 0001) <-> HL7 v3 administrativeGenderCode: O (other) and A (ambiguous)
#: are v3's UN (undifferentiated); U and N (unknown, not applicable) have no v3 code.
V2_GENDER_TO_V3: dict[str, str] = {"M": "M", "F": "F", "O": "UN", "A": "UN"}
V3_GENDER_TO_V2: dict[str, str] = {"M": "M", "F": "F", "UN": "O"}
#: HL7 v2 table 0357 message error condition codes (ERR-3) the v2 actors answer with.
V2_ERROR_NAMES: dict[str, str] = {
    "100": "Segment sequence error", "101": "Required field missing",
    "102": "Data type error", "103": "Table value not found",
    "200": "Unsupported message type", "201": "Unsupported event code",
    "204": "Unknown key identifier", "205": "Duplicate key identifier",
    "207": "Application internal error",
}
#: FHIR media types (FHIR R4 http.html#mime-type).
FHIR_MEDIA_JSON = "application/fhir+json"
FHIR_MEDIA_XML = "application/fhir+xml"
# -- Values no server assigns (correlation: never a server-assigned dependency) -------------------
#: Every fixed value above: status, severity and association URNs, metadata UUIDs, schemes,
#: stored-query ids.
FIXED_VALUES: frozenset[str] = frozenset({
    *REGISTRY_STATUS, *ERROR_SEVERITY, APPROVED, DEPRECATED, HAS_MEMBER,
    *DOCUMENT_RELATIONSHIPS, *METADATA_NAMES, *DOCUMENT_ENTRY_SCHEMES.values(),
    *STORED_QUERIES.values(),
})
#: OID arcs of code systems and HL7 structure ids (HL7 v3 vocabulary ``2.16.840.1.113883.5``,
#: external code systems ``.6`` such as LOINC ``.6.1``, HL7 v2 tables ``.12``, HL7 interaction
#: and artefact ids ``.1``, value sets ``.11`` and ``.3``-rooted templates ``.10``) and the IHE
#: coding schemes ``1.3.6.1.4.1.19376.1.2.3``.
CODE_SYSTEM_ARCS: tuple[str, ...] = (
    "2.16.840.1.113883.1.", "2.16.840.1.113883.5.", "2.16.840.1.113883.6.",
    "2.16.840.1.113883.10.", "2.16.840.1.113883.11.", "2.16.840.1.113883.12.",
    "2.16.840.1.113883.18.", "1.3.6.1.4.1.19376.1.2.3",
)


def is_fixed_value(value: str) -> bool:
    """Whether ``value`` is IHE vocabulary or a code system's OID (``urn:oid:`` or not): a
    value every system uses alike, never one a server assigned."""
    value = value.strip()
    if value in FIXED_VALUES or value.lower() in _FIXED_LOWER:
        return True
    oid = value[len(OID_URN_PREFIX):] if value.lower().startswith(OID_URN_PREFIX) else value
    return oid.startswith(CODE_SYSTEM_ARCS) or oid + "." in CODE_SYSTEM_ARCS


_FIXED_LOWER = frozenset(value.lower() for value in FIXED_VALUES)
