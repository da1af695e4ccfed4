"""The simulator's FHIR actors over HTTP: MHD (ITI-65/66/67/68), PDQm (ITI-78/119), PIXm
(ITI-83/104), JSON and XML, and the store they share with the SOAP actors (ITI-65 -> ITI-18 +
ITI-43, ITI-41 -> ITI-67 + ITI-68, ITI-44 -> ITI-78, ITI-104 -> ITI-47 + ITI-45)."""

from __future__ import annotations

import base64
import gzip
import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from ihe_test_util.ihe.builders import (
    DocumentEntrySpec,
    DocumentRequest,
    PatientDemographics,
    PatientId,
    PersonName,
    StoredQuery,
    iti18_stored_query,
    iti41_provide_and_register,
    iti43_retrieve,
    iti44_add,
    iti45_query,
    iti47_query,
)
from ihe_test_util.ihe.namespaces import HL7V3, RIM
from ihe_test_util.sim import Simulator

from .fhir_sim_support import FHIR_XML, FhirClient, patient, provide_bundle, soap

DOMAIN, OTHER = "1.3.6.1.4.1.21367.2005.3.7", "1.3.6.1.4.1.21367.2005.3.8"
UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator() as running:
        yield running


@pytest.fixture(scope="module")
def fhir(sim: Simulator) -> FhirClient:
    return FhirClient(sim.url_for("fhir"))


def feed(fhir: FhirClient, value: str, family: str, given: str = "Jane", **kw: Any) -> str:
    """ITI-104 conditional update; the new Patient's id."""
    answer = fhir.request("PUT", "Patient", patient(DOMAIN, value, family, given, **kw),
                          params={"identifier": f"urn:oid:{DOMAIN}|{value}"})
    assert answer.status == 201, answer.body
    return str(answer.resource["id"])


def provide(fhir: FhirClient, subject: str, **kw: Any) -> tuple[dict[str, Any], str]:
    bundle, unique_id = provide_bundle(subject, **kw)
    answer = fhir.request("POST", "", bundle)
    assert answer.status == 200, answer.body
    return answer.resource, unique_id


# -- PIXm / PDQm -------------------------------------------------------------------------------


def test_iti104_creates_then_revises_and_pdq_v3_and_pix_v3_see_it(
        sim: Simulator, fhir: FhirClient) -> None:
    body = patient(DOMAIN, "FEED-1", "Quimby", "Joe", others=((OTHER, "Q-1"),))
    created = fhir.request("PUT", "Patient", body,
                           params={"identifier": f"urn:oid:{DOMAIN}|FEED-1"})
    assert created.status == 201
    location = created.headers["Location"]
    assert location == f"{sim.url_for('fhir')}/Patient/{created.resource['id']}"
    assert fhir.request("GET", location).resource["name"][0]["family"] == "Quimby"
    body["name"][0]["family"] = "Quimbly"
    revised = fhir.request("PUT", "Patient", body,
                           params={"identifier": f"urn:oid:{DOMAIN}|FEED-1"})
    assert revised.status == 200 and revised.resource["id"] == created.resource["id"]
    # PDQ v3 (ITI-47) finds the revised demographics
    status, answer, _ = soap(sim.url_for("pdq"), iti47_query(PatientDemographics(
        name=PersonName("Quimbly"))))
    assert status == 200
    families = [e.text for e in answer.iter(f"{{{HL7V3}}}family")]
    assert "Quimbly" in families
    # PIX v3 (ITI-45) cross-references the other identifier
    status, answer, _ = soap(sim.url_for("pix"), iti45_query(PatientId("FEED-1", DOMAIN)))
    ids = [(e.get("root"), e.get("extension")) for e in answer.iter(f"{{{HL7V3}}}id")]
    assert (OTHER, "Q-1") in ids


