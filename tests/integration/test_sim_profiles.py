"""Upgrade profiles end to end: ``compatible`` changes only what a good comparer ignores,
``breaking`` changes exactly the verdict fields its deviations name."""

from __future__ import annotations

import pytest

from ihe_test_util.sim import Deviation, Simulator
from ihe_test_util.sim.profiles import DEVIATIONS, Kind

from .sim_scenario import documents_of, normalise, run_scenario, verdict
from .sim_support import Answer
from .test_sim_fhir_profiles import EXPECTED as FHIR_EXPECTED
from .test_sim_hl7v2_profiles import EXPECTED as V2_EXPECTED
from .test_sim_hl7v2_profiles import PAYLOAD_ONLY as V2_PAYLOAD_ONLY

#: scenario step -> the deviation that must change its verdict under ``breaking``
EXPECTED_BREAKING = {
    "ITI-44 revise": Deviation.REVISE_FEED_REJECTED,
    "ITI-45 unknown": Deviation.PIX_UNKNOWN_PATIENT_NF,
    "ITI-47": Deviation.PDQ_IGNORES_BIRTH_TIME,
    "ITI-41 duplicate": Deviation.DUPLICATE_UNIQUE_ID_CODE_CHANGED,
    "ITI-18 FindDocuments": Deviation.FIND_DOCUMENTS_IGNORES_STATUS,
    "ITI-18 FindDocuments ObjectRef": Deviation.FIND_DOCUMENTS_IGNORES_STATUS,
    "ITI-18 GetDocuments": Deviation.GET_DOCUMENTS_DROPS_LAST,
    "ITI-43 partial": Deviation.RETRIEVE_PARTIAL_AS_FAILURE,
}


@pytest.fixture(scope="module")
def runs() -> dict[str, dict[str, Answer]]:
    results = {}
    for profile in ("baseline", "compatible", "breaking"):
        with Simulator(profile=profile) as sim:
            results[profile] = run_scenario(sim)
    return results


def test_scenario_covers_every_transaction(runs: dict[str, dict[str, Answer]]) -> None:
    steps = runs["baseline"]
    for transaction in ("ITI-44", "ITI-45", "ITI-47", "ITI-55", "ITI-41", "ITI-18", "ITI-43"):
        assert any(name.startswith(transaction) for name in steps)
    assert all(a.status_code == 200 for n, a in steps.items() if n != "fault")
    assert steps["ITI-43 partial"].status.endswith("PartialSuccess")


def test_compatible_keeps_every_verdict_and_differs_only_in_noise(
        runs: dict[str, dict[str, Answer]]) -> None:
    baseline, compatible = runs["baseline"], runs["compatible"]
    for name, answer in baseline.items():
        other = compatible[name]
        assert verdict(other) == verdict(answer), name
        assert normalise(other) == normalise(answer), name
        assert documents_of(other) == documents_of(answer), name
    # ...and the noise is really there
    assert b"<S:Envelope" in compatible["ITI-45 ok"].root_part
    assert b"ns9:PRPA_IN201310UV02" in compatible["ITI-45 ok"].root_part
    assert b"<soap:Envelope" in baseline["ITI-45 ok"].root_part
    base_order = _unique_ids(baseline["ITI-18 GetDocuments"])
    assert len(base_order) == 2
    assert _unique_ids(compatible["ITI-18 GetDocuments"]) == list(reversed(base_order))
    assert not compatible["ITI-43 both"].attachments  # documents inline
    assert len(baseline["ITI-43 both"].attachments) == 2
    assert b"documentAvailability" in compatible["ITI-18 FindDocuments"].root_part


def _unique_ids(answer: Answer) -> list[str]:
    scheme = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
    return [i.get("value", "") for e in answer.registry_objects
            for i in e.findall("{*}ExternalIdentifier") if i.get("identificationScheme") == scheme]


def test_breaking_changes_exactly_the_expected_verdicts(
        runs: dict[str, dict[str, Answer]]) -> None:
    baseline, breaking = runs["baseline"], runs["breaking"]
    changed = {name for name in baseline if verdict(breaking[name]) != verdict(baseline[name])}
    assert changed == set(EXPECTED_BREAKING)


def test_breaking_drops_a_required_slot(runs: dict[str, dict[str, Answer]]) -> None:
    def slots(answer: Answer) -> set[str]:
        return {s.get("name", "") for e in answer.registry_objects
                for s in e.findall("{*}Slot")}

    assert "creationTime" in slots(runs["baseline"]["ITI-18 FindDocuments"])
    assert "creationTime" not in slots(runs["breaking"]["ITI-18 FindDocuments"])


def test_every_regression_deviation_is_exercised() -> None:
    regressions = {d for d, info in DEVIATIONS.items() if info.kind is Kind.REGRESSION}
    fhir = {d for causes in FHIR_EXPECTED.values() for d in causes}  # test_sim_fhir_profiles.py
    v2 = {d for causes in V2_EXPECTED.values() for d in causes} | V2_PAYLOAD_ONLY
    covered = set(EXPECTED_BREAKING.values()) | {Deviation.REQUIRED_SLOT_DROPPED} | fhir | v2
    assert covered == regressions
