"""HL7 v2 deviations of the upgrade profiles over MLLP: ``compatible`` changes only MSH-10's
format, trailing empty fields and the order of a PDQ answer's patients; each ``breaking`` v2
deviation changes the verdict (MSA-1, QAK-2, number of PID segments) of exactly the steps it
names, on the v2 and the v3 side of the shared store."""

from __future__ import annotations

import re

import pytest

from ihe_test_util.ihe.builders.hl7v2 import iti8_feed, iti8_merge, iti9_query, iti21_query
from ihe_test_util.ihe.builders.hl7v3 import iti47_query
from ihe_test_util.ihe.builders.patients import PatientDemographics, PersonName
from ihe_test_util.ihe.cx import PatientId
from ihe_test_util.sim import Deviation, Simulator
from ihe_test_util.sim.profiles import DEVIATIONS, Kind, Profile, get_profile

from .fhir_sim_support import soap
from .v2_client import V2Client

A, B = "1.3.6.1.4.1.21367.2005.3.7", "1.3.6.1.4.1.21367.2005.3.8"
V2_DEVIATIONS = {d for d in DEVIATIONS if d.value.startswith("v2-")}


def _person(value: str, given: str, other: str | None = None, birth: str = "19700101") -> (
        PatientDemographics):
    ids = (PatientId(value, A), *((PatientId(other, B),) if other else ()))
    return PatientDemographics(ids=ids, name=PersonName("Meyer", (given,)), gender="M",
                               birth_date=birth)


#: One session, built once so every profile gets the same bytes.
SESSION: list[tuple[str, bytes]] = [
    ("A01 Hans", iti8_feed(_person("P1", "Hans", "Q1")).body),
    ("A01 Anna", iti8_feed(_person("P2", "Anna", birth="19710202")).body),
    ("A04 Otto", iti8_feed(_person("P3", "Otto", "Q3"), event="A04").body),
    ("A40 Otto into Hans", iti8_merge(_person("P1", "Hans"), PatientId("P3", A)).body),
    ("ITI-9 Hans", iti9_query(PatientId("P1", A), domains=[B]).body),
    ("ITI-9 Otto", iti9_query(PatientId("P3", A)).body),
    ("ITI-21 Meyer", iti21_query({"family": "Meyer"}).body),
]

#: step -> the breaking deviations that must change its verdict
EXPECTED: dict[str, set[Deviation]] = {
    "ITI-9 Hans": {Deviation.V2_KNOWN_PATIENT_NF},
    "ITI-9 Otto": {Deviation.V2_MERGE_IGNORED},
    "ITI-21 Meyer": {Deviation.V2_MERGE_IGNORED},
    "ITI-47 Meyer": {Deviation.V2_MERGE_IGNORED},
}
#: breaking deviations seen in the payload only (a comparer reports the change)
PAYLOAD_ONLY = {Deviation.V2_BIRTH_DATE_DROPPED}


def run_session(profile: str | Profile) -> dict[str, str]:
    """Each step's reply as text (segments on lines); ITI-47 as 'code query count'."""
    replies: dict[str, str] = {}
    with Simulator(profile=profile) as sim:
        with V2Client(sim.mllp_url) as client:
            for name, message in SESSION:
                replies[name] = str(client.send(message)).replace("\r", "\n")
        _, pdq, _ = soap(sim.url_for("pdq"), iti47_query(PatientDemographics(
            name=PersonName("Meyer"))))
        ack = pdq.find(".//{*}acknowledgement/{*}typeCode")
        query = pdq.find(".//{*}queryAck/{*}queryResponseCode")
        replies["ITI-47 Meyer"] = "{} {} {}".format(
            ack.get("code") if ack is not None else "", query.get("code") if query is not None
            else "", len(list(pdq.iter("{*}patientPerson"))))
    return replies


