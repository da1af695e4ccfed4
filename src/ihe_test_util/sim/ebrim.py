"""ebXML RegRep 3.0 as XDS.b uses it: error reporting, slots, coded facets and element order.

The URNs and UUIDs themselves live in :mod:`ihe_test_util.ihe.vocabulary`.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from lxml import etree

from ihe_test_util.ihe.namespaces import RIM, RS, qname
from ihe_test_util.ihe.vocabulary import (
    DOCUMENT_ENTRY_EVENT_CODE_LIST,
    DOCUMENT_ENTRY_SCHEMES,
    FOLDER_CODE_LIST,
    SEVERITY_ERROR,
    STATUS_FAILURE,
    STATUS_SUCCESS,
    SUBMISSION_SET_CONTENT_TYPE,
)
from ihe_test_util.sim.xmlstyle import is_element

#: Classification schemes, by the metadata attribute they code (the facets stored queries read).
DOCUMENT_ENTRY_CODES = dict(sorted(
    {**DOCUMENT_ENTRY_SCHEMES, "eventCodeList": DOCUMENT_ENTRY_EVENT_CODE_LIST}.items()))
SUBMISSION_SET_CODES = {"contentTypeCode": SUBMISSION_SET_CONTENT_TYPE}
FOLDER_CODES = {"codeList": FOLDER_CODE_LIST}

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
    return STATUS_FAILURE if any(e.severity == SEVERITY_ERROR for e in errors) else STATUS_SUCCESS


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
