"""FHIR requests (MHD, PDQm, PIXm) from plain values: the REST counterpart of the SOAP builders.

Each builder returns a :class:`FhirRequest`: method, a path relative to the FHIR base (the
endpoint URL), query parameters, headers and a JSON body, with the transaction id it is (from
the catalogue's FHIR entries) and the identifiers it generated (``values``), so scenarios
refer to them as they do for the SOAP builders (``${pnr.documentUniqueId}``).

* ITI-65 Provide Document Bundle: document(s) + metadata -> a transaction ``Bundle`` of a
  ``List`` (the SubmissionSet), one ``DocumentReference`` and one ``Binary`` per document;
  uniqueIds and ``urn:uuid`` fullUrls are fresh per build;
* ITI-66 / ITI-67 searches (``List`` / ``DocumentReference``), ITI-68 retrieve (``GET`` of an
  attachment URL);
* ITI-78 search and read (``Patient``), ITI-119 ``Patient/$match``;
* ITI-83 ``Patient/$ihe-pix``, ITI-104 patient feed (a conditional update, or delete, of a
  ``Patient`` by identifier).

Metadata codes are the ones the XDS builders use (:data:`..xds.DEFAULT_CODES`), their OID code
systems written ``urn:oid:...`` so an MHD Document Recipient on an XDS registry maps them back
to the same codingScheme an ITI-41 would have sent.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

from ihe_test_util.ihe.builders.patients import PatientDemographics, PatientId
from ihe_test_util.ihe.builders.xds import (
    DEFAULT_CODES,
    DEFAULT_SOURCE_ID,
    Code,
    DocumentEntrySpec,
    SubmissionSetSpec,
)
from ihe_test_util.ihe.catalogue import spec_for
from ihe_test_util.ihe.identifiers import DEFAULT_IDS, IdGenerator
from ihe_test_util.ihe.vocabulary import (
    FHIR_UUID_SYSTEM,
    MHD_DESIGNATION_TYPE_EXTENSION,
    MHD_LIST_TYPES,
    MHD_SOURCE_ID_EXTENSION,
    MHD_SUBMISSION_SET,
    OID_URN_PREFIX,
    V3_GENDER_TO_FHIR,
)
from ihe_test_util.model import Headers, Request

__all__ = [
    "FHIR_JSON",
    "FhirRequest",
    "code_system",
    "fhir_patient",
    "http_request",
    "identifier_token",
    "is_patient_reference",
    "iti65_provide_bundle",
    "iti66_search",
    "iti67_search",
    "iti68_retrieve",
    "iti78_read",
    "iti78_search",
    "iti83_query",
    "iti104_feed",
    "iti119_match",
    "system_of",
]

FHIR_JSON = "application/fhir+json"
MHD = "https://profiles.ihe.net/ITI/MHD/StructureDefinition"
MINIMAL_PROVIDE_BUNDLE = f"{MHD}/IHE.MHD.Minimal.ProvideBundle"
MINIMAL_SUBMISSION_SET = f"{MHD}/IHE.MHD.Minimal.SubmissionSet"
MINIMAL_DOCUMENT_REFERENCE = f"{MHD}/IHE.MHD.Minimal.DocumentReference"
#: DocumentEntry.languageCode when the document gives none (the XDS builder's default).
DEFAULT_LANGUAGE = "en-US"
#: HL7 AdministrativeGender (v3 letters, and v2's O and U) -> FHIR administrative-gender.
FHIR_GENDERS: Mapping[str, str] = {**V3_GENDER_TO_FHIR, "O": "other", "U": "unknown"}
_REFERENCE = re.compile(r"^(https?://\S+/)?Patient/[A-Za-z0-9\-.]{1,64}$")
_OID = re.compile(r"^[0-2](\.(0|[1-9]\d*))+$")


@dataclass(frozen=True)
class FhirRequest:
    """One REST request: ``method`` on ``path`` (relative to the FHIR base, or an absolute
    URL), ``query`` pairs in order, extra ``headers`` and a ``body`` of ``content_type``."""

    transaction: str
    method: str
    path: str = ""
    query: tuple[tuple[str, str], ...] = ()
    headers: tuple[tuple[str, str], ...] = ()
    body: bytes = b""
    content_type: str | None = None
    accept: str | None = FHIR_JSON
    values: Mapping[str, str] = field(default_factory=dict)

    def url(self, base: str) -> str:
        """The request URL under ``base`` (an absolute ``path`` is used as it is)."""
        if re.match(r"^https?://", self.path, re.IGNORECASE):
            url = self.path
        else:
            url = base.rstrip("/") + ("/" + self.path.lstrip("/") if self.path else "")
        if self.query:
            encoded = "&".join(f"{quote(name, safe=':._-')}={quote(value, safe=':/|$,._-')}"
                               for name, value in self.query)
            url += ("&" if "?" in url else "?") + encoded
        return url

    def to_request(self, url: str, *, security: object | None = None) -> Request:
        """The HTTP request against the FHIR base ``url`` (WS-Security is SOAP's: ignored)."""
        headers: list[tuple[str, str]] = []
        given = {name.lower() for name, _ in self.headers}
        if self.accept and "accept" not in given:
            headers.append(("Accept", self.accept))
        if self.content_type and self.body and "content-type" not in given:
            headers.append(("Content-Type", self.content_type))
        return Request(self.method, self.url(url), Headers([*headers, *self.headers]),
                       self.body)

    def json(self) -> Any:
        """The body as JSON (for tests and checks)."""
        return json.loads(self.body) if self.body else None


def _json_body(resource: Mapping[str, Any]) -> bytes:
    return json.dumps(resource, indent=2, ensure_ascii=False).encode("utf-8")


def _transaction(transaction: str) -> str:
    return spec_for(transaction).id or transaction


def _pairs(parameters: Mapping[str, str | Sequence[str]]) -> tuple[tuple[str, str], ...]:
    pairs: list[tuple[str, str]] = []
    for name, value in parameters.items():
        for item in ([value] if isinstance(value, str) else value):
            pairs.append((name, item))
    return tuple(pairs)


def http_request(method: str, path: str = "", *, query: Sequence[tuple[str, str]] = (),
                 headers: Sequence[tuple[str, str]] = (), body: bytes = b"",
                 content_type: str | None = None, transaction: str = "http") -> FhirRequest:
    """Any REST request (a scenario's ``http`` step); the transaction is detected on the
    exchange from the catalogue's FHIR routes."""
    return FhirRequest(transaction, method.upper(), path, tuple(query), tuple(headers), body,
                       content_type, accept=None if any(n.lower() == "accept" for n, _ in headers)
                       else FHIR_JSON)


# --------------------------------------------------------------------------- values


def system_of(root: str) -> str:
    """The FHIR identifier/code system of an OID (``urn:oid:...``: an MHD Document Recipient
    on XDS maps it back to the OID) or of a URI (as it is)."""
    bare = root.removeprefix(OID_URN_PREFIX)
    return f"{OID_URN_PREFIX}{bare}" if _OID.match(bare) else root


def code_system(code: Code) -> dict[str, Any]:
    """A ``CodeableConcept`` of one coding."""
    coding: dict[str, Any] = {"system": system_of(code.scheme), "code": code.code}
    if code.display:
        coding["display"] = code.display
    return {"coding": [coding]}


def identifier_token(pid: PatientId) -> str:
    """The search token of a patient id: ``urn:oid:ROOT|VALUE``."""
    return f"{system_of(pid.root)}|{pid.extension}"


def is_patient_reference(text: str) -> bool:
    """``Patient/123`` or ``http://host/fhir/Patient/123`` (not a CX or root|id)."""
    return _REFERENCE.match(text) is not None


def _date(hl7: str) -> str:
    """HL7 ``YYYY[MM[DD]]`` -> FHIR ``YYYY[-MM[-DD]]``."""
    return "-".join(part for part in (hl7[:4], hl7[4:6], hl7[6:8]) if part)


def fhir_patient(patient: PatientDemographics) -> dict[str, Any]:
    """A ``Patient`` resource (no id) of the demographics given."""
    resource: dict[str, Any] = {"resourceType": "Patient"}
    if patient.ids:
        resource["identifier"] = [{"system": system_of(pid.root), "value": pid.extension}
                                  for pid in patient.ids]
    resource["active"] = True
    if patient.name is not None:
        name: dict[str, Any] = {"family": patient.name.family}
        if patient.name.given:
            name["given"] = list(patient.name.given)
        if patient.name.prefix:
            name["prefix"] = [patient.name.prefix]
        if patient.name.suffix:
            name["suffix"] = [patient.name.suffix]
        resource["name"] = [name]
    if patient.telecom:
        resource["telecom"] = [_telecom(value) for value in patient.telecom]
    if patient.gender:
        resource["gender"] = FHIR_GENDERS[patient.gender]
    if patient.birth_date:
        resource["birthDate"] = _date(patient.birth_date)
    if patient.address is not None:
        address = patient.address
        written: dict[str, Any] = {}
        if address.street:
            written["line"] = [address.street]
        for key, value in (("city", address.city), ("state", address.state),
                           ("postalCode", address.postal_code), ("country", address.country)):
            if value:
                written[key] = value
        resource["address"] = [written]
    if patient.mothers_maiden_name:
        resource["extension"] = [{
            "url": "http://hl7.org/fhir/StructureDefinition/patient-mothersMaidenName",
            "valueString": patient.mothers_maiden_name}]
    return resource


def _telecom(value: str) -> dict[str, str]:
    scheme, _, rest = value.partition(":")
    if scheme.lower() == "mailto" and rest:
        return {"system": "email", "value": rest}
    if scheme.lower() == "tel" and rest:
        return {"system": "phone", "value": rest}
    return {"system": "other", "value": value}


# --------------------------------------------------------------------------- PIXm / PDQm


def iti104_feed(patient: PatientDemographics, *, delete: bool = False) -> FhirRequest:
    """Patient Identity Feed FHIR: a conditional update (``PUT Patient?identifier=...``) of
    the patient, created when new; ``delete`` removes it (``DELETE Patient?identifier=...``).
    The primary id decides which patient it is."""
    token = identifier_token(patient.primary_id)
    values = {"patientIdentifier": token}
    query = (("identifier", token),)
    if delete:
        return FhirRequest(_transaction("ITI-104"), "DELETE", "Patient", query, values=values)
    return FhirRequest(_transaction("ITI-104"), "PUT", "Patient", query,
                       body=_json_body(fhir_patient(patient)), content_type=FHIR_JSON,
                       values=values)


def iti78_search(parameters: Mapping[str, str | Sequence[str]]) -> FhirRequest:
    """Mobile Patient Demographics Query: ``GET Patient?family=...&birthdate=...``."""
    return FhirRequest(_transaction("ITI-78"), "GET", "Patient", _pairs(parameters))


def iti78_read(resource_id: str) -> FhirRequest:
    """Mobile Patient Demographics Query, retrieve: ``GET Patient/ID`` (a ``Patient/ID``
    reference or its URL is accepted too)."""
    return FhirRequest(_transaction("ITI-78"), "GET", _instance_path("Patient", resource_id))


def _instance_path(resource: str, given: str) -> str:
    if re.match(r"^https?://", given, re.IGNORECASE):
        return given
    return given if given.startswith(f"{resource}/") else f"{resource}/{given}"


def iti83_query(source: PatientId | str, target_systems: Sequence[str] = ()) -> FhirRequest:
    """PIXm query: ``GET Patient/$ihe-pix?sourceIdentifier=SYSTEM|VALUE[&targetSystem=...]``
    (target systems as OIDs or URIs)."""
    token = identifier_token(source) if isinstance(source, PatientId) else source
    query = [("sourceIdentifier", token)]
    query += [("targetSystem", system_of(system)) for system in target_systems]
    return FhirRequest(_transaction("ITI-83"), "GET", "Patient/$ihe-pix", tuple(query),
                       values={"sourceIdentifier": token})


def iti119_match(patient: PatientDemographics, *, count: int | None = None,
                 only_certain_matches: bool | None = None) -> FhirRequest:
    """Patient Demographics Match: ``POST Patient/$match`` with a ``Parameters`` resource."""
    parameters: list[dict[str, Any]] = [{"name": "resource", "resource": fhir_patient(patient)}]
    if only_certain_matches is not None:
        parameters.append({"name": "onlyCertainMatches", "valueBoolean": only_certain_matches})
    if count is not None:
        parameters.append({"name": "count", "valueInteger": count})
    return FhirRequest(_transaction("ITI-119"), "POST", "Patient/$match",
                       body=_json_body({"resourceType": "Parameters", "parameter": parameters}),
                       content_type=FHIR_JSON)


# --------------------------------------------------------------------------- MHD


def iti67_search(parameters: Mapping[str, str | Sequence[str]]) -> FhirRequest:
    """Find Document References: ``GET DocumentReference?patient.identifier=...&status=...``."""
    return FhirRequest(_transaction("ITI-67"), "GET", "DocumentReference", _pairs(parameters))


def iti66_search(parameters: Mapping[str, str | Sequence[str]]) -> FhirRequest:
    """Find Document Lists: ``GET List?code=submissionset&...`` (``code`` defaults to
    submission sets, as MHD's Document Responder expects a list type)."""
    given = dict(parameters)
    given.setdefault("code", f"{MHD_LIST_TYPES}|{MHD_SUBMISSION_SET}")
    return FhirRequest(_transaction("ITI-66"), "GET", "List", _pairs(given))


def iti68_retrieve(location: str, *, accept: str | None = None) -> FhirRequest:
    """Retrieve Document: ``GET`` of a ``DocumentReference.content.attachment.url`` (absolute,
    or relative to the base such as ``Binary/ID``)."""
    return FhirRequest(_transaction("ITI-68"), "GET", _instance_path("Binary", location),
                       accept=accept or "*/*")


@dataclass(frozen=True)
class _Entry:
    full_url: str
    resource: dict[str, Any]
    method: str
    url: str

    def written(self) -> dict[str, Any]:
        return {"fullUrl": self.full_url, "resource": self.resource,
                "request": {"method": self.method, "url": self.url}}


def iti65_provide_bundle(patient: PatientId | str, documents: Sequence[DocumentEntrySpec], *,
                         submission: SubmissionSetSpec | None = None,
                         ids: IdGenerator = DEFAULT_IDS) -> FhirRequest:
    """Provide Document Bundle (MHD Minimal): ``POST [base]`` of a transaction ``Bundle`` with
    a ``List`` SubmissionSet, and per document a ``DocumentReference`` and a ``Binary``.

    ``patient`` is a ``Patient/ID`` reference (as the Recipient's patient) or an identifier
    (written as ``subject.identifier``). Every build gets fresh ``urn:uuid`` fullUrls, a fresh
    SubmissionSet uniqueId and fresh document uniqueIds (unless a document names its own).
    """
    if not documents:
        raise ValueError("a Provide Document Bundle needs at least one document")
    submission = submission or SubmissionSetSpec()
    subject: dict[str, Any] = {"reference": patient} if isinstance(patient, str) else \
        {"identifier": {"system": system_of(patient.root), "value": patient.extension}}
    now = ids.now().astimezone().isoformat(timespec="seconds")
    values: dict[str, str] = {}
    if isinstance(patient, PatientId):
        values["patientIdentifier"] = identifier_token(patient)
    list_url = ids.uuid_urn()
    set_uid = submission.unique_id or ids.oid()
    values["submissionSetUniqueId"] = set_uid
    values["submissionSetFullUrl"] = list_url
    entries: list[_Entry] = []
    items: list[dict[str, Any]] = []
    for number, document in enumerate(documents, start=1):
        content = document.read()
        binary_url, reference_url = ids.uuid_urn(), ids.uuid_urn()
        unique_id = document.unique_id or ids.oid()
        values.setdefault("documentUniqueId", unique_id)
        values[f"documentUniqueId:Document{number:02d}"] = unique_id
        codes = {**DEFAULT_CODES, **document.codes}
        attachment: dict[str, Any] = {
            "contentType": document.mime_type, "url": binary_url, "title": document.title,
            "size": len(content),
            "hash": base64.b64encode(hashlib.sha1(content).digest()).decode("ascii"),
            "creation": now}
        language = document.slots.get("languageCode", DEFAULT_LANGUAGE)
        attachment["language"] = language if isinstance(language, str) else DEFAULT_LANGUAGE
        reference: dict[str, Any] = {
            "resourceType": "DocumentReference",
            "meta": {"profile": [MINIMAL_DOCUMENT_REFERENCE]},
            "masterIdentifier": {"system": FHIR_UUID_SYSTEM, "value": _urn_oid(unique_id)},
            "identifier": [{"use": "official", "system": FHIR_UUID_SYSTEM, "value": reference_url}],
            "status": "current",
            "type": code_system(codes["typeCode"]),
            "category": [code_system(codes["classCode"])],
            "subject": subject,
            "date": now,
            "description": document.title,
            "securityLabel": [code_system(codes["confidentialityCode"])],
            "content": [{"attachment": attachment,
                         "format": code_system(codes["formatCode"])["coding"][0]}],
            "context": {"facilityType": code_system(codes["healthcareFacilityTypeCode"]),
                        "practiceSetting": code_system(codes["practiceSettingCode"])},
        }
        entries.append(_Entry(reference_url, reference, "POST", "DocumentReference"))
        entries.append(_Entry(binary_url, {
            "resourceType": "Binary", "contentType": document.mime_type,
            "data": base64.b64encode(content).decode("ascii")}, "POST", "Binary"))
        items.append({"item": {"reference": reference_url}})
    submission_set: dict[str, Any] = {
        "resourceType": "List",
        "meta": {"profile": [MINIMAL_SUBMISSION_SET]},
        "extension": [
            {"url": MHD_SOURCE_ID_EXTENSION, "valueIdentifier": {
                "value": _urn_oid(submission.source_id or DEFAULT_SOURCE_ID)}},
            {"url": MHD_DESIGNATION_TYPE_EXTENSION,
             "valueCodeableConcept": code_system(submission.content_type)}],
        "identifier": [
            {"use": "usual", "system": FHIR_UUID_SYSTEM, "value": _urn_oid(set_uid)},
            {"use": "official", "system": FHIR_UUID_SYSTEM, "value": list_url}],
        "status": "current", "mode": "working",
        "title": submission.title or "Submission",
        "code": {"coding": [{"system": MHD_LIST_TYPES, "code": MHD_SUBMISSION_SET}]},
        "subject": subject,
        "date": now,
        "entry": items,
    }
    bundle = {
        "resourceType": "Bundle",
        "meta": {"profile": [MINIMAL_PROVIDE_BUNDLE]},
        "type": "transaction",
        "entry": [_Entry(list_url, submission_set, "POST", "List").written(),
                  *(entry.written() for entry in entries)],
    }
    return FhirRequest(_transaction("ITI-65"), "POST", "", body=_json_body(bundle),
                       content_type=FHIR_JSON, values=values)


def _urn_oid(value: str) -> str:
    return value if value.startswith("urn:") else f"{OID_URN_PREFIX}{value}"
