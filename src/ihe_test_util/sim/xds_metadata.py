"""XDS metadata of one submission (lcm:SubmitObjectsRequest): what it holds and what it lacks.

The required-metadata table follows ITI TF-3 Table 4.3.1-3 (XDS Document Source column "R"):
a registry answers XDSRegistryMetadataError for anything in it that is missing.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from ihe_test_util.ihe.vocabulary import (
    DOCUMENT_ENTRY_AUTHOR,
    DOCUMENT_ENTRY_PATIENT_ID,
    DOCUMENT_ENTRY_UNIQUE_ID,
    FOLDER_NODE,
    FOLDER_PATIENT_ID,
    FOLDER_UNIQUE_ID,
    SUBMISSION_SET_AUTHOR,
    SUBMISSION_SET_NODE,
    SUBMISSION_SET_PATIENT_ID,
    SUBMISSION_SET_SOURCE_ID,
    SUBMISSION_SET_UNIQUE_ID,
)
from ihe_test_util.sim.ebrim import (
    DOCUMENT_ENTRY_CODES,
    FOLDER_CODES,
    SUBMISSION_SET_CODES,
    author_people,
    classifications,
    coded_values,
    external_id,
    has_slot,
    rim,
    slot_values,
)
from ihe_test_util.sim.xmlstyle import is_element

DOCUMENT_ENTRY, SUBMISSION_SET, FOLDER, ASSOCIATION = (
    "DocumentEntry", "SubmissionSet", "Folder", "Association")


@dataclass(frozen=True)
class Requirement:
    """One piece of metadata an object must carry."""

    where: str  # slot | classification | identifier | attribute | name
    key: str    # slot name, scheme UUID or attribute name
    label: str  # the metadata attribute's name in TF-3

    def present(self, element: etree._Element) -> bool:
        if self.where == "slot":
            return has_slot(element, self.key) and any(slot_values(element, self.key))
        if self.where == "classification":
            return bool(classifications(element, self.key))
        if self.where == "identifier":
            return external_id(element, self.key) is not None
        if self.where == "name":
            return element.find(rim("Name")) is not None
        return bool((element.get(self.key) or "").strip())


def _codes(table: Mapping[str, str], *names: str) -> tuple[Requirement, ...]:
    return tuple(Requirement("classification", table[n], n) for n in names)


#: Required for every submission (ITI-41 and ITI-42).
REQUIRED: dict[str, tuple[Requirement, ...]] = {
    DOCUMENT_ENTRY: (
        Requirement("slot", "creationTime", "creationTime"),
        Requirement("slot", "languageCode", "languageCode"),
        Requirement("slot", "sourcePatientId", "sourcePatientId"),
        *_codes(DOCUMENT_ENTRY_CODES, "classCode", "confidentialityCode", "formatCode",
                "healthcareFacilityTypeCode", "practiceSettingCode", "typeCode"),
        Requirement("identifier", DOCUMENT_ENTRY_PATIENT_ID, "patientId"),
        Requirement("identifier", DOCUMENT_ENTRY_UNIQUE_ID, "uniqueId"),
        Requirement("attribute", "mimeType", "mimeType"),
    ),
    SUBMISSION_SET: (
        Requirement("slot", "submissionTime", "submissionTime"),
        *_codes(SUBMISSION_SET_CODES, "contentTypeCode"),
        Requirement("identifier", SUBMISSION_SET_PATIENT_ID, "patientId"),
        Requirement("identifier", SUBMISSION_SET_SOURCE_ID, "sourceId"),
        Requirement("identifier", SUBMISSION_SET_UNIQUE_ID, "uniqueId"),
    ),
    FOLDER: (
        *_codes(FOLDER_CODES, "codeList"),
        Requirement("identifier", FOLDER_PATIENT_ID, "patientId"),
        Requirement("identifier", FOLDER_UNIQUE_ID, "uniqueId"),
        Requirement("name", "Name", "title"),
    ),
}

#: Additionally required in Register Document Set-b (ITI-42): the repository's contribution.
REQUIRED_FROM_REPOSITORY: tuple[Requirement, ...] = (
    Requirement("slot", "hash", "hash"),
    Requirement("slot", "size", "size"),
    Requirement("slot", "repositoryUniqueId", "repositoryUniqueId"),
)

UNIQUE_ID_SCHEME = {DOCUMENT_ENTRY: DOCUMENT_ENTRY_UNIQUE_ID,
                    SUBMISSION_SET: SUBMISSION_SET_UNIQUE_ID, FOLDER: FOLDER_UNIQUE_ID}
PATIENT_ID_SCHEME = {DOCUMENT_ENTRY: DOCUMENT_ENTRY_PATIENT_ID,
                     SUBMISSION_SET: SUBMISSION_SET_PATIENT_ID, FOLDER: FOLDER_PATIENT_ID}


@dataclass
class SubmittedObject:
    """A top-level object of the submission (its element is a private copy we may change)."""

    kind: str
    element: etree._Element

    @property
    def id(self) -> str:
        return self.element.get("id", "")

    @property
    def unique_id(self) -> str | None:
        scheme = UNIQUE_ID_SCHEME.get(self.kind)
        return external_id(self.element, scheme) if scheme else None

    @property
    def patient_id(self) -> str | None:
        scheme = PATIENT_ID_SCHEME.get(self.kind)
        return external_id(self.element, scheme) if scheme else None


@dataclass
class Submission:
    objects: list[SubmittedObject] = field(default_factory=list)
    #: top-level Classifications that only mark a RegistryPackage as SubmissionSet / Folder
    node_classifications: list[etree._Element] = field(default_factory=list)

    def of_kind(self, kind: str) -> list[SubmittedObject]:
        return [o for o in self.objects if o.kind == kind]

    def by_id(self) -> dict[str, SubmittedObject]:
        return {o.id: o for o in self.objects}


def read_submission(request: etree._Element) -> Submission:
    """Sort the RegistryObjectList of a SubmitObjectsRequest into typed objects."""
    listing = request.find(rim("RegistryObjectList"))
    children = [c for c in listing if is_element(c)] if listing is not None else []
    nodes: dict[str, str] = {}
    submission = Submission()
    for child in children:
        if child.tag == rim("Classification") and child.get("classificationNode") in (
                SUBMISSION_SET_NODE, FOLDER_NODE):
            nodes[child.get("classifiedObject", "")] = child.get("classificationNode", "")
            submission.node_classifications.append(child)
    for child in children:
        local = etree.QName(child).localname
        if local == "ExtrinsicObject":
            submission.objects.append(SubmittedObject(DOCUMENT_ENTRY, child))
        elif local == "RegistryPackage":
            node = nodes.get(child.get("id", "")) or next(
                (c.get("classificationNode") for c in child.findall(rim("Classification"))
                 if c.get("classificationNode") in (SUBMISSION_SET_NODE, FOLDER_NODE)), None)
            kind = SUBMISSION_SET if node == SUBMISSION_SET_NODE else (
                FOLDER if node == FOLDER_NODE else "RegistryPackage")
            submission.objects.append(SubmittedObject(kind, child))
        elif local == "Association":
            submission.objects.append(SubmittedObject(ASSOCIATION, child))
    return submission


def missing_metadata(obj: SubmittedObject, *, from_repository: bool) -> list[str]:
    """Labels of required metadata ``obj`` lacks."""
    required = REQUIRED.get(obj.kind, ())
    if obj.kind == DOCUMENT_ENTRY and from_repository:
        required = (*required, *REQUIRED_FROM_REPOSITORY)
    return [r.label for r in required if not r.present(obj.element)]


def facets_of(obj: SubmittedObject) -> dict[str, list[str]]:
    """The values stored queries filter on, per object kind."""
    element = obj.element
    if obj.kind == DOCUMENT_ENTRY:
        facets = {name: coded_values(element, scheme)
                  for name, scheme in DOCUMENT_ENTRY_CODES.items()}
        for slot in ("creationTime", "serviceStartTime", "serviceStopTime"):
            facets[slot] = slot_values(element, slot)
        facets["authorPerson"] = author_people(element, DOCUMENT_ENTRY_AUTHOR)
        facets["objectType"] = [element.get("objectType", "")]
        return facets
    if obj.kind == SUBMISSION_SET:
        facets = {name: coded_values(element, scheme)
                  for name, scheme in SUBMISSION_SET_CODES.items()}
        facets["submissionTime"] = slot_values(element, "submissionTime")
        facets["authorPerson"] = author_people(element, SUBMISSION_SET_AUTHOR)
        facets["sourceId"] = [external_id(element, SUBMISSION_SET_SOURCE_ID) or ""]
        return facets
    if obj.kind == FOLDER:
        return {name: coded_values(element, scheme) for name, scheme in FOLDER_CODES.items()}
    return {}
