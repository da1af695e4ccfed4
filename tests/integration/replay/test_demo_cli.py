"""``ihe demo``: the README's first command, end to end, no network."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest


def demo(tmp_path: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ihe_test_util", "--no-color", "demo", "--dir",
         str(tmp_path / "demo"), *args],
        capture_output=True, text=True, timeout=120, env={**os.environ, "COLUMNS": "120"},
    )


def test_demo_records_upgrades_replays_and_reports(tmp_path: Path) -> None:
    result = demo(tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "as it should" in result.stdout
    report = json.loads((tmp_path / "demo" / "reports" / "run.json").read_text())
    assert report["summary"]["regression"] >= 1
    assert (tmp_path / "demo" / "reports" / "run.html").is_file()
    assert "run.html" in result.stdout
    assert (tmp_path / "demo" / "cassettes" / "xds-roundtrip.yaml").is_file()


def test_demo_with_a_compatible_upgrade_finds_no_regression(tmp_path: Path) -> None:
    result = demo(tmp_path, "--upgrade", "compatible")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "demo" / "reports" / "run.json").read_text())
    assert report["summary"]["pass"] == report["summary"]["total"] == 7


@pytest.mark.parametrize("content", ["precious.txt"])
def test_demo_never_deletes_a_folder_it_did_not_make(tmp_path: Path, content: str) -> None:
    (tmp_path / "demo").mkdir()
    (tmp_path / "demo" / content).write_text("keep me")
    result = demo(tmp_path)
    assert result.returncode == 2
    assert (tmp_path / "demo" / content).read_text() == "keep me"


def test_demo_fhir_tells_the_story_on_mhd_pdqm_and_pixm(tmp_path: Path) -> None:
    result = demo(tmp_path, "--fhir")
    assert result.returncode == 0, result.stdout + result.stderr
    assert "as it should" in result.stdout
    assert "recorded ITI-65  provide a document " in result.stdout
    report = json.loads((tmp_path / "demo" / "reports" / "run.json").read_text())
    regressed = {e["transaction"] for e in report["exchanges"] if e["outcome"] == "regression"}
    assert regressed == {"ITI-65", "ITI-66", "ITI-67", "ITI-83"}, result.stdout
    assert (tmp_path / "demo" / "cassettes" / "mhd-pdqm-pixm.yaml").is_file()


def test_demo_fhir_with_a_compatible_upgrade_finds_no_regression(tmp_path: Path) -> None:
    result = demo(tmp_path, "--fhir", "--upgrade", "compatible")
    assert result.returncode == 0, result.stdout + result.stderr
    report = json.loads((tmp_path / "demo" / "reports" / "run.json").read_text())
    assert report["summary"]["pass"] == report["summary"]["total"] == 12
