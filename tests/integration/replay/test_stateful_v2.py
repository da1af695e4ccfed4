"""HL7 v2 feeds in the run's identity space (issue 11): patients an ITI-8 feed creates (ADT^A01 /
A04 / A05) get this run's PID-3 ids, family name and birth date, used the same way in the run's
later A08, ITI-9 and ITI-21 messages and mapped back by the comparer. The example cassette,
recorded from @medplum/hl7, replays green night after night against one such server process
that keeps every registration (``--duplicates``: an A01 of a known id registers the patient
again, as an MPI keeping duplicates for later linking does), run through the real CLI: without
the identity space the second night's PDQ query by family name finds six Meyers, not three."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ...conftest import REPO_ROOT
from ..hl7_servers import start_medplum_hl7
from ..test_sim_cli import running_sim
from .test_replay_cli import ihe, validate

CASSETTE = REPO_ROOT / "examples" / "cassettes" / "pix-pdq-v2.yaml"


def _replay(target: str, report: Path) -> tuple[int, dict[str, Any], str]:
    result = ihe("replay", str(CASSETTE), "--target", target, "--report-json", str(report))
    return result.returncode, validate(report), result.stdout + result.stderr


def test_v2_feeds_replay_green_twice_against_a_server_that_keeps_its_patients(
        tmp_path: Path) -> None:
    with start_medplum_hl7("--duplicates") as server:
        runs = [_replay(server.url, tmp_path / f"night-{night}.json") for night in (1, 2, 3)]
        log = "".join(server.log)
    for night, (code, data, output) in enumerate(runs, 1):
        assert code == 0, f"night {night}:\n{output}\n{log[-2000:]}"
        assert data["summary"]["pass"] == data["summary"]["total"] == 6, output
    # The PDQ query by the family name found each night's three patients only.
    for _, data, _ in runs:
        query = next(e for e in data["exchanges"] if e["name"] == "find the Meyers")
        assert query["verdict"]["replayed"] == query["verdict"]["recorded"]


def test_v2_cassette_recorded_on_a_persistent_simulator_replays_green_three_times(
        tmp_path: Path) -> None:
    """``ihe sim --state FILE --mllp-port 0``: the v2 scenario recorded on it (its patients stay
    there), then replayed against the same simulator night after night, and once more after a
    restart on the same state file. The simulator updates a patient fed again under a known id,
    so this shows the run's varied ids, names and birth dates accepted and mapped back by a
    second real PIX / PDQ v2 implementation; the test above is the one a shared space fails."""
    state = tmp_path / "sim.sqlite"
    scenario = REPO_ROOT / "examples" / "scenarios" / "pix-pdq-v2.yaml"
    cassette = tmp_path / "cassettes" / "pix-pdq-v2.yaml"
    with running_sim("--state", str(state), "--mllp-port", "0") as (_, info):
        target = str(info["mllp_url"])
        recorded = ihe("record", str(scenario), "--var", f"pix={target}",
                       "--cassette", str(cassette), cwd=scenario.parent)
        assert recorded.returncode == 0, recorded.stdout + recorded.stderr
        runs = [ihe("replay", str(cassette), "--target", target, "--report-json",
                    str(tmp_path / f"night-{night}.json")) for night in (1, 2, 3)]
    with running_sim("--state", str(state), "--mllp-port", "0") as (_, info):
        runs.append(ihe("replay", str(cassette), "--target", str(info["mllp_url"]),
                        "--report-json", str(tmp_path / "restarted.json")))
    for night, run in enumerate(runs, 1):
        assert run.returncode == 0, f"run {night}:\n{run.stdout}{run.stderr}"
    for report in [*(tmp_path / f"night-{n}.json" for n in (1, 2, 3)),
                   tmp_path / "restarted.json"]:
        data = validate(report)
        assert data["summary"]["pass"] == data["summary"]["total"] >= 5
