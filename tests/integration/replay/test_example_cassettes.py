"""The example cassettes shipped in ``cassettes/`` replay against ``ihe sim`` as documented."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from ihe_test_util.sim import Simulator

from ...conftest import REPO_ROOT

CASSETTES = REPO_ROOT / "cassettes"


def replay(profile: str, report: Path) -> tuple[int, dict[str, object], str]:
    with Simulator(profile=profile) as sim:
        result = subprocess.run(
            [sys.executable, "-m", "ihe_test_util", "--no-color", "--config",
             str(CASSETTES / "ihe.toml"), "replay", str(CASSETTES),
             "--target", sim.base_url, "--report-json", str(report)],
            capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "120"},
        )
    return result.returncode, json.loads(report.read_text()), result.stdout + result.stderr


@pytest.mark.parametrize("profile", ["baseline", "compatible"])
def test_examples_pass_on_baseline_and_compatible_servers(profile: str, tmp_path: Path) -> None:
    code, report, output = replay(profile, tmp_path / "run.json")
    assert code == 0, output
    summary = report["summary"]
    assert summary["pass"] == summary["total"] > 0  # type: ignore[index]


def test_examples_regress_on_the_breaking_server_naming_the_regressions(tmp_path: Path) -> None:
    code, report, output = replay("breaking", tmp_path / "run.json")
    assert code == 1, output
    regressions = {
        (e["id"], d["rule"])
        for e in report["exchanges"] if e["outcome"] == "regression"  # type: ignore[attr-defined]
        for d in e["differences"] if d["severity"] == "regression"
    }
    # GetDocuments drops a document; a PIX revise feed is answered AE (docs/simulator.md).
    assert ("xds-documents.yaml#3", "ITI-18 verdict result_count") in regressions, regressions
    assert ("pix-pdq.yaml#1", "ITI-44 verdict ack_code") in regressions, regressions
    assert "xds-documents.yaml#3" in output and "pix-pdq.yaml#1" in output
