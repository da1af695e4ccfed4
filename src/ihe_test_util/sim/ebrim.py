"""ebXML RegRep 3.0 as XDS.b uses it: status URNs, error reporting, slots and element order.

Constants are from ITI TF-3 4.2.3 (metadata) and 4.2.4 (success and error reporting).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml import etree

from ihe_test_util.ihe.namespaces import RIM, RS, qname
from ihe_test_util.sim.xmlstyle import is_element

SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
PARTIAL_SUCCESS = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
SEVERITY_ERROR = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error"
SEVERITY_WARNING = "urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Warning"

APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"

HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
XFRM_RPLC = "urn:ihe:iti:2007:AssociationType:XFRM_RPLC"
#: Document relationships: the source is a new DocumentEntry, the target one in the registry.
RELATIONSHIPS = frozenset({
    RPLC, XFRM_RPLC, "urn:ihe:iti:2007:AssociationType:APND",
    "urn:ihe:iti:2007:AssociationType:XFRM", "urn:ihe:iti:2007:AssociationType:signs",
})
#: Relationships that deprecate their target.
REPLACING = frozenset({RPLC, XFRM_RPLC})

STABLE_DOCUMENT = "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1"
ON_DEMAND_DOCUMENT = "urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248"
SUBMISSION_SET_NODE = "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
FOLDER_NODE = "urn:uuid:d9d542f3-6cc4-48b6-8870-ea235fbc94c2"

#: ExternalIdentifier schemes.
DE_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
DE_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
SS_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
SS_SOURCE_ID = "urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"
SS_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"
FOLDER_UNIQUE_ID = "urn:uuid:75df8f67-9973-4fbe-a900-df66cefecc5a"
FOLDER_PATIENT_ID = "urn:uuid:f64ffdf0-4b97-4e06-b79f-a52b38ec2f8a"

#: Classification schemes, by the metadata attribute they code.
DE_CODES = {
    "classCode": "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a",
    "confidentialityCode": "urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f",
    "eventCodeList": "urn:uuid:2c6b8cb7-8b2a-4051-b291-b1ae6a575ef4",
    "formatCode": "urn:uuid:a09d5840-386c-46f2-b5ad-9c3699a4309d",
    "healthcareFacilityTypeCode": "urn:uuid:f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1",
    "practiceSettingCode": "urn:uuid:cccf5598-8b07-4b77-a05e-ae952c785ead",
    "typeCode": "urn:uuid:f0306f51-975f-434e-a61c-c59651d33983",
}
DE_AUTHOR = "urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d"
SS_CODES = {"contentTypeCode": "urn:uuid:aa543740-bdda-424e-8c96-df4873be8500"}
SS_AUTHOR = "urn:uuid:a7058bb9-b4e4-4307-ba5b-e3f0ab85e12d"
FOLDER_CODES = {"codeList": "urn:uuid:1ba97051-7806-41a8-a48b-8fce7af683c5"}

#: Child order inside a RegistryObject (ebRIM 3.0 schema sequence).
_CHILD_ORDER = ("Slot", "Name", "Description", "VersionInfo", "Classification",
                "ExternalIdentifier", "ContentVersionInfo")


def rim(local: str) -> str:
    return qname(RIM, local)


def rs(local: str) -> str:
    return qname(RS, local)


@dataclass(frozen=True)
class RegistryError:
    """One rs:RegistryError: the code is the verdict, the context is for humans."""

    code: str
    context: str
    location: str | None = None
    severity: str = SEVERITY_ERROR


def error_list(
    parent: etree._Element, errors: Sequence[RegistryError], *, reworded: bool = False,
) -> None:
    """Append rs:RegistryErrorList (nothing when there are no errors)."""
    if not errors:
        return
    listing = etree.SubElement(parent, rs("RegistryErrorList"))
    for error in errors:
        element = etree.SubElement(listing, rs("RegistryError"))
        element.set("codeContext", _reword(error) if reworded else error.context)
        element.set("errorCode", error.code)
        element.set("severity", error.severity)
        if error.location:
            element.set("location", error.location)


def _reword(error: RegistryError) -> str:
    return f"{error.code}: {error.context[:1].upper()}{error.context[1:]}."


def status_of(errors: Sequence[RegistryError]) -> str:
    return FAILURE if any(e.severity == SEVERITY_ERROR for e in errors) else SUCCESS


def registry_response(
    status: str, errors: Sequence[RegistryError], *, reworded: bool = False,
) -> etree._Element:
    response = etree.Element(rs("RegistryResponse"), status=status)
    error_list(response, errors, reworded=reworded)
    return response


def slot_values(element: etree._Element, name: str) -> list[str]:
    return [
        (value.text or "").strip()
        for slot in element.findall(rim("Slot")) if slot.get("name") == name
        for value in slot.iterfind(f"{rim('ValueList')}/{rim('Value')}")
    ]


def has_slot(element: etree._Element, name: str) -> bool:
    return any(slot.get("name") == name for slot in element.findall(rim("Slot")))


def make_slot(name: str, values: Iterable[str]) -> etree._Element:
    slot = etree.Element(rim("Slot"), name=name)
    listing = etree.SubElement(slot, rim("ValueList"))
    for value in values:
        etree.SubElement(listing, rim("Value")).text = value
    return slot


def remove_slot(element: etree._Element, name: str) -> None:
    for slot in element.findall(rim("Slot")):
        if slot.get("name") == name:
            element.remove(slot)


def insert_child(element: etree._Element, child: etree._Element) -> None:
    """Insert ``child`` where the ebRIM sequence puts it (after its own kind)."""
    rank = _CHILD_ORDER.index(etree.QName(child).localname)
    index = 0
    for position, existing in enumerate(element):
        if not is_element(existing):
            continue
        local = etree.QName(existing).localname
        if local in _CHILD_ORDER and _CHILD_ORDER.index(local) <= rank:
            index = position + 1
    element.insert(index, child)


def external_id(element: etree._Element, scheme: str) -> str | None:
    for identifier in element.findall(rim("ExternalIdentifier")):
        if identifier.get("identificationScheme") == scheme:
            return (identifier.get("value") or "").strip() or None
    return None


def classifications(element: etree._Element, scheme: str) -> list[etree._Element]:
    return [c for c in element.findall(rim("Classification"))
            if c.get("classificationScheme") == scheme]


def coded_values(element: etree._Element, scheme: str) -> list[str]:
    """``code^^codingScheme`` of each classification in ``scheme`` (the query spelling)."""
    found = []
    for item in classifications(element, scheme):
        code = (item.get("nodeRepresentation") or "").strip()
        coding = slot_values(item, "codingScheme")
        found.append(f"{code}^^{coding[0]}" if coding else code)
    return found


def author_people(element: etree._Element, scheme: str) -> list[str]:
    return [person for item in classifications(element, scheme)
            for person in slot_values(item, "authorPerson")]
