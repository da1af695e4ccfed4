"""All reporters together: an interrupted run leaves nothing behind; memory does not grow."""

from __future__ import annotations

import io
import tracemalloc
from pathlib import Path

import pytest
from rich.console import Console

from ihe_test_util.report.base import ReporterSet, feed
from ihe_test_util.report.outputs import ReportOutputs
from ihe_test_util.report.terminal import TerminalReporter

from .conftest import leftovers
from .run_builder import FINISHED_AT, run_info, synthetic_results


def _outputs(folder: Path) -> ReportOutputs:
    return ReportOutputs(json=folder / "run.json", junit=folder / "junit.xml",
                         markdown=folder / "summary.md", html=folder / "run.html")


def test_interrupted_run_keeps_previous_reports_and_removes_spools(out_dir: Path) -> None:
    outputs = _outputs(out_dir)
    for _, path in outputs.named():
        path.write_text("previous run\n", encoding="utf-8")
    with pytest.raises(KeyboardInterrupt), ReporterSet(outputs.reporters()) as reporters:
        reporters.start(run_info())
        for number, result in enumerate(synthetic_results(50)):
            reporters.exchange(result)
            if number == 30:
                assert len(leftovers(out_dir)) == 3  # JSON, JUnit and HTML spools
                raise KeyboardInterrupt
    assert leftovers(out_dir) == []
    assert all(p.read_text(encoding="utf-8") == "previous run\n" for _, p in outputs.named())


def _peak(count: int, folder: Path) -> int:
    console = Console(file=io.StringIO(), width=100, no_color=True)
    tracemalloc.start()
    try:
        with ReporterSet([*_outputs(folder).reporters(), TerminalReporter(console)]) as rs:
            feed(rs, run_info(), synthetic_results(count), FINISHED_AT)
        return tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()


def test_memory_stays_flat_as_the_run_grows(tmp_path: Path) -> None:
    (tmp_path / "small").mkdir()
    (tmp_path / "large").mkdir()
    small = _peak(200, tmp_path / "small")
    large = _peak(2_000, tmp_path / "large")
    assert large < 1.5 * small, (small, large)  # 10x the exchanges, not 10x the memory
