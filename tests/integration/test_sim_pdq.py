"""PDQ Supplier (ITI-47) and XCPD Responding Gateway (ITI-55) over HTTP, corpus queries."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree

from ihe_test_util.sim import Simulator

from .sim_support import (
    PDQ_QUERY,
    PIX_ADD,
    XCPD_QUERY,
    Patient,
    corpus_body,
    corpus_path,
    feed_message,
    h,
    post,
    post_raw,
)

JIMMY = Patient("1.2.840.114350.1.13.99997.2.3412", "1234", family="Jones", given="Jimmy",
                gender="M", birth="19630804")
JIMMY_IDS = (("2.16.840.1.113883.4.1", "999-88-6345"), ("1.2.840.114350.1.13.99998.8734", "1"))
JIM = Patient("1.2.840.114350.1.13.99998.8734", "2", family="Jones", given="Jim", gender="M",
              birth="19630713")
MARY = Patient("1.3.6.1.4.1.21367.2005.1.2", "M-1", family="Heidi", given="MARY",
               gender="F", birth="19400101", street="3443 North Arctic Avenue",
               city="Some City")
MARY_TWIN = Patient("1.3.6.1.4.1.21367.2005.1.2", "M-2", family="Heidi", given="MARY",
                    gender="F", birth="19410202", street="3443 North Arctic Avenue",
                    city="Some City")


@pytest.fixture(params=["baseline", "compatible", "breaking"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(profile=request.param) as running:
        url = running.url_for("pix")
        for patient, others in ((JIMMY, JIMMY_IDS), (JIM, ()), (MARY, ()), (MARY_TWIN, ())):
            assert post(url, PIX_ADD, feed_message(patient, *others)).ack_code == "AA"
        yield running


def _ids(subject: etree._Element) -> set[tuple[str | None, str | None]]:
    return {(i.get("root"), i.get("extension"))
            for i in subject.iterfind(f".//{h('patient')}/{h('id')}")}


def test_ipf_query_by_id_name_gender_birth(sim: Simulator) -> None:
    answer = post(sim.url_for("pdq"), PDQ_QUERY, corpus_body("ITI-47/01_PDQQuery1.xml"))
    assert answer.action == "urn:hl7-org:v3:PRPA_IN201306UV02"
    assert (answer.ack_code, answer.query_code) == ("AA", "OK")
    assert len(answer.subjects) == 1
    assert _ids(answer.subjects[0]) == {(JIMMY.root, JIMMY.extension), *JIMMY_IDS}
    person = answer.subjects[0].find(f".//{h('patientPerson')}")
    assert person is not None and person.findtext(f"{h('name')}/{h('given')}") == "Jimmy"
    assert person.find(h("asOtherIDs")) is None
    score = answer.subjects[0].find(f".//{h('queryMatchObservation')}/{h('value')}")
    assert score is not None and score.get("value") == "100"
    ack = answer.body.find(f"{h('controlActProcess')}/{h('queryAck')}")
    assert ack is not None
    assert ack.find(h("queryId")).get("extension") == "18204"  # type: ignore[union-attr]
    assert ack.find(h("resultTotalQuantity")).get("value") == "1"  # type: ignore[union-attr]


def test_maximal_query_matches_address_and_scopes_ids(sim: Simulator) -> None:
    answer = post(sim.url_for("pdq"), PDQ_QUERY, corpus_body("ITI-47/PDQ_Maximal_Query.xml"))
    expected = 2 if sim.profile.name == "breaking" else 1  # breaking ignores the birth date
    assert (answer.ack_code, answer.query_code, len(answer.subjects)) == ("AA", "OK", expected)
    found = set().union(*(_ids(s) for s in answer.subjects))
    assert (MARY.root, MARY.extension) in found


def test_no_match_is_nf_unless_the_birth_date_is_ignored(sim: Simulator) -> None:
    post(sim.url_for("pix"), PIX_ADD, feed_message(
        Patient("1.2.3.9", "chip", family="Moore", given="Chip", gender="M", birth="19840911")))
    # the corpus query has an impossible birth date (19849711)
    answer = post(sim.url_for("pdq"), PDQ_QUERY,
                  corpus_body("ITI-47/test1_findpatient_dob_gender_name.xml"))
    if sim.profile.name == "breaking":
        assert (answer.query_code, len(answer.subjects)) == ("OK", 1)
    else:
        assert (answer.ack_code, answer.query_code, answer.subjects) == ("AA", "NF", [])
    by_name = post(sim.url_for("pdq"), PDQ_QUERY,
                   corpus_body("ITI-47/test2_findpatient_gender_name_failure.xml"))
    assert (by_name.query_code, len(by_name.subjects)) == ("OK", 1)


def test_wildcards_and_birth_date_only(sim: Simulator) -> None:
    query = corpus_body("ITI-47/PDQv3.xml")  # gender F + birth 19400101
    answer = post(sim.url_for("pdq"), PDQ_QUERY, query)
    assert len(answer.subjects) == (2 if sim.profile.name == "breaking" else 1)
    wildcard = corpus_body("ITI-47/PDQ_with_PID4.xml")  # birth 19800131, given "*"
    post(sim.url_for("pix"), PIX_ADD, feed_message(
        Patient("1.2.3.9", "w", family="McAddam", given="Ann", birth="19800131")))
    answer = post(sim.url_for("pdq"), PDQ_QUERY, wildcard)
    assert answer.query_code == "OK"


def test_epr_capture_query_by_id_with_scoping_organisations(sim: Simulator) -> None:
    post(sim.url_for("pix"), PIX_ADD, feed_message(
        Patient("1.1.1.2.2", "08242eb8-dd47-4298-8d2f-25d60114f137"),
        ("1.3.6.1.4.1.21367.2017.2.5.93", "EPR-1"), ("2.16.756.5.30.1.127.3.10.3", "7613"),
        ("9.9.9.9", "hidden")))
    # the projectathon capture, envelope and all, exactly as it was sent
    raw = corpus_path("ITI-47/ITI-47_request_raw.xml").read_bytes()
    answer = post_raw(sim.url_for("pdq"), raw, "application/soap+xml; charset=UTF-8")
    assert answer.relates_to == "urn:uuid:9fe7246b-8fab-4dd7-976e-c81bc1955575"
    assert answer.query_code == "OK"
    assert _ids(answer.subjects[0]) == {("1.3.6.1.4.1.21367.2017.2.5.93", "EPR-1"),
                                        ("2.16.756.5.30.1.127.3.10.3", "7613")}


def test_query_errors_are_ae(sim: Simulator) -> None:
    unknown_domain = corpus_body("ITI-47/ITI-47_request_raw.xml")  # 1.1.1.2.2 never fed here
    answer = post(sim.url_for("pdq"), PDQ_QUERY, unknown_domain)
    assert (answer.ack_code, answer.query_code, answer.ack_detail_codes) == ("AE", "AE", ["204"])
    empty = corpus_body("ITI-47/PDQv3.xml")
    parameters = empty.find(f".//{h('parameterList')}")
    assert parameters is not None
    for child in list(parameters):
        parameters.remove(child)
    answer = post(sim.url_for("pdq"), PDQ_QUERY, empty)
    assert (answer.ack_code, answer.query_code) == ("AE", "QE")


def test_xcpd_discovers_patients_in_this_community(sim: Simulator) -> None:
    answer = post(sim.url_for("xcpd"), XCPD_QUERY, corpus_body("ITI-55/iti55-sample-request.xml"))
    assert answer.action == "urn:hl7-org:v3:PRPA_IN201306UV02:CrossGatewayPatientDiscovery"
    # the sample asks for Jimmy Jones born 19630805: nobody, unless birth dates are ignored
    if sim.profile.name == "breaking":
        assert (answer.query_code, len(answer.subjects)) == ("OK", 1)
    else:
        assert (answer.ack_code, answer.query_code, answer.subjects) == ("AA", "NF", [])
    post(sim.url_for("pix"), PIX_ADD, feed_message(
        Patient("2.16.840.1.113883.4.1", "58910", family="Jones", given="Jimmy", gender="M",
                birth="19630805")))
    found = post(sim.url_for("xcpd"), XCPD_QUERY,
                 corpus_body("ITI-55/iti55-sample-request.xml"))
    assert found.query_code == "OK"
    entity = found.subjects[0].find(f".//{h('custodian')}/{h('assignedEntity')}")
    assert entity is not None
    assert entity.find(h("id")).get("root") == sim.identity.home_community_oid  # type: ignore[union-attr]
    assert entity.find(h("code")).get("code") == "NotHealthDataLocator"  # type: ignore[union-attr]


def test_xcpd_requires_name_and_birth_time(sim: Simulator) -> None:
    query = corpus_body("ITI-55/iti55-sample-request.xml")
    parameters = query.find(f".//{h('parameterList')}")
    assert parameters is not None
    parameters.remove(parameters.find(h("livingSubjectBirthTime")))  # type: ignore[arg-type]
    answer = post(sim.url_for("xcpd"), XCPD_QUERY, query)
    assert (answer.ack_code, answer.query_code, answer.ack_detail_codes) == ("AE", "AE", ["101"])


def test_nist_xcpd_request(sim: Simulator) -> None:
    answer = post(sim.url_for("xcpd"), XCPD_QUERY, corpus_body("ITI-55/findpatient.xml"))
    assert answer.status_code == 200
    assert answer.ack_code in {"AA", "AE"}
    assert answer.query_code in {"OK", "NF", "AE"}