def test_iti44_patient_is_found_by_iti78_search_and_read_in_json_and_xml(
        sim: Simulator, fhir: FhirClient) -> None:
    status, _, _ = soap(sim.url_for("pix"), iti44_add(PatientDemographics(
        ids=(PatientId("V3-1", DOMAIN), PatientId("V3-1b", OTHER)),
        name=PersonName("Vandelay", ("Art",)), gender="M", birth_date="19650412")))
    assert status == 200
    found = fhir.get("Patient", family="vandel", given="art")
    bundle = found.resource
    assert found.status == 200 and bundle["type"] == "searchset" and bundle["total"] == 1
    assert bundle["link"][0]["relation"] == "self"
    assert "family=vandel" in bundle["link"][0]["url"]
    match = found.entries[0]
    assert match["name"][0] == {"family": "Vandelay", "given": ["Art"]}
    assert match["gender"] == "male" and match["birthDate"] == "1965-04-12"
    assert {"system": f"urn:oid:{OTHER}", "value": "V3-1b"} in match["identifier"]
    assert bundle["entry"][0]["fullUrl"].endswith(f"/Patient/{match['id']}")
    # read, and the same answers in XML (_format and Accept)
    assert fhir.get(f"Patient/{match['id']}").resource == match
    as_xml = fhir.get(f"Patient/{match['id']}", _format="xml")
    assert as_xml.headers["Content-Type"].startswith(FHIR_XML)
    assert as_xml.body.startswith(b"<?xml") and b'<Patient xmlns="http://hl7.org/fhir">' in (
        as_xml.body)
    assert as_xml.resource == match
    xml_client = FhirClient(sim.url_for("fhir"), xml=True)
    searched = xml_client.get("Patient", identifier=f"urn:oid:{DOMAIN}|V3-1")
    assert searched.headers["Content-Type"].startswith(FHIR_XML)
    assert searched.resource["total"] == 1 and searched.entries[0] == match
    assert fhir.get("Patient", birthdate="1965-04-12", gender="male").resource["total"] == 1
    assert fhir.get("Patient", birthdate="ge1966-01-01", family="vandelay").resource[
        "total"] == 0


def test_iti104_in_xml_and_a_gzip_json_body(sim: Simulator) -> None:
    xml_client = FhirClient(sim.url_for("fhir"), xml=True)
    answer = xml_client.request("PUT", "Patient", patient(DOMAIN, "XML-1", "Xavier", "Xena"),
                                params={"identifier": f"urn:oid:{DOMAIN}|XML-1"})
    assert answer.status == 201 and answer.resource["name"][0]["given"] == ["Xena"]
    body = gzip.compress(json.dumps(patient(DOMAIN, "GZ-1", "Gzip", "Gus")).encode())
    response = requests.put(f"{sim.url_for('fhir')}/Patient", data=body, timeout=30,
                            params={"identifier": f"urn:oid:{DOMAIN}|GZ-1"}, headers={
                                "Content-Type": "application/fhir+json",
                                "Content-Encoding": "gzip"})
    assert response.status_code == 201


def test_iti83_ihe_pix_and_its_errors(fhir: FhirClient) -> None:
    feed(fhir, "PIX-1", "Pixley", others=((OTHER, "PIX-1b"),))
    answer = fhir.get("Patient/$ihe-pix", sourceIdentifier=f"urn:oid:{DOMAIN}|PIX-1")
    assert answer.status == 200 and answer.resource["resourceType"] == "Parameters"
    names = [p["name"] for p in answer.resource["parameter"]]
    assert names == ["targetIdentifier", "targetId"]
    assert answer.resource["parameter"][0]["valueIdentifier"] == {
        "system": f"urn:oid:{OTHER}", "value": "PIX-1b"}
    restricted = fhir.get("Patient/$ihe-pix", sourceIdentifier=f"urn:oid:{DOMAIN}|PIX-1",
                          targetSystem=f"urn:oid:{DOMAIN}")
    assert [p["name"] for p in restricted.resource["parameter"]] == ["targetId"]
    cases = [
        ({"sourceIdentifier": "urn:oid:9.9.9|X"}, 400, "code-invalid",
         "sourceIdentifier Assigning Authority not found"),
        ({"sourceIdentifier": f"urn:oid:{DOMAIN}|NOBODY"}, 404, "not-found",
         "sourceIdentifier Patient Identifier not found"),
        ({"sourceIdentifier": f"urn:oid:{DOMAIN}|PIX-1", "targetSystem": "urn:oid:9.9.9"}, 403,
         "code-invalid", "targetSystem not found"),
    ]
    for params, status, code, text in cases:
        error = fhir.get("Patient/$ihe-pix", **params)
        assert error.status == status, params
        assert error.resource["resourceType"] == "OperationOutcome"
        assert error.outcome()[0] == code and error.outcome()[2] == text


