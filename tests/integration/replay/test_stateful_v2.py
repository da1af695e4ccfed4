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