def verdict(reply: str) -> tuple[str, ...]:
    if not reply.startswith("MSH"):
        return tuple(reply.split())
    lines = reply.splitlines()
    fields = {line[:3]: line.split("|") for line in reversed(lines)}
    return (fields["MSA"][1], fields.get("QAK", ["", "", ""])[2],
            str(sum(line.startswith("PID|") for line in lines)))


def normalised(reply: str) -> list[str]:
    """Without what compatible may change: MSH-7/MSH-10, trailing separators, PID order."""
    lines = [line.rstrip("|") for line in reply.splitlines() if line]
    msh = lines[0].split("|")
    msh[6] = msh[9] = ""
    pids = sorted(re.sub(r"^PID\|\d+", "PID|", line) for line in lines if line.startswith("PID"))
    return ["|".join(msh), *(line for line in lines[1:] if not line.startswith("PID")), *pids]


@pytest.fixture(scope="module")
def baseline() -> dict[str, str]:
    return run_session("baseline")


def test_baseline_session(baseline: dict[str, str]) -> None:
    assert {name: verdict(reply) for name, reply in baseline.items()} == {
        "A01 Hans": ("AA", "", "0"), "A01 Anna": ("AA", "", "0"), "A04 Otto": ("AA", "", "0"),
        "A40 Otto into Hans": ("AA", "", "0"), "ITI-9 Hans": ("AA", "OK", "1"),
        "ITI-9 Otto": ("AE", "AE", "0"), "ITI-21 Meyer": ("AA", "OK", "2"),
        "ITI-47 Meyer": ("AA", "OK", "2")}
    assert f"Q1^^^&{B}&ISO^PI~Q3^^^&{B}&ISO^PI" in baseline["ITI-9 Hans"]


def test_compatible_changes_only_noise(baseline: dict[str, str]) -> None:
    compatible = run_session("compatible")
    for name, reply in compatible.items():
        assert verdict(reply) == verdict(baseline[name]), name
        if name.startswith("ITI-47"):
            continue
        assert normalised(reply) == normalised(baseline[name]), name
        assert reply != baseline[name]
        control_id = reply.splitlines()[0].split("|")[9]
        assert re.fullmatch(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}",
                            control_id), control_id
        assert all(line.endswith("|||") for line in reply.splitlines()[1:] if line)
    order = [line.split("|")[5] for line in compatible["ITI-21 Meyer"].splitlines()
             if line.startswith("PID")]
    assert order == ["Meyer^Anna", "Meyer^Hans"]  # baseline: Hans first


@pytest.mark.parametrize("deviation", sorted(
    d for d in V2_DEVIATIONS if DEVIATIONS[d].kind is Kind.REGRESSION))
def test_each_breaking_deviation_changes_exactly_its_steps(
        baseline: dict[str, str], deviation: Deviation) -> None:
    answers = run_session(Profile(deviation.value, frozenset({deviation})))
    changed = {name for name in baseline if verdict(answers[name]) != verdict(baseline[name])}
    assert changed == {name for name, causes in EXPECTED.items() if deviation in causes}
    if deviation in PAYLOAD_ONLY:
        pid7 = [line.split("|")[7] for line in answers["ITI-21 Meyer"].splitlines()
                if line.startswith("PID")]
        assert pid7 == ["", ""]
        assert "|19700101|" in baseline["ITI-21 Meyer"]


def test_breaking_holds_every_v2_regression_and_compatible_every_v2_noise() -> None:
    breaking, compatible = get_profile("breaking"), get_profile("compatible")
    for deviation in V2_DEVIATIONS:
        regression = DEVIATIONS[deviation].kind is Kind.REGRESSION
        assert breaking.has(deviation) is regression
        assert compatible.has(deviation) is not regression
    covered = {d for causes in EXPECTED.values() for d in causes} | PAYLOAD_ONLY
    assert covered == {d for d in V2_DEVIATIONS if DEVIATIONS[d].kind is Kind.REGRESSION}
