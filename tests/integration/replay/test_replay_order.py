"""Cassettes replay in the order given on the command line, not alphabetically (issue 11).

A patient feed and the submissions that need it, recorded as two cassettes whose names sort
the wrong way round: given feed first, the submissions find their patient on a fresh system.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ihe_test_util.cassette import load_cassette, save_cassette
from ihe_test_util.model import Cassette
from ihe_test_util.sim import Simulator

from .test_replay_cli import ihe

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def _split(recorded: Path, folder: Path) -> tuple[Path, Path]:
    """``z-feed.yaml`` (the ITI-44 feed) and ``a-submit.yaml`` (ITI-41, 18, 18, 43)."""
    flow = load_cassette(recorded)
    transactions = [i.meta.transaction for i in flow.interactions]
    assert transactions == ["ITI-44", "ITI-45", "ITI-47", "ITI-41", "ITI-18", "ITI-18",
                            "ITI-43"]
    feed, submit = folder / "z-feed.yaml", folder / "a-submit.yaml"
    save_cassette(feed, Cassette(flow.interactions[:1], flow.meta))
    save_cassette(submit, Cassette(flow.interactions[3:], flow.meta))
    return feed, submit


def _replay(paths: list[Path], report: Path) -> tuple[int, str, dict[str, Any]]:
    """Exit code, output and JSON report of ``ihe replay PATHS`` against a fresh simulator."""
    with Simulator(profile="baseline") as sim:
        result = ihe("replay", *map(str, paths), "--target", sim.base_url,
                     "--report-json", str(report))
    data = json.loads(report.read_text(encoding="utf-8"))
    return result.returncode, result.stdout + result.stderr, data


def test_cassettes_replay_in_the_order_given(recorded_flow: Path, tmp_path: Path) -> None:
    feed, submit = _split(recorded_flow, tmp_path)
    code, output, data = _replay([feed, submit], tmp_path / "run.json")
    assert code == 0, output
    assert data["summary"]["pass"] == data["summary"]["total"] == 5


def test_the_order_given_is_the_order_run_so_the_wrong_order_fails(
    recorded_flow: Path, tmp_path: Path,
) -> None:
    """The submissions given first meet a registry that does not know their patient."""
    feed, submit = _split(recorded_flow, tmp_path)
    code, output, data = _replay([submit, feed], tmp_path / "run.json")
    assert code == 1, output
    outcomes = {(e["cassette"], e["transaction"]): e["outcome"] for e in data["exchanges"]}
    assert outcomes[("a-submit.yaml", "ITI-41")] == "regression"
    assert outcomes[("z-feed.yaml", "ITI-44")] == "pass"
