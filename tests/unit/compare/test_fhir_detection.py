"""FHIR transactions are recognised by method + path + resource type (issue 13, bullet 5)."""

from __future__ import annotations

import json

import pytest

from ihe_test_util.ihe.catalogue import detect_transaction, fhir_request_path, transaction_id
from ihe_test_util.model import Headers, Request, Response

FHIR_JSON = Headers([("Content-Type", "application/fhir+json")])
BASE = "http://fhir.example:8080/fhir/R4"


def _body(resource: dict[str, object]) -> bytes:
    return json.dumps(resource).encode()


PATIENT = _body({"resourceType": "Patient", "name": [{"family": "Doe"}]})
TRANSACTION = _body({"resourceType": "Bundle", "type": "transaction", "entry": []})
BATCH = _body({"resourceType": "Bundle", "type": "batch", "entry": []})
PARAMETERS = _body({"resourceType": "Parameters", "parameter": []})
SEARCHSET = _body({"resourceType": "Bundle", "type": "searchset", "total": 0})


@pytest.mark.parametrize(("method", "url", "body", "expected"), [
    ("POST", f"{BASE}", TRANSACTION, "ITI-65"),
    ("POST", f"{BASE}/", TRANSACTION, "ITI-65"),
    ("POST", f"{BASE}", BATCH, None),  # a batch is not an MHD provide
    ("GET", f"{BASE}/List?patient=Patient/abc&code=submissionset", b"", "ITI-66"),
    ("GET", f"{BASE}/List/abc-1", b"", "ITI-66"),
    ("POST", f"{BASE}/DocumentManifest/_search", b"patient=x", "ITI-66"),
    ("GET", f"{BASE}/DocumentReference?patient.identifier=urn:oid:1.2|7", b"", "ITI-67"),
    ("POST", f"{BASE}/DocumentReference/_search", b"patient=Patient/1", "ITI-67"),
    ("GET", f"{BASE}/DocumentReference/dr-1", b"", "ITI-67"),
    ("GET", f"{BASE}/Binary/bin-1", b"", "ITI-68"),
    ("GET", f"{BASE}/Patient?family=Doe", b"", "ITI-78"),
    ("GET", f"{BASE}/Patient/abc", b"", "ITI-78"),
    ("GET", f"{BASE}/Patient/abc/_history/2", b"", "ITI-78"),
    ("POST", f"{BASE}/Patient/_search", b"family=Doe", "ITI-78"),
    ("GET", f"{BASE}/Patient/$ihe-pix?sourceIdentifier=urn:oid:1.2|7", b"", "ITI-83"),
    ("POST", f"{BASE}/Patient/$ihe-pix", PARAMETERS, "ITI-83"),
    ("POST", f"{BASE}/Patient/$match", PARAMETERS, "ITI-119"),
    ("PUT", f"{BASE}/Patient?identifier=urn:oid:1.2|7", PATIENT, "ITI-104"),
    ("PUT", f"{BASE}/Patient/abc", PATIENT, "ITI-104"),
    ("DELETE", f"{BASE}/Patient?identifier=urn:oid:1.2|7", b"", "ITI-104"),
    # a create is neither a query nor (without a conditional URL) a PIXm feed
    ("POST", f"{BASE}/Patient", PATIENT, None),
    ("DELETE", f"{BASE}/Patient/abc", b"", None),
    ("GET", f"{BASE}/Binary?x=1", b"", None),
    ("GET", f"{BASE}/Observation?subject=Patient/1", b"", None),
])
def test_method_path_and_resource_type_decide(method: str, url: str, body: bytes,
                                              expected: str | None) -> None:
    request = Request(method, url, headers=FHIR_JSON if body.startswith(b"{") else Headers(),
                      body=body)
    response = Response(200, headers=FHIR_JSON, body=SEARCHSET)
    assert detect_transaction(request=request, response=response) == expected


def test_the_base_path_ends_at_the_first_catalogued_resource_type() -> None:
    where = fhir_request_path("/FHIR/baseR4/Patient/Abc/$ihe-pix")
    assert (where.base, where.resource, where.shape, where.id) == (
        "/FHIR/baseR4", "Patient", "$ihe-pix", "Abc")
    assert fhir_request_path("/fhir").shape == "base"


def test_a_soap_request_to_a_fhir_looking_path_is_not_fhir() -> None:
    soap = Request("POST", "http://x/Patient", headers=Headers([
        ("Content-Type", "application/soap+xml")]),
        body=b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
             b'<x xmlns="urn:x"/></s:Body></s:Envelope>')
    assert detect_transaction(request=soap, response=Response(200)) is None


def test_binary_read_answered_with_the_document_is_iti_68() -> None:
    request = Request("GET", f"{BASE}/Binary/b1", headers=Headers([("Accept", "text/plain")]))
    response = Response(200, headers=Headers([("Content-Type", "text/plain")]), body=b"hello")
    assert detect_transaction(request=request, response=response) == "ITI-68"


@pytest.mark.parametrize("name", ["ITI-65", "iti65", "ITI 66", "iti-67", "ITI-68", "ITI-78",
                                  "ITI-83", "ITI-104", "iti119"])
def test_every_fhir_transaction_is_a_known_name(name: str) -> None:
    assert transaction_id(name) is not None
