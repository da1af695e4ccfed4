"""FHIR deviations of the upgrade profiles end to end: ``compatible`` changes only ids, entry
order without ``_sort``, ``meta.tag`` and ``Bundle.link``; each ``breaking`` FHIR deviation
changes the verdict of exactly the steps it names, and nothing else."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest

from ihe_test_util.sim import Deviation, Simulator
from ihe_test_util.sim.profiles import DEVIATIONS, Kind, Profile, get_profile

from .fhir_sim_support import FhirAnswer, FhirClient, patient, provide_bundle

A, B = "1.3.6.1.4.1.21367.2005.3.7", "1.3.6.1.4.1.21367.2005.3.8"
FHIR_BREAKING = {d for d, info in DEVIATIONS.items()
                 if info.kind is Kind.REGRESSION and d.value.startswith(("fhir-", "mhd-", "pixm-"))}
FHIR_COMPATIBLE = {d for d, info in DEVIATIONS.items()
                   if info.kind is not Kind.REGRESSION and d.value.startswith("fhir-")}

#: scenario step -> the breaking deviations that must change its verdict
EXPECTED: dict[str, set[Deviation]] = {
    "ITI-67 chained": {Deviation.FHIR_CHAINED_SEARCH_IGNORED,
                       Deviation.MHD_STATUS_FILTER_IGNORED},
    "ITI-67 status": {Deviation.MHD_STATUS_FILTER_IGNORED},
    "ITI-67 sorted": {Deviation.FHIR_SORT_IGNORED},
    "ITI-66 chained": {Deviation.FHIR_CHAINED_SEARCH_IGNORED},
    "ITI-78 sorted": {Deviation.FHIR_SORT_IGNORED},
    "ITI-65 invalid": {Deviation.MHD_VALIDATION_RELAXED},
    "ITI-83": {Deviation.PIXM_DROPS_IDENTIFIER},
}


def _uids(number: int) -> dict[str, str]:
    """Fixed uniqueIds, so that runs against different profiles can be compared."""
    return {"unique_id": f"2.25.4242.{number}", "set_unique_id": f"2.25.4243.{number}"}


def run_scenario(profile: str | Profile) -> dict[str, FhirAnswer]:
    """One FHIR session (ITI-104, ITI-65, ITI-66/67/68, ITI-78, ITI-83, ITI-119): the answers
    by step."""
    steps: dict[str, FhirAnswer] = {}
    with Simulator(profile=profile) as sim:
        fhir = FhirClient(sim.url_for("fhir"))
        for value, given in (("P-1", "Zed"), ("P-2", "Amy")):
            body = patient(A, value, "Profiler", given, others=((B, f"{value}b"), (B, f"{value}c")))
            steps[f"ITI-104 {value}"] = fhir.request(
                "PUT", "Patient", body, params={"identifier": f"urn:oid:{A}|{value}"})
        first, second = (str(steps[f"ITI-104 {v}"].resource["id"]) for v in ("P-1", "P-2"))
        bundle, _ = provide_bundle(f"Patient/{first}", b"version 1", **_uids(1))
        steps["ITI-65 v1"] = fhir.request("POST", "", bundle)
        old = steps["ITI-65 v1"].resource["entry"][1]["response"]["location"].split("/")[1]
        bundle, _ = provide_bundle(f"Patient/{first}", b"version 2", replaces=old,
                                   creation="2024-03-01T10:00:00Z", **_uids(2))
        steps["ITI-65 v2"] = fhir.request("POST", "", bundle)
        bundle, _ = provide_bundle(f"Patient/{second}", b"other patient", **_uids(3))
        steps["ITI-65 other"] = fhir.request("POST", "", bundle)
        third = fhir.request("PUT", "Patient", patient(A, "P-3", "Bystander", "Bea"), params={
            "identifier": f"urn:oid:{A}|P-3"}).resource["id"]
        bundle, _ = provide_bundle(f"Patient/{third}", omit=("format", "type"), **_uids(4))
        steps["ITI-65 invalid"] = fhir.request("POST", "", bundle)
        chained = {"patient.identifier": f"urn:oid:{A}|P-1"}
        steps["ITI-67 chained"] = fhir.get("DocumentReference", status="current", **chained)
        steps["ITI-67 status"] = fhir.get("DocumentReference", status="current",
                                          patient=f"Patient/{first}")
        steps["ITI-67 sorted"] = fhir.get("DocumentReference", patient=f"Patient/{first}",
                                          _sort="-date", status="current,superseded")
        steps["ITI-67 unsorted"] = fhir.get("DocumentReference", patient=f"Patient/{first}")
        steps["ITI-66 chained"] = fhir.get("List", code="submissionset", **chained)
        binary = steps["ITI-65 v2"].resource["entry"][2]["response"]["location"]
        steps["ITI-68"] = fhir.request("GET", binary, headers={"Accept": "*/*"})
        steps["ITI-78 sorted"] = fhir.get("Patient", family="profiler", _sort="given")
        steps["ITI-78 unsorted"] = fhir.get("Patient", family="profiler")
        steps["ITI-78 read"] = fhir.get(f"Patient/{second}")
        steps["ITI-83"] = fhir.get("Patient/$ihe-pix", sourceIdentifier=f"urn:oid:{A}|P-1")
        steps["ITI-119"] = fhir.request("POST", "Patient/$match", {
            "resourceType": "Parameters", "parameter": [{"name": "resource", "resource": {
                "resourceType": "Patient", "name": [{"family": "Profiler", "given": ["Amy"]}],
                "gender": "female", "birthDate": "1980-02-03"}}]})
    return steps


def _key(resource: dict[str, Any]) -> str:
    if "masterIdentifier" in resource:
        return str(resource["masterIdentifier"]["value"])
    identifiers = resource.get("identifier", [])
    return ",".join(sorted(f"{i.get('system')}|{i.get('value')}" for i in identifiers
                           if not str(i.get("value", "")).startswith("urn:uuid:")))


def verdict(step: str, answer: FhirAnswer) -> tuple[Any, ...]:
    """What a FHIR-aware comparer judges: status, total, issues, the matches (in order when
    the request sorted), PIXm target identifiers."""
    if not answer.headers.get("Content-Type", "").startswith("application/fhir"):
        return answer.status, answer.body
    resource = answer.resource
    keys = [_key(e["resource"]) for e in resource.get("entry", []) if "resource" in e]
    matches = keys if "sorted" in step and "unsorted" not in step else sorted(keys)
    issues = sorted((i["code"], i.get("details", {}).get("text", ""))
                    for i in resource.get("issue", []))
    targets = sorted(json.dumps(p["valueIdentifier"], sort_keys=True)
                     for p in resource.get("parameter", []) if "valueIdentifier" in p)
    statuses = [e.get("response", {}).get("status") for e in resource.get("entry", [])]
    return (answer.status, resource["resourceType"], resource.get("total"), matches, issues,
            targets, statuses)


_UUID = re.compile(r"[0-9a-f]{8}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{4}-?[0-9a-f]{12}")


def normalise(step: str, answer: FhirAnswer) -> Any:
    """The answer without what ``compatible`` may change: server ids, the order of unsorted
    entries, meta, links, timestamps."""
    if not answer.headers.get("Content-Type", "").startswith("application/fhir"):
        return answer.body
    text = json.dumps(answer.resource)
    text = _UUID.sub("<uuid>", text)
    text = re.sub(r"http://127\.0\.0\.1:\d+", "<base>", text)
    text = re.sub(r"Patient/\d{6}", "Patient/<uuid>", text)
    text = re.sub(r'"id": "\d+"', '"id": "<uuid>"', text)
    resource = json.loads(text)

    def strip(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: strip(v) for k, v in value.items()
                    if k not in ("meta", "link", "lastModified")}
        if isinstance(value, list):
            return [strip(v) for v in value]
        return value

    resource = strip(resource)
    if "entry" in resource and ("unsorted" in step or "sorted" not in step) \
            and step != "ITI-119":
        resource["entry"] = sorted(resource["entry"], key=lambda e: json.dumps(e, sort_keys=True))
    return resource


@pytest.fixture(scope="module")
def baseline() -> dict[str, FhirAnswer]:
    return run_scenario("baseline")


def test_baseline_answers(baseline: dict[str, FhirAnswer]) -> None:
    assert baseline["ITI-65 invalid"].status == 422
    assert all(a.status in (200, 201) for name, a in baseline.items() if name != "ITI-65 invalid")
    assert baseline["ITI-67 chained"].resource["total"] == 1
    assert baseline["ITI-67 sorted"].resource["total"] == 2
    assert baseline["ITI-66 chained"].resource["total"] == 2
    assert baseline["ITI-68"].body == b"version 2"
    assert len(baseline["ITI-83"].resource["parameter"]) == 3  # 2 targetIdentifiers + targetId


def test_compatible_changes_only_noise(baseline: dict[str, FhirAnswer]) -> None:
    compatible = run_scenario("compatible")
    for name, answer in baseline.items():
        other = compatible[name]
        assert verdict(name, other) == verdict(name, answer), name
        assert normalise(name, other) == normalise(name, answer), name
    # ...and each kind of noise is really there
    assert len(compatible["ITI-78 read"].resource["id"]) == 36  # a UUID, not a number
    assert baseline["ITI-78 read"].resource["id"] == "000002"
    doc_ids = [r["id"] for r in compatible["ITI-67 sorted"].entries]
    assert all(len(i) == 32 and "-" not in i for i in doc_ids)
    unsorted = [_key(r) for r in baseline["ITI-78 unsorted"].entries]
    assert [_key(r) for r in compatible["ITI-78 unsorted"].entries] == unsorted[::-1]
    assert [_key(r) for r in compatible["ITI-78 sorted"].entries] == [
        _key(r) for r in baseline["ITI-78 sorted"].entries]
    assert compatible["ITI-78 read"].resource["meta"]["tag"][0]["code"] == "upgraded"
    assert "meta" not in baseline["ITI-78 read"].resource
    relations = [link["relation"] for link in compatible["ITI-78 unsorted"].resource["link"]]
    assert relations == ["self", "first"]


@pytest.mark.parametrize("deviation", sorted(FHIR_BREAKING, key=lambda d: d.value),
                         ids=lambda d: d.value)
def test_each_breaking_fhir_deviation_changes_exactly_its_steps(
        baseline: dict[str, FhirAnswer], deviation: Deviation) -> None:
    upgraded = run_scenario(Profile(f"only-{deviation.value}", frozenset({deviation})))
    changed = {name for name in baseline
               if verdict(name, upgraded[name]) != verdict(name, baseline[name])}
    assert changed == {step for step, causes in EXPECTED.items() if deviation in causes}


def test_breaking_profile_holds_every_fhir_regression_and_no_fhir_noise() -> None:
    breaking, compatible = get_profile("breaking"), get_profile("compatible")
    assert FHIR_BREAKING <= breaking.deviations and not FHIR_COMPATIBLE & breaking.deviations
    assert FHIR_COMPATIBLE <= compatible.deviations
    assert len(FHIR_BREAKING) == 5 and len(FHIR_COMPATIBLE) == 4
