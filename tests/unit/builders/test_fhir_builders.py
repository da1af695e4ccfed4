"""FHIR builders (MHD, PDQm, PIXm): method, path, query and body of each transaction, fresh ids
per build, and requests the catalogue recognises as the transaction they were built for."""

from __future__ import annotations

import base64
import hashlib
from pathlib import Path

import pytest

from ihe_test_util.ihe.builders import DocumentEntrySpec, PatientDemographics, PatientId, PersonName
from ihe_test_util.ihe.builders.fhir import (
    FhirRequest,
    http_request,
    iti65_provide_bundle,
    iti66_search,
    iti67_search,
    iti68_retrieve,
    iti78_read,
    iti78_search,
    iti83_query,
    iti104_feed,
    iti119_match,
)
from ihe_test_util.ihe.builders.xds import Code, SubmissionSetSpec
from ihe_test_util.ihe.catalogue import detect_exchange
from ihe_test_util.model import Response

BASE = "http://127.0.0.1:9/fhir"
PID = PatientId("MHD-1", "1.3.6.1.4.1.21367.13.20.1000")
OTHER = PatientId("OTH-1", "1.3.6.1.4.1.21367.13.20.2000")
ADA = PatientDemographics(ids=(PID, OTHER), name=PersonName("Fhirling", ("Ada",)), gender="F",
                          birth_date="19800412")


def detected(built: FhirRequest) -> str | None:
    request = built.to_request(BASE)
    return detect_exchange(request, Response(200)).id


def test_iti104_is_a_conditional_update_by_the_primary_identifier() -> None:
    built = iti104_feed(ADA)
    request = built.to_request(BASE + "/")
    assert (request.method, request.uri) == (
        "PUT", f"{BASE}/Patient?identifier=urn:oid:1.3.6.1.4.1.21367.13.20.1000|MHD-1")
    assert request.headers.get("Content-Type") == "application/fhir+json"
    assert request.headers.get("Accept") == "application/fhir+json"
    patient = built.json()
    assert patient == {
        "resourceType": "Patient",
        "identifier": [{"system": "urn:oid:1.3.6.1.4.1.21367.13.20.1000", "value": "MHD-1"},
                       {"system": "urn:oid:1.3.6.1.4.1.21367.13.20.2000", "value": "OTH-1"}],
        "active": True, "name": [{"family": "Fhirling", "given": ["Ada"]}],
        "gender": "female", "birthDate": "1980-04-12"}
    assert built.values == {"patientIdentifier": "urn:oid:1.3.6.1.4.1.21367.13.20.1000|MHD-1"}
    assert detected(built) == "ITI-104"
    delete = iti104_feed(ADA, delete=True).to_request(BASE)
    assert delete.method == "DELETE" and delete.body == b"" and "identifier=" in delete.uri
    assert "Content-Type" not in delete.headers


def test_pdqm_search_read_and_match() -> None:
    search = iti78_search({"family": "Fhir ling", "given": ("Ada", "Eve")})
    assert search.to_request(BASE).uri == f"{BASE}/Patient?family=Fhir%20ling&given=Ada&given=Eve"
    assert detected(search) == "ITI-78"
    for given in ("abc-1", "Patient/abc-1"):
        assert iti78_read(given).to_request(BASE).uri == f"{BASE}/Patient/abc-1"
    assert detected(iti78_read("abc-1")) == "ITI-78"
    match = iti119_match(PatientDemographics(name=PersonName("Fhirling")), count=3,
                         only_certain_matches=False)
    request = match.to_request(BASE)
    assert (request.method, request.uri) == ("POST", f"{BASE}/Patient/$match")
    parameters = match.json()["parameter"]
    assert [p["name"] for p in parameters] == ["resource", "onlyCertainMatches", "count"]
    assert parameters[0]["resource"]["name"] == [{"family": "Fhirling"}]
    assert parameters[2] == {"name": "count", "valueInteger": 3}
    assert detected(match) == "ITI-119"


def test_pixm_query_writes_tokens_with_fhir_systems() -> None:
    built = iti83_query(PID, ["1.3.6.1.4.1.21367.13.20.2000", "http://example.org/mrn"])
    assert built.to_request(BASE).uri == (
        f"{BASE}/Patient/$ihe-pix?sourceIdentifier=urn:oid:1.3.6.1.4.1.21367.13.20.1000|MHD-1"
        "&targetSystem=urn:oid:1.3.6.1.4.1.21367.13.20.2000"
        "&targetSystem=http://example.org/mrn")
    assert detected(built) == "ITI-83"
    assert iti83_query("http://x.org/ids|7").values == {"sourceIdentifier": "http://x.org/ids|7"}


