"""FHIR JSON comparison: server ids up to consistent renaming, noise defaults, directed verdicts,
and differences shown as JSON with FHIR-style paths (bodies shaped like sekmet-fhir's and
medplum's answers)."""

from __future__ import annotations

import json
from typing import Any

from ihe_test_util.compare import compare_responses
from ihe_test_util.model import Headers, Request, Response
from ihe_test_util.results import Comparison, DifferenceKind, Outcome, Severity

BASE_A = "http://127.0.0.1:8001/fhir"
BASE_B = "http://127.0.0.1:9002/fhir"
FHIR_JSON = "application/fhir+json"


def response(body: dict[str, Any], status: int = 200, **headers: str) -> Response:
    names = {"Content-Type": FHIR_JSON, **{k.replace("_", "-"): v for k, v in headers.items()}}
    return Response(status, "", Headers(names), json.dumps(body, separators=(",", ":")).encode())


def compare(recorded: Response, replayed: Response, uri: str = f"{BASE_A}/Patient",
            method: str = "GET", transaction: str | None = None) -> Comparison:
    request = Request(method, uri, Headers({"Accept": FHIR_JSON}))
    return compare_responses(recorded, replayed, recorded_request=request,
                             replayed_request=request, transaction=transaction)


def shown(comparison: Comparison) -> str:
    return "\n".join(f"{d.severity} {d.shown_path}: {d.description}"
                     for d in comparison.differences)


def patient(pid: str, family: str = "Meyer", gender: str = "male",
            version: str = "1") -> dict[str, Any]:
    return {"resourceType": "Patient", "id": pid,
            "meta": {"versionId": version, "lastUpdated": f"2026-12-02T10:0{version}:00Z"},
            "identifier": [{"system": "urn:oid:1.2.3", "value": f"MRN-{family}"}],
            "name": [{"family": family, "given": ["Hans"]}], "gender": gender}


def searchset(base: str, patients: list[dict[str, Any]], *, total: bool = True,
              meta: bool = True) -> dict[str, Any]:
    bundle: dict[str, Any] = {
        "resourceType": "Bundle", "id": f"search-{base[-9:-5]}", "type": "searchset",
        "link": [{"relation": "self", "url": f"{base}/Patient?family=M&_page=tok{base[-9:]}"}],
        "entry": [{"fullUrl": f"{base}/Patient/{p['id']}", "resource": p,
                   "search": {"mode": "match"}} for p in patients],
    }
    if total:
        bundle["total"] = len(patients)
    if meta:
        bundle["meta"] = {"lastUpdated": "2026-12-02T10:00:00Z"}
    return bundle


def outcome(*severities: str, oid: str = "oo-1") -> dict[str, Any]:
    return {"resourceType": "OperationOutcome", "id": oid,
            "issue": [{"severity": s, "code": "processing", "diagnostics": f"note {oid}"}
                      for s in severities]}


# --- server ids: consistent renaming is noise, a changed target is not ------------------------

def test_create_response_renamed_id_and_location_pass() -> None:
    recorded = response(patient("1"), 201, Location=f"{BASE_A}/Patient/1/_history/1",
                        ETag='W/"1"', Last_Modified="Wed, 02 Dec 2026 10:01:00 GMT")
    replayed = response(patient("7f3a", version="3"), 201,
                        Location=f"{BASE_B}/Patient/7f3a/_history/3", ETag='W/"3"',
                        Last_Modified="Wed, 02 Dec 2026 11:00:00 GMT")
    result = compare(recorded, replayed, method="POST")
    assert result.outcome is Outcome.PASS, shown(result)
    assert result.noise_suppressed >= 2


def test_location_naming_another_resource_than_the_body_is_a_difference() -> None:
    recorded = response(patient("1"), 201, Location=f"{BASE_A}/Patient/1/_history/1")
    replayed = response(patient("7"), 201, Location=f"{BASE_B}/Patient/8/_history/1")
    result = compare(recorded, replayed, method="POST")
    assert result.outcome is Outcome.CHANGED, shown(result)
    assert any(d.shown_path in ("http:Location", "Patient.id") and "7" in (d.description or "")
               for d in result.differences), shown(result)


def test_operation_outcome_id_and_diagnostics_are_noise() -> None:
    result = compare(response(outcome("error", oid="a1"), 400),
                     response(outcome("error", oid="zz-9"), 400), method="POST")
    assert result.outcome is Outcome.PASS, shown(result)


def test_absent_bundle_meta_and_renamed_search_results_pass() -> None:
    recorded = response(searchset(BASE_A, [patient("1"), patient("2", "Mayer")]))
    replayed = response(searchset(BASE_B, [patient("12", "Mayer"), patient("11")], meta=False))
    result = compare(recorded, replayed, f"{BASE_A}/Patient?family=M")
    assert result.outcome is Outcome.PASS, shown(result)


