"""The transaction catalogue: one declarative entry per IHE transaction, plus generic fallbacks.

This is the one table of transaction facts: detection, the builders, regeneration, the
simulator, serve and the comparer all read it. Each entry says which messages make up the
transaction (payload roots and their request / response SOAP actions) and how to recognise it
(payload root element first; wsa:Action, SOAPAction and HTTP path only as tie-breakers, since
real systems send wrong actions), what replay regenerates in a request, which
fields decide regressions, which locations are noise, which lists have no defined order (and how
their members are matched), which attributes are registry-assigned identifiers that may be
renamed consistently, and which values echo the request. Facts and their sources:
``shared/design/ihe-domain.md`` sections 1-3, 6 and 7; the rule language:
:mod:`ihe_test_util.ihe.patterns`; the field semantics: docs/noise-rules.md.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import urlsplit

from ihe_test_util.ihe import vocabulary as v
from ihe_test_util.ihe.er7 import message_type
from ihe_test_util.ihe.message import Message, message_of
from ihe_test_util.ihe.namespaces import FHIR, HL7V3, LCM, QUERY, RS, XDSB
from ihe_test_util.ihe.patterns import local_name
from ihe_test_util.ihe.specs import (
    Echo,
    FhirRoute,
    Label,
    MessageSpec,
    Rule,
    TransactionSpec,
    Unordered,
    ValueKind,
    Verdict,
)
from ihe_test_util.model import Request, Response

# --- building blocks shared by several entries ------------------------------------------------

SOAP_NOISE = (
    "/Envelope/Header/MessageID",
    "/Envelope/Header/To",
    "/Envelope/Header/ReplyTo",
    "/Envelope/Header/From",
    "/Envelope/Header/FaultTo",
    "/Envelope/Header/Security",
    "/Envelope/Header/Timestamp",
    "/Envelope/Header/*/@mustUnderstand",
    # A fault is judged by its code (a verdict field); reason texts and details carry stack
    # traces, timestamps and server paths.
    "/Envelope/Body/Fault/Reason",
    "/Envelope/Body/Fault/Detail",
    "/Envelope/Body/Fault/faultstring",
    "/Envelope/Body/Fault/detail",
)
SOAP_ECHOES = (Echo("/Envelope/Header/RelatesTo", "/Envelope/Header/MessageID", "RelatesTo"),)
SOAP_VERDICTS = (Verdict("soap_fault", "soap_fault"),)

XDS_STATUS_VERDICTS = (
    Verdict("registry_status", "registry_status"),
    Verdict("error_codes", "registry_errors"),
)
#: Registry-assigned entryUUIDs (and the attributes that point at them): noise as values,
#: but every reference must keep pointing at the same object.
XDS_IDENTIFIERS = (
    *(f"rim:{element}/@{attribute}"
      for element in ("ExtrinsicObject", "RegistryPackage", "Association", "Classification",
                      "ExternalIdentifier")
      for attribute in ("id", "lid")),
    "rim:ObjectRef/@id",
    "rim:Classification/@classifiedObject",
    "rim:ExternalIdentifier/@registryObject",
    "rim:Association/@sourceObject",
    "rim:Association/@targetObject",
)
#: codeContext is free text (run-specific ids, stack traces); location too, except where a
#: transaction defines it (ITI-43/39: DocumentUniqueId, ITI-38: homeCommunityId).
ERROR_TEXT_NOISE = ("rs:RegistryError/@codeContext",)
ERROR_LOCATION_NOISE = ("rs:RegistryError/@location",)

_UID = (f"rim:ExternalIdentifier[@identificationScheme='{v.DOCUMENT_ENTRY_UNIQUE_ID}']"
        "/@value")
_PACKAGE_UID = (f"rim:ExternalIdentifier[@identificationScheme='{v.SUBMISSION_SET_UNIQUE_ID}'"
                f" or @identificationScheme='{v.FOLDER_UNIQUE_ID}']/@value")
XDS_METADATA_UNORDERED = (
    Unordered("rim:RegistryObjectList", "rim:ExtrinsicObject", (_UID,)),
    Unordered("rim:RegistryObjectList", "rim:RegistryPackage", (_PACKAGE_UID,)),
    Unordered("rim:RegistryObjectList", "rim:Association",
              ("@associationType", "@sourceObject", "@targetObject")),
    Unordered("rim:RegistryObjectList", "rim:Classification",
              ("@classificationNode", "@classifiedObject")),
    Unordered("rim:RegistryObjectList", "rim:ObjectRef", ("@id",)),
    Unordered("rim:RegistryObjectList", "*"),
    Unordered("rim:*", "rim:Slot", ("@name",)),
    # Several author classifications share one scheme: the author's person tells them apart.
    Unordered("rim:*", "rim:Classification",
              ("@classificationScheme", "@classificationNode", "@nodeRepresentation",
               "rim:Slot[@name='authorPerson']/rim:ValueList/rim:Value")),
    Unordered("rim:*", "rim:ExternalIdentifier", ("@identificationScheme",)),
    Unordered("rim:ValueList", "rim:Value", (".",)),
)
ERROR_LIST_UNORDERED = (Unordered("rs:RegistryErrorList", "rs:RegistryError", ("@errorCode",)),)
#: A SubmissionSet's submissionTime is stamped by the source when it submits: fresh on every
#: replayed submission (a DocumentEntry's creationTime, by contrast, is data).
QUERY_NOISE = ("rim:RegistryPackage/rim:Slot[@name='submissionTime']",)

RETRIEVE_UNORDERED = (
    Unordered("xdsb:RetrieveDocumentSetResponse", "xdsb:DocumentResponse",
              ("xdsb:HomeCommunityId", "xdsb:RepositoryUniqueId", "xdsb:DocumentUniqueId")),
)
RETRIEVE_BINARY = ("xdsb:DocumentResponse/xdsb:Document",)

ACK_VERDICTS = (Verdict("ack_code", "ack"),)
HL7V3_QUERY_VERDICTS = (
    *ACK_VERDICTS,
    Verdict("query_response_code", "query_response_code"),
    Verdict("result_count", "count", "hl7:controlActProcess", "hl7:subject"),
)
HL7V3_ECHOES = (
    Echo("hl7:acknowledgement/hl7:targetMessage/hl7:id", "hl7:*[hl7:interactionId]/hl7:id",
         "acknowledgement targetMessage id"),
    Echo("hl7:controlActProcess/hl7:queryAck/hl7:queryId",
         "hl7:controlActProcess/hl7:queryByParameter/hl7:queryId", "queryAck queryId"),
    Echo("hl7:controlActProcess/hl7:queryByParameter",
         "hl7:controlActProcess/hl7:queryByParameter", "echoed queryByParameter"),
)
HL7V3_UNORDERED = (
    Unordered("hl7:controlActProcess", "hl7:subject",
              ("hl7:registrationEvent/hl7:subject1/hl7:patient/hl7:id/@root",
               "hl7:registrationEvent/hl7:subject1/hl7:patient/hl7:id/@extension")),
    Unordered("hl7:patient", "hl7:id", ("@root", "@extension")),
    Unordered("hl7:patientPerson", "hl7:asOtherIDs", ("hl7:id/@root", "hl7:id/@extension")),
)


def hl7v3_noise(*roots: str) -> tuple[str, ...]:
    """Message id and creation time of the response wrapper; effective times of the event."""
    return (
        *(f"hl7:{root}/hl7:{child}" for root in roots for child in ("id", "creationTime")),
        "hl7:controlActProcess/hl7:effectiveTime",
        "hl7:registrationEvent/hl7:effectiveTime",
    )


HL7V2_NOISE = ("MSH/MSH.7", "MSH/MSH.10", "EVN/EVN.2")
#: Anchored at the message (``/HL7v2/MSA``): these segments are never inside a patient group,
#: and an anchored path visits the segments only, not every field of the message.
HL7V2_ECHOES = (
    Echo("/HL7v2/MSA/MSA.2", "/HL7v2/MSH/MSH.10", "MSA-2 (request MSH-10)"),
    Echo("/HL7v2/QAK/QAK.1", "/HL7v2/QPD/QPD.2", "QAK-1 (request QPD-2 query tag)"),
    Echo("/HL7v2/QPD", "/HL7v2/QPD", "echoed QPD"),
)
#: PID-3 repetitions (a patient's identifiers in several domains) have no defined order: a set.
HL7V2_UNORDERED = (Unordered("PID", "PID.3", ("PID.3.1", "PID.3.4")),)
#: RSP^K22 / RSP^K23: the returned patients (each PID with its group: PD1, NK1, QRI, ...,
#: nested under the PID by :mod:`ihe_test_util.ihe.er7`) are in no defined order (ITI TF-2
#: 3.21.4.2, 3.9.4.2); paired by their first identifier. PID-1 is their position in this
#: response (a set id), so it changes when they come back in another order.
HL7V2_RESULTS_UNORDERED = (
    *HL7V2_UNORDERED,
    Unordered("HL7v2", "PID", ("PID.3/PID.3.1", "PID.3/PID.3.4/PID.3.4.1",
                               "PID.3/PID.3.4/PID.3.4.2")),
)
HL7V2_RESULTS_NOISE = (*HL7V2_NOISE, "HL7v2/PID/PID.1")
HL7V2_QUERY_VERDICTS = (
    Verdict("msa_code", "msa"),
    Verdict("query_response_code", "qak"),
    Verdict("result_count", "segment_count", "PID"),
)

#: Server-assigned values that change on every run. Resource ids, references, ``fullUrl``,
#: ``entry.response.location`` and ``attachment.url`` are not here: they are identities
#: (FHIR_IDENTIFIERS), equal up to consistent renaming.
FHIR_NOISE = (
    "fhir:meta/fhir:lastUpdated",
    "fhir:meta/fhir:versionId",
    "/fhir:Bundle/fhir:id",
    # A searchset's meta (lastUpdated = the search time) is optional: servers differ.
    "/fhir:Bundle/fhir:meta",
    "/fhir:Bundle/fhir:timestamp",
    # Links carry the server base and paging tokens.
    "/fhir:Bundle/fhir:link",
    "fhir:entry/fhir:response/fhir:etag",
    "fhir:entry/fhir:response/fhir:lastModified",
    # An OperationOutcome is judged by its issues (severity is a verdict field); its id is
    # minted per response and its diagnostics are free text.
    "fhir:OperationOutcome/fhir:id",
    "fhir:OperationOutcome/fhir:issue/fhir:diagnostics",
)
#: Server-assigned resource identities, compared up to consistent renaming
#: (:mod:`ihe_test_util.ihe.fhirrefs`): ``Patient/11`` may be ``Patient/21`` in the replay, as
#: long as everything that named 11 names 21 (ids, references, fullUrl, Location, Binary URLs,
#: PIXm ``targetId``).
FHIR_IDENTIFIERS = (
    "/*/fhir:id/@value",
    "fhir:resource/*/fhir:id/@value",
    "fhir:contained/*/fhir:id/@value",
    "fhir:reference/@value",
    "fhir:entry/fhir:fullUrl/@value",
    "fhir:entry/fhir:response/fhir:location/@value",
    "fhir:attachment/fhir:url/@value",
)
#: ``entry.response.status`` is an HTTP status line: "201" and "201 Created" are equal.
FHIR_STATUS_LINES = ("fhir:entry/fhir:response/fhir:status/@value",)
FHIR_UNORDERED = (
    # Order counts when the request asked for it (_sort).
    Unordered("fhir:Bundle[fhir:type/@value='searchset']", "fhir:entry",
              ("fhir:resource/*/fhir:masterIdentifier/fhir:value/@value",
               "fhir:resource/*/fhir:identifier/fhir:system/@value",
               "fhir:resource/*/fhir:identifier/fhir:value/@value"), sorted_by="_sort"),
    Unordered("fhir:Parameters", "fhir:parameter",
              ("fhir:name/@value", "fhir:valueIdentifier/fhir:system/@value",
               "fhir:valueIdentifier/fhir:value/@value",
               "fhir:valueReference/fhir:reference/@value")),
)
#: Regressions: Bundle.total; the worst OperationOutcome severity, by direction (worse or a
#: new error / fatal issue: regression; better or gone: changed); the search matches
#: (``search.mode`` = match) even where ``total`` is absent or unchanged; PIXm
#: ``targetIdentifier`` parameters (ITI-83).
FHIR_VERDICTS = (Verdict("bundle_total", "fhir_total"),
                 Verdict("outcome_severity", "fhir_severity"),
                 Verdict("match_count", "fhir_matches"),
                 Verdict("target_identifiers", "fhir_parameters", "targetIdentifier"))


#: What replay regenerates (ITI TF-2; ihe-domain.md section 4), per family of requests. The
#: wsa:MessageID of the SOAP envelope, MTOM framing and WS-Security are handled for every
#: transaction (:mod:`ihe_test_util.ihe.regenerate`).
XDS_SUBMISSION_REGENERATION = (
    *(Rule(f".//rim:ExternalIdentifier[@identificationScheme='{scheme}']/@value",
           ValueKind.UNIQUE_ID, what)
      for scheme, what in ((v.SUBMISSION_SET_UNIQUE_ID, "SubmissionSet.uniqueId"),
                           (v.DOCUMENT_ENTRY_UNIQUE_ID, "DocumentEntry.uniqueId"),
                           (v.FOLDER_UNIQUE_ID, "Folder.uniqueId"))),
    Rule(".//rim:RegistryPackage/rim:Slot[@name='submissionTime']/rim:ValueList/rim:Value/"
         "text()", ValueKind.TIMESTAMP, "SubmissionSet.submissionTime"),
    Rule(".//rim:RegistryObjectList//*[@id][not(self::rim:ObjectRef)]/@id",
         ValueKind.ENTRY_UUID, "client-chosen entryUUID"),
)
HL7V3_WRAPPER_REGENERATION = (
    Rule("hl7:id", ValueKind.HL7_ID, "HL7 v3 message id"),
    Rule("hl7:creationTime/@value", ValueKind.TIMESTAMP, "HL7 v3 creationTime"),
)
HL7V3_QUERY_REGENERATION = (
    *HL7V3_WRAPPER_REGENERATION,
    Rule("hl7:controlActProcess/hl7:queryByParameter/hl7:queryId", ValueKind.HL7_ID,
         "HL7 v3 queryId"),
    Rule("hl7:controlActProcess/hl7:queryContinuation/hl7:queryId", ValueKind.HL7_ID,
         "HL7 v3 queryId (continuation)"),
)
#: MHD ITI-65: what a Document Source makes up for every submission (ITI TF-2 3.65.4.1.2): the
#: ``urn:uuid:`` fullUrls of the bundle's entries (and, through them, every reference to them:
#: ``subject``, ``List.entry.item``, ``attachment.url``), the SubmissionSet and DocumentEntry
#: uniqueIds (``urn:oid:``) and entryUUIDs (``urn:uuid:``) in their identifiers, the
#: SubmissionSet's submission time (``List.date``) and the bundle's timestamp.
_MHD_RESOURCE = "fhir:entry/fhir:resource/fhir:{type}"
_MHD_ID_VALUE = "fhir:{field}[starts-with(fhir:value/@value, '{prefix}')]/fhir:value/@value"
MHD_SUBMISSION_REGENERATION = (
    Rule("fhir:entry/fhir:fullUrl/@value", ValueKind.ENTRY_UUID, "Bundle.entry.fullUrl"),
    *(Rule(_MHD_RESOURCE.format(type=kind) + "/" + _MHD_ID_VALUE.format(
        field=field, prefix=prefix), value_kind, f"{kind}.{field}")
      for kind, field in (("DocumentReference", "masterIdentifier"),
                          ("DocumentReference", "identifier"), ("List", "identifier"),
                          ("DocumentManifest", "masterIdentifier"),
                          ("DocumentManifest", "identifier"))
      for prefix, value_kind in (("urn:oid:", ValueKind.UNIQUE_ID),
                                 ("urn:uuid:", ValueKind.ENTRY_UUID))),
    Rule(_MHD_RESOURCE.format(type="List") + "/fhir:date/@value", ValueKind.TIMESTAMP,
         "SubmissionSet List.date"),
    Rule(_MHD_RESOURCE.format(type="DocumentManifest") + "/fhir:created/@value",
         ValueKind.TIMESTAMP, "SubmissionSet DocumentManifest.created"),
    Rule("fhir:timestamp/@value", ValueKind.TIMESTAMP, "Bundle.timestamp"),
)
#: HL7 v2 (ER7): rules name fields by HL7 reference (:class:`~ihe_test_util.ihe.er7.FieldRef`),
#: not XPath. MSH-10 is answered in MSA-2 and the QPD-2 query tag in QAK-1 (``HL7V2_ECHOES``).
HL7V2_MESSAGE_REGENERATION = (
    Rule("MSH-7", ValueKind.TIMESTAMP, "MSH-7 date/time of message"),
    Rule("MSH-10", ValueKind.HL7V2_ID, "MSH-10 message control id"),
)
HL7V2_QUERY_REGENERATION = (
    *HL7V2_MESSAGE_REGENERATION,
    Rule("QPD-2", ValueKind.HL7V2_ID, "QPD-2 query tag"),
)

#: The run's identity space (:class:`~ihe_test_util.ihe.idmap.RunSpace`, docs/replay.md): a
#: patient *added* by an ITI-44 feed (PRPA_IN201301UV02) gets ids, a family name and a birth date
#: of this run, used consistently in every later request of the run (ITI-45 and PDQ/XCPD
#: queries, ITI-41 metadata, ITI-18 parameters). Replays against a stateful system then never
#: meet the patients and documents of earlier replays or of the recording.
_ADDED = ("self::hl7:PRPA_IN201301UV02/hl7:controlActProcess/hl7:subject/hl7:registrationEvent/"
          "hl7:subject1/hl7:patient")
_FED = ("hl7:controlActProcess/hl7:subject/hl7:registrationEvent/hl7:subject1/hl7:patient/"
        "hl7:patientPerson")
_QUERIED = "hl7:controlActProcess/hl7:queryByParameter/hl7:parameterList"
FRESH_PATIENT_ADD = (
    Rule(f"{_ADDED}/hl7:id", ValueKind.PATIENT_ID, "patient id of a new patient (ITI-44 add)",
         creates=True),
    Rule(f"{_ADDED}/hl7:patientPerson/hl7:asOtherIDs/hl7:id", ValueKind.PATIENT_ID,
         "other id of a new patient (ITI-44 add)", creates=True),
    Rule(f"{_ADDED}/hl7:patientPerson/hl7:name/hl7:family/text()", ValueKind.FAMILY_NAME,
         "family name of a new patient (ITI-44 add)", creates=True),
    Rule(f"{_ADDED}/hl7:patientPerson/hl7:birthTime/@value", ValueKind.BIRTH_DATE,
         "birth date of a new patient (ITI-44 add)", creates=True),
    *(Rule(f"self::hl7:{root}/{_FED}/{path}", kind, what)
      for root in ("PRPA_IN201302UV02", "PRPA_IN201304UV02")
      for path, kind, what in (
          ("hl7:name/hl7:family/text()", ValueKind.FAMILY_NAME, "family name (ITI-44)"),
          ("hl7:birthTime/@value", ValueKind.BIRTH_DATE, "birth date (ITI-44)"))),
)
#: PDQ / XCPD queries by the demographics of a patient the run created ask for this run's.
FRESH_PATIENT_QUERY = (
    Rule(f"{_QUERIED}/hl7:livingSubjectName/hl7:value/hl7:family/text()", ValueKind.FAMILY_NAME,
         "queried family name"),
    Rule(f"{_QUERIED}/hl7:livingSubjectBirthTime/hl7:value/@value", ValueKind.BIRTH_DATE,
         "queried birth date"),
)


#: The same for HL7 v2 (ITI TF-2 3.8, 3.9, 3.21): a patient *registered* by an ITI-8 feed
#: (ADT^A01 / A04 / A05) gets this run's PID-3 ids (every id of the first
#: :data:`V2_REPETITIONS`), family name (PID-5.1.1) and birth date (PID-7.1); an A08 / A40 of
#: the run's patient carries them too. Its ids are replaced wherever later requests use them
#: (ITI-9 QPD-3, ITI-21 ``@PID.3.1``, MRG-1); an ITI-21 QPD-3 parameter (``@PID.5.1^Meyer``,
#: ``@PID.7^19700101``; QIP value = component 2 of each repetition) asks for this run's family
#: name or birth date. A value is varied only as what the run created (a family name the run
#: registered, a birth date it shifted), so a parameter of another field stays as recorded.
V2_REPETITIONS = 4
_V2_ADD = ("ADT^A01", "ADT^A04", "ADT^A05")
_V2_UPDATE = ("ADT^A08", "ADT^A40")
FRESH_PATIENT_V2_ADD = (
    *(Rule(f"PID-3[{n}].1", ValueKind.PATIENT_ID, "patient id of a new patient (ITI-8 register)",
           creates=True, messages=_V2_ADD) for n in range(1, V2_REPETITIONS + 1)),
    Rule("PID-5.1.1", ValueKind.FAMILY_NAME, "family name of a new patient (ITI-8 register)",
         creates=True, messages=_V2_ADD),
    Rule("PID-7.1", ValueKind.BIRTH_DATE, "birth date of a new patient (ITI-8 register)",
         creates=True, messages=_V2_ADD),
    Rule("PID-5.1.1", ValueKind.FAMILY_NAME, "family name (ITI-8 update)", messages=_V2_UPDATE),
    Rule("PID-7.1", ValueKind.BIRTH_DATE, "birth date (ITI-8 update)", messages=_V2_UPDATE),
)
FRESH_PATIENT_V2_QUERY = tuple(
    Rule(f"QPD-3[{n}].2", kind, what, messages=("QBP^Q22",))
    for n in range(1, V2_REPETITIONS + 1)
    for kind, what in ((ValueKind.FAMILY_NAME, "queried family name (ITI-21 QPD-3)"),
                       (ValueKind.BIRTH_DATE, "queried birth date (ITI-21 QPD-3)")))


def _xds(id_: str, name: str, request: MessageSpec, response: MessageSpec, *,
         verdicts: tuple[Verdict, ...] = (),
         noise: tuple[str, ...] = ERROR_TEXT_NOISE + ERROR_LOCATION_NOISE,
         unordered: tuple[Unordered, ...] = (), binary: tuple[str, ...] = (),
         regeneration: tuple[Rule, ...] = ()) -> TransactionSpec:
    return TransactionSpec(
        id=id_, name=name, family="xds", requests=(request,), responses=(response,),
        verdicts=SOAP_VERDICTS + XDS_STATUS_VERDICTS + verdicts,
        noise=SOAP_NOISE + noise, identifiers=XDS_IDENTIFIERS,
        unordered=XDS_METADATA_UNORDERED + ERROR_LIST_UNORDERED + unordered,
        echoes=SOAP_ECHOES, binary=binary, regeneration=regeneration,
    )


def _hl7v3(id_: str, name: str, requests: tuple[MessageSpec, ...],
           responses: tuple[MessageSpec, ...],
           verdicts: tuple[Verdict, ...], regeneration: tuple[Rule, ...], *,
           fresh_patient: tuple[Rule, ...] = ()) -> TransactionSpec:
    return TransactionSpec(
        id=id_, name=name, family="hl7v3", requests=requests, responses=responses,
        verdicts=SOAP_VERDICTS + verdicts,
        noise=SOAP_NOISE + hl7v3_noise(*dict.fromkeys(local_name(m.root) for m in responses)),
        unordered=HL7V3_UNORDERED, echoes=SOAP_ECHOES + HL7V3_ECHOES,
        regeneration=regeneration, fresh_patient=fresh_patient,
    )


def _hl7v2(id_: str, name: str, request_types: tuple[str, ...],
           response_types: tuple[str, ...], verdicts: tuple[Verdict, ...], *,
           regeneration: tuple[Rule, ...] = (),
           noise: tuple[str, ...] = HL7V2_NOISE,
           unordered: tuple[Unordered, ...] = HL7V2_UNORDERED,
           fresh_patient: tuple[Rule, ...] = ()) -> TransactionSpec:
    return TransactionSpec(
        id=id_, name=name, family="hl7v2",
        requests=tuple(MessageSpec(f"HL7v2:{t}") for t in request_types),
        responses=tuple(MessageSpec(f"HL7v2:{t}") for t in response_types),
        verdicts=verdicts, noise=noise, unordered=unordered, echoes=HL7V2_ECHOES,
        regeneration=regeneration, fresh_patient=fresh_patient,
    )


def _fhir(id_: str | None, name: str, routes: tuple[FhirRoute, ...] = (), *,
          regeneration: tuple[Rule, ...] = ()) -> TransactionSpec:
    # FHIR resources do not say which transaction they answer: the request's method, path and
    # resource type do (:func:`fhir_request`).
    return TransactionSpec(
        id=id_, name=name, family="fhir", fhir_routes=routes, verdicts=FHIR_VERDICTS,
        noise=FHIR_NOISE, identifiers=FHIR_IDENTIFIERS, status_lines=FHIR_STATUS_LINES,
        unordered=FHIR_UNORDERED, regeneration=regeneration,
    )


def _fhir_query(resource: str) -> tuple[FhirRoute, ...]:
    """A FHIR search and read of ``resource`` (GET ``Type?...``, POST ``Type/_search``,
    GET ``Type/<id>``): how the query transactions of MHD and PDQm reach the server."""
    return (FhirRoute("GET", resource, "type"), FhirRoute("POST", resource, "search"),
            FhirRoute("GET", resource, "instance"))


_ITI = "urn:ihe:iti:2007:"
_V3 = "urn:hl7-org:v3:"


def _ebxml(namespace: str, local: str, action: str) -> MessageSpec:
    return MessageSpec(f"{{{namespace}}}{local}", f"{_ITI}{action}")


def _v3(interaction: str, action: str | None = None) -> MessageSpec:
    """An HL7 v3 message: its interaction is the payload root and, by default, the action."""
    return MessageSpec(f"{{{HL7V3}}}{interaction}",
                   f"{_V3}{interaction}" if action is None else action)


CATALOGUE: tuple[TransactionSpec, ...] = (
    _xds("ITI-41", "Provide and Register Document Set-b",
         _ebxml(XDSB, "ProvideAndRegisterDocumentSetRequest", "ProvideAndRegisterDocumentSet-b"),
         _ebxml(RS, "RegistryResponse", "ProvideAndRegisterDocumentSet-bResponse"),
         regeneration=XDS_SUBMISSION_REGENERATION),
    _xds("ITI-42", "Register Document Set-b",
         _ebxml(LCM, "SubmitObjectsRequest", "RegisterDocumentSet-b"),
         _ebxml(RS, "RegistryResponse", "RegisterDocumentSet-bResponse"),
         regeneration=XDS_SUBMISSION_REGENERATION),
    _xds("ITI-18", "Registry Stored Query",
         _ebxml(QUERY, "AdhocQueryRequest", "RegistryStoredQuery"),
         _ebxml(QUERY, "AdhocQueryResponse", "RegistryStoredQueryResponse"),
         verdicts=(Verdict("result_count", "count", "rim:RegistryObjectList"),),
         noise=ERROR_TEXT_NOISE + ERROR_LOCATION_NOISE + QUERY_NOISE),
    _xds("ITI-38", "Cross Gateway Query",
         _ebxml(QUERY, "AdhocQueryRequest", "CrossGatewayQuery"),
         _ebxml(QUERY, "AdhocQueryResponse", "CrossGatewayQueryResponse"),
         verdicts=(Verdict("result_count", "count", "rim:RegistryObjectList"),),
         noise=ERROR_TEXT_NOISE + QUERY_NOISE),
    _xds("ITI-43", "Retrieve Document Set",
         _ebxml(XDSB, "RetrieveDocumentSetRequest", "RetrieveDocumentSet"),
         _ebxml(XDSB, "RetrieveDocumentSetResponse", "RetrieveDocumentSetResponse"),
         verdicts=(Verdict("result_count", "count", ".", "xdsb:DocumentResponse"),),
         noise=ERROR_TEXT_NOISE, unordered=RETRIEVE_UNORDERED, binary=RETRIEVE_BINARY),
    _xds("ITI-39", "Cross Gateway Retrieve",
         _ebxml(XDSB, "RetrieveDocumentSetRequest", "CrossGatewayRetrieve"),
         _ebxml(XDSB, "RetrieveDocumentSetResponse", "CrossGatewayRetrieveResponse"),
         verdicts=(Verdict("result_count", "count", ".", "xdsb:DocumentResponse"),),
         noise=ERROR_TEXT_NOISE, unordered=RETRIEVE_UNORDERED, binary=RETRIEVE_BINARY),
    _hl7v3("ITI-44", "Patient Identity Feed HL7 V3",
           (_v3("PRPA_IN201301UV02"), _v3("PRPA_IN201302UV02"), _v3("PRPA_IN201304UV02")),
           (_v3("MCCI_IN000002UV01"),),
           ACK_VERDICTS, HL7V3_WRAPPER_REGENERATION, fresh_patient=FRESH_PATIENT_ADD),
    _hl7v3("ITI-45", "PIXV3 Query", (_v3("PRPA_IN201309UV02"),), (_v3("PRPA_IN201310UV02"),),
           HL7V3_QUERY_VERDICTS, HL7V3_QUERY_REGENERATION),
    _hl7v3("ITI-47", "Patient Demographics Query HL7 V3",
           (_v3("PRPA_IN201305UV02"),
            _v3("QUQI_IN000003UV01", f"{_V3}QUQI_IN000003UV01_Continue"),
            _v3("QUQI_IN000003UV01", f"{_V3}QUQI_IN000003UV01_Cancel")),
           (_v3("PRPA_IN201306UV02"),),
           HL7V3_QUERY_VERDICTS, HL7V3_QUERY_REGENERATION, fresh_patient=FRESH_PATIENT_QUERY),
    _hl7v3("ITI-55", "Cross Gateway Patient Discovery",
           (_v3("PRPA_IN201305UV02", f"{_V3}PRPA_IN201305UV02:CrossGatewayPatientDiscovery"),),
           (_v3("PRPA_IN201306UV02", f"{_V3}PRPA_IN201306UV02:CrossGatewayPatientDiscovery"),
            MessageSpec(f"{{{HL7V3}}}MCCI_IN000002UV01")),
           HL7V3_QUERY_VERDICTS, HL7V3_QUERY_REGENERATION, fresh_patient=FRESH_PATIENT_QUERY),
    _hl7v2("ITI-8", "Patient Identity Feed (HL7 v2)",
           ("ADT^A01", "ADT^A04", "ADT^A05", "ADT^A08", "ADT^A40"),
           ("ACK^A01", "ACK^A04", "ACK^A05", "ACK^A08", "ACK^A40", "ACK"),
           (Verdict("msa_code", "msa"),), regeneration=HL7V2_MESSAGE_REGENERATION,
           fresh_patient=FRESH_PATIENT_V2_ADD),
    _hl7v2("ITI-9", "PIX Query (HL7 v2)", ("QBP^Q23",), ("RSP^K23", "ACK^Q23"),
           HL7V2_QUERY_VERDICTS, regeneration=HL7V2_QUERY_REGENERATION,
           noise=HL7V2_RESULTS_NOISE, unordered=HL7V2_RESULTS_UNORDERED),
    _hl7v2("ITI-21", "Patient Demographics Query (HL7 v2)", ("QBP^Q22", "QCN^J01"),
           ("RSP^K22", "ACK^Q22", "ACK^J01"), HL7V2_QUERY_VERDICTS,
           regeneration=HL7V2_QUERY_REGENERATION, noise=HL7V2_RESULTS_NOISE,
           unordered=HL7V2_RESULTS_UNORDERED, fresh_patient=FRESH_PATIENT_V2_QUERY),
    _fhir("ITI-65", "Provide Document Bundle",
          (FhirRoute("POST", None, "base", body="Bundle", bundle_type="transaction"),),
          regeneration=MHD_SUBMISSION_REGENERATION),
    _fhir("ITI-66", "Find Document Lists", _fhir_query("List") + _fhir_query("DocumentManifest")),
    _fhir("ITI-67", "Find Document References", _fhir_query("DocumentReference")),
    _fhir("ITI-68", "Retrieve Document", (FhirRoute("GET", "Binary", "instance"),)),
    _fhir("ITI-78", "Mobile Patient Demographics Query", _fhir_query("Patient")),
    _fhir("ITI-83", "Mobile Patient Identifier Cross-reference Query",
          (FhirRoute("GET", "Patient", "$ihe-pix"), FhirRoute("POST", "Patient", "$ihe-pix"))),
    _fhir("ITI-104", "Patient Identity Feed FHIR",
          (FhirRoute("PUT", "Patient", "type", query=True), FhirRoute("PUT", "Patient", "instance"),
           FhirRoute("DELETE", "Patient", "type", query=True))),
    _fhir("ITI-119", "Patient Demographics Match", (FhirRoute("POST", "Patient", "$match"),)),
)

#: Fallbacks when no entry matches: the family's generic rules, transaction id None.
GENERIC_SOAP = TransactionSpec(None, "SOAP message", "soap", verdicts=SOAP_VERDICTS,
                               noise=SOAP_NOISE, echoes=SOAP_ECHOES)
GENERIC_XML = TransactionSpec(None, "XML document", "xml", verdicts=SOAP_VERDICTS)
GENERIC_HL7V2 = TransactionSpec(None, "HL7 v2 message", "hl7v2",
                                verdicts=(Verdict("msa_code", "msa"),), noise=HL7V2_NOISE,
                                unordered=HL7V2_UNORDERED, echoes=HL7V2_ECHOES)
GENERIC_FHIR = _fhir(None, "FHIR resource")
GENERIC_JSON = TransactionSpec(None, "JSON document", "json")
GENERICS = (GENERIC_SOAP, GENERIC_XML, GENERIC_HL7V2, GENERIC_FHIR, GENERIC_JSON)

_BY_ID = {spec.id: spec for spec in CATALOGUE if spec.id}


def regeneration_rules(transaction: str | None, *, fresh_patients: bool = False) -> (
    tuple[Rule, ...]
):
    """What replay makes fresh in a request of ``transaction`` (and serve blanks in its match
    keys); with ``fresh_patients`` also its identity-space rules (ids and demographics of
    patients the run creates: never blanked by serve). Empty when unknown."""
    spec = _BY_ID.get(transaction or "")
    if spec is None:
        return ()
    return spec.regeneration + spec.fresh_patient if fresh_patients else spec.regeneration

#: How reports name elements, most specific first (see :class:`Label`).
LABELS: tuple[Label, ...] = (
    Label("rim:ExtrinsicObject", "DocumentEntry {uid}", {"uid": _UID}),
    Label(f"rim:RegistryPackage[rim:ExternalIdentifier/@identificationScheme="
          f"'{v.FOLDER_UNIQUE_ID}']", "Folder {uid}", {"uid": _PACKAGE_UID}),
    Label("rim:RegistryPackage", "SubmissionSet {uid}", {"uid": _PACKAGE_UID}),
    Label("rim:Association", "Association {type}", {"type": "@associationType"}),
    Label("rim:ObjectRef", "ObjectRef"),
    Label("rim:Slot", "slot {name}", {"name": "@name"}),
    Label("rim:Classification", "{scheme} {code}",
          {"scheme": "@classificationScheme", "code": "@nodeRepresentation"}),
    Label("rim:ExternalIdentifier", "{scheme}", {"scheme": "@identificationScheme"}),
    Label("rim:Name", "name"),
    Label("rim:Description", "description"),
    Label("rs:RegistryError", "RegistryError {code}", {"code": "@errorCode"}),
    Label("xdsb:DocumentResponse", "document {uid}", {"uid": "xdsb:DocumentUniqueId"}),
    Label("hl7:acknowledgement", "acknowledgement"),
    Label("hl7:acknowledgementDetail", "acknowledgementDetail"),
    Label("hl7:queryResponseCode", "queryResponseCode"),
    Label("hl7:controlActProcess/hl7:subject", "patient {ext}^^^{root}",
          {"root": "hl7:registrationEvent/hl7:subject1/hl7:patient/hl7:id/@root",
           "ext": "hl7:registrationEvent/hl7:subject1/hl7:patient/hl7:id/@extension"}),
    Label("hl7:patientPerson", "patientPerson"),
    Label("fhir:entry", "entry {type}", {"type": "local-name(fhir:resource/*)"}),
)


# --- detection -------------------------------------------------------------------------------


def root_key(message: Message | None) -> str | None:
    """The detection key of a message (see :class:`TransactionSpec`)."""
    if message is None or message.root is None:
        return None
    if message.kind == "hl7v2":
        kind = message_type(message.root)
        return f"HL7v2:{kind}" if kind else None
    payload = message.payload
    return payload.tag if payload is not None and isinstance(payload.tag, str) else None


def detect(response: Message | None = None, request: Message | None = None, *,
           path: str | None = None, method: str | None = None,
           query: str = "") -> TransactionSpec:
    """The best catalogue entry for an exchange, else the generic entry for its format.

    FHIR exchanges are recognised by the request's ``method``, ``path`` (and ``query``) and the
    resource type of its body (:func:`fhir_transaction`). Otherwise payload roots decide; the
    messages' actions (wsa:Action, Content-Type ``action``, SOAPAction:
    :attr:`Message.actions`) and the request ``path`` break ties and identify a transaction
    only when no root is recognised (a SOAP Fault answers every transaction).
    """
    if path is not None:
        fhir = fhir_transaction(method, path, query, request, response)
        if fhir is not None:
            return fhir
    response_key = root_key(response)
    request_key = root_key(request)
    actions = (*(response.actions if response is not None else ()),
               *(request.actions if request is not None else ()))
    roots_known = response_key in _ALL_RESPONSE_ROOTS or request_key in _ALL_REQUEST_ROOTS
    best: TransactionSpec | None = None
    best_score = 0
    for spec in CATALOGUE:
        score = 0
        if response_key is not None and response_key in spec.response_roots:
            score += 4
        if request_key is not None and request_key in spec.request_roots:
            score += 4
        if roots_known and score == 0:
            continue
        if any(action in spec.actions for action in actions):
            score += 2
        if path and any(hint in path for hint in spec.path_hints):
            score += 1
        if score > best_score:
            best, best_score = spec, score
    if best is not None:
        return best
    return generic_for(response if response is not None and response.parsed else request)


_ALL_RESPONSE_ROOTS = frozenset(root for spec in CATALOGUE for root in spec.response_roots)
#: Resource types the FHIR routes name: the first path segment that is one starts the
#: resource part of a URL (what precedes it is the server base, e.g. ``/fhir/R4``).
FHIR_RESOURCE_TYPES = frozenset(
    route.resource for spec in CATALOGUE for route in spec.fhir_routes if route.resource)
_FHIR_ID = re.compile(r"[A-Za-z0-9\-.]{1,64}")


@dataclass(frozen=True)
class FhirRequestPath:
    """A FHIR request URL path read as ``[base]/[type]/[id]/...`` (see :class:`FhirRoute`)."""

    base: str  # the path up to the resource type (no trailing slash)
    resource: str | None
    shape: str  # "type", "search", "instance", "$operation", "base" or "other"
    id: str | None = None


def fhir_request_path(path: str) -> FhirRequestPath:
    """Split a request path at the first catalogued resource type."""
    segments = path.split("/")
    for index, segment in enumerate(segments):
        if segment in FHIR_RESOURCE_TYPES:
            base = "/".join(segments[:index])
            rest = [part for part in segments[index + 1:] if part]
            if not rest:
                return FhirRequestPath(base, segment, "type")
            head = rest[0]
            if head == "_search" and len(rest) == 1:
                return FhirRequestPath(base, segment, "search")
            if head.startswith("$") and len(rest) == 1:
                return FhirRequestPath(base, segment, head)
            if _FHIR_ID.fullmatch(head) and not head.startswith(("_", "$")):
                if len(rest) == 1 or (len(rest) == 3 and rest[1] == "_history"):
                    return FhirRequestPath(base, segment, "instance", head)
                if len(rest) == 2 and rest[1].startswith("$"):
                    return FhirRequestPath(base, segment, rest[1], head)
            return FhirRequestPath(base, segment, "other")
    return FhirRequestPath(path.rstrip("/"), None, "base")


def _is_fhir_or_none(message: Message | None) -> bool:
    """No tree (no body, a document, a form-encoded search), or a FHIR one (JSON or XML):
    not SOAP, not HL7 v2, not other XML."""
    if message is None or message.root is None:
        return True
    return message.root.tag.startswith(f"{{{FHIR}}}")


def _route_matches(route: FhirRoute, method: str, where: FhirRequestPath, query: str,
                   request: Message | None) -> bool:
    if route.method != method or route.resource != where.resource or route.shape != where.shape:
        return False
    if route.query and not query:
        return False
    if route.body is not None:
        root = request.root if request is not None else None
        if root is None or root.tag != f"{{{FHIR}}}{route.body}":
            return False
        if route.bundle_type is not None:
            kind = root.find(f"{{{FHIR}}}type")
            if kind is None or kind.get("value") != route.bundle_type:
                return False
    return True


def fhir_transaction(method: str | None, path: str, query: str = "",
                     request: Message | None = None,
                     response: Message | None = None) -> TransactionSpec | None:
    """The catalogued FHIR transaction of a request (method + path + query + the resource type
    of its body), None when it is not one (SOAP, HL7 v2, other XML, an uncatalogued FHIR
    interaction such as a plain ``POST Patient`` create)."""
    if not _is_fhir_or_none(request):
        return None
    if not _is_fhir_or_none(response):
        return None  # a SOAP, HL7 v2 or other XML answer: not a FHIR exchange
    if method is None:
        method = "GET" if request is None or request.root is None else "POST"
    method = method.upper()
    where = fhir_request_path(path)
    for spec in CATALOGUE:
        for route in spec.fhir_routes:
            if _route_matches(route, method, where, query, request):
                return spec
    return None
_ALL_REQUEST_ROOTS = frozenset(root for spec in CATALOGUE for root in spec.request_roots)


def generic_for(message: Message | None) -> TransactionSpec:
    if message is None or message.root is None:
        return GENERIC_XML
    if message.kind == "hl7v2":
        return GENERIC_HL7V2
    if message.kind == "json":
        return GENERIC_FHIR if message.root.tag.startswith(f"{{{FHIR}}}") else GENERIC_JSON
    if message.root.tag.startswith(f"{{{FHIR}}}"):
        return GENERIC_FHIR
    return GENERIC_SOAP if message.envelope is not None else GENERIC_XML


def spec_for(transaction: str) -> TransactionSpec:
    """The catalogue entry for ``ITI-18`` (case and spacing forgiving); KeyError if unknown."""
    wanted = normalise_id(transaction)
    for spec in CATALOGUE:
        if spec.id == wanted:
            return spec
    raise KeyError(transaction)


def normalise_id(transaction: str) -> str:
    """``iti18`` / ``ITI 18`` / ``ITI-18`` -> ``ITI-18``."""
    text = transaction.strip().upper().replace(" ", "").replace("_", "-")
    if text.startswith("ITI") and not text.startswith("ITI-"):
        text = "ITI-" + text[3:]
    return text


def known_ids() -> tuple[str, ...]:
    """Every catalogued transaction id: the one list ``[[rules]]``, ``[[correlate]]``,
    ``ihe config``, ``ihe diff -t`` and ``ihe replay`` accept."""
    return tuple(spec.id for spec in CATALOGUE if spec.id)


def transaction_id(text: str) -> str | None:
    """The catalogued id ``text`` names (:func:`normalise_id`), None when it names none."""
    ident = normalise_id(text)
    return ident if ident in _BY_ID else None


def detect_exchange(request: Request | None, response: Response | None, *,
                    request_message: Message | None = None,
                    response_message: Message | None = None) -> TransactionSpec:
    """:func:`detect` for model messages, reading them unless already read."""
    if request_message is None and request is not None:
        request_message = message_of(request, source="request")
    if response_message is None and response is not None:
        response_message = message_of(response, source="response")
    if request is None:
        return detect(response_message, request_message)
    url = urlsplit(request.uri)
    return detect(response_message, request_message, path=url.path, method=request.method,
                  query=url.query)


def detect_transaction(*, request: Request | None = None,
                       response: Response | None = None) -> str | None:
    """The IHE transaction id of an exchange (``ITI-18``), or None when not recognised."""
    return detect_exchange(request, response).id
