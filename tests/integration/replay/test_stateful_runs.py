"""Replays stay green night after night on one stateful system (issue 11, "Done when").

Every replay run has its own identity space: the patients its cassettes feed get this run's
ids, family name and birth date, client-chosen ids carry the run's marker, and objects of earlier
runs or of the recording are set aside with a note. Everything goes through the real CLI
against ``ihe sim --state FILE`` run as a separate process (restarted with another profile
on the same state file: an in-place upgrade).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ihe_test_util.cassette import load_cassette, save_cassette
from ihe_test_util.model import Cassette
from ihe_test_util.sim import Simulator
from ihe_test_util.transport.http import HttpTransport, TransportOptions

from ...conftest import REPO_ROOT
from ..test_sim_cli import running_sim
from .test_replay_cli import ihe, validate

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

EXAMPLES = REPO_ROOT / "cassettes"


def _replay(target: str, report: Path, *paths: Path, config: Path | None = None,
            extra: tuple[str, ...] = ()) -> tuple[int, dict[str, Any], str]:
    options = ["--config", str(config)] if config is not None else []
    result = ihe(*options, "replay", *map(str, paths), "--target", target,
                 "--report-json", str(report), *extra)
    return result.returncode, validate(report), result.stdout + result.stderr


def test_example_cassettes_stay_green_on_one_persistent_simulator(tmp_path: Path) -> None:
    """Three nights on one state file, then the same state upgraded in place: compatible
    passes, breaking fails naming the real regressions only."""
    state = tmp_path / "sim.sqlite"
    with running_sim("--state", str(state)) as (_, info):
        for night in (1, 2, 3):
            code, data, output = _replay(str(info["base_url"]), tmp_path / f"night-{night}.json",
                                         EXAMPLES, config=EXAMPLES / "ihe.toml")
            assert code == 0, f"night {night}:\n{output}"
            assert data["summary"]["pass"] == data["summary"]["total"] == 22
    with running_sim("--state", str(state), "--profile", "compatible") as (_, info):
        code, data, output = _replay(str(info["base_url"]), tmp_path / "compatible.json",
                                     EXAMPLES, config=EXAMPLES / "ihe.toml")
        assert code == 0, output
    with running_sim("--state", str(state), "--profile", "breaking") as (_, info):
        code, data, output = _replay(str(info["base_url"]), tmp_path / "breaking.json",
                                     EXAMPLES, config=EXAMPLES / "ihe.toml")
    assert code == 1, output
    regressions = {(e["id"], d["rule"]) for e in data["exchanges"]
                   if e["outcome"] == "regression"
                   for d in e["differences"] if d["severity"] == "regression"}
    # The breaking profile's two real regressions (docs/simulator.md), nothing from old data.
    assert regressions == {("xds-documents.yaml#3", "ITI-18 verdict result_count"),
                           ("pix-pdq.yaml#1", "ITI-44 verdict ack_code")}, regressions
    assert data["summary"]["skipped"] == 0


def test_the_demo_recorded_on_a_persistent_simulator_replays_green_three_times(
        tmp_path: Path) -> None:
    """The README's main job: record the round trip on a system (its data stays there), then
    replay it against that same system, night after night."""
    state = tmp_path / "sim.sqlite"
    cassettes = tmp_path / "cassettes"
    scenario = REPO_ROOT / "examples" / "scenarios" / "xds-roundtrip.yaml"
    with running_sim("--state", str(state)) as (_, info):
        base = str(info["base_url"])
        recorded = ihe("record", str(scenario), "--var", f"base={base}",
                       "--cassette", str(cassettes / "xds-roundtrip.yaml"))
        assert recorded.returncode == 0, recorded.stdout + recorded.stderr
        for night in (1, 2, 3):
            code, data, output = _replay(base, tmp_path / f"night-{night}.json", cassettes)
            assert code == 0, f"night {night}:\n{output}"
            assert data["summary"]["pass"] == data["summary"]["total"] == 7


def test_objects_of_earlier_runs_are_a_note_not_a_difference(recorded_flow: Path,
                                                             tmp_path: Path) -> None:
    """Submissions for a patient no cassette of the run creates (it was fed before, as by the
    recording): every run adds documents for the same patient. The next runs' FindDocuments
    also return the earlier runs' documents; they carry those runs' markers, so they are named
    in a note and this run's results are judged without them."""
    flow = load_cassette(recorded_flow)
    submit = tmp_path / "submit.yaml"
    save_cassette(submit, Cassette(flow.interactions[3:], flow.meta))
    with Simulator(profile="baseline", state_path=tmp_path / "sim.sqlite") as sim:
        feed = flow.interactions[0].request
        with HttpTransport(TransportOptions()) as transport:
            transport.send(feed.evolve(uri=sim.url_for("pix")))  # the patient, as recorded
        formats = ("--junit", str(tmp_path / "junit.xml"), "--markdown", str(tmp_path / "r.md"),
                   "--html", str(tmp_path / "r.html"))
        runs = [_replay(sim.base_url, tmp_path / f"run-{n}.json", submit,
                        extra=formats if n == 3 else ()) for n in (1, 2, 3)]
    for code, _, output in runs:
        assert code == 0, output
    notes = {e["name"]: e.get("notes", []) for e in runs[2][1]["exchanges"]}
    assert any("4 ObjectRef of earlier replays (run " in note  # 2 documents x 2 runs
               for note in notes["find documents"]), notes
    assert "Passed with notes" in runs[2][2]
    assert not runs[0][1]["exchanges"][1].get("notes")  # the first run met nothing old
    # The same notes in every report format.
    note = next(n for n in notes["find documents"] if "of earlier replays" in n)
    junit = (tmp_path / "junit.xml").read_text(encoding="utf-8")
    assert f"<system-out>note: {note}" in junit.replace("&gt;", ">")
    assert note in (tmp_path / "r.md").read_text(encoding="utf-8")
    html = (tmp_path / "r.html").read_text(encoding="utf-8")
    assert '<ul class="notes">' in html and html.count("of earlier replays (run ") >= 1