def mhd_response(base: str, ids: tuple[str, str, str], *, status: str = "201 Created",
                 entry_outcome: dict[str, Any] | None = None) -> dict[str, Any]:
    """An ITI-65 transaction-response: List, DocumentReference, Binary."""
    entries = []
    for kind, rid in zip(("List", "DocumentReference", "Binary"), ids, strict=True):
        item: dict[str, Any] = {"response": {
            "status": status, "location": f"{base}/{kind}/{rid}/_history/1",
            "etag": 'W/"1"', "lastModified": "2026-12-02T10:00:00Z"}}
        if entry_outcome is not None:
            item["response"]["outcome"] = entry_outcome
        entries.append(item)
    return {"resourceType": "Bundle", "id": f"tx-{ids[0]}", "type": "transaction-response",
            "entry": entries}


def test_transaction_response_locations_renamed_and_status_reason_optional() -> None:
    recorded = response(mhd_response(BASE_A, ("1", "2", "3")))
    replayed = response(mhd_response(BASE_B, ("a", "b", "c"), status="201"))
    result = compare(recorded, replayed, BASE_A, method="POST")
    assert result.outcome is Outcome.PASS, shown(result)
    assert any("status line" in rule for rule in result.rules_applied), result.rules_applied


def test_transaction_entry_status_code_change_is_seen() -> None:
    recorded = response(mhd_response(BASE_A, ("1", "2", "3")))
    replayed = response(mhd_response(BASE_B, ("a", "b", "c"), status="200 OK"))
    result = compare(recorded, replayed, BASE_A, method="POST")
    assert result.outcome is Outcome.CHANGED, shown(result)
    assert result.differences[0].location == "Bundle.entry[0].response.status"
    assert result.differences[0].description == (
        'Bundle.entry[0].response.status: "201 Created" -> "200 OK"')


def test_medplum_informational_entry_outcomes_are_a_change_not_a_regression() -> None:
    recorded = response(mhd_response(BASE_A, ("1", "2", "3"), status="201"))
    informational = outcome("information", oid="ok")
    replayed = response(mhd_response(BASE_B, ("a", "b", "c"), status="201",
                                     entry_outcome=informational))
    result = compare(recorded, replayed, BASE_A, method="POST")
    assert result.outcome is Outcome.CHANGED, shown(result)
    assert all(d.severity is Severity.CHANGED for d in result.differences)
    # One difference says it: the verdict field; the three added outcomes are part of it.
    assert [d.location for d in result.differences] == [
        "Bundle.entry[0].response.outcome.issue[0].severity"], shown(result)
    assert result.differences[0].description == "OperationOutcome severity none -> information"


def document_list(base: str, list_id: str, doc_id: str, binary_id: str,
                  patient_id: str) -> dict[str, Any]:
    doc = {"resourceType": "DocumentReference", "id": doc_id, "status": "current",
           "masterIdentifier": {"value": "urn:oid:1.2.3.4.5"},
           "subject": {"reference": f"Patient/{patient_id}"},
           "content": [{"attachment": {"contentType": "text/plain",
                                       "url": f"{base}/Binary/{binary_id}"}}]}
    lst = {"resourceType": "List", "id": list_id, "status": "current", "mode": "working",
           "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.3.9"}],
           "subject": {"reference": f"{base}/Patient/{patient_id}"},
           "entry": [{"item": {"reference": f"DocumentReference/{doc_id}"}}]}
    return {"resourceType": "Bundle", "id": "s", "type": "searchset", "total": 2,
            "entry": [{"fullUrl": f"{base}/List/{list_id}", "resource": lst},
                      {"fullUrl": f"{base}/DocumentReference/{doc_id}", "resource": doc}]}


def test_references_embedding_server_ids_are_renamed_consistently() -> None:
    recorded = response(document_list(BASE_A, "4", "5", "6", "1"))
    replayed = response(document_list(BASE_B, "40", "50", "60", "10"))
    result = compare(recorded, replayed, f"{BASE_A}/List?patient=Patient/1")
    assert result.outcome is Outcome.PASS, shown(result)


def test_a_reference_to_another_object_is_a_difference() -> None:
    recorded = response(document_list(BASE_A, "4", "5", "6", "1"))
    body = document_list(BASE_B, "40", "50", "60", "10")
    body["entry"][0]["resource"]["entry"][0]["item"]["reference"] = "DocumentReference/51"
    result = compare(recorded, response(body), f"{BASE_A}/List?patient=Patient/1")
    assert result.outcome is Outcome.CHANGED, shown(result)
    assert any("reference changed target" in (d.description or "")
               for d in result.differences), shown(result)


