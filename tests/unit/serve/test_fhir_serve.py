"""serve for FHIR: content negotiation, URL rebasing, ITI-65 bodies keyed without the values a
Document Source makes up."""

from __future__ import annotations

import json

import pytest

from ihe_test_util.model import Headers, Request, Response
from ihe_test_util.serve.fixups import fix_response
from ihe_test_util.serve.negotiation import wanted_format
from ihe_test_util.serve.renames import Renames
from ihe_test_util.serve.shape import shape_of


@pytest.mark.parametrize(("accept", "query", "expected"), [
    (None, "", ""), ("*/*", "", ""), ("application/fhir+json", "", "json"),
    ("application/fhir+xml;q=0.9, application/fhir+json", "", "json"),
    ("application/fhir+json", "_format=xml", "xml"), (None, "_format=application/fhir+xml", "xml"),
    ("text/turtle", "", "text/turtle"), ("application/json, */*;q=0.1", "", "json"),
])
def test_wanted_format(accept: str | None, query: str, expected: str) -> None:
    headers = Headers([("Accept", accept)] if accept else [])
    assert wanted_format(headers, query) == expected


def _bundle(full_url: str, uid: str, date: str) -> bytes:
    return json.dumps({"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": full_url, "request": {"method": "POST", "url": "DocumentReference"},
         "resource": {"resourceType": "DocumentReference", "status": "current",
                      "masterIdentifier": {"value": uid},
                      "identifier": [{"value": full_url}]}},
        {"fullUrl": "urn:uuid:0b6f4f6e-2d1c-4c7e-9a51-3d2f0c1e5a77",
         "request": {"method": "POST", "url": "List"},
         "resource": {"resourceType": "List", "status": "current", "date": date,
                      "entry": [{"item": {"reference": full_url}}]}}]}).encode()


def _post(body: bytes, accept: str = "application/fhir+json") -> Request:
    return Request("POST", "http://fhir.example/fhir", Headers([
        ("Content-Type", "application/fhir+json"), ("Accept", accept)]), body)


def test_iti65_keys_alike_with_fresh_full_urls_uniqueids_and_dates() -> None:
    recorded = shape_of(_post(_bundle("urn:uuid:11111111-1111-4111-8111-111111111111",
                                      "urn:oid:1.2.3.1", "2026-01-01T00:00:00Z")))
    fresh = shape_of(_post(_bundle("urn:uuid:22222222-2222-4222-8222-222222222222",
                                   "urn:oid:1.2.3.2", "2026-12-02T10:00:00Z")))
    assert recorded.transaction == "ITI-65"
    assert fresh.key == recorded.key
    assert "urn:oid:1.2.3.2" in fresh.identifiers
    xml = shape_of(_post(_bundle("urn:uuid:22222222-2222-4222-8222-222222222222",
                                 "urn:oid:1.2.3.2", "2026-12-02T10:00:00Z"),
                         "application/fhir+xml"))
    assert xml.key != recorded.key  # another format asked for: another request
    other = shape_of(_post(_bundle("urn:uuid:22222222-2222-4222-8222-222222222222",
                                   "urn:oid:1.2.3.2", "2026-12-02T10:00:00Z").replace(
        b'"current"', b'"superseded"', 1)))
    assert other.key != recorded.key  # data still counts


def test_search_query_carries_learned_client_ids_back() -> None:
    renames = Renames({"urn:oid:9.9": "urn:oid:1.2.3.1"})
    client = shape_of(Request("GET", "http://x/fhir/DocumentReference?identifier=urn:oid:9.9",
                              Headers()), renames=renames)
    recorded = shape_of(Request("GET", "http://x/fhir/DocumentReference?identifier="
                                "urn%3Aoid%3A1.2.3.1", Headers()))
    assert client.key == recorded.key


def test_recorded_server_urls_point_to_the_stub() -> None:
    body = (b'{"resourceType":"Bundle","link":[{"url":"http://10.0.0.5:8080/fhir/Patient?x=1"}],'
            b'"entry":[{"fullUrl":"http:\\/\\/10.0.0.5:8080\\/fhir\\/Patient\\/7"},'
            b'{"fullUrl":"http://10.0.0.5:80801/fhir/Patient/8"}]}')
    response = Response(201, "Created", Headers([
        ("Content-Type", "application/fhir+json"),
        ("Location", "http://10.0.0.5:8080/fhir/Patient/7/_history/1")]), body)
    answer = fix_response(response, (), Renames(), base_url="http://127.0.0.1:9",
                          origins=("http://10.0.0.5:8080",))
    assert dict(answer.headers)["Location"] == "http://127.0.0.1:9/fhir/Patient/7/_history/1"
    assert b'"http://127.0.0.1:9/fhir/Patient?x=1"' in answer.body
    assert b'"http:\\/\\/127.0.0.1:9\\/fhir\\/Patient\\/7"' in answer.body
    assert b"10.0.0.5:80801" in answer.body  # another port is another server


def test_fhir_values_are_explained_by_fhirpath() -> None:
    from ihe_test_util.serve.facts import fhir_facts

    tree = shape_of(_post(_bundle("urn:uuid:22222222-2222-4222-8222-222222222222",
                                  "urn:oid:1.2.3.2", "2026-12-02T10:00:00Z"))).tree
    assert tree is not None
    facts = list(fhir_facts(tree))
    assert "Bundle.entry[0].resource.status = current" in facts
    assert "Bundle.entry[1].resource.entry.item.reference = ~" in facts  # a fresh urn:uuid
    assert "Bundle.type = transaction" in facts
