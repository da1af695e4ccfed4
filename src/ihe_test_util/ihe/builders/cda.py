"""A CCD document filled per patient from the packaged template (``templates/ccd.xml``).

Placeholders (``${name}``) are replaced in parsed text and attribute values, never in raw
markup, so a name like ``O'Brien & <Sons>`` is escaped by the serialiser and cannot break or
inject into the document.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from functools import lru_cache
from importlib import resources
from string import Template

from lxml import etree

from ihe_test_util.errors import UsageError
from ihe_test_util.ihe.builders.patients import PatientDemographics
from ihe_test_util.ihe.builders.xds import DocumentEntrySpec
from ihe_test_util.ihe.identifiers import DEFAULT_IDS, IdGenerator
from ihe_test_util.safexml import parse_xml

TEMPLATE_NS = "urn:ihe-test-utility:template"
_OPTIONAL = f"{{{TEMPLATE_NS}}}optional"


@lru_cache(maxsize=4)
def _template(name: str) -> etree._Element:
    data = resources.files("ihe_test_util.ihe.builders").joinpath("templates").joinpath(name)
    return parse_xml(data.read_bytes(), source=f"template {name}")


def fill_template(template: etree._Element, values: Mapping[str, str]) -> etree._Element:
    """A filled copy of ``template``; optional elements left without data are dropped."""
    root = copy.deepcopy(template)
    carries: dict[etree._Element, bool] = {}
    for element in root.iter("*"):  # elements only, no comments
        data = False
        if element.text and "$" in element.text:
            element.text = _substitute(element.text, values)
            data = data or bool(element.text.strip())
        for key, raw in element.attrib.items():
            if "$" in str(raw):
                element.set(key, _substitute(str(raw), values))
                data = data or bool(element.get(key, "").strip())
        carries[element] = data
    for element in reversed(list(root.iter("*"))):  # children before parents
        has_data = carries.get(element, False) or any(
            carries.get(child, False) for child in element.iterchildren("*"))
        carries[element] = has_data
        if element.get(_OPTIONAL) == "true" and not has_data:
            parent = element.getparent()
            if parent is not None:
                parent.remove(element)
            continue
        if _OPTIONAL in element.attrib:
            del element.attrib[_OPTIONAL]
    etree.cleanup_namespaces(root)
    return root


def _substitute(text: str, values: Mapping[str, str]) -> str:
    try:
        return Template(text).substitute(values)
    except KeyError as exc:
        raise UsageError(f"template placeholder ${{{exc.args[0]}}} has no value") from None
    except ValueError as exc:
        raise UsageError(f"bad placeholder in template text {text!r}: {exc}") from None


def ccd_document(
    patient: PatientDemographics,
    *,
    document_id: str | None = None,
    title: str = "Continuity of Care Document",
    problems: str = "No known problems.",
    allergies: str = "No known allergies.",
    medications: str = "No current medications.",
    author_root: str = "1.3.6.1.4.1.21367.13.20.1003",
    custodian_root: str = "1.3.6.1.4.1.21367.13.20.1001",
    custodian_name: str = "IHE Test Utility",
    ids: IdGenerator = DEFAULT_IDS,
) -> bytes:
    """CCD bytes for ``patient`` (needs an id and a family name).

    ``document_id`` (an OID, fresh by default) is the CDA ``ClinicalDocument/id``; pass the
    same value as the DocumentEntry uniqueId to keep both in step.
    """
    primary = patient.primary_id
    if patient.name is None:
        raise UsageError("a CCD needs the patient's name", hint="add family (and given) names")
    address = patient.address
    values = {
        "document_id": document_id or ids.oid(),
        "title": title,
        "effective_time": ids.timestamp(),
        "patient_root": primary.root,
        "patient_extension": primary.extension,
        "given": " ".join(patient.name.given),
        "family": patient.name.family,
        "gender": patient.gender or "",
        "birth_date": patient.birth_date or "",
        "street": (address.street if address else None) or "",
        "city": (address.city if address else None) or "",
        "state": (address.state if address else None) or "",
        "postal_code": (address.postal_code if address else None) or "",
        "country": (address.country if address else None) or "",
        "author_root": author_root,
        "custodian_root": custodian_root,
        "custodian_name": custodian_name,
        "problems": problems,
        "allergies": allergies,
        "medications": medications,
    }
    document = fill_template(_template("ccd.xml"), values)
    return etree.tostring(document, xml_declaration=True, encoding="UTF-8")


def ccd_entry(patient: PatientDemographics, *, ids: IdGenerator = DEFAULT_IDS,
              **document: str) -> DocumentEntrySpec:
    """A DocumentEntrySpec holding a fresh CCD for ``patient``; uniqueId = CDA document id."""
    unique_id = ids.oid()
    content = ccd_document(patient, document_id=unique_id, ids=ids, **document)
    return DocumentEntrySpec(content=content, mime_type="text/xml",
                             title=document.get("title", "Continuity of Care Document"),
                             unique_id=unique_id)