def test_iti104_by_id_and_delete_iti83_by_post_and_iti78_by_post_search(
        sim: Simulator, fhir: FhirClient) -> None:
    patient_id = feed(fhir, "ID-1", "Idson", "Ida")
    body = patient(DOMAIN, "ID-1", "Idsen", "Ida", others=((OTHER, "ID-1x"),))
    revised = fhir.request("PUT", f"Patient/{patient_id}", body)
    assert revised.status == 200 and revised.resource["name"][0]["family"] == "Idsen"
    assert fhir.request("PUT", "Patient/777777", body).status == 404
    posted = fhir.request("POST", "Patient/$ihe-pix", {"resourceType": "Parameters", "parameter": [
        {"name": "sourceIdentifier", "valueIdentifier": {"system": f"urn:oid:{DOMAIN}",
                                                          "value": "ID-1"}},
        {"name": "targetSystem", "valueUri": f"urn:oid:{OTHER}"}]})
    assert posted.status == 200
    assert posted.resource["parameter"][0]["valueIdentifier"]["value"] == "ID-1x"
    searched = requests.post(f"{sim.url_for('fhir')}/Patient/_search", data={"family": "idsen"},
                             timeout=30, headers={"Accept": "application/fhir+json"})
    assert searched.status_code == 200 and searched.json()["total"] == 1
    deleted = fhir.request("DELETE", "Patient", params={"identifier": f"urn:oid:{DOMAIN}|ID-1"})
    assert deleted.status == 200 and deleted.resource["resourceType"] == "OperationOutcome"
    assert fhir.get(f"Patient/{patient_id}").status == 404
    assert fhir.get("Patient", family="idsen").resource["total"] == 0


def test_iti104_merge_moves_identifiers_and_pix_v3_follows(sim: Simulator,
                                                          fhir: FhirClient) -> None:
    survivor = feed(fhir, "MRG-1", "Merger", "Mo")
    subsumed = feed(fhir, "MRG-2", "Merger", "Mo", others=((OTHER, "MRG-2x"),))
    merge = patient(DOMAIN, "MRG-2", "Merger", "Mo")
    merge["active"] = False
    merge["link"] = [{"other": {"reference": f"Patient/{survivor}"}, "type": "replaced-by"}]
    answer = fhir.request("PUT", "Patient", merge,
                          params={"identifier": f"urn:oid:{DOMAIN}|MRG-2"})
    assert answer.status == 200 and answer.resource["id"] == survivor
    assert {"system": f"urn:oid:{OTHER}", "value": "MRG-2x"} in answer.resource["identifier"]
    assert fhir.get(f"Patient/{subsumed}").status == 404
    status, reply, _ = soap(sim.url_for("pix"), iti45_query(PatientId("MRG-1", DOMAIN)))
    assert status == 200
    ids = {(e.get("root"), e.get("extension")) for e in reply.iter(f"{{{HL7V3}}}id")}
    assert {(DOMAIN, "MRG-2"), (OTHER, "MRG-2x")} <= ids
    unknown = dict(merge, link=[{"other": {"reference": "Patient/999999"}, "type": "replaced-by"}])
    assert fhir.request("PUT", "Patient", unknown,
                        params={"identifier": f"urn:oid:{DOMAIN}|MRG-2"}).status == 404


def test_iti119_match_scores_best_first(fhir: FhirClient) -> None:
    feed(fhir, "M-1", "Matcher", "Mary", birth="1990-01-01")
    feed(fhir, "M-2", "Matcher", "Mary", birth="1991-01-01")
    wanted = {"resourceType": "Patient", "name": [{"family": "Matcher", "given": ["Mary"]}],
              "gender": "female", "birthDate": "1990-01-01"}
    parameters = {"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": wanted}]}
    answer = fhir.request("POST", "Patient/$match", parameters)
    assert answer.status == 200
    entries = answer.resource["entry"]
    assert [e["search"]["score"] for e in entries] == sorted(
        (e["search"]["score"] for e in entries), reverse=True)
    best = entries[0]
    assert best["resource"]["birthDate"] == "1990-01-01"
    assert best["search"]["extension"][0]["valueCode"] == "probable"
    wanted["identifier"] = [{"system": f"urn:oid:{DOMAIN}", "value": "M-2"}]
    certain = fhir.request("POST", "Patient/$match", {"resourceType": "Parameters", "parameter": [
        {"name": "resource", "resource": wanted},
        {"name": "onlyCertainMatches", "valueBoolean": True}]})
    assert [e["resource"]["birthDate"] for e in certain.resource["entry"]] == ["1991-01-01"]
    bad = fhir.request("POST", "Patient/$match", {"resourceType": "Parameters"})
    assert bad.status == 400 and bad.outcome()[0] == "required"