def test_mhd_searches_and_retrieve() -> None:
    assert iti67_search({"patient": "Patient/1", "status": "current"}).to_request(BASE).uri == \
        f"{BASE}/DocumentReference?patient=Patient/1&status=current"
    assert detected(iti67_search({"patient": "Patient/1"})) == "ITI-67"
    lists = iti66_search({"patient": "Patient/1"}).to_request(BASE).uri
    assert lists == (f"{BASE}/List?patient=Patient/1&code=https://profiles.ihe.net/ITI/MHD/"
                     "CodeSystem/MHDlistTypes|submissionset")
    assert detected(iti66_search({"patient": "Patient/1"})) == "ITI-66"
    for given in ("b-1", "Binary/b-1"):
        request = iti68_retrieve(given).to_request(BASE)
        assert request.uri == f"{BASE}/Binary/b-1" and request.headers.get("Accept") == "*/*"
    absolute = iti68_retrieve("http://other:1/fhir/Binary/b-2", accept="text/plain")
    request = absolute.to_request(BASE)
    assert request.uri == "http://other:1/fhir/Binary/b-2"
    assert request.headers.get("Accept") == "text/plain"
    assert detected(iti68_retrieve("b-1")) == "ITI-68"


def test_iti65_bundle_holds_list_document_reference_and_binary(tmp_path: Path) -> None:
    note = tmp_path / "note.txt"
    note.write_bytes(b"hay fever\n")
    documents = [DocumentEntrySpec(path=note, mime_type="text/plain", title="Note"),
                 DocumentEntrySpec(content=b"<x/>", unique_id="1.2.3.4.5",
                                   codes={"typeCode": Code("11488-4", "2.16.840.1.113883.6.1",
                                                           "Consult note")})]
    built = iti65_provide_bundle("Patient/p-1", documents,
                                 submission=SubmissionSetSpec(title="S", unique_id="1.2.3.9"))
    request = built.to_request(BASE)
    assert (request.method, request.uri) == ("POST", BASE)
    assert detected(built) == "ITI-65"
    bundle = built.json()
    assert bundle["type"] == "transaction"
    kinds = [e["resource"]["resourceType"] for e in bundle["entry"]]
    assert kinds == ["List", "DocumentReference", "Binary", "DocumentReference", "Binary"]
    assert all(e["fullUrl"].startswith("urn:uuid:") for e in bundle["entry"])
    assert [e["request"] for e in bundle["entry"]][:3] == [
        {"method": "POST", "url": "List"}, {"method": "POST", "url": "DocumentReference"},
        {"method": "POST", "url": "Binary"}]
    submission, first, binary, second, _ = (e["resource"] for e in bundle["entry"])
    urls = [e["fullUrl"] for e in bundle["entry"]]
    assert [item["item"]["reference"] for item in submission["entry"]] == [urls[1], urls[3]]
    assert submission["code"]["coding"][0]["code"] == "submissionset"
    assert submission["identifier"][0]["value"] == "urn:oid:1.2.3.9"
    assert [e["url"].rsplit("/", 1)[1] for e in submission["extension"]] == [
        "ihe-sourceId", "ihe-designationType"]
    assert submission["extension"][1]["valueCodeableConcept"]["coding"][0]["code"] == "34133-9"
    assert submission["subject"] == {"reference": "Patient/p-1"} == first["subject"]
    attachment = first["content"][0]["attachment"]
    assert attachment["url"] == urls[2] and attachment["contentType"] == "text/plain"
    assert attachment["size"] == 10 and attachment["language"] == "en-US"
    assert attachment["hash"] == base64.b64encode(hashlib.sha1(b"hay fever\n").digest()).decode()
    assert base64.b64decode(binary["data"]) == b"hay fever\n"
    assert first["type"]["coding"][0]["system"] == "urn:oid:2.16.840.1.113883.6.1"
    assert second["masterIdentifier"]["value"] == "urn:oid:1.2.3.4.5"
    assert second["type"]["coding"][0]["code"] == "11488-4"
    assert built.values["submissionSetUniqueId"] == "1.2.3.9"
    assert built.values["documentUniqueId:Document02"] == "1.2.3.4.5"
    assert built.values["documentUniqueId"] == built.values["documentUniqueId:Document01"]


def test_iti65_fresh_ids_per_build_and_an_identifier_subject() -> None:
    documents = [DocumentEntrySpec(content=b"a", mime_type="text/plain")]
    one, two = (iti65_provide_bundle(PID, documents) for _ in range(2))
    assert one.values["documentUniqueId"] != two.values["documentUniqueId"]
    assert one.values["submissionSetUniqueId"] != two.values["submissionSetUniqueId"]
    assert not {e["fullUrl"] for e in one.json()["entry"]} & \
        {e["fullUrl"] for e in two.json()["entry"]}
    assert one.json()["entry"][0]["resource"]["subject"] == {"identifier": {
        "system": "urn:oid:1.3.6.1.4.1.21367.13.20.1000", "value": "MHD-1"}}
    with pytest.raises(ValueError):
        iti65_provide_bundle(PID, [])


def test_http_request_any_method_query_and_headers() -> None:
    built = http_request("patch", "Patient/1", query=[("_format", "json")],
                         headers=[("Accept", "application/fhir+xml"), ("X-A", "1")],
                         body=b"[]", content_type="application/json-patch+json")
    request = built.to_request(BASE)
    assert (request.method, request.uri) == ("PATCH", f"{BASE}/Patient/1?_format=json")
    assert request.headers.get_all("Accept") == ["application/fhir+xml"]
    assert request.headers.get("Content-Type") == "application/json-patch+json"
    assert request.headers.get("X-A") == "1"
    assert http_request("GET").to_request(BASE + "/").uri == BASE