def test_an_external_attachment_url_is_compared_literally() -> None:
    recorded = document_list(BASE_A, "4", "5", "6", "1")
    replayed = document_list(BASE_B, "40", "50", "60", "10")
    for body, url in ((recorded, "https://docs.example/a.pdf"),
                      (replayed, "https://docs.example/b.pdf")):
        body["entry"][1]["resource"]["content"][0]["attachment"]["url"] = url
    result = compare(response(recorded), response(replayed), f"{BASE_A}/DocumentReference")
    assert result.outcome is Outcome.CHANGED, shown(result)
    assert result.differences[0].recorded == '"https://docs.example/a.pdf"'


def pixm(base: str, target: str, identifiers: int) -> dict[str, Any]:
    parameters: list[dict[str, Any]] = [
        {"name": "targetIdentifier",
         "valueIdentifier": {"system": f"urn:oid:1.2.{n}", "value": f"ID-{n}"}}
        for n in range(identifiers)]
    parameters.append({"name": "targetId", "valueReference": {"reference": f"{base}/Patient/"
                                                                            f"{target}"}})
    return {"resourceType": "Parameters", "id": f"p{target}", "parameter": parameters}


def test_pixm_target_id_renamed_passes_and_a_lost_identifier_is_a_regression() -> None:
    uri = f"{BASE_A}/Patient/$ihe-pix?sourceIdentifier=urn:oid:1.2.0|ID-0"
    same = compare(response(pixm(BASE_A, "1", 2)), response(pixm(BASE_B, "99", 2)), uri)
    assert same.outcome is Outcome.PASS, shown(same)
    fewer = compare(response(pixm(BASE_A, "1", 2)), response(pixm(BASE_B, "99", 1)), uri)
    assert fewer.outcome is Outcome.REGRESSION, shown(fewer)
    assert fewer.differences[0].description == "PIXm targetIdentifiers 2 -> 1"


# --- directed OperationOutcome severity -------------------------------------------------------

def severity_outcome(before: tuple[str, ...], after: tuple[str, ...]) -> Comparison:
    def body(severities: tuple[str, ...]) -> dict[str, Any]:
        return outcome(*severities) if severities else patient("1")
    return compare(response(body(before)), response(body(after)), f"{BASE_A}/Patient/1")


def test_severity_getting_worse_is_a_regression() -> None:
    for before, after in ((("information",), ("warning",)), ((), ("warning",)),
                          (("warning",), ("error",)), (("error",), ("fatal",)),
                          (("error",), ("error", "error")), ((), ("error",))):
        result = severity_outcome(before, after)
        assert result.outcome is Outcome.REGRESSION, (before, after, shown(result))


def test_severity_getting_better_or_gone_is_a_change() -> None:
    for before, after in ((("warning",), ()), (("error",), ("warning",)), ((), ("information",)),
                          (("fatal",), ("information",)), (("error", "error"), ("error",))):
        result = severity_outcome(before, after)
        assert result.outcome is Outcome.CHANGED, (before, after, shown(result))
        assert result.differences, (before, after)


# --- results: matches, total, sort order ------------------------------------------------------

def test_a_lost_match_is_a_regression_even_when_total_stays_or_is_absent() -> None:
    three = [patient("1", "A"), patient("2", "B"), patient("3", "C")]
    for total in (True, False):
        recorded = searchset(BASE_A, three, total=total)
        replayed = searchset(BASE_B, [patient("11", "A"), patient("12", "B")], total=False)
        if total:
            replayed["total"] = 3
        result = compare(response(recorded), response(replayed), f"{BASE_A}/Patient?family=M")
        assert result.outcome is Outcome.REGRESSION, shown(result)
        removed = [d for d in result.differences if d.kind is DifferenceKind.REMOVED]
        assert [d.location for d in removed] == ["Bundle.entry[2]"], shown(result)
        assert removed[0].path == "/Bundle/entry[3]"  # a [[rules]] pattern, as ever
        assert removed[0].severity is Severity.REGRESSION


def test_a_total_change_is_reported_once() -> None:
    recorded = searchset(BASE_A, [patient("1", "A"), patient("2", "B")])
    replayed = searchset(BASE_B, [patient("1", "A")])
    result = compare(response(recorded), response(replayed), f"{BASE_A}/Patient?family=M")
    assert result.outcome is Outcome.REGRESSION
    mentions = [d for d in result.differences
                if "total" in (d.shown_path + (d.description or ""))]
    assert [(d.shown_path, d.description) for d in mentions] == [
        ("Bundle.total", "Bundle.total 2 -> 1")], shown(result)
    assert [d.shown_path for d in result.differences] == ["Bundle.total", "Bundle.entry[1]"]