def test_searchset_paging_and_sorting(fhir: FhirClient) -> None:
    for value, given in (("S-1", "Cid"), ("S-2", "Abe"), ("S-3", "Bob")):
        feed(fhir, value, "Sorter", given)
    page = fhir.get("Patient", family="sorter", _sort="given", _count="2")
    assert page.resource["total"] == 3
    assert [p["name"][0]["given"][0] for p in page.entries] == ["Abe", "Bob"]
    links = {link["relation"]: link["url"] for link in page.resource["link"]}
    assert "_offset=2" in links["next"]
    rest = fhir.request("GET", links["next"])
    assert [p["name"][0]["given"][0] for p in rest.entries] == ["Cid"]
    descending = fhir.get("Patient", family="sorter", _sort="-given")
    assert [p["name"][0]["given"][0] for p in descending.entries] == ["Cid", "Bob", "Abe"]
    assert fhir.get("Patient", family="sorter", _sort="shoe-size").status == 400
    assert fhir.get("Patient", family="sorter", _count="x").status == 400


# -- MHD ---------------------------------------------------------------------------------------


def test_iti65_document_is_found_by_iti18_and_retrieved_by_iti43(
        sim: Simulator, fhir: FhirClient) -> None:
    patient_id = feed(fhir, "DOC-1", "Documenta")
    content = b"a document given through MHD\n"
    response, unique_id = provide(fhir, f"Patient/{patient_id}", content=content)
    assert response["type"] == "transaction-response"
    locations = [e["response"]["location"] for e in response["entry"]]
    assert [loc.split("/")[0] for loc in locations] == ["List", "DocumentReference", "Binary"]
    assert all(e["response"]["status"] == "201 Created" for e in response["entry"])
    # ITI-18 FindDocuments sees it, ITI-43 returns the same bytes
    status, answer, _ = soap(sim.url_for("registry"), iti18_stored_query(StoredQuery(
        "FindDocuments", {"XDSDocumentEntryPatientId": f"DOC-1^^^&{DOMAIN}&ISO",
                          "XDSDocumentEntryStatus": ["urn:oasis:names:tc:ebxml-regrep:"
                                                     "StatusType:Approved"]})))
    assert status == 200
    unique_ids = [e.get("value") for e in answer.iter(f"{{{RIM}}}ExternalIdentifier")
                  if e.get("identificationScheme") == UNIQUE_ID]
    assert unique_ids == [unique_id]
    entry = next(answer.iter(f"{{{RIM}}}ExtrinsicObject"))
    assert entry.get("id") == f"urn:uuid:{locations[1].split('/')[1]}"
    status, answer, attachments = soap(sim.url_for("repository"), iti43_retrieve([
        DocumentRequest(unique_id, sim.identity.repository_unique_id)]))
    assert status == 200 and list(attachments.values()) == [content]
    # the MHD side sees it too: ITI-67, ITI-68, ITI-66
    found = fhir.get("DocumentReference", **{"patient.identifier": f"urn:oid:{DOMAIN}|DOC-1",
                                             "status": "current"})
    assert found.resource["total"] == 1
    reference = found.entries[0]
    assert reference["masterIdentifier"]["value"] == f"urn:oid:{unique_id}"
    assert reference["subject"] == {"reference": f"Patient/{patient_id}"}
    url = reference["content"][0]["attachment"]["url"]
    assert url == f"{sim.url_for('fhir')}/{locations[2]}"
    document = requests.get(url, timeout=30)
    assert document.content == content and document.headers["Content-Type"] == "text/plain"
    binary = fhir.get(locations[2])
    assert binary.resource["resourceType"] == "Binary"
    assert base64.b64decode(binary.resource["data"]) == content
    lists = fhir.get("List", patient=f"Patient/{patient_id}", code="submissionset")
    assert lists.resource["total"] == 1
    assert lists.entries[0]["entry"] == [{"item": {"reference": locations[1]}}]
    assert fhir.get(locations[1]).resource == reference


def test_iti41_document_is_found_by_iti67_and_retrieved_by_iti68(
        sim: Simulator, fhir: FhirClient) -> None:
    patient_id = feed(fhir, "SOAP-1", "Soapy")
    content = b"<note>given through XDS</note>"
    built = iti41_provide_and_register(PatientId("SOAP-1", DOMAIN), [
        DocumentEntrySpec(content=content, title="XDS note")])
    status, answer, _ = soap(sim.url_for("repository"), built)
    assert status == 200 and answer.get("status", "").endswith("Success")
    found = fhir.get("DocumentReference", patient=f"Patient/{patient_id}")
    assert found.resource["total"] == 1
    reference = found.entries[0]
    assert reference["status"] == "current"
    assert reference["content"][0]["attachment"]["title"] == "XDS note"
    assert reference["content"][0]["attachment"]["contentType"] == "text/xml"
    retrieved = requests.get(reference["content"][0]["attachment"]["url"], timeout=30)
    assert retrieved.content == content


