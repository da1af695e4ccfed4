"""Correlation where REST (FHIR) requests carry server-assigned values: URL path segments, query
values, headers, JSON and form bodies; sources: Location headers, ids inside references and
URLs, JSON rules (issue 13)."""

from __future__ import annotations

import json

import pytest

from ihe_test_util.errors import ConfigError
from ihe_test_util.ihe.message import message_of
from ihe_test_util.ihe.tokens import Replacer
from ihe_test_util.model import Headers, Request, Response
from ihe_test_util.replay.capture_rules import JsonPath, load_capture_rules
from ihe_test_util.replay.correlate import (
    find_captures,
    find_rule_captures,
    request_strings,
    substitute_request,
)

BASE = "http://fhir.example/fhir"
JSON = Headers([("Content-Type", "application/fhir+json")])
OLD, NEW = "1f0e2d3c-old-patient", "9a8b7c6d-new-patient"


def _request(method: str, uri: str, body: object | None = None,
             headers: Headers = JSON) -> Request:
    data = json.dumps(body).encode() if body is not None else b""
    return Request(method, uri, headers=headers if data else Headers(), body=data)


def _response(body: object, headers: Headers = JSON, status: int = 200) -> Response:
    return Response(status, headers=headers, body=json.dumps(body).encode())


def _roots(messages: list[Request] | list[Response]) -> list[object]:
    return [message_of(m).root for m in messages]


def test_a_request_carries_values_in_its_path_query_headers_and_form_body() -> None:
    request = Request("POST", f"{BASE}/Patient/_search?subject=Patient%2F{OLD}&x=a+b",
                      headers=Headers([("Content-Type", "application/x-www-form-urlencoded"),
                                       ("X-Correlation", "abc-123456"),
                                       ("Accept", "application/fhir+json")]),
                      body=b"patient=Patient%2Fform-id-77")
    strings = request_strings(request)
    assert {"fhir", "Patient", "_search", f"Patient/{OLD}", "a b", "abc-123456",
            "Patient/form-id-77"} <= set(strings)
    assert "application/fhir+json" not in strings  # Accept never carries a server value
    assert "fhir.example" not in strings  # nor does the host: replay sends elsewhere


def test_substitution_rewrites_path_query_header_and_json_body_only_where_needed() -> None:
    body = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"resource": {"resourceType": "List", "subject": {"reference": f"Patient/{OLD}"}}}]}
    raw = json.dumps(body, indent=1).encode()
    request = Request("POST", f"{BASE}/Patient/{OLD}/$everything?patient=Patient%2F{OLD}&_count=5",
                      headers=Headers([("Content-Type", "application/fhir+json"),
                                       ("If-None-Exist", f"subject=Patient/{OLD}"),
                                       ("Content-Length", str(len(raw)))]), body=raw)
    new = substitute_request(request, Replacer({OLD: NEW}), message_of(request))
    assert new.uri == f"{BASE}/Patient/{NEW}/$everything?patient=Patient/{NEW}&_count=5"
    assert new.headers.get("If-None-Exist") == f"subject=Patient/{NEW}"
    assert new.body == raw.replace(OLD.encode(), NEW.encode())  # formatting kept byte for byte
    assert new.headers.get("Content-Length") == str(len(new.body))
    untouched = Request("GET", f"{BASE}/Patient?name=x%20y")
    assert substitute_request(untouched, Replacer({OLD: NEW})) is untouched


def test_a_form_search_and_a_compressed_body() -> None:
    form = Request("POST", f"{BASE}/DocumentReference/_search",
                   headers=Headers([("Content-Type", "application/x-www-form-urlencoded")]),
                   body=f"patient=Patient%2F{OLD}&status=current".encode())
    assert substitute_request(form, Replacer({OLD: NEW})).body == \
        f"patient=Patient/{NEW}&status=current".encode()
    zipped = Request("POST", f"{BASE}/Patient", headers=Headers([
        ("Content-Type", "application/fhir+json"), ("Content-Encoding", "gzip")]),
        body=b"\x1f\x8b not really")
    assert substitute_request(zipped, Replacer({OLD: NEW})).body == zipped.body


def test_ids_in_location_headers_and_references_are_captured_and_resolved() -> None:
    created = _response({"resourceType": "OperationOutcome"}, JSON.with_value(
        "Location", f"{BASE}/Patient/{OLD}/_history/1"), status=201)
    requests = [_request("POST", f"{BASE}/Patient", {"resourceType": "Patient"}),
                _request("GET", f"{BASE}/Patient/{OLD}"),
                _request("GET", f"{BASE}/DocumentReference?patient=Patient/{OLD}")]
    responses = [created, _response({"resourceType": "Patient"}),
                 _response({"resourceType": "Bundle"})]
    (capture,) = find_captures(_roots(requests), _roots(responses),
                               request_extras=[request_strings(r) for r in requests],
                               response_headers=[r.headers for r in responses])
    assert (capture.value, capture.source, capture.consumers) == (OLD, 0, (1, 2))
    assert capture.describe() == "header Location (token 3 from the end)"
    replayed = Headers([("Location", f"http://other:1/fhir/Patient/{NEW}/_history/1")])
    assert capture.resolve(None, {}, headers=replayed) == NEW
    assert capture.resolve(None, {}, headers=Headers()) is None


