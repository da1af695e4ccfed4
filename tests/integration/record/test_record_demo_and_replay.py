"""The bundled demo scenario (what ``ihe demo`` records) through the engine API, and ``ihe
replay`` of a recorded cassette against a fresh simulator."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ihe_test_util.cassette import load_cassette
from ihe_test_util.record import (
    RecordEvent,
    RecordStarted,
    StepFinished,
    StepStatus,
    record_scenario,
)
from ihe_test_util.sim import Simulator
from ihe_test_util.transport.mtom import parse_multipart

from .conftest import ihe

DEMO = Path(str(resources.files("ihe_test_util.demo").joinpath("xds-roundtrip.yaml")))


def test_the_demo_scenario_records_the_xds_flow_and_replays_clean(tmp_path: Path) -> None:
    events: list[RecordEvent] = []
    cassette = tmp_path / "cassettes" / "xds-roundtrip.yaml"
    with Simulator() as sim:
        result = record_scenario(DEMO, endpoints_override=sim.urls(), cassette=cassette,
                                 on_event=events.append)
    assert result.exit_code == 0 and result.recorded == 7 and result.written
    assert isinstance(events[0], RecordStarted) and events[0].total == 7
    steps = [e.result for e in events if isinstance(e, StepFinished)]
    assert [s.status for s in steps] == [StepStatus.RECORDED] * 7
    assert [s.ihe_status for s in steps] == [
        "ack AA", "ack AA, query OK, 1 result(s)", "ack AA, query OK, 1 result(s)", "Success",
        "Success, 2 result(s)", "Success, 2 result(s)", "Success, 2 result(s)"]
    recorded = load_cassette(cassette)
    assert [i.meta.transaction for i in recorded.interactions] == [
        "ITI-44", "ITI-45", "ITI-47", "ITI-41", "ITI-18", "ITI-18", "ITI-43"]
    retrieve = recorded.interactions[-1].response
    documents = parse_multipart(retrieve.body, retrieve.content_type or "").attachments
    assert len(documents) == 2 and all(b"ClinicalDocument" in d.content for d in documents)

    with Simulator() as fresh:
        replay = ihe("replay", str(cassette), "--target", fresh.base_url)
    assert replay.exit_code == 0, replay.stdout + replay.stderr
    assert "7 pass" in replay.stdout
