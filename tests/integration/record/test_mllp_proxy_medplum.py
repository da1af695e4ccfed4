"""Issue 14's "done when": the MLLP recording proxy in front of a real v2 server (@medplum/hl7,
a node process), a session of feeds and queries from an ordinary HL7 client (python-hl7's
``mllp_send``, one connection), replayed through the CLI against fresh instances: a clean
one passes (patients come back in another order), one that answers AE or drops a patient is
flagged with exit 1."""

from __future__ import annotations

import datetime as dt
import json
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest

from ihe_test_util.cassette import load_cassette
from ihe_test_util.ihe.builders.hl7v2 import MessageHeader, iti8_feed, iti9_query, iti21_query
from ihe_test_util.ihe.builders.patients import PatientDemographics, PatientId, PersonName
from ihe_test_util.ihe.identifiers import IdGenerator

from ..hl7_servers import mllp_send, start_medplum_hl7
from ..replay.test_replay_cli import ihe, validate
from .test_proxy_cli import running_proxy

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

HEADER = MessageHeader("HIS", "HOSPITAL", "PIXMGR", "IHE")
DOMAIN, OTHER = "1.3.6.1.4.1.21367.2005.3.7", "1.3.6.1.4.1.21367.2005.3.8"


def fixed_ids() -> IdGenerator:
    """The same MSH-7 / MSH-10 / QPD-2 on every build of the session."""
    numbers = iter(range(1, 1000))
    return IdGenerator(clock=lambda: dt.datetime(2030, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc),
                       uuid_factory=lambda: uuid.UUID(int=next(numbers) * 1_000_003))


def session() -> list[bytes]:
    """Four feeds (two patients named Meyer, an update, a third patient), a PIX query and a
    PDQ query, as an HIS would send them."""
    ids = fixed_ids()
    hans = PatientDemographics(
        ids=(PatientId("PAT1001", DOMAIN, "HZLN"), PatientId("OTH9001", OTHER, "OTHR")),
        name=PersonName("Meyer", ("Hans",)), gender="M", birth_date="19700101")
    anna = PatientDemographics(ids=(PatientId("PAT1002", DOMAIN, "HZLN"),),
                               name=PersonName("Meyer", ("Anna",)), gender="F",
                               birth_date="19710202")
    otto = PatientDemographics(ids=(PatientId("PAT1003", DOMAIN, "HZLN"),),
                               name=PersonName("Keller", ("Otto",)), gender="M")
    return [
        iti8_feed(hans, header=HEADER, ids=ids).body,
        iti8_feed(anna, event="A04", header=HEADER, ids=ids).body,
        iti8_feed(PatientDemographics(ids=anna.ids, name=PersonName("Meyer", ("Anna", "Lena")),
                                      gender="F", birth_date="19710202"),
                  event="A08", header=HEADER, ids=ids).body,
        iti8_feed(otto, header=HEADER, ids=ids).body,
        iti9_query(hans.ids[0], domains=[OTHER], header=HEADER, ids=ids).body,
        iti21_query({"family": "Meyer"}, header=HEADER, ids=ids).body,
    ]


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("mllp-record")
    with start_medplum_hl7() as upstream, running_proxy(folder, upstream.url) as proxy:
        assert proxy.url.startswith("mllp://127.0.0.1:")
        sent = mllp_send(proxy.url, session(), folder)
        code, events = proxy.stop()
    assert sent.returncode == 0, sent.stdout + sent.stderr
    assert sent.stdout.count("MSA|AA|") == 6, sent.stdout
    assert code == 0, events
    exchanges = [e for e in events if e["event"] == "exchange"]
    assert [e["path"] for e in exchanges] == ["ADT^A01", "ADT^A04", "ADT^A08", "ADT^A01",
                                              "QBP^Q23", "QBP^Q22"]
    assert [e["transaction"] for e in exchanges] == ["ITI-8"] * 4 + ["ITI-9", "ITI-21"]
    return folder / "cassettes" / "p.yaml"


def test_the_cassette_holds_each_message_and_reply_exactly_one_segment_per_line(
        recorded: Path) -> None:
    interactions = load_cassette(recorded).interactions
    assert len(interactions) == 6
    assert all(i.request.method == "MLLP" and i.request.uri.startswith("mllp://127.0.0.1:")
               for i in interactions)
    # what mllp_send put on the wire (its --loose reading drops the last CR), byte for byte
    assert [i.request.body for i in interactions] == [m.rstrip(b"\r") for m in session()]
    text = recorded.read_text(encoding="utf-8")
    assert "\n      PID|1||PAT1001^^^HZLN&" in text  # a segment starts a line of the file
    pdq = interactions[5].response.body.decode()
    assert pdq.count("\rPID|") == 2 and "\rQRI|100" in pdq
    checked = ihe("cassette", "check", str(recorded))
    assert checked.returncode == 0, checked.stdout + checked.stderr


def test_the_cassette_loads_in_vcrpy(recorded: Path) -> None:
    from vcr.serialize import deserialize
    from vcr.serializers import yamlserializer

    requests, responses = deserialize(recorded.read_text(encoding="utf-8"), yamlserializer)
    assert [r.method for r in requests] == ["MLLP"] * 6
    assert responses[5]["body"]["string"] == load_cassette(recorded).interactions[5].response.body


def replay(cassette: Path, target: str, expect_exit: int) -> list[dict[str, Any]]:
    report = cassette.parent / f"run-{abs(hash(target))}.json"
    result = ihe("replay", str(cassette), "--target", target, "--report-json", str(report))
    assert result.returncode == expect_exit, result.stdout + result.stderr
    exchanges = validate(report)["exchanges"]
    assert isinstance(exchanges, list)
    return exchanges


def test_replay_against_a_fresh_instance_passes_with_patients_in_another_order(
        recorded: Path) -> None:
    with start_medplum_hl7("--reverse") as fresh:
        exchanges = replay(recorded, fresh.url, expect_exit=0)
    assert [e["outcome"] for e in exchanges] == ["pass"] * 6, json.dumps(exchanges, indent=1)


def test_replay_against_a_server_answering_ae_is_flagged(recorded: Path) -> None:
    with start_medplum_hl7("--ack", "AE") as broken:
        exchanges = replay(recorded, broken.url, expect_exit=1)
    assert [e["outcome"] for e in exchanges] == ["regression"] * 6
    assert exchanges[0]["verdict"]["replayed"]["msa_code"] == "AE"
    assert exchanges[5]["verdict"]["replayed"]["query_response_code"] == "AE"


def test_replay_against_a_server_dropping_a_patient_flags_the_query(recorded: Path) -> None:
    with start_medplum_hl7("--drop-last") as lossy:
        exchanges = replay(recorded, lossy.url, expect_exit=1)
    assert [e["outcome"] for e in exchanges] == ["pass"] * 5 + ["regression"]
    assert exchanges[5]["verdict"]["recorded"]["result_count"] == 2
    assert exchanges[5]["verdict"]["replayed"]["result_count"] == 1