def test_the_id_inside_a_transaction_response_location_is_captured() -> None:
    response = _response({"resourceType": "Bundle", "type": "transaction-response", "entry": [
        {"response": {"status": "201", "location": f"Binary/{OLD}/_history/1"}}]})
    later = _request("GET", f"{BASE}/Binary/{OLD}")
    (capture,) = find_captures([None, None], [message_of(response).root, None],
                               request_extras=[[], request_strings(later)])
    new = _response({"resourceType": "Bundle", "type": "transaction-response", "entry": [
        {"response": {"status": "201", "location": f"Binary/{NEW}/_history/1"}}]})
    assert capture.resolve(message_of(new).root, {}) == NEW


@pytest.mark.parametrize(("path", "expected"), [
    ("Bundle.entry.response.location", ["List/a1", "Binary/b2"]),
    ("Bundle.entry[1].response.location", ["Binary/b2"]),
    ("entry.resource.id", ["a1"]),
    ("/entry/0/resource/id", ["a1"]),
    ("/entry/5/resource/id", []),
    ("Patient.id", []),  # the body is a Bundle
])
def test_json_paths(path: str, expected: list[str]) -> None:
    document = {"resourceType": "Bundle", "entry": [
        {"resource": {"resourceType": "List", "id": "a1"},
         "response": {"location": "List/a1"}},
        {"response": {"location": "Binary/b2"}}]}
    assert JsonPath.parse(path).values(document) == expected


def test_json_and_header_rules_with_a_pattern() -> None:
    rules = load_capture_rules([
        {"transaction": "ITI-65", "json": "Bundle.entry.response.location",
         "pattern": "^Binary/([^/]+)"},
        {"header": "Location", "pattern": "/Patient/([^/]+)"},
    ])
    bundle = _response({"resourceType": "Bundle", "entry": [
        {"response": {"location": "List/L1"}},
        {"response": {"location": "Binary/B77/_history/1"}}]})
    created = Response(201, headers=Headers([("Location", f"{BASE}/Patient/P5/_history/1")]))
    requests = [None, None, None]
    extras = [[], [], ["Binary", "B77", "Patient", "P5"]]
    responses = [bundle, created, Response(200)]
    messages = [message_of(r) for r in responses]
    captures = find_rule_captures(
        rules, ["ITI-65", None, "ITI-68"], requests, [m.root for m in messages],
        request_extras=extras, response_messages=messages,
        response_headers=[r.headers for r in responses])
    assert [(c.value, c.source, c.consumers) for c in captures] == [("B77", 0, (2,)),
                                                                   ("P5", 1, (2,))]
    assert "json Bundle.entry.response.location" in captures[0].describe()
    assert captures[1].resolve(None, {}, headers=Headers([("Location", "/fhir/Patient/Q/")])) \
        == "Q"


@pytest.mark.parametrize(("table", "key", "words"), [
    ({"json": "a.b", "header": "Location"}, "correlate[0].header", "exactly one"),
    ({"json": "entry..id"}, "correlate[0].json", "not a member name"),
    ({"json": "Bundle."}, "correlate[0].json", "not a member name"),
    ({"json": "entry.id", "transaction": "ITI-18"}, "correlate[0].json", "never JSON"),
    ({"header": "Location:", "pattern": "x"}, "correlate[0].header", "not a header name"),
    ({"header": "Location", "pattern": "(a"}, "correlate[0].pattern", "regular expression"),
    ({"header": "Location", "pattern": "(a)(b)"}, "correlate[0].pattern", "more than one"),
    ({"header": "Location", "transaction": "ITI-999"}, "correlate[0].transaction", "unknown"),
])
def test_a_rule_that_cannot_apply_is_an_error_at_load(table: dict[str, object], key: str,
                                                      words: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_capture_rules([table], "ihe.toml")
    assert key in str(info.value) and words in str(info.value)


@pytest.mark.parametrize(("value", "found"), [
    (f"Patient/{OLD}", [OLD]),
    (f"http://h:8080/fhir/R4/Binary/{OLD}/_history/2", [OLD]),
    ("http://h/fhir/Patient?_getpages=a1b2c3d4e5&_count=20", ["a1b2c3d4e5"]),
    ("http://www.w3.org/2005/08/addressing/anonymous", []),  # no Type/id: a SOAP address
    ("urn:oid:1.2.3.4.5.6", []),
    ("DocumentReference/short", []),  # too short to correlate safely
])
def test_ids_inside_references_and_urls(value: str, found: list[str]) -> None:
    from ihe_test_util.replay.correlate import _parts

    assert [token for token, part in _parts(value) if part is not None] == found


def test_a_fhir_path_reads_fhir_xml_responses_too() -> None:
    xml = Response(200, headers=Headers([("Content-Type", "application/fhir+xml")]), body=(
        b'<Bundle xmlns="http://hl7.org/fhir"><type value="transaction-response"/>'
        b'<entry><resource><List><id value="L-000001"/></List></resource>'
        b'<response><location value="List/L-000001/_history/1"/></response></entry>'
        b'<entry><response><location value="Binary/B-000077/_history/1"/></response></entry>'
        b'</Bundle>'))
    message = message_of(xml)
    (by_path, by_resource, by_pointer) = load_capture_rules([
        {"json": "Bundle.entry[1].response.location", "pattern": "Binary/([^/]+)"},
        {"json": "entry.resource.id"},
        {"json": "/entry/0/resource/id"}])
    assert by_path.values(message.root, message=message) == ["B-000077"]
    assert by_resource.values(message.root, message=message) == ["L-000001"]
    assert by_pointer.values(message.root, message=message) == []  # a pointer names JSON
