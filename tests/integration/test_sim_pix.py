"""PIX Manager over HTTP: ITI-44 feeds (add, revise, merge) and ITI-45 queries, corpus requests."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from lxml import etree

from ihe_test_util.sim import Simulator

from .sim_support import (
    PIX_ADD,
    PIX_MERGE,
    PIX_QUERY,
    PIX_REVISE,
    Patient,
    corpus_body,
    corpus_path,
    feed_message,
    h,
    pix_query,
    post,
    post_raw,
)

MARY = Patient("1.3.6.1.4.1.21367.2005.1.1", "PIX10515W3")
LOCAL = ("1.2.3.4.5.1000", "PIX10515W4")


@pytest.fixture(params=["baseline", "compatible", "breaking"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(profile=request.param) as running:
        yield running


def test_corpus_add_feed_is_accepted_with_a_warning_for_the_rootless_id(sim: Simulator) -> None:
    message = corpus_body("ITI-44/PIX_FEED_REG_Maximal_Request.xml")
    answer = post(sim.url_for("pix"), PIX_ADD, message, message_id="urn:uuid:feed-1")
    assert answer.status_code == 200
    assert answer.action == "urn:hl7-org:v3:MCCI_IN000002UV01"
    assert answer.relates_to == "urn:uuid:feed-1"
    assert etree.QName(answer.body).localname == "MCCI_IN000002UV01"
    assert answer.ack_code == "AA"
    # the corpus feed has <id assigningAuthorityName="domain2" extension=.../> without root
    detail = answer.body.find(f"{h('acknowledgement')}/{h('acknowledgementDetail')}")
    assert detail is not None and detail.get("typeCode") == "W"
    target = answer.body.find(f"{h('acknowledgement')}/{h('targetMessage')}/{h('id')}")
    assert target is not None
    assert (target.get("root"), target.get("extension")) == (
        "21acf7be-007c-41e6-b176-d0969794983b", "345")
    # receiver of the answer is the sender of the feed
    receiver = answer.body.find(f"{h('receiver')}/{h('device')}/{h('id')}")
    assert receiver is not None and receiver.get("root") == "1.2.840.114350.1.13.99998.8734"


def test_pix_query_ok_nf_and_ae(sim: Simulator) -> None:
    url = sim.url_for("pix")
    assert post(url, PIX_ADD, corpus_body("ITI-44/PIX_FEED_REG_Maximal_Request.xml")).ack_code \
        == "AA"
    ok = post(url, PIX_QUERY, pix_query((MARY.root, MARY.extension), LOCAL[0]))
    assert (ok.ack_code, ok.query_code) == ("AA", "OK")
    ids = ok.body.findall(f".//{h('patient')}/{h('id')}")
    assert [(i.get("root"), i.get("extension")) for i in ids] == [LOCAL]
    query_id = ok.body.find(f"{h('controlActProcess')}/{h('queryAck')}/{h('queryId')}")
    assert query_id is not None and query_id.get("root") == "1.2.3.4.5"  # echoed

    assert post(url, PIX_ADD, feed_message(MARY, LOCAL, ("8.8.8", "Z"))).ack_code == "AA"
    everything = post(url, PIX_QUERY, pix_query((MARY.root, MARY.extension)))
    assert {(i.get("root"), i.get("extension")) for i in everything.body.findall(
        f".//{h('patient')}/{h('id')}")} == {LOCAL, ("8.8.8", "Z")}
    filtered = post(url, PIX_QUERY, pix_query((MARY.root, MARY.extension), "8.8.8"))
    assert len(filtered.body.findall(f".//{h('patient')}/{h('id')}")) == 1

    # known patient, no id in the requested (known) domain: NF
    post(url, PIX_ADD, feed_message(Patient("9.9.9", "other")))
    nf = post(url, PIX_QUERY, pix_query((MARY.root, MARY.extension), "9.9.9"))
    assert (nf.ack_code, nf.query_code, nf.subjects) == ("AA", "NF", [])

    unknown_domain = post(url, PIX_QUERY, pix_query((MARY.root, MARY.extension), "7.7.7"))
    assert (unknown_domain.ack_code, unknown_domain.query_code) == ("AE", "AE")
    assert unknown_domain.ack_detail_codes == ["204"]
    location = unknown_domain.body.findtext(f".//{h('acknowledgementDetail')}/{h('location')}")
    assert location is not None and location.endswith("dataSource/value")

    unknown_patient = post(url, PIX_QUERY, pix_query((MARY.root, "nobody"), LOCAL[0]))
    if sim.profile.name == "breaking":
        assert (unknown_patient.ack_code, unknown_patient.query_code) == ("AA", "NF")
    else:
        assert (unknown_patient.ack_code, unknown_patient.query_code) == ("AE", "AE")
        assert unknown_patient.ack_detail_codes == ["204"]


def test_revise_updates_demographics_unless_breaking(sim: Simulator) -> None:
    url = sim.url_for("pix")
    post(url, PIX_ADD, corpus_body("ITI-44/PIX_FEED_REG_Maximal_Request.xml"))
    revise = corpus_body("ITI-44/PIX_FEED_REV_Maximal_Request.xml")
    answer = post(url, PIX_REVISE, revise)
    expected = "AE" if sim.profile.name == "breaking" else "AA"
    assert answer.ack_code == expected


def test_revise_of_unknown_patient_is_an_error(sim: Simulator) -> None:
    revise = feed_message(Patient("1.2.3", "ghost"),
                          template="ITI-44/PIX_FEED_REV_Maximal_Request.xml")
    answer = post(sim.url_for("pix"), PIX_REVISE, revise)
    assert answer.ack_code == "AE"
    assert answer.ack_detail_codes == (["200"] if sim.profile.name == "breaking" else ["204"])


def test_merge_moves_identifiers_to_the_survivor(sim: Simulator) -> None:
    url = sim.url_for("pix")
    merge = corpus_body("ITI-44/PIX_FEED_MERGE_Maximal_Request.xml")
    unknown = post(url, PIX_MERGE, merge)
    assert (unknown.ack_code, unknown.ack_detail_codes) == ("AE", ["204"])
    survivor = Patient("1.2.3.4.5.1000", "120-01")
    subsumed = Patient("1.2.3.4.666", "120-02", family="DEAN")
    post(url, PIX_ADD, feed_message(survivor))
    post(url, PIX_ADD, feed_message(subsumed, ("5.5.5", "X-9")))
    assert post(url, PIX_MERGE, merge).ack_code == "AA"
    after = post(url, PIX_QUERY, pix_query((survivor.root, survivor.extension)))
    assert after.query_code == "OK"
    found = {(i.get("root"), i.get("extension"))
             for i in after.body.findall(f".//{h('patient')}/{h('id')}")}
    assert found == {("5.5.5", "X-9")}
    gone = post(url, PIX_QUERY, pix_query((subsumed.root, subsumed.extension)))
    assert gone.query_code == ("NF" if sim.profile.name == "breaking" else "AE")
    again = post(url, PIX_MERGE, merge)  # merges are not idempotent
    assert again.ack_code == "AE"


def test_invalid_feeds_are_answered_ae_or_ar(sim: Simulator) -> None:
    url = sim.url_for("pix")
    no_patient = feed_message(MARY)
    registration = no_patient.find(f".//{h('registrationEvent')}")
    assert registration is not None
    registration.remove(registration.find(h("subject1")))  # type: ignore[arg-type]
    answer = post(url, PIX_ADD, no_patient)
    assert (answer.ack_code, answer.ack_detail_codes) == ("AE", ["101"])

    mislabelled = feed_message(MARY)
    mislabelled.find(h("interactionId")).set("extension", "PRPA_IN201302UV02")  # type: ignore[union-attr]
    answer = post(url, PIX_ADD, mislabelled)
    assert (answer.ack_code, answer.ack_detail_codes) == ("AR", ["200"])

    first = post(url, PIX_ADD, feed_message(MARY))
    second = post(url, PIX_ADD, feed_message(Patient("4.4.4", "B")))
    assert first.ack_code == second.ack_code == "AA"
    conflicting = post(url, PIX_ADD, feed_message(MARY, ("4.4.4", "B")))
    assert (conflicting.ack_code, conflicting.ack_detail_codes) == ("AE", ["205"])


def test_epr_capture_feed_and_query(sim: Simulator) -> None:
    """The EPR projectathon capture (a full SOAP envelope) is accepted as sent."""
    raw = corpus_path("ITI-44/ITI-44_request_raw.xml").read_bytes()
    fed = post_raw(sim.url_for("pix"), raw, "application/soap+xml; charset=UTF-8")
    assert fed.ack_code == "AA"
    assert fed.relates_to == "urn:uuid:c12e1f14-c2c9-4a94-ba27-6511e8c90b78"
    query = pix_query(("2.16.756.5.30.1.127.3.10.3", "761337610435201235"),
                      "1.3.6.1.4.1.21367.2017.2.5.89")
    answer = post(sim.url_for("pix"), PIX_QUERY, query)
    ids = answer.body.findall(f".//{h('patient')}/{h('id')}")
    assert answer.query_code == "OK"
    assert [(i.get("root"), i.get("extension")) for i in ids] == [
        ("1.3.6.1.4.1.21367.2017.2.5.89", "TestSystemId")]
