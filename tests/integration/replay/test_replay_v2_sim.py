"""Issue 14's last "done when": the example HL7 v2 session (examples/scenarios/pix-pdq-v2.yaml)
recorded with ``ihe record`` against ``ihe sim``'s MLLP port, then replayed with ``ihe replay``
against fresh simulators: baseline and compatible pass (exit 0), breaking regresses by name
(exit 1)."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from ihe_test_util.sim import Simulator

from .test_replay_cli import ihe, validate

EXAMPLES = Path(__file__).parents[3] / "examples" / "scenarios"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("v2-sim")
    shutil.copy(EXAMPLES / "pix-pdq-v2.yaml", folder)
    shutil.copytree(EXAMPLES / "requests", folder / "requests")
    with Simulator() as sim:
        result = ihe("record", str(folder / "pix-pdq-v2.yaml"), "--var", f"pix={sim.mllp_url}",
                     "--cassette", str(folder / "v2.yaml"), cwd=folder)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "6/6 find the Meyers  ITI-21 -> pix  reply  MSA AA, query OK, 3 result(s)" in \
        result.stdout
    assert "5/6 other ids of Hans  ITI-9 -> pix  reply  MSA AA, query OK, 1 result(s)" in \
        result.stdout
    return folder / "v2.yaml"


def _replay(cassette: Path, profile: str) -> tuple[int, str, list[dict[str, object]]]:
    report = cassette.parent / f"{profile}.json"
    with Simulator(profile=profile) as sim:
        result = ihe("replay", str(cassette), "--target", sim.mllp_url, "--report-json",
                     str(report))
    exchanges = validate(report)["exchanges"]
    assert isinstance(exchanges, list)
    return result.returncode, result.stdout + result.stderr, exchanges


@pytest.mark.parametrize("profile", ["baseline", "compatible"])
def test_baseline_and_compatible_pass(recorded: Path, profile: str) -> None:
    code, out, exchanges = _replay(recorded, profile)
    assert code == 0, out
    assert [e["outcome"] for e in exchanges] == ["pass"] * 6


def test_breaking_regresses_by_name(recorded: Path) -> None:
    code, out, exchanges = _replay(recorded, "breaking")
    assert code == 1, out
    outcomes = {str(e["transaction"]): str(e["outcome"]) for e in exchanges}
    assert outcomes == {"ITI-8": "pass", "ITI-9": "regression", "ITI-21": "changed"}
    assert "QAK" in out and "OK -> NF" in out  # v2-known-patient-nf
    assert "PID.7" in out or "PID-7" in out  # v2-birth-date-dropped