def test_references_by_absolute_url_of_another_host_and_by_identifier(
        fhir: FhirClient) -> None:
    """A proxy in front of the server has another host: absolute references are read by their
    Patient/<id> tail; a logical reference (identifier) needs no id at all."""
    patient_id = feed(fhir, "ABS-1", "Absolute")
    for subject in (f"http://proxy.example:8080/fhir/Patient/{patient_id}",
                    f"urn:oid:{DOMAIN}|ABS-1"):
        bundle, _ = provide_bundle(subject)
        assert fhir.request("POST", "", bundle).status == 200, subject
    found = fhir.get("DocumentReference",
                     patient=f"http://proxy.example:8080/fhir/Patient/{patient_id}")
    assert found.resource["total"] == 2
    assert {r["subject"]["reference"] for r in found.entries} == {f"Patient/{patient_id}"}


def test_iti65_in_xml(sim: Simulator, fhir: FhirClient) -> None:
    patient_id = feed(fhir, "XDOC-1", "Xmlson")
    xml_client = FhirClient(sim.url_for("fhir"), xml=True)
    bundle, unique_id = provide_bundle(f"Patient/{patient_id}", b"sent as XML")
    answer = xml_client.request("POST", "", bundle)
    assert answer.status == 200, answer.body
    assert answer.headers["Content-Type"].startswith(FHIR_XML)
    assert [e["response"]["status"] for e in answer.resource["entry"]] == ["201 Created"] * 3
    found = xml_client.get("DocumentReference", patient=f"Patient/{patient_id}")
    reference = found.entries[0]
    assert reference["masterIdentifier"]["value"] == f"urn:oid:{unique_id}"
    assert reference["content"][0]["attachment"]["size"] == len(b"sent as XML")
    assert requests.get(reference["content"][0]["attachment"]["url"],
                        timeout=30).content == b"sent as XML"


def test_iti65_replacement_supersedes_and_status_filters(fhir: FhirClient) -> None:
    patient_id = feed(fhir, "RPL-1", "Replacer")
    first, _ = provide(fhir, f"Patient/{patient_id}")
    old = first["entry"][1]["response"]["location"].split("/")[1]
    provide(fhir, f"Patient/{patient_id}", content=b"version 2", replaces=old)
    query = {"patient": f"Patient/{patient_id}"}
    current = fhir.get("DocumentReference", status="current", **query)
    assert current.resource["total"] == 1
    assert current.entries[0]["relatesTo"][0]["target"]["reference"] == f"DocumentReference/{old}"
    superseded = fhir.get("DocumentReference", status="superseded", **query)
    assert [r["id"] for r in superseded.entries] == [old]
    assert fhir.get("DocumentReference", **query).resource["total"] == 2
    newest_first = fhir.get("DocumentReference", _sort="-_lastUpdated", **query)
    assert newest_first.entries[1]["id"] == old


@pytest.mark.parametrize(("omit", "extra", "code"), [
    (("format",), {}, "XDSRegistryMetadataError"),
    ((), {"hash_of": b"other bytes"}, "XDSRepositoryMetadataError"),
    ((), {"subject": "Patient/999999"}, "XDSUnknownPatientId"),
], ids=["missing-formatCode", "hash-mismatch", "unknown-patient"])
def test_iti65_refusals_are_422_with_the_xds_error_code_and_store_nothing(
        fhir: FhirClient, omit: tuple[str, ...], extra: dict[str, Any], code: str) -> None:
    patient_id = feed(fhir, f"BAD-{code}", "Refused")
    subject = extra.pop("subject", f"Patient/{patient_id}")
    bundle, _ = provide_bundle(subject, omit=omit, **extra)
    answer = fhir.request("POST", "", bundle)
    assert answer.status == 422
    assert answer.resource["resourceType"] == "OperationOutcome"
    assert code in [i.get("details", {}).get("text") for i in answer.resource["issue"]]
    assert all(i["code"] == "processing" for i in answer.resource["issue"])
    stored = fhir.get("DocumentReference", patient=f"Patient/{patient_id}")
    assert stored.resource["total"] == 0


