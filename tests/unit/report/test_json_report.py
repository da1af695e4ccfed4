"""The JSON run report: valid against the shared schema, atomic, ordered, streamed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from ihe_test_util.report.base import feed
from ihe_test_util.report.json_report import JsonReporter
from ihe_test_util.report.schema import SCHEMA_RESOURCE, report_schema
from ihe_test_util.results import REPORT_SCHEMA_ID, ExchangeResult, RunSummary

from .conftest import Run, leftovers
from .run_builder import FINISHED_AT, STARTED_AT, run_info


def test_report_is_valid_against_the_shared_schema(
    shared_schema: dict[str, Any], run_realistic: Run, out_dir: Path,
    results: list[ExchangeResult],
) -> None:
    path = out_dir / "run.json"
    run_realistic(JsonReporter(path))
    report = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(shared_schema).validate(report)
    assert report["schema"] == REPORT_SCHEMA_ID
    assert (report["started_at"], report["finished_at"]) == (STARTED_AT, FINISHED_AT)
    assert report["fail_on"] == "changed"
    assert report["targets"] == {"http://registry.example:8080": "http://127.0.0.1:9000"}
    assert report["summary"] == {"total": 18, "pass": 5, "changed": 6, "regression": 3,
                                 "error": 2, "skipped": 2} == \
        {"total": len(results), **{o: sum(r.outcome.value == o for r in results)
                                   for o in ("pass", "changed", "regression", "error",
                                             "skipped")}}
    assert list(report)[:7] == ["schema", "tool_version", "started_at", "finished_at",
                                "targets", "fail_on", "summary"]
    assert leftovers(out_dir) == []


def test_packaged_schema_is_the_shared_spec_plus_the_optional_interrupted_flag(
        shared_schema: dict[str, Any]) -> None:
    """The one addition to version 1 (issue 17): an optional top-level boolean
    ``interrupted``; everything else is the shared spec, word for word."""
    packaged_path = Path(__file__).parents[3] / "src/ihe_test_util/report" / SCHEMA_RESOURCE
    packaged = json.loads(packaged_path.read_text(encoding="utf-8"))
    assert report_schema() == packaged
    added = packaged["properties"].pop("interrupted")
    assert added["type"] == "boolean" and "interrupted" not in packaged["required"]
    assert "interrupted" not in shared_schema["properties"]
    assert packaged == shared_schema


def test_exchanges_are_sorted_by_cassette_and_index_whatever_the_finish_order(
    out_dir: Path, results: list[ExchangeResult],
) -> None:
    path = out_dir / "run.json"
    shuffled = results[::2] + results[1::2]  # as --jobs could interleave cassettes
    feed(JsonReporter(path), run_info(), shuffled, FINISHED_AT)
    items = json.loads(path.read_text(encoding="utf-8"))["exchanges"]
    keys = [(item["cassette"], item["index"]) for item in items]
    assert keys == sorted(keys)
    assert [item["id"] for item in items] == [r.id for r in sorted(
        results, key=lambda r: (r.cassette, r.index))]


def test_one_exchange_per_line_and_hostile_text_survives(
    run_realistic: Run, out_dir: Path,
) -> None:
    path = out_dir / "run.json"
    run_realistic(JsonReporter(path))
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[0] == "{" and lines[-2:] == ["  ]", "}"]
    exchange_lines = lines[lines.index('  "exchanges": [') + 1:-2]
    assert len(exchange_lines) == 18
    hostile = json.loads(path.read_text(encoding="utf-8"))["exchanges"]
    names = {item["name"] for item in hostile}
    assert any(name and "<script>" in name and "\x1b" in name for name in names)


def test_empty_run_writes_a_valid_report(
    shared_schema: dict[str, Any], out_dir: Path,
) -> None:
    path = out_dir / "empty.json"
    feed(JsonReporter(path), run_info(), [], FINISHED_AT)
    report = json.loads(path.read_text(encoding="utf-8"))
    jsonschema.Draft202012Validator(shared_schema).validate(report)
    assert report["exchanges"] == [] and report["summary"]["total"] == 0


def test_an_interrupted_run_keeps_the_previous_report_and_leaves_no_temp_files(
    out_dir: Path, results: list[ExchangeResult],
) -> None:
    path = out_dir / "run.json"
    path.write_text('{"previous": true}\n', encoding="utf-8")
    reporter = JsonReporter(path)
    reporter.start(run_info())
    reporter.exchange(results[0])
    assert len(leftovers(out_dir)) == 1  # the spool
    reporter.close()
    assert path.read_text(encoding="utf-8") == '{"previous": true}\n'
    assert leftovers(out_dir) == []


def test_failure_while_writing_keeps_the_previous_report(
    out_dir: Path, results: list[ExchangeResult], monkeypatch: pytest.MonkeyPatch,
) -> None:
    path = out_dir / "run.json"
    path.write_text("old\n", encoding="utf-8")
    reporter = JsonReporter(path)
    reporter.start(run_info())
    reporter.exchange(results[0])

    def disk_full(*_: object) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr("ihe_test_util.atomicfile.os.fsync", disk_full)
    with pytest.raises(OSError, match="No space"):
        reporter.finish(RunSummary(), FINISHED_AT)
    assert path.read_text(encoding="utf-8") == "old\n"
    assert leftovers(out_dir) == []
