"""Merging shard reports: header rules, warnings, flat streaming through a spool."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path

import pytest

from ihe_test_util.errors import UsageError
from ihe_test_util.report.base import ReporterSet, feed
from ihe_test_util.report.json_report import JsonReporter
from ihe_test_util.report.merge import merge_reports
from ihe_test_util.report.outputs import ReportOutputs
from ihe_test_util.results import ExchangeResult, FailOn, RunInfo, RunSummary

from .conftest import leftovers
from .run_builder import FINISHED_AT, realistic_results, run_info


class Collect:
    """A reporter that keeps what it was given (fine for a handful of exchanges)."""

    def __init__(self) -> None:
        self.info: RunInfo | None = None
        self.ids: list[str] = []
        self.summary: RunSummary | None = None
        self.finished_at = ""

    def start(self, info: RunInfo) -> None:
        self.info = info

    def exchange(self, result: ExchangeResult) -> None:
        self.ids.append(result.id)

    def finish(self, summary: RunSummary, finished_at: str) -> None:
        self.summary, self.finished_at = summary, finished_at


def _shard(path: Path, results: list[ExchangeResult], info: RunInfo | None = None,
           finished_at: str = FINISHED_AT) -> Path:
    feed(JsonReporter(path), info or run_info(), results, finished_at)
    return path


def test_order_summary_and_times(tmp_path: Path) -> None:
    results = realistic_results()
    late = replace(run_info(), started_at="2025-01-15T10:00:10Z")
    early = replace(run_info(), started_at="2025-01-15T09:00:00+00:00")
    shards = [_shard(tmp_path / "a.json", results[10:], late, "2025-01-15T10:05:00Z"),
              _shard(tmp_path / "b.json", results[:10], early, "2025-01-15T10:01:00Z")]
    sink = Collect()
    merged = merge_reports(shards, sink, spool_dir=tmp_path)
    assert sink.ids == [r.id for r in sorted(results, key=lambda r: (r.cassette, r.index))]
    assert sink.info is not None and sink.info.started_at == "2025-01-15T09:00:00+00:00"
    assert sink.finished_at == "2025-01-15T10:05:00Z"
    assert sink.summary == RunSummary.of(r.outcome for r in results) == merged.summary
    assert merged.warnings == []
    assert leftovers(tmp_path) == []


def test_warnings_for_versions_targets_and_inconsistent_summary(tmp_path: Path) -> None:
    results = realistic_results()
    other = replace(run_info(), tool_version="0.2.0",
                    targets={"http://registry.example:8080": "http://127.0.0.1:9999"})
    a = _shard(tmp_path / "a.json", results[:4])
    b = _shard(tmp_path / "b.json", results[4:], other)
    report = json.loads(b.read_text("utf-8"))
    report["summary"]["pass"] += 7
    b.write_text(json.dumps(report), encoding="utf-8")
    sink = Collect()
    merged = merge_reports([a, b], sink)
    assert sink.info is not None and sink.info.tool_version == "0.1.0, 0.2.0"
    assert sink.info.targets == {"http://registry.example:8080": "http://127.0.0.1:9000"}
    assert len(merged.warnings) == 3
    assert "different versions: 0.1.0, 0.2.0" in merged.warnings[0]
    assert "does not match its exchanges" in merged.warnings[2]


def test_fail_on_override(tmp_path: Path) -> None:
    a = _shard(tmp_path / "a.json", realistic_results()[:3])
    sink = Collect()
    merge_reports([a], sink, fail_on=FailOn.NEVER)
    assert sink.info is not None and sink.info.fail_on is FailOn.NEVER


def test_nothing_to_merge() -> None:
    with pytest.raises(UsageError, match="no run reports"):
        merge_reports([], Collect())


def test_a_bad_shard_leaves_no_output_and_no_temp_files(tmp_path: Path) -> None:
    good = _shard(tmp_path / "a.json", realistic_results()[:3])
    bad = tmp_path / "b.json"
    bad.write_text("{}", encoding="utf-8")
    out = tmp_path / "out"
    out.mkdir()
    outputs = ReportOutputs(json=out / "all.json", html=out / "all.html")
    with pytest.raises(UsageError, match=r"b\.json"), ReporterSet(outputs.reporters()) as rs:
        merge_reports([good, bad], rs, spool_dir=out)
    assert list(out.iterdir()) == []


def test_outputs_check(tmp_path: Path) -> None:
    ReportOutputs(json=tmp_path / "a.json", html=tmp_path / "a.html").check()
    with pytest.raises(UsageError, match="would both be written"):
        ReportOutputs(json=tmp_path / "a.json", junit=tmp_path / "a.json").check()
    with pytest.raises(UsageError, match="is a directory"):
        ReportOutputs(html=tmp_path).check()
    ReportOutputs(markdown=tmp_path / "x" / "s.md").check()
    assert (tmp_path / "x").is_dir()  # missing report folders are created
    (tmp_path / "f").write_text("")
    with pytest.raises(UsageError):
        ReportOutputs(markdown=tmp_path / "f" / "s.md").check()
    assert [name for name, _ in ReportOutputs(junit=tmp_path / "j", html=tmp_path / "h")
            .named()] == ["junit", "html"]


def test_outputs_check_accepts_special_files(tmp_path: Path) -> None:
    if not Path("/dev/null").exists():
        pytest.skip("no /dev/null")
    ReportOutputs(markdown=Path("/dev/null")).check()


def test_an_interrupted_shard_makes_the_merged_run_interrupted(tmp_path: Path) -> None:
    results = realistic_results()
    a = _shard(tmp_path / "a.json", results[:5])
    interrupted = RunSummary.of(r.outcome for r in results[5:])
    interrupted.interrupted = True
    path = tmp_path / "b.json"
    reporter = JsonReporter(path)
    reporter.start(run_info())
    for result in results[5:]:
        reporter.exchange(result)
    reporter.finish(interrupted, FINISHED_AT)
    assert json.loads(path.read_text("utf-8"))["interrupted"] is True
    assert "interrupted" not in json.loads(a.read_text("utf-8"))
    sink = Collect()
    merged = merge_reports([a, path], sink)
    assert sink.summary is not None and sink.summary.interrupted
    assert merged.summary.exit_code(FailOn.NEVER) == 130
    complete = merge_reports([a], Collect())
    assert not complete.summary.interrupted
