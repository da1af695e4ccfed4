"""Reporters at scale: every format for 1,000 and 10,000 synthetic exchanges.

Figures are ratios against a baseline measured in the same run: ``json.dumps`` of the same
results held in a list (what a naive reporter would do). Time is per exchange; memory is the
tracemalloc peak, which should stay flat from 1,000 to 10,000 exchanges because reporters
stream to disk (the SQLite spools' own page cache is outside tracemalloc's view and bounded
by ``PRAGMA cache_size``).
"""

from __future__ import annotations

import io
import json
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from rich.console import Console
from tests.unit.report.run_builder import FINISHED_AT, run_info, synthetic_results

from ihe_test_util.report.base import ReporterSet, feed
from ihe_test_util.report.json_report import JsonReporter
from ihe_test_util.report.merge import merge_reports
from ihe_test_util.report.outputs import ReportOutputs
from ihe_test_util.report.terminal import TerminalReporter

SIZES = (1_000, 10_000)


def _baseline(count: int, folder: Path) -> None:
    results = list(synthetic_results(count))
    text = json.dumps({"exchanges": [r.to_dict() for r in results]})
    (folder / "baseline.json").write_text(text, encoding="utf-8")


def _reporters(count: int, folder: Path) -> None:
    outputs = ReportOutputs(json=folder / "run.json", junit=folder / "junit.xml",
                            markdown=folder / "summary.md", html=folder / "run.html")
    console = Console(file=io.StringIO(), width=100, no_color=True)
    with ReporterSet([*outputs.reporters(), TerminalReporter(console, total=count)]) as rs:
        feed(rs, run_info(), synthetic_results(count), FINISHED_AT)


def _one_format(name: str) -> Callable[[int, Path], None]:
    def job(count: int, folder: Path) -> None:
        outputs = ReportOutputs(**{name: folder / f"out.{name}"})
        with ReporterSet(outputs.reporters()) as rs:
            feed(rs, run_info(), synthetic_results(count), FINISHED_AT)

    return job


def _terminal_only(count: int, folder: Path) -> None:
    console = Console(file=io.StringIO(), width=100, no_color=True)
    feed(TerminalReporter(console, total=count), run_info(), synthetic_results(count),
         FINISHED_AT)


def _render_seconds(count: int) -> float:
    """What ``ihe report render`` does: read + validate every exchange, write all formats."""
    with tempfile.TemporaryDirectory() as name:
        folder = Path(name)
        source = folder / "source.json"
        feed(JsonReporter(source), run_info(), synthetic_results(count), FINISHED_AT)
        outputs = ReportOutputs(json=folder / "run.json", junit=folder / "junit.xml",
                                markdown=folder / "summary.md", html=folder / "run.html")
        started = time.perf_counter()
        with ReporterSet(outputs.reporters()) as rs:
            merge_reports([source], rs, spool_dir=folder)
        return time.perf_counter() - started


def _seconds(job: Callable[[int, Path], None], count: int) -> float:
    with tempfile.TemporaryDirectory() as folder:
        started = time.perf_counter()
        job(count, Path(folder))
        return time.perf_counter() - started


def _peak_bytes(job: Callable[[int, Path], None], count: int) -> int:
    with tempfile.TemporaryDirectory() as folder:
        tracemalloc.start()
        try:
            job(count, Path(folder))
            return tracemalloc.get_traced_memory()[1]
        finally:
            tracemalloc.stop()


def main() -> None:
    print(f"{'exchanges':>9}  {'baseline':>17}  {'all formats':>17}  {'ratio':>6}   "
          f"{'baseline peak':>13}  {'reporters peak':>14}  {'ratio':>6}")
    peaks: dict[int, int] = {}
    for count in SIZES:
        base_s, ours_s = _seconds(_baseline, count), _seconds(_reporters, count)
        base_m, ours_m = _peak_bytes(_baseline, count), _peak_bytes(_reporters, count)
        peaks[count] = ours_m
        print(f"{count:>9,}  {base_s / count * 1e6:>11.1f} us/ex  {ours_s / count * 1e6:>11.1f} "
              f"us/ex  {ours_s / base_s:>5.1f}x   {base_m / 2**20:>10.1f} MiB  "
              f"{ours_m / 2**20:>11.1f} MiB  {ours_m / base_m:>5.2f}x")
    small, large = SIZES
    base_s = _seconds(_baseline, large)
    print(f"\nper format, {large:,} exchanges (baseline {base_s / large * 1e6:.1f} us/ex):")
    jobs = {name: _one_format(name) for name in ("json", "junit", "markdown", "html")}
    jobs["terminal"] = _terminal_only
    for name, job in jobs.items():
        took = _seconds(job, large)
        print(f"  {name:<9} {took / large * 1e6:>7.1f} us/ex  {took / base_s:>5.1f}x")
    took = _render_seconds(large)
    print(f"  render from JSON (read, validate, all formats) {took / large * 1e6:.1f} us/ex  "
          f"{took / base_s:.1f}x")
    print(f"reporters' peak memory, {large:,} vs {small:,} exchanges: "
          f"{peaks[large] / peaks[small]:.2f}x (flat = 1.0x; the baseline grows "
          f"~{large // small}x)")


if __name__ == "__main__":
    main()
