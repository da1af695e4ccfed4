"""``ihe record`` of an HL7 v2 scenario (builders for ITI-8 / ITI-9 / ITI-21, a raw ER7
template, captures from HL7 v2 fields) against @medplum/hl7 (a node process), then replayed
through the CLI against a fresh instance."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ihe_test_util.cassette import load_cassette

from ..hl7_servers import start_medplum_hl7
from ..replay.test_replay_cli import ihe, validate

EXAMPLES = Path(__file__).parents[3] / "examples" / "scenarios"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("v2-scenario")
    shutil.copy(EXAMPLES / "pix-pdq-v2.yaml", folder)
    (folder / "requests").mkdir()
    shutil.copy(EXAMPLES / "requests" / "adt-a04.hl7", folder / "requests")
    with start_medplum_hl7() as server:
        result = ihe("record", str(folder / "pix-pdq-v2.yaml"), "--var", f"pix={server.url}",
                     "--cassette", str(folder / "v2.yaml"), cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "✓ 6/6 find the Meyers  ITI-21 -> pix  reply  MSA AA, query OK, 3 result(s)" in \
        result.stdout
    return folder / "v2.yaml"


def test_steps_build_v2_messages_and_capture_hl7_fields(recorded: Path) -> None:
    interactions = load_cassette(recorded).interactions
    assert [i.meta.transaction for i in interactions] == ["ITI-8"] * 4 + ["ITI-9", "ITI-21"]
    assert [i.request.body.split(b"|", 9)[8] for i in interactions] == [
        b"ADT^A01^ADT_A01", b"ADT^A01^ADT_A01", b"ADT^A08^ADT_A01", b"ADT^A04^ADT_A01",
        b"QBP^Q23^QBP_Q21", b"QBP^Q22^QBP_Q21"]
    # the template: ${...} filled, LF line ends made CR segment terminators
    assert b"\rPID|1||PAT3003^^^HZLN&1.3.6.1.4.1.21367.2005.3.7&ISO^PI||Meyer^Lena||" in \
        interactions[3].request.body
    assert b"\n" not in interactions[3].request.body
    assert interactions[0].meta.captured == {"ack_hans": "AA"}
    assert interactions[4].meta.captured == {"other_id": "OTH3001"}
    assert interactions[5].meta.captured == {"first_id": "PAT3001", "second_given": "Anna",
                                             "query_status": "OK"}


def test_the_recorded_scenario_replays_clean_against_a_fresh_server(recorded: Path) -> None:
    report = recorded.parent / "run.json"
    with start_medplum_hl7("--reverse") as fresh:
        result = ihe("replay", str(recorded), "--target", fresh.url, "--report-json",
                     str(report))
    assert result.returncode == 0, result.stdout + result.stderr
    exchanges = validate(report)["exchanges"]
    assert isinstance(exchanges, list)
    assert [e["outcome"] for e in exchanges] == ["pass"] * 6


def test_every_v2_problem_is_reported_at_once_with_file_and_line(tmp_path: Path) -> None:
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(
        "version: 1\nname: bad\nendpoints: {pix: 'mllp://127.0.0.1:9'}\nsteps:\n"
        "  - name: feed\n    transaction: ITI-8\n    endpoint: pix\n"
        "    with: {event: A99, patient: {ids: ['P1^^^&1.2.3&ISO']}}\n"
        "  - name: query\n    transaction: ITI-21\n    endpoint: pix\n"
        "    with: {parameters: {shoe_size: '42'}}\n"
        "  - name: pix\n    transaction: ITI-9\n    endpoint: pix\n"
        "    with: {patient_id: 'P1^^^&1.2.3&ISO', colour: red}\n", encoding="utf-8")
    result = ihe("record", str(scenario), "--cassette", str(tmp_path / "c.yaml"))
    assert result.returncode == 2, result.stdout + result.stderr
    out = result.stdout + result.stderr
    assert "bad.yaml:8" in out and "A99" in out
    assert "bad.yaml:12" in out and "shoe_size" in out
    assert "bad.yaml:16" in out and "colour" in out
    assert not (tmp_path / "c.yaml").exists()


def test_the_example_cassette_checks_and_replays_clean(tmp_path: Path) -> None:
    example = EXAMPLES.parent / "cassettes" / "pix-pdq-v2.yaml"
    checked = ihe("cassette", "check", str(example))
    assert checked.returncode == 0, checked.stdout + checked.stderr
    report = tmp_path / "run.json"
    with start_medplum_hl7() as fresh:
        result = ihe("replay", str(example), "--target", fresh.url, "--report-json",
                     str(report))
    assert result.returncode == 0, result.stdout + result.stderr
    exchanges = validate(report)["exchanges"]
    assert isinstance(exchanges, list)
    assert [e["outcome"] for e in exchanges] == ["pass"] * 6
