"""MHD Document Recipient (ITI-65) and Document Responder (ITI-66 List search, ITI-67
DocumentReference search, ITI-68 document retrieve) on the XDS registry and repository.

The simulator is an MHD facade on its own XDS actors (MHD 4.2 "XDS on FHIR" option): an ITI-65
bundle becomes the ebRIM submission an ITI-41 would carry and is checked and stored by the same
code (:func:`ihe_test_util.sim.xds_submit.submit`), so the registry's rules and error codes
hold for both and a document given either way is found and retrieved either way. Metadata
follows the MHD 4.2 DocumentEntry <-> DocumentReference and SubmissionSet <-> List mappings;
the required metadata is that of the Comprehensive Metadata option (XDS's). A refused ITI-65 is
HTTP 422 with one OperationOutcome issue per registry error (code ``processing``, the XDS error
code in ``details.text``); a bundle that is not a transaction of List + DocumentReference +
Binary is HTTP 400.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import hashlib
from typing import Any

from lxml import etree

from ihe_test_util.ihe.cx import PatientId, parse_cx
from ihe_test_util.ihe.identifiers import is_oid
from ihe_test_util.ihe.namespaces import LCM, RIM, qname
from ihe_test_util.ihe.vocabulary import (
    DOCUMENT_ENTRY_PATIENT_ID,
    DOCUMENT_ENTRY_STABLE,
    DOCUMENT_ENTRY_UNIQUE_ID,
    FHIR_DOCUMENT_STATUS,
    FHIR_RELATES_TO,
    FHIR_UUID_SYSTEM,
    HAS_MEMBER,
    MHD_DESIGNATION_TYPE_EXTENSION,
    MHD_DOCUMENT_REFERENCE_CODES,
    MHD_LIST_TYPES,
    MHD_SOURCE_ID_EXTENSION,
    MHD_SUBMISSION_SET,
    OID_URN_PREFIX,
    SUBMISSION_SET_NODE,
    SUBMISSION_SET_PATIENT_ID,
    SUBMISSION_SET_SOURCE_ID,
    SUBMISSION_SET_UNIQUE_ID,
)
from ihe_test_util.safexml import parse_xml
from ihe_test_util.sim.ebrim import (
    DOCUMENT_ENTRY_CODES,
    SUBMISSION_SET_CODES,
    RegistryError,
    classifications,
    external_id,
    make_slot,
    rim,
    slot_values,
)
from ihe_test_util.sim.fhir.common import FhirScope, fhir_identifier
from ihe_test_util.sim.fhir.wire import FORMAT_TYPES, FhirError, FhirReply, Page, SortKey, issue
from ihe_test_util.sim.profiles import Deviation
from ihe_test_util.sim.store import RegistryRecord
from ihe_test_util.sim.xds_metadata import (
    DOCUMENT_ENTRY,
    REQUIRED,
    SUBMISSION_SET,
    Requirement,
)
from ihe_test_util.sim.xds_submit import submit
from ihe_test_util.transport.endpoint import HttpAnswer

_STATUS_OF_FHIR = {fhir: xds for xds, fhir in FHIR_DOCUMENT_STATUS.items()}
_RELATION_OF_ASSOCIATION = {xds: fhir for fhir, xds in FHIR_RELATES_TO.items()}
#: DocumentReference element -> the DocumentEntry code it carries (MHD 4.2 mapping).
_CODED = tuple((path, name) for path, name in MHD_DOCUMENT_REFERENCE_CODES.items()
               if "." not in path)
_CONTEXT_CODED = tuple((path.removeprefix("context."), name)
                       for path, name in MHD_DOCUMENT_REFERENCE_CODES.items()
                       if path.startswith("context.") and path != "context.event")
_FORMAT = MHD_DOCUMENT_REFERENCE_CODES["content.format"]
_EVENT = MHD_DOCUMENT_REFERENCE_CODES["context.event"]
_REGISTRY_PACKAGE = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:RegistryPackage"
_CLASSIFICATION = "urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:Classification"
_PLACEHOLDER = "unknown"


# -- ITI-65 Provide Document Bundle ---------------------------------------------------------


def provide(scope: FhirScope) -> FhirReply:
    """ITI-65: a transaction Bundle with one SubmissionSet List, DocumentReferences, Binaries."""
    bundle = scope.call.resource(scope.max_body_bytes)
    if bundle.get("resourceType") != "Bundle" or bundle.get("type") != "transaction":
        raise FhirError(400, "invalid", "ITI-65 takes a Bundle of type transaction, got "
                        f"{bundle.get('resourceType')} {bundle.get('type', '')}".rstrip())
    entries = [e for e in bundle.get("entry", []) if isinstance(e, dict)]
    by_type: dict[str, list[tuple[int, dict[str, Any]]]] = {}
    full_urls: dict[str, int] = {}
    for index, entry in enumerate(entries):
        resource = entry.get("resource")
        kind = resource.get("resourceType") if isinstance(resource, dict) else None
        method = (entry.get("request") or {}).get("method")
        if kind not in ("List", "DocumentReference", "Binary"):
            raise FhirError(400, "not-supported", f"Bundle.entry[{index}]: ITI-65 carries List, "
                            f"DocumentReference and Binary, not {kind}")
        if method != "POST":
            raise FhirError(400, "invalid", f"Bundle.entry[{index}].request.method must be POST "
                            f"(create), got {method!r}")
        by_type.setdefault(str(kind), []).append((index, resource))  # type: ignore[arg-type]
        if isinstance(entry.get("fullUrl"), str):
            full_urls[entry["fullUrl"]] = index
    lists = by_type.get("List", [])
    references = by_type.get("DocumentReference", [])
    if len(lists) != 1 or not references:
        raise FhirError(400, "invalid", "ITI-65 needs exactly one SubmissionSet List and at "
                        f"least one DocumentReference (found {len(lists)} List, "
                        f"{len(references)} DocumentReference)")
    binaries = dict(by_type.get("Binary", []))
    relaxed = scope.has(Deviation.MHD_VALIDATION_RELAXED)
    builder = _Submission(scope, entries, full_urls, binaries, relaxed)
    request, documents = builder.build(lists[0], references)
    errors = submit(request, documents, scope.ctx)
    errors += builder.problems
    if errors:
        raise FhirError(422, "processing", errors[0].context, issues=[
            issue("processing", builder.explain(e.context), details=e.code) for e in errors])
    response_entries = []
    for index, entry in enumerate(entries):
        resource = entry["resource"]
        relative = f"{resource['resourceType']}/{scope.object_id(builder.ids[index])}"
        response_entries.append({"response": {"status": "201 Created", "location": relative,
                                              "lastModified": scope.timestamp()}})
    return FhirReply({"resourceType": "Bundle", "id": scope.ctx.volatility.plain_uuid(),
                      "type": "transaction-response", "entry": response_entries})


class _Submission:
    """Builds the ebRIM SubmitObjectsRequest of one ITI-65 bundle."""

    def __init__(self, scope: FhirScope, entries: list[dict[str, Any]],
                 full_urls: dict[str, int], binaries: dict[int, dict[str, Any]],
                 relaxed: bool) -> None:
        self.scope = scope
        self.entries = entries
        self.full_urls = full_urls
        self.binaries = binaries
        self.relaxed = relaxed
        #: entry index -> the entryUUID of its registry object (a Binary: its document's)
        self.ids: dict[int, str] = {}
        self.problems: list[RegistryError] = []
        self._labels: dict[str, str] = {}
        self._serial = 0

    def explain(self, text: str) -> str:
        for uuid, label in self._labels.items():
            text = text.replace(uuid, label)
        return text

    def _entry_uuid(self, index: int, resource: dict[str, Any]) -> str:
        given = [i.get("value") for i in resource.get("identifier", [])
                 if isinstance(i, dict) and i.get("use") == "official"
                 and str(i.get("value", "")).startswith("urn:uuid:")]
        value = str(given[0]) if given else self.scope.ctx.volatility.urn_uuid()
        self.ids[index] = value
        self._labels[value] = f"Bundle.entry[{index}]"
        return value

    def _symbol(self) -> str:
        self._serial += 1
        return f"ihe-sim-{self._serial}"

    def build(self, listed: tuple[int, dict[str, Any]],
              references: list[tuple[int, dict[str, Any]]],
              ) -> tuple[etree._Element, dict[str, bytes]]:
        request = etree.Element(qname(LCM, "SubmitObjectsRequest"), nsmap={"lcm": LCM, "rim": RIM})
        objects = etree.SubElement(request, rim("RegistryObjectList"))
        set_index, submission_set = listed
        set_id = self._entry_uuid(set_index, submission_set)
        documents: dict[str, bytes] = {}
        entry_ids: dict[str, str] = {}  # fullUrl / relative reference -> entryUUID
        for index, reference in references:
            entry_id = self._entry_uuid(index, reference)
            full_url = self.entries[index].get("fullUrl")
            if isinstance(full_url, str):
                entry_ids[full_url] = entry_id
            objects.append(self._document_entry(entry_id, index, reference, documents))
        objects.insert(0, self._submission_set(set_id, set_index, submission_set))
        members = self._members(set_index, submission_set, entry_ids)
        for target in members:
            association = etree.SubElement(
                objects, rim("Association"), id=self._symbol(), associationType=HAS_MEMBER,
                sourceObject=set_id, targetObject=target)
            association.append(make_slot("SubmissionSetStatus", ["Original"]))
        for index, reference in references:
            for relation in reference.get("relatesTo", []):
                self._relation(objects, self.ids[index], relation)
        for index in self.binaries:
            if index not in self.ids:
                self.problems.append(RegistryError(
                    "XDSMissingDocumentMetadata", f"Binary Bundle.entry[{index}] is not the "
                    "attachment of any DocumentReference", f"Bundle.entry[{index}]"))
        if self.relaxed:
            _fill_missing(objects)
        return request, documents

    def _members(self, set_index: int, submission_set: dict[str, Any],
                 entry_ids: dict[str, str]) -> list[str]:
        members: list[str] = []
        for position, item in enumerate(submission_set.get("entry", [])):
            reference = ((item or {}).get("item") or {}).get("reference")
            target = entry_ids.get(str(reference))
            if target is None:
                self.problems.append(RegistryError(
                    "XDSRegistryMetadataError", f"List Bundle.entry[{set_index}].entry"
                    f"[{position}].item {reference!r} is no DocumentReference of this bundle",
                    f"Bundle.entry[{set_index}]"))
            else:
                members.append(target)
        for entry_id in entry_ids.values():  # the registry reports unlisted documents itself
            if entry_id not in members and self.relaxed:
                members.append(entry_id)
        return members

    # -- SubmissionSet ------------------------------------------------------------------------

    def _submission_set(self, set_id: str, index: int, listed: dict[str, Any]) -> etree._Element:
        package = etree.Element(rim("RegistryPackage"), id=set_id, objectType=_REGISTRY_PACKAGE)
        codes = [c for c in (listed.get("code") or {}).get("coding", []) if isinstance(c, dict)]
        if not any(c.get("system") == MHD_LIST_TYPES and c.get("code") == MHD_SUBMISSION_SET
                   for c in codes) and not self.relaxed:
            self.problems.append(RegistryError(
                "XDSRegistryMetadataError", f"List Bundle.entry[{index}] is not coded as a "
                f"SubmissionSet ({MHD_LIST_TYPES}|{MHD_SUBMISSION_SET})",
                f"Bundle.entry[{index}]"))
        if isinstance(listed.get("date"), str):
            package.append(make_slot("submissionTime", [_dtm(listed["date"])]))
        if isinstance(listed.get("title"), str):
            _name(package, listed["title"])
        for extension in listed.get("extension", []):
            if isinstance(extension, dict) and extension.get(
                    "url") == MHD_DESIGNATION_TYPE_EXTENSION:
                for coding in (extension.get("valueCodeableConcept") or {}).get("coding", [])[:1]:
                    package.append(self._classification(
                        SUBMISSION_SET_CODES["contentTypeCode"], set_id, coding))
        etree.SubElement(package, rim("Classification"), id=self._symbol(),
                         classificationNode=SUBMISSION_SET_NODE, classifiedObject=set_id,
                         objectType=_CLASSIFICATION)
        unique_id = _oid_value([i for i in listed.get("identifier", [])
                                if isinstance(i, dict) and i.get("use") == "usual"])
        if unique_id:
            self._external(package, SUBMISSION_SET_UNIQUE_ID, set_id, unique_id)
        source = next((e.get("valueIdentifier", {}).get("value") for e in listed.get(
            "extension", []) if isinstance(e, dict) and e.get("url") == MHD_SOURCE_ID_EXTENSION),
            None)
        if isinstance(source, str):
            self._external(package, SUBMISSION_SET_SOURCE_ID, set_id,
                           source.removeprefix(OID_URN_PREFIX))
        patient = self._patient(listed.get("subject"), f"Bundle.entry[{index}].subject")
        if patient:
            self._external(package, SUBMISSION_SET_PATIENT_ID, set_id, patient)
        return package

    # -- DocumentEntry ------------------------------------------------------------------------

    def _document_entry(self, entry_id: str, index: int, reference: dict[str, Any],
                        documents: dict[str, bytes]) -> etree._Element:
        where = f"Bundle.entry[{index}]"
        contents = [c for c in reference.get("content", []) if isinstance(c, dict)]
        attachment = (contents[0].get("attachment") or {}) if contents else {}
        entry = etree.Element(rim("ExtrinsicObject"), id=entry_id,
                              objectType=DOCUMENT_ENTRY_STABLE)
        if isinstance(attachment.get("contentType"), str):
            entry.set("mimeType", attachment["contentType"])
        status = reference.get("status")
        if status != "current" and not self.relaxed:
            self.problems.append(RegistryError(
                "XDSRegistryMetadataError", f"DocumentReference {where}: status must be "
                f"current, got {status!r}", where))
        context = reference.get("context") or {}
        if isinstance(attachment.get("creation"), str):
            entry.append(make_slot("creationTime", [_dtm(attachment["creation"])]))
        if isinstance(attachment.get("language"), str):
            entry.append(make_slot("languageCode", [attachment["language"]]))
        period = context.get("period") or {}
        for key, slot in (("start", "serviceStartTime"), ("end", "serviceStopTime")):
            if isinstance(period.get(key), str):
                entry.append(make_slot(slot, [_dtm(period[key])]))
        patient = self._patient(reference.get("subject"), f"{where}.subject")
        source_patient = self._source_patient(reference, context) or patient
        if source_patient:
            entry.append(make_slot("sourcePatientId", [source_patient]))
        content = self._content(index, attachment, where)
        if content is not None:
            documents[entry_id] = content
            if isinstance(attachment.get("hash"), str):
                entry.append(make_slot("hash", [_hex_hash(attachment["hash"], where)]))
            if isinstance(attachment.get("size"), int):
                entry.append(make_slot("size", [str(attachment["size"])]))
        if isinstance(attachment.get("title"), str):
            _name(entry, attachment["title"])
        if isinstance(reference.get("description"), str):
            description = etree.SubElement(entry, rim("Description"))
            etree.SubElement(description, rim("LocalizedString"), value=reference["description"])
        coded: list[tuple[str, Any]] = []
        for element, name in _CODED:
            value = reference.get(element)
            for concept in value if isinstance(value, list) else [value]:
                coded.append((name, concept))
        coded += [(name, context.get(element)) for element, name in _CONTEXT_CODED]
        coded += [(_FORMAT, {"coding": [c["format"]]}) for c in contents[:1]
                  if isinstance(c.get("format"), dict)]
        coded += [(_EVENT, e) for e in context.get("event", [])]
        for name, concept in coded:
            for coding in _codings(concept)[:1]:
                entry.append(self._classification(DOCUMENT_ENTRY_CODES[name], entry_id, coding))
        if patient:
            self._external(entry, DOCUMENT_ENTRY_PATIENT_ID, entry_id, patient)
        unique_id = (reference.get("masterIdentifier") or {}).get("value")
        if isinstance(unique_id, str):
            self._external(entry, DOCUMENT_ENTRY_UNIQUE_ID, entry_id,
                           unique_id.removeprefix(OID_URN_PREFIX))
        return entry

    def _content(self, index: int, attachment: dict[str, Any], where: str) -> bytes | None:
        if isinstance(attachment.get("data"), str):
            return _base64(attachment["data"], f"{where}.content.attachment.data")
        url = attachment.get("url")
        target = self.full_urls.get(str(url)) if url is not None else None
        binary = self.binaries.get(target) if target is not None else None
        if binary is None or target is None:
            return None
        self.ids[target] = self.ids[index]
        return _base64(str(binary.get("data", "")), f"Bundle.entry[{target}].data")

    def _source_patient(self, reference: dict[str, Any], context: dict[str, Any]) -> str | None:
        info = (context.get("sourcePatientInfo") or {}).get("reference")
        if isinstance(info, str) and info.startswith("#"):
            for contained in reference.get("contained", []):
                if isinstance(contained, dict) and contained.get("id") == info[1:]:
                    for identifier in contained.get("identifier", []):
                        pid = _identifier_pid(identifier)
                        if pid is not None:
                            return pid.cx()
        return None

    def _patient(self, subject: Any, where: str) -> str | None:
        """The XDS patientId (CX) of a subject reference to one of our Patients."""
        if not isinstance(subject, dict):
            return None
        pid = _identifier_pid(subject.get("identifier"))
        if pid is not None:
            return pid.cx()
        reference = subject.get("reference")
        if not isinstance(reference, str):
            return None
        fhir_id = self.scope.reference_id(reference, "Patient")
        number = self.scope.patient_number(fhir_id) if fhir_id is not None else None
        ids = self.scope.ctx.store.ids_of(number) if number is not None else ()
        if not ids:
            self.problems.append(RegistryError(
                "XDSUnknownPatientId", f"{where} {reference!r} is not a Patient of this "
                "server (feed it with ITI-104 or ITI-44 first)", where))
            return None
        return ids[0].cx()

    def _relation(self, objects: etree._Element, source: str, relation: Any) -> None:
        code = (relation or {}).get("code")
        target = ((relation or {}).get("target") or {}).get("reference")
        kind = FHIR_RELATES_TO.get(str(code))
        fhir_id = self.scope.reference_id(target, "DocumentReference") if isinstance(
            target, str) else None
        target_uuid = self.scope.entry_uuid(fhir_id) if fhir_id else None
        if kind is None or target_uuid is None:
            self.problems.append(RegistryError(
                "XDSRegistryMetadataError", f"relatesTo {code!r} -> {target!r} is not a "
                "relationship to a registered DocumentReference", str(target)))
            return
        etree.SubElement(objects, rim("Association"), id=self._symbol(), associationType=kind,
                         sourceObject=source, targetObject=target_uuid)

    def _classification(self, scheme: str, classified: str,
                        coding: dict[str, Any]) -> etree._Element:
        element = etree.Element(rim("Classification"), id=self._symbol(),
                                classificationScheme=scheme, classifiedObject=classified,
                                nodeRepresentation=str(coding.get("code", "")),
                                objectType=_CLASSIFICATION)
        system = str(coding.get("system", ""))
        element.append(make_slot("codingScheme", [system.removeprefix(OID_URN_PREFIX)]))
        if isinstance(coding.get("display"), str):
            _name(element, coding["display"])
        return element

    def _external(self, parent: etree._Element, scheme: str, owner: str, value: str) -> None:
        element = etree.SubElement(parent, rim("ExternalIdentifier"), id=self._symbol(),
                                   identificationScheme=scheme, registryObject=owner,
                                   value=value)
        _name(element, _EXTERNAL_NAMES.get(scheme, ""))


_EXTERNAL_NAMES = {
    DOCUMENT_ENTRY_PATIENT_ID: "XDSDocumentEntry.patientId",
    DOCUMENT_ENTRY_UNIQUE_ID: "XDSDocumentEntry.uniqueId",
    SUBMISSION_SET_PATIENT_ID: "XDSSubmissionSet.patientId",
    SUBMISSION_SET_SOURCE_ID: "XDSSubmissionSet.sourceId",
    SUBMISSION_SET_UNIQUE_ID: "XDSSubmissionSet.uniqueId",
}


def _fill_missing(objects: etree._Element) -> None:
    """MHD_VALIDATION_RELAXED: placeholder values for required metadata that is missing."""
    for element in objects:
        local = etree.QName(element).localname
        kind = DOCUMENT_ENTRY if local == "ExtrinsicObject" else (
            SUBMISSION_SET if local == "RegistryPackage" else None)
        if kind is None:
            continue
        for requirement in REQUIRED[kind]:
            if not requirement.present(element):
                _placeholder(element, requirement)


def _placeholder(element: etree._Element, requirement: Requirement) -> None:
    owner = element.get("id", "")
    if requirement.where == "slot":
        value = "19700101000000" if requirement.key.endswith("Time") else _PLACEHOLDER
        element.insert(0, make_slot(requirement.key, [value]))
    elif requirement.where == "classification":
        code = etree.SubElement(element, rim("Classification"),
                                classificationScheme=requirement.key, classifiedObject=owner,
                                nodeRepresentation=_PLACEHOLDER, objectType=_CLASSIFICATION)
        code.append(make_slot("codingScheme", [_PLACEHOLDER]))
    elif requirement.where == "identifier":
        value = f"2.25.{int.from_bytes(hashlib.sha1(owner.encode()).digest()[:12], 'big')}"
        etree.SubElement(element, rim("ExternalIdentifier"), identificationScheme=requirement.key,
                         registryObject=owner, value=value)
    elif requirement.where == "attribute":
        element.set(requirement.key, "application/octet-stream")


def _name(parent: etree._Element, text: str) -> None:
    name = etree.SubElement(parent, rim("Name"))
    etree.SubElement(name, rim("LocalizedString"), value=text)


def _codings(concept: Any) -> list[dict[str, Any]]:
    if not isinstance(concept, dict):
        return []
    return [c for c in concept.get("coding", []) if isinstance(c, dict) and c.get("code")]


def _oid_value(identifiers: list[Any]) -> str | None:
    for identifier in identifiers:
        value = identifier.get("value")
        if isinstance(value, str) and value.strip():
            return value.strip().removeprefix(OID_URN_PREFIX)
    return None


def _identifier_pid(identifier: Any) -> PatientId | None:
    if not isinstance(identifier, dict):
        return None
    system, value = identifier.get("system"), identifier.get("value")
    if isinstance(system, str) and system.startswith(OID_URN_PREFIX) and isinstance(
            value, str) and value.strip():
        return PatientId(value.strip(), system[len(OID_URN_PREFIX):], check=False)
    return None


def _base64(text: str, where: str) -> bytes:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise FhirError(400, "invalid", f"{where} is not base64") from None


def _hex_hash(text: str, where: str) -> str:
    """FHIR Attachment.hash (base64 SHA-1) as the hex XDS writes."""
    return _base64(text, f"{where}.content.attachment.hash").hex()


def _dtm(value: str) -> str:
    """FHIR date/dateTime/instant -> XDS DTM (UTC digits, as precise as given)."""
    digits = "".join(ch for ch in value.split("+")[0].rstrip("Z") if ch.isdigit())
    return digits[:14]


def _fhir_time(value: str) -> str:
    """XDS DTM -> FHIR dateTime (date only when no time is given)."""
    v = value.strip()
    if len(v) <= 8:
        return "-".join(p for p in (v[:4], v[4:6], v[6:8]) if p)
    time = v[8:14].ljust(6, "0")
    return f"{v[:4]}-{v[4:6]}-{v[6:8]}T{time[:2]}:{time[2:4]}:{time[4:6]}Z"


# -- registry objects as FHIR resources ---------------------------------------------------------


def _coding(classification: etree._Element) -> dict[str, Any]:
    scheme = slot_values(classification, "codingScheme")
    coding: dict[str, Any] = {}
    if scheme and scheme[0]:
        coding["system"] = (f"{OID_URN_PREFIX}{scheme[0]}" if is_oid(scheme[0])
                            else scheme[0])
    coding["code"] = classification.get("nodeRepresentation", "")
    display = classification.find(f"{rim('Name')}/{rim('LocalizedString')}")
    if display is not None and display.get("value"):
        coding["display"] = display.get("value")
    return coding


def _concepts(element: etree._Element, name: str) -> list[dict[str, Any]]:
    return [{"coding": [_coding(c)]}
            for c in classifications(element, DOCUMENT_ENTRY_CODES[name])]


def _localized(element: etree._Element, local: str) -> str | None:
    found = element.find(f"{rim(local)}/{rim('LocalizedString')}")
    return found.get("value") if found is not None else None


def _subject(scope: FhirScope, cx: str | None) -> dict[str, Any] | None:
    pid = parse_cx(cx) if cx else None
    if pid is None:
        return None
    number = scope.ctx.store.patient_for(pid)
    if number is not None:
        return {"reference": f"Patient/{scope.patient_id(number)}"}
    return {"identifier": fhir_identifier(pid)}


def document_reference(scope: FhirScope, record: RegistryRecord) -> dict[str, Any]:
    """A stored DocumentEntry as an MHD DocumentReference."""
    entry = parse_xml(record.xml, source="simulator state")
    fhir_id = scope.object_id(record.entry_uuid)
    resource: dict[str, Any] = {"resourceType": "DocumentReference", "id": fhir_id}
    if record.unique_id:
        value = record.unique_id
        resource["masterIdentifier"] = {"system": FHIR_UUID_SYSTEM, "value": (
            f"{OID_URN_PREFIX}{value}" if is_oid(value) else value)}
    resource["identifier"] = [{"use": "official", "system": FHIR_UUID_SYSTEM,
                               "value": record.entry_uuid}]
    resource["status"] = FHIR_DOCUMENT_STATUS.get(record.status, "entered-in-error")
    for element in ("type", "category"):  # in DocumentReference order; securityLabel later
        concepts = _concepts(entry, MHD_DOCUMENT_REFERENCE_CODES[element])
        if concepts:
            resource[element] = concepts[0] if element == "type" else concepts
    subject = _subject(scope, record.patient_id)
    if subject:
        resource["subject"] = subject
    description = _localized(entry, "Description")
    if description:
        resource["description"] = description
    labels = _concepts(entry, MHD_DOCUMENT_REFERENCE_CODES["securityLabel"])
    if labels:
        resource["securityLabel"] = labels
    relations = []
    for association in scope.ctx.store.associations_of([record.entry_uuid]):
        code = _RELATION_OF_ASSOCIATION.get(association.assoc_type or "")
        if code and association.source == record.entry_uuid and association.target:
            relations.append({"code": code, "target": {
                "reference": f"DocumentReference/{scope.object_id(association.target)}"}})
    if relations:
        resource["relatesTo"] = relations
    attachment: dict[str, Any] = {"contentType": entry.get("mimeType",
                                                           "application/octet-stream")}
    language = slot_values(entry, "languageCode")
    if language:
        attachment["language"] = language[0]
    attachment["url"] = scope.absolute(f"Binary/{fhir_id}")
    size, digest = slot_values(entry, "size"), slot_values(entry, "hash")
    if size and size[0].isdigit():
        attachment["size"] = int(size[0])
    if digest:
        with contextlib.suppress(ValueError):
            attachment["hash"] = base64.b64encode(bytes.fromhex(digest[0])).decode("ascii")
    title = _localized(entry, "Name")
    if title:
        attachment["title"] = title
    created = slot_values(entry, "creationTime")
    if created:
        attachment["creation"] = _fhir_time(created[0])
    content: dict[str, Any] = {"attachment": attachment}
    formats = _concepts(entry, _FORMAT)
    if formats:
        content["format"] = formats[0]["coding"][0]
    resource["content"] = [content]
    context: dict[str, Any] = {}
    events = _concepts(entry, _EVENT)
    if events:
        context["event"] = events
    period = {key: _fhir_time(values[0]) for key, slot in (("start", "serviceStartTime"),
                                                           ("end", "serviceStopTime"))
              if (values := slot_values(entry, slot))}
    if period:
        context["period"] = period
    for element, name in _CONTEXT_CODED:
        concepts = _concepts(entry, name)
        if concepts:
            context[element] = concepts[0]
    if context:
        resource["context"] = context
    return resource


def submission_list(scope: FhirScope, record: RegistryRecord) -> dict[str, Any]:
    """A stored SubmissionSet as an MHD SubmissionSet List."""
    package = parse_xml(record.xml, source="simulator state")
    resource: dict[str, Any] = {"resourceType": "List", "id": scope.object_id(record.entry_uuid)}
    extensions = []
    source = external_id(package, SUBMISSION_SET_SOURCE_ID)
    if source:
        extensions.append({"url": MHD_SOURCE_ID_EXTENSION, "valueIdentifier": {
            "value": f"{OID_URN_PREFIX}{source}" if is_oid(source) else source}})
    for classification in classifications(package, SUBMISSION_SET_CODES["contentTypeCode"]):
        extensions.append({"url": MHD_DESIGNATION_TYPE_EXTENSION,
                           "valueCodeableConcept": {"coding": [_coding(classification)]}})
    if extensions:
        resource["extension"] = extensions
    identifiers = []
    if record.unique_id:
        identifiers.append({"use": "usual", "system": FHIR_UUID_SYSTEM, "value": (
            f"{OID_URN_PREFIX}{record.unique_id}" if is_oid(record.unique_id)
            else record.unique_id)})
    identifiers.append({"use": "official", "system": FHIR_UUID_SYSTEM,
                        "value": record.entry_uuid})
    resource["identifier"] = identifiers
    resource["status"] = "current"
    resource["mode"] = "working"
    title = _localized(package, "Name")
    if title:
        resource["title"] = title
    resource["code"] = {"coding": [{"system": MHD_LIST_TYPES, "code": MHD_SUBMISSION_SET}]}
    subject = _subject(scope, record.patient_id)
    if subject:
        resource["subject"] = subject
    submitted = slot_values(package, "submissionTime")
    if submitted:
        resource["date"] = _fhir_time(submitted[0])
    members = [a.target for a in scope.ctx.store.associations_of([record.entry_uuid])
               if a.assoc_type == HAS_MEMBER and a.source == record.entry_uuid and a.target]
    entries = scope.ctx.store.objects(kind=DOCUMENT_ENTRY, entry_uuids=members)
    if entries:
        resource["entry"] = [{"item": {"reference": f"DocumentReference/"
                                                    f"{scope.object_id(e.entry_uuid)}"}}
                             for e in entries]
    return resource


# -- ITI-67 / ITI-66 searches, reads, ITI-68 ------------------------------------------------------


def _patient_filter(scope: FhirScope) -> set[PatientId] | None:
    """Patient ids a search is restricted to (None: no patient parameter)."""
    call = scope.call
    wanted: set[PatientId] | None = None
    for value in call.values("patient"):
        fhir_id = scope.reference_id(value, "Patient") or value
        number = scope.patient_number(fhir_id)
        ids = set(scope.ctx.store.ids_of(number)) if number is not None else set()
        wanted = ids if wanted is None else wanted & ids
    chained = call.values("patient.identifier")
    if chained and not scope.has(Deviation.FHIR_CHAINED_SEARCH_IGNORED):
        for token in chained:
            system, bar, value = token.partition("|")
            if not bar or not system.startswith(OID_URN_PREFIX) or not value:
                raise FhirError(400, "invalid", "patient.identifier must be urn:oid:...|value, "
                                f"got {token!r}")
            ids = {PatientId(value, system[len(OID_URN_PREFIX):], check=False)}
            wanted = ids if wanted is None else wanted & ids
    elif chained and wanted is None:
        wanted = {pid for p in scope.ctx.store.patients() for pid in p.ids}  # everyone's
    return wanted


def _of_patient(records: list[RegistryRecord], wanted: set[PatientId] | None,
                ) -> list[RegistryRecord]:
    if wanted is None:
        return records
    return [r for r in records if r.patient_id and parse_cx(r.patient_id) in wanted]


def _require_patient(scope: FhirScope, transaction: str) -> None:
    call = scope.call
    if not any(call.values(name) for name in ("patient", "patient.identifier", "_id",
                                              "identifier")):
        raise FhirError(400, "required", f"{transaction} needs a patient or "
                        "patient.identifier parameter")


def _statuses(scope: FhirScope) -> set[str] | None:
    values = [v for value in scope.call.values("status") for v in value.split(",") if v]
    if not values:
        return None
    unknown = [v for v in values if v not in _STATUS_OF_FHIR and v != "entered-in-error"]
    if unknown:
        raise FhirError(400, "code-invalid", f"status {unknown[0]!r} is not a "
                        "DocumentReference status (current, superseded, entered-in-error)")
    return {_STATUS_OF_FHIR.get(v, v) for v in values}


def _by_identifier(records: list[RegistryRecord], scope: FhirScope) -> list[RegistryRecord]:
    for token in scope.call.values("identifier"):
        value = token.partition("|")[2] if "|" in token else token
        records = [r for r in records if value in (
            r.entry_uuid, f"{OID_URN_PREFIX}{r.unique_id}", r.unique_id)]
    for value in scope.call.values("_id"):
        records = [r for r in records if scope.object_id(r.entry_uuid) in value.split(",")]
    return records


def _coded_filter(records: list[RegistryRecord], scope: FhirScope,
                  parameters: dict[str, str]) -> list[RegistryRecord]:
    for parameter, facet in parameters.items():
        for token in scope.call.values(parameter):
            wanted = []
            for alternative in token.split(","):
                system, bar, code = alternative.partition("|")
                system = system.removeprefix(OID_URN_PREFIX)
                wanted.append((system if bar else None, code if bar else alternative))
            records = [r for r in records if any(
                any(value.split("^^")[0] == code and (system is None or value.endswith(
                    f"^^{system}")) for value in r.facets.get(facet, []))
                for system, code in wanted)]
    return records


def find_document_references(scope: FhirScope) -> FhirReply:
    """ITI-67 ``GET DocumentReference?patient.identifier=...&status=current``."""
    _require_patient(scope, "ITI-67")
    records = scope.ctx.store.objects(kind=DOCUMENT_ENTRY)
    records = _of_patient(records, _patient_filter(scope))
    statuses = _statuses(scope)
    if statuses is not None and not scope.has(Deviation.MHD_STATUS_FILTER_IGNORED):
        records = [r for r in records if r.status in statuses]
    records = _by_identifier(records, scope)
    records = _coded_filter(records, scope, {
        "category": "classCode", "type": "typeCode", "format": "formatCode",
        "event": "eventCodeList", "facility": "healthcareFacilityTypeCode",
        "setting": "practiceSettingCode", "security-label": "confidentialityCode"})
    for value in scope.call.values("date"):
        records = [r for r in records if _time_matches(r.facets.get("creationTime", []), value)]
    resources = {r.entry_uuid: document_reference(scope, r) for r in records}
    page = Page(records, lambda r: scope.match_entry(
        resources[r.entry_uuid], f"DocumentReference/{scope.object_id(r.entry_uuid)}"),
        {"date": SortKey(lambda r: _first_value(r.facets.get("creationTime", []))),
         "_lastUpdated": SortKey(lambda r: f"{r.seq:012d}")})
    return FhirReply(scope.searchset(page))


def find_lists(scope: FhirScope) -> FhirReply:
    """ITI-66 ``GET List?patient.identifier=...&code=submissionset&status=current``."""
    _require_patient(scope, "ITI-66")
    for code in scope.call.values("code"):
        if code.rpartition("|")[2] not in (MHD_SUBMISSION_SET, "folder"):
            raise FhirError(400, "code-invalid", f"code {code!r} is not an MHD list type")
    records = [] if any(c.endswith("folder") for c in scope.call.values("code")) else (
        scope.ctx.store.objects(kind=SUBMISSION_SET))
    records = _of_patient(records, _patient_filter(scope))
    for status in scope.call.values("status"):
        if status not in ("current", "retired", "entered-in-error"):
            raise FhirError(400, "code-invalid", f"status {status!r} is not a List status")
        if status != "current":
            records = []
    records = _by_identifier(records, scope)
    for value in scope.call.values("date"):
        records = [r for r in records if _time_matches(r.facets.get("submissionTime", []),
                                                       value)]
    resources = {r.entry_uuid: submission_list(scope, r) for r in records}
    page = Page(records, lambda r: scope.match_entry(
        resources[r.entry_uuid], f"List/{scope.object_id(r.entry_uuid)}"),
        {"date": SortKey(lambda r: _first_value(r.facets.get("submissionTime", []))),
         "_lastUpdated": SortKey(lambda r: f"{r.seq:012d}")})
    return FhirReply(scope.searchset(page))


def _first_value(values: list[str]) -> str:
    return values[0] if values else ""


def _time_matches(have: list[str], wanted: str) -> bool:
    prefix = wanted[:2] if wanted[:2].isalpha() else "eq"
    value = _dtm(wanted[2:] if wanted[:2].isalpha() else wanted)
    if not value:
        raise FhirError(400, "invalid", f"date {wanted!r} is not a date")
    if not have:
        return False
    head = have[0][:len(value)]
    return {"eq": head == value, "ne": head != value, "gt": head > value, "lt": head < value,
            "ge": head >= value, "le": head <= value, "sa": head > value,
            "eb": head < value, "ap": head == value}.get(prefix, False)


def _record(scope: FhirScope, kind: str, fhir_id: str, resource: str) -> RegistryRecord:
    entry_uuid = scope.entry_uuid(fhir_id)
    found = scope.ctx.store.objects(kind=kind, entry_uuids=[entry_uuid]) if entry_uuid else []
    if not found:
        raise FhirError(404, "not-found", f"{resource}/{fhir_id} is not known")
    return found[0]


def read_document_reference(scope: FhirScope, fhir_id: str) -> FhirReply:
    record = _record(scope, DOCUMENT_ENTRY, fhir_id, "DocumentReference")
    return FhirReply(scope.returned(document_reference(scope, record)))


def read_list(scope: FhirScope, fhir_id: str) -> FhirReply:
    record = _record(scope, SUBMISSION_SET, fhir_id, "List")
    return FhirReply(scope.returned(submission_list(scope, record)))


def retrieve(scope: FhirScope, fhir_id: str) -> FhirReply | HttpAnswer:
    """ITI-68: the document's bytes (or a Binary resource when FHIR JSON/XML is asked for)."""
    record = _record(scope, DOCUMENT_ENTRY, fhir_id, "Binary")
    document = scope.ctx.store.document(record.unique_id or "")
    if document is None:
        raise FhirError(404, "not-found", f"the document of Binary/{fhir_id} is in another "
                        "repository")
    if _wants_resource(scope):
        return FhirReply({"resourceType": "Binary", "id": fhir_id,
                          "contentType": document.mime_type,
                          "data": base64.b64encode(document.content).decode("ascii")})
    return HttpAnswer(200, document.content, document.mime_type)


def _wants_resource(scope: FhirScope) -> bool:
    if scope.call.first("_format") is not None:
        return True
    accept = (scope.call.headers.get("Accept") or "").lower()
    return any(media in accept for media in FORMAT_TYPES)

