"""ITI-41 Provide and Register Document Set-b: ebRIM metadata from defaults plus overrides.

A submission is one SubmissionSet (RegistryPackage) with a HasMember association to every
DocumentEntry (ExtrinsicObject). Objects get *symbolic* ids (``Document01``,
``SubmissionSet01``): the registry assigns entryUUIDs, so replaying the message never reuses
one. Documents travel as MTOM attachments by default (``xop:Include``), or inline base64.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from lxml import etree

from ihe_test_util.errors import UsageError
from ihe_test_util.ihe.builders.common import BuiltMessage
from ihe_test_util.ihe.builders.patients import PatientDemographics, PatientId
from ihe_test_util.ihe.identifiers import DEFAULT_IDS, IdGenerator
from ihe_test_util.ihe.namespaces import LCM, RIM, XDSB, XOP, qname
from ihe_test_util.ihe.vocabulary import (
    DOCUMENT_ENTRY_AUTHOR,
    DOCUMENT_ENTRY_PATIENT_ID,
    DOCUMENT_ENTRY_SCHEMES,
    DOCUMENT_ENTRY_STABLE,
    DOCUMENT_ENTRY_UNIQUE_ID,
    HAS_MEMBER,
    SUBMISSION_SET_AUTHOR,
    SUBMISSION_SET_CONTENT_TYPE,
    SUBMISSION_SET_NODE,
    SUBMISSION_SET_PATIENT_ID,
    SUBMISSION_SET_SOURCE_ID,
    SUBMISSION_SET_UNIQUE_ID,
)
from ihe_test_util.transport.mtom import Attachment


@dataclass(frozen=True)
class Code:
    """An XDS coded value: code, coding scheme (OID or name) and display name."""

    code: str
    scheme: str
    display: str


#: Defaults for the coded metadata of a DocumentEntry and a SubmissionSet (CCD-like content).
DEFAULT_CODES: Mapping[str, Code] = {
    "classCode": Code("34133-9", "2.16.840.1.113883.6.1", "Summarization of Episode Note"),
    "typeCode": Code("34133-9", "2.16.840.1.113883.6.1", "Summarization of Episode Note"),
    "formatCode": Code("urn:ihe:pcc:xphr:2007", "1.3.6.1.4.1.19376.1.2.3",
                       "HL7 CCD Document"),
    "confidentialityCode": Code("N", "2.16.840.1.113883.5.25", "Normal"),
    "healthcareFacilityTypeCode": Code("35971002", "2.16.840.1.113883.6.96",
                                       "Ambulatory care site"),
    "practiceSettingCode": Code("394802001", "2.16.840.1.113883.6.96", "General medicine"),
    "contentTypeCode": Code("34133-9", "2.16.840.1.113883.6.1", "Summarization of Episode Note"),
}


#: Source id used when a scenario does not name its own (an OID under the IHE test arc).
DEFAULT_SOURCE_ID = "1.3.6.1.4.1.21367.13.20.1002"


@dataclass(frozen=True)
class Author:
    """The author classification: XCN person, XON institutions, roles and specialties."""

    person: str | None = "^Tester^Ihe^^^"
    institutions: tuple[str, ...] = ("IHE Test Utility^^^^^^^^^1.3.6.1.4.1.21367.13.20.1001",)
    roles: tuple[str, ...] = ()
    specialties: tuple[str, ...] = ()

    def slots(self) -> list[tuple[str, list[str]]]:
        out: list[tuple[str, list[str]]] = []
        if self.person:
            out.append(("authorPerson", [self.person]))
        for name, values in (("authorInstitution", self.institutions),
                             ("authorRole", self.roles), ("authorSpecialty", self.specialties)):
            if values:
                out.append((name, list(values)))
        return out


@dataclass(frozen=True)
class DocumentEntrySpec:
    """One document: from ``content`` bytes or a ``path``, with metadata overrides.

    ``codes`` replace entries of :data:`DEFAULT_CODES` by name; ``slots`` replace or add
    ExtrinsicObject slots (``creationTime``, ``languageCode``, ``serviceStartTime``, ...).
    """

    content: bytes | None = None
    path: str | Path | None = None
    mime_type: str = "text/xml"
    title: str = "Document"
    unique_id: str | None = None
    codes: Mapping[str, Code] = field(default_factory=dict)
    slots: Mapping[str, str | Sequence[str]] = field(default_factory=dict)
    author: Author | None = Author()

    def __post_init__(self) -> None:
        if (self.content is None) == (self.path is None):
            raise UsageError("a document needs exactly one of content (bytes) or path (file)")
        unknown = set(self.codes) - set(DOCUMENT_ENTRY_SCHEMES)
        if unknown:
            raise UsageError(
                f"unknown DocumentEntry code(s): {', '.join(sorted(unknown))}",
                hint="known: " + ", ".join(sorted(DOCUMENT_ENTRY_SCHEMES)),
            )

    def read(self) -> bytes:
        if self.content is not None:
            return self.content
        assert self.path is not None
        try:
            return Path(self.path).read_bytes()
        except OSError as exc:
            raise UsageError(f"cannot read document {self.path}: {exc.strerror}",
                             hint="check the document path in the scenario") from None


@dataclass(frozen=True)
class SubmissionSetSpec:
    source_id: str = DEFAULT_SOURCE_ID
    unique_id: str | None = None
    content_type: Code = DEFAULT_CODES["contentTypeCode"]
    title: str | None = None
    author: Author | None = Author()


class _Rim:
    """Element factory for ebRIM 3.0 metadata with local symbolic ids."""

    def __init__(self) -> None:
        self.counter = 0

    def next_id(self, prefix: str) -> str:
        self.counter += 1
        return f"{prefix}{self.counter:02d}"

    @staticmethod
    def el(parent: etree._Element, local: str, **attributes: str) -> etree._Element:
        return etree.SubElement(parent, qname(RIM, local), attributes)

    def slot(self, parent: etree._Element, name: str, values: str | Sequence[str]) -> None:
        value_list = self.el(self.el(parent, "Slot", name=name), "ValueList")
        for value in [values] if isinstance(values, str) else values:
            self.el(value_list, "Value").text = value

    def name(self, parent: etree._Element, text: str | None, local: str = "Name") -> None:
        element = self.el(parent, local)
        if text is not None:
            self.el(element, "LocalizedString", value=text)

    def classification(self, parent: etree._Element, scheme: str, owner: str,
                       code: Code) -> None:
        node = self.el(parent, "Classification", classificationScheme=scheme,
                       classifiedObject=owner, id=self.next_id("cl"),
                       nodeRepresentation=code.code)
        self.slot(node, "codingScheme", code.scheme)
        self.name(node, code.display)

    def author(self, parent: etree._Element, scheme: str, owner: str, author: Author) -> None:
        node = self.el(parent, "Classification", classificationScheme=scheme,
                       classifiedObject=owner, id=self.next_id("cl"), nodeRepresentation="")
        for name, values in author.slots():
            self.slot(node, name, values)

    def external_id(self, parent: etree._Element, scheme: str, owner: str, value: str,
                    label: str) -> None:
        node = self.el(parent, "ExternalIdentifier", identificationScheme=scheme,
                       registryObject=owner, value=value, id=self.next_id("ei"))
        self.name(node, label)


def iti41_provide_and_register(
    patient: PatientDemographics | PatientId,
    documents: Sequence[DocumentEntrySpec],
    *,
    submission: SubmissionSetSpec = SubmissionSetSpec(),
    source_patient_id: PatientId | None = None,
    mtom: bool = True,
    ids: IdGenerator = DEFAULT_IDS,
) -> BuiltMessage:
    """A ProvideAndRegisterDocumentSetRequest for ``patient`` (affinity-domain id).

    ``hash`` (SHA-1) and ``size`` are computed from the bytes; uniqueIds are fresh OIDs
    unless given; ``creationTime`` and ``submissionTime`` are now.
    """
    if not documents:
        raise UsageError("an ITI-41 submission needs at least one document")
    demographics = patient if isinstance(patient, PatientDemographics) else \
        PatientDemographics(ids=(patient,))
    patient_id = demographics.primary_id
    rim = _Rim()
    now = ids.timestamp()
    request = etree.Element(qname(XDSB, "ProvideAndRegisterDocumentSetRequest"),
                            nsmap={"xdsb": XDSB, "lcm": LCM, "rim": RIM, "xop": XOP})
    objects = rim.el(etree.SubElement(request, qname(LCM, "SubmitObjectsRequest")),
                     "RegistryObjectList")
    values: dict[str, str] = {"patientId": patient_id.cx()}
    package_id = "SubmissionSet01"
    payloads: list[tuple[str, DocumentEntrySpec, bytes]] = []
    for index, spec in enumerate(documents, start=1):
        entry_id = f"Document{index:02d}"
        content = spec.read()
        payloads.append((entry_id, spec, content))
        unique_id = spec.unique_id or ids.oid()
        values[f"documentUniqueId:{entry_id}"] = unique_id
        if index == 1:
            values["documentUniqueId"] = unique_id
        _document_entry(rim, objects, entry_id, spec, content, unique_id, now, demographics,
                        source_patient_id or patient_id)
    set_unique_id = submission.unique_id or ids.oid()
    values["submissionSetUniqueId"] = set_unique_id
    _submission_set(rim, objects, package_id, submission, set_unique_id, now, patient_id)
    for entry_id, _, _ in payloads:
        association = rim.el(objects, "Association", associationType=HAS_MEMBER,
                             sourceObject=package_id, targetObject=entry_id,
                             id=rim.next_id("as"))
        rim.slot(association, "SubmissionSetStatus", "Original")
    attachments: list[Attachment] = []
    for entry_id, spec, content in payloads:
        document = etree.SubElement(request, qname(XDSB, "Document"), id=entry_id)
        if mtom:
            cid = f"{entry_id}.{ids.uuid()}@ihe-test-util"
            etree.SubElement(document, qname(XOP, "Include"), href=f"cid:{cid}")
            attachments.append(Attachment(cid, spec.mime_type, content))
        else:
            document.text = base64.b64encode(content).decode("ascii")
    return BuiltMessage("ITI-41", request, tuple(attachments), values)


def _document_entry(
    rim: _Rim, objects: etree._Element, entry_id: str, spec: DocumentEntrySpec, content: bytes,
    unique_id: str, now: str, demographics: PatientDemographics, source_patient_id: PatientId,
) -> None:
    entry = rim.el(objects, "ExtrinsicObject", id=entry_id, mimeType=spec.mime_type,
                   objectType=DOCUMENT_ENTRY_STABLE)
    slots: dict[str, str | Sequence[str]] = {
        "creationTime": now,
        "hash": hashlib.sha1(content, usedforsecurity=False).hexdigest(),  # XDS: SHA-1
        "languageCode": "en-US",
        "size": str(len(content)),
        "sourcePatientId": source_patient_id.cx(),
    }
    info = demographics.source_patient_info()
    if len(info) > len(demographics.ids):  # more than the ids: real demographics known
        slots["sourcePatientInfo"] = info
    slots.update(spec.slots)
    for name in sorted(slots):
        rim.slot(entry, name, slots[name])
    rim.name(entry, spec.title)
    rim.name(entry, None, "Description")
    if spec.author is not None:
        rim.author(entry, DOCUMENT_ENTRY_AUTHOR, entry_id, spec.author)
    codes = {**{k: DEFAULT_CODES[k] for k in DOCUMENT_ENTRY_SCHEMES}, **spec.codes}
    for name, scheme in DOCUMENT_ENTRY_SCHEMES.items():
        rim.classification(entry, scheme, entry_id, codes[name])
    rim.external_id(entry, DOCUMENT_ENTRY_PATIENT_ID, entry_id, demographics.primary_id.cx(),
                    "XDSDocumentEntry.patientId")
    rim.external_id(entry, DOCUMENT_ENTRY_UNIQUE_ID, entry_id, unique_id,
                    "XDSDocumentEntry.uniqueId")


def _submission_set(
    rim: _Rim, objects: etree._Element, package_id: str, spec: SubmissionSetSpec,
    unique_id: str, now: str, patient_id: PatientId,
) -> None:
    package = rim.el(objects, "RegistryPackage", id=package_id)
    rim.slot(package, "submissionTime", now)
    rim.name(package, spec.title)
    rim.name(package, None, "Description")
    if spec.author is not None:
        rim.author(package, SUBMISSION_SET_AUTHOR, package_id, spec.author)
    rim.classification(package, SUBMISSION_SET_CONTENT_TYPE, package_id, spec.content_type)
    rim.external_id(package, SUBMISSION_SET_UNIQUE_ID, package_id, unique_id,
                    "XDSSubmissionSet.uniqueId")
    rim.external_id(package, SUBMISSION_SET_SOURCE_ID, package_id, spec.source_id,
                    "XDSSubmissionSet.sourceId")
    rim.external_id(package, SUBMISSION_SET_PATIENT_ID, package_id, patient_id.cx(),
                    "XDSSubmissionSet.patientId")
    rim.el(objects, "Classification", classifiedObject=package_id,
           classificationNode=SUBMISSION_SET_NODE, id=rim.next_id("cl"))
