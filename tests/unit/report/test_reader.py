"""Reading a JSON run report back: streamed when it is ours, validated, clear errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ihe_test_util.errors import UsageError
from ihe_test_util.report.json_report import JsonReporter
from ihe_test_util.report.reader import ReportReader
from ihe_test_util.report.timestamps import parse_timestamp
from ihe_test_util.results import ExchangeResult, FailOn

from .conftest import Run
from .run_builder import FINISHED_AT, STARTED_AT


@pytest.fixture
def report_path(run_realistic: Run, out_dir: Path) -> Path:
    path = out_dir / "run.json"
    run_realistic(JsonReporter(path))
    return path


def _read_all(path: Path) -> tuple[ReportReader, list[ExchangeResult]]:
    with ReportReader(path) as reader:
        reader.validate_header()
        return reader, list(reader.exchanges())


def test_reads_back_what_was_written(report_path: Path, results: list[ExchangeResult]) -> None:
    reader, read = _read_all(report_path)
    expected = sorted(results, key=lambda r: (r.cassette, r.index))
    assert [r.to_dict() for r in read] == [r.to_dict() for r in expected]
    assert reader.info.fail_on is FailOn.CHANGED
    assert reader.info.started_at == STARTED_AT
    assert reader.header["finished_at"] == FINISHED_AT
    assert reader.counted == reader.summary


@pytest.mark.parametrize("indent", [None, 2, "\t"])
def test_other_json_layouts_read_the_same(report_path: Path, indent: int | str | None) -> None:
    _, ours = _read_all(report_path)
    other = report_path.with_name("other.json")
    other.write_text(json.dumps(json.loads(report_path.read_text("utf-8")), indent=indent),
                     encoding="utf-8")
    _, theirs = _read_all(other)
    assert [r.to_dict() for r in theirs] == [r.to_dict() for r in ours]


def _rewrite(path: Path, edit: str, replacement: str) -> None:
    text = path.read_text("utf-8")
    assert edit in text
    path.write_text(text.replace(edit, replacement, 1), encoding="utf-8")


def test_invalid_exchange_names_file_and_member(report_path: Path) -> None:
    _rewrite(report_path, '"outcome": "regression"', '"outcome": "catastrophe"')
    with pytest.raises(UsageError, match=r"run\.json: not a valid run report: "
                                         r"exchanges\[\d+\]\.outcome: 'catastrophe'"):
        _read_all(report_path)


def test_invalid_header_names_member(report_path: Path) -> None:
    _rewrite(report_path, '"fail_on": "changed"', '"fail_on": "sometimes"')
    with pytest.raises(UsageError, match=r"fail_on: 'sometimes' is not one of"):
        _read_all(report_path)


def test_unsupported_schema_version_is_refused(report_path: Path) -> None:
    _rewrite(report_path, "run-report@1", "run-report@2")
    with pytest.raises(UsageError, match=r"report schema 'ihe-test-utility/run-report@2' is not "
                                         r"supported"):
        _read_all(report_path)


def test_truncated_report(report_path: Path) -> None:
    text = report_path.read_text("utf-8")
    report_path.write_text(text[: len(text) // 2], encoding="utf-8")
    with pytest.raises(UsageError, match=r"run\.json: document: not valid JSON"):
        _read_all(report_path)


def test_broken_line_inside_our_layout_names_the_line(report_path: Path) -> None:
    lines = report_path.read_text("utf-8").splitlines(keepends=True)
    lines[12] = '    {"id": oops},\n'
    report_path.write_text("".join(lines), encoding="utf-8")
    with pytest.raises(UsageError, match=r"run\.json: line 13: not valid JSON"):
        _read_all(report_path)


@pytest.mark.parametrize("content", [
    "[1, 2, 3]", "", "\xff\xfe", "[" * 100_000 + "]" * 100_000, '{"schema": 1}',
    '{"exchanges": {}}',
])
def test_garbage_is_a_usage_error_not_a_crash(tmp_path: Path, content: str) -> None:
    path = tmp_path / "bad.json"
    path.write_text(content, encoding="utf-8", errors="surrogateescape")
    with pytest.raises(UsageError, match=r"bad\.json"):
        _read_all(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match="cannot read the report"):
        ReportReader(tmp_path / "absent.json")


def test_bad_timestamp_is_refused(report_path: Path) -> None:
    _rewrite(report_path, STARTED_AT, "yesterday")
    with pytest.raises(UsageError, match="started_at: 'yesterday' is not an RFC 3339"):
        _read_all(report_path)


@pytest.mark.parametrize(("text", "iso"), [
    ("2025-01-15T10:00:00Z", "2025-01-15T10:00:00+00:00"),
    ("2025-01-15T11:00:00+01:00", "2025-01-15T11:00:00+01:00"),
    ("2025-01-15T10:00:00", "2025-01-15T10:00:00+00:00"),
])
def test_parse_timestamp(text: str, iso: str) -> None:
    assert parse_timestamp(text, source="x").isoformat() == iso