def test_iti65_with_a_binary_nobody_points_to_is_refused_and_rolled_back(
        fhir: FhirClient) -> None:
    patient_id = feed(fhir, "ORPHAN-1", "Orphaned")
    bundle, unique_id = provide_bundle(f"Patient/{patient_id}")
    bundle["entry"].append({"fullUrl": "urn:uuid:0b5a6d1e-0000-4000-8000-00000000beef",
                            "resource": {"resourceType": "Binary", "contentType": "text/plain",
                                         "data": "b3JwaGFu"},
                            "request": {"method": "POST", "url": "Binary"}})
    answer = fhir.request("POST", "", bundle)
    assert answer.status == 422
    assert [i["details"]["text"] for i in answer.resource["issue"]] == [
        "XDSMissingDocumentMetadata"]
    assert "Bundle.entry[3]" in answer.resource["issue"][0]["diagnostics"]
    # the registry had accepted the rest: the whole request was rolled back
    assert fhir.get("DocumentReference", patient=f"Patient/{patient_id}").resource["total"] == 0
    assert fhir.get("DocumentReference", identifier=f"urn:oid:{unique_id}",
                    patient=f"Patient/{patient_id}").resource["total"] == 0


def test_bad_requests_are_operation_outcomes(sim: Simulator, fhir: FhirClient) -> None:
    base = sim.url_for("fhir")
    not_a_transaction = fhir.request("POST", "", {"resourceType": "Bundle", "type": "batch"})
    assert not_a_transaction.status == 400
    checks = [
        (requests.get(f"{base}/Observation", timeout=10), 404),
        (requests.get(f"{base}/Patient/424242", timeout=10), 404),
        (requests.get(f"{base}/DocumentReference/not-a-uuid", timeout=10), 404),
        (requests.delete(f"{base}/DocumentReference", timeout=10), 405),
        (requests.get(f"{base}/Patient", params={"_format": "yaml"}, timeout=10), 406),
        (requests.get(f"{base}/Patient", headers={"Accept": "text/html"}, timeout=10), 406),
        (requests.put(f"{base}/Patient", data=b"{", timeout=10, params={
            "identifier": f"urn:oid:{DOMAIN}|X"},
            headers={"Content-Type": "application/fhir+json"}), 400),
        (requests.put(f"{base}/Patient", data=b"x", timeout=10, params={
            "identifier": f"urn:oid:{DOMAIN}|X"}, headers={"Content-Type": "text/plain"}), 415),
        (requests.get(f"{base}/DocumentReference", params={"status": "current"}, timeout=10),
         400),
    ]
    for response, status in checks:
        assert response.status_code == status, (response.request.url, response.text)
        assert response.headers["Content-Type"].startswith("application/fhir+json")
        assert response.json()["resourceType"] == "OperationOutcome"
    # a Patient without a urn:oid identifier is refused, nothing stored
    nameless = {"resourceType": "Patient", "identifier": [{"system": "http://x", "value": "1"}]}
    refused = fhir.request("POST", "Patient", nameless)
    assert refused.status == 400 and refused.outcome()[0] == "code-invalid"


def test_oversized_and_malformed_xml_bodies_are_operation_outcomes() -> None:
    with Simulator(max_body_bytes=2_000) as small:
        base = small.url_for("fhir")
        big = json.dumps(patient(DOMAIN, "BIG-1", "B" * 5_000, "Bo")).encode()
        too_large = requests.put(f"{base}/Patient", data=big, timeout=30, params={
            "identifier": f"urn:oid:{DOMAIN}|BIG-1"},
            headers={"Content-Type": "application/fhir+json"})
        assert too_large.status_code == 413
        assert too_large.json()["issue"][0]["code"] == "too-long"
        broken = requests.put(f"{base}/Patient", data=b"<Patient xmlns='http://hl7.org/fhir'>",
                              timeout=30, params={"identifier": f"urn:oid:{DOMAIN}|X-1"},
                              headers={"Content-Type": FHIR_XML})
        assert broken.status_code == 400
        assert broken.headers["Content-Type"].startswith(FHIR_XML)  # answered as asked
        entity = (b"<!DOCTYPE p [<!ENTITY e 'x'>]><Patient xmlns='http://hl7.org/fhir'>"
                  b"<id value='&e;'/></Patient>")
        refused = requests.put(f"{base}/Patient", data=entity, timeout=30, params={
            "identifier": f"urn:oid:{DOMAIN}|X-1"}, headers={"Content-Type": FHIR_XML})
        assert refused.status_code == 400
        assert small.store.patients() == []
