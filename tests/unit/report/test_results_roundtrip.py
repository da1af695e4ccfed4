"""``from_dict`` reads back exactly what ``to_dict`` wrote, so JSON reports can be re-rendered."""

from __future__ import annotations

import json

import pytest

from ihe_test_util.results import (
    Difference,
    DifferenceKind,
    ExchangeResult,
    FailOn,
    Outcome,
    RunInfo,
    RunSummary,
    Severity,
)

from .run_builder import realistic_results, run_info


@pytest.mark.parametrize("result", realistic_results(), ids=lambda r: r.id)
def test_exchange_round_trips_through_json(result: ExchangeResult) -> None:
    data = json.loads(json.dumps(result.to_dict()))
    back = ExchangeResult.from_dict(data)
    assert back == result  # every field, not only what to_dict() happens to write
    assert back.outcome is result.outcome


def test_minimal_item_reads_with_defaults() -> None:
    item = {"id": "a.yaml#0", "cassette": "a.yaml", "index": 0, "transaction": None,
            "outcome": "skipped", "differences": []}
    result = ExchangeResult.from_dict(item)
    assert result.method is None and result.error is None and result.noise_suppressed == 0


def test_difference_reads_description_when_present() -> None:
    data = {"path": "http:status", "kind": "status", "severity": "regression",
            "recorded": "200", "replayed": "500", "rule": "http_status", "description": "HTTP"}
    difference = Difference.from_dict(data)
    assert difference.kind is DifferenceKind.STATUS
    assert difference.severity is Severity.REGRESSION
    assert difference.description == "HTTP"


def test_summary_and_info_round_trip() -> None:
    summary = RunSummary.of([Outcome.PASS, Outcome.ERROR, Outcome.ERROR])
    written = {"total": 3, "pass": 1, "changed": 0, "regression": 0, "error": 2, "skipped": 0}
    assert summary.to_dict() == written
    assert RunSummary.from_dict(written) == summary
    info = run_info(FailOn.REGRESSION)
    header = {"tool_version": info.tool_version, "started_at": info.started_at,
              "fail_on": "regression", "targets": dict(info.targets)}
    assert RunInfo.from_dict(header) == info