def test_entry_order_counts_only_when_the_request_sorts() -> None:
    people = [patient("1", "Adams"), patient("2", "Baker"), patient("3", "Clark")]
    recorded = response(searchset(BASE_A, people))
    reversed_ = response(searchset(BASE_B, [patient(p["id"], p["name"][0]["family"])
                                            for p in reversed(people)]))
    unsorted = compare(recorded, reversed_, f"{BASE_A}/Patient?family=a")
    assert unsorted.outcome is Outcome.PASS, shown(unsorted)
    sorted_ = compare(recorded, reversed_, f"{BASE_A}/Patient?family=a&_sort=family")
    assert sorted_.outcome is Outcome.REGRESSION, shown(sorted_)
    moved = [d for d in sorted_.differences if d.kind is DifferenceKind.MOVED]
    assert moved and all(d.rule and "_sort=family" in d.rule for d in moved), shown(sorted_)
    assert [d.description for d in moved] == ["Bundle.entry[0] moved to Bundle.entry[2]",
                                              "Bundle.entry[2] moved to Bundle.entry[0]"]
    same_order = compare(recorded, response(searchset(BASE_B, people)),
                         f"{BASE_A}/Patient?_sort=family")
    assert same_order.outcome is Outcome.PASS, shown(same_order)


# --- shown as JSON with FHIR-style paths -------------------------------------------------------

def test_values_are_json_and_paths_fhir_style() -> None:
    recorded = searchset(BASE_A, [patient("1", "A"), patient("2", "B"), patient("3", "C")])
    replayed = searchset(BASE_B, [patient("1", "A"), patient("2", "B"),
                                  patient("3", "C", gender="female")])
    replayed["entry"][0]["resource"]["active"] = True
    result = compare(response(recorded), response(replayed), f"{BASE_A}/Patient?_sort=family")
    assert result.outcome is Outcome.CHANGED, shown(result)
    by_path = {d.shown_path: d for d in result.differences}
    gender = by_path["Bundle.entry[2].resource.gender"]
    assert (gender.recorded, gender.replayed) == ('"male"', '"female"')
    assert gender.description == 'Bundle.entry[2].resource.gender: "male" -> "female"'
    active = by_path["Bundle.entry[0].resource.active"]
    assert active.kind is DifferenceKind.ADDED and active.replayed == "true"
    for difference in result.differences:
        assert "<" not in (difference.recorded or "") + (difference.replayed or "")
        assert "ns0" not in (difference.description or "")


def test_plain_json_keeps_types_and_shows_json_paths() -> None:
    def plain(body: dict[str, Any]) -> Response:
        return Response(200, "", Headers({"Content-Type": "application/json"}),
                        json.dumps(body).encode())
    result = compare_responses(plain({"items": [{"n": 1}, {"n": 2}], "odd key": "x"}),
                               plain({"items": [{"n": 1}, {"n": "2"}], "odd key": "y"}))
    paths = {d.shown_path: (d.recorded, d.replayed) for d in result.differences}
    assert paths == {"$.items[1].n": ("2", '"2"'), '$["odd key"]': ('"x"', '"y"')}, paths


def test_ids_the_replay_carried_forward_must_be_the_ones_the_response_names() -> None:
    """With correlation, the replay knows recorded -> replayed server ids (the value map): a
    response that names another resource than the one carried forward is a difference."""
    recorded = response(document_list(BASE_A, "4", "5", "6", "p-0001"))
    replayed = response(document_list(BASE_B, "40", "50", "60", "p-0010"))
    request = Request("GET", f"{BASE_A}/List?patient=Patient/p-0001")
    for value_map, outcome_ in (({"p-0001": "p-0010"}, Outcome.PASS),
                                ({"Patient/p-0001": f"{BASE_B}/Patient/p-0010"}, Outcome.PASS),
                                ({"1": "11", "p-0001": "p-0010"}, Outcome.PASS),
                                ({"p-0001": "p-0011"}, Outcome.CHANGED)):
        result = compare_responses(recorded, replayed, recorded_request=request,
                                   replayed_request=request, value_map=value_map)
        assert result.outcome is outcome_, (value_map, shown(result))
    assert "carried Patient/p-0001 forward as Patient/p-0011" in shown(result)


def test_a_searchset_outcome_entry_going_away_is_a_change_not_a_lost_match() -> None:
    """sekmet adds a warning OperationOutcome entry (search.mode outcome) to some searches."""
    recorded = searchset(BASE_A, [patient("1")])
    recorded["entry"].append({"resource": outcome("warning"), "search": {"mode": "outcome"}})
    replayed = searchset(BASE_B, [patient("7")])
    result = compare(response(recorded), response(replayed), f"{BASE_A}/Patient?family=M")
    assert result.outcome is Outcome.CHANGED, shown(result)
    assert [d.description for d in result.differences] == [
        "OperationOutcome severity warning -> none"], shown(result)
