"""The FHIR wire-format mapping of ihe/jsonxml.py: FHIR JSON -> FHIR XML -> FHIR JSON is the
identity for the resources IHE's mobile profiles exchange, and the XML follows FHIR's rules."""

from __future__ import annotations

from typing import Any

import pytest
from lxml import etree

from ihe_test_util.ihe.jsonxml import fhir_json, fhir_xml

BUNDLE: dict[str, Any] = {
    "resourceType": "Bundle", "id": "b1", "type": "searchset", "total": 1,
    "link": [{"relation": "self", "url": "http://x/fhir/Patient?name=a&b=c"}],
    "entry": [{"fullUrl": "http://x/fhir/Patient/1", "resource": {
        "resourceType": "Patient", "id": "1",
        "meta": {"tag": [{"system": "s", "code": "c"}]},
        "extension": [{"url": "http://e", "valueBoolean": False}],
        "identifier": [{"system": "urn:oid:1.2", "value": "A"}],
        "active": True, "name": [{"id": "n1", "family": "Ö'Brien & <Co>", "given": ["Jo"]}],
        "gender": "female", "birthDate": "1980-01-02"},
        "search": {"mode": "match", "score": 0.9}}],
}
DOCUMENT_REFERENCE: dict[str, Any] = {
    "resourceType": "DocumentReference", "status": "current",
    "category": [{"coding": [{"system": "http://loinc.org", "code": "1"}]}],
    "content": [{"attachment": {"contentType": "text/plain", "size": 12, "hash": "AA=="},
                 "format": {"system": "urn:oid:1.3", "code": "f"}}],
    "context": {"event": [{"coding": [{"code": "e"}]}]},
}
PARAMETERS: dict[str, Any] = {"resourceType": "Parameters", "parameter": [
    {"name": "targetIdentifier", "valueIdentifier": {"system": "urn:oid:1", "value": "x"}},
    {"name": "count", "valueInteger": 3}]}


@pytest.mark.parametrize("resource", [BUNDLE, DOCUMENT_REFERENCE, PARAMETERS],
                         ids=["bundle", "document-reference", "parameters"])
def test_json_to_xml_and_back_is_the_identity(resource: dict[str, Any]) -> None:
    assert fhir_json(fhir_xml(resource)) == resource


def test_xml_follows_fhir_rules() -> None:
    element = fhir_xml(BUNDLE)
    text = etree.tostring(element, encoding="unicode")
    assert text.startswith('<Bundle xmlns="http://hl7.org/fhir"><id value="b1"/>')
    assert '<extension url="http://e"><valueBoolean value="false"/></extension>' in text
    assert '<name id="n1"><family value="Ö\'Brien &amp; &lt;Co&gt;"/>' in text
    assert "<resource><Patient><id value=\"1\"/>" in text  # nested resource, members in order
    assert '<total value="1"/>' in text and '<score value="0.9"/>' in text
