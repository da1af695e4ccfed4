"""Every reporter is fed from one redaction step: no format shows what another hides."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from ihe_test_util.cassette import Redactor
from ihe_test_util.record.results import RecordResult, StepFinished, StepResult, StepStatus
from ihe_test_util.report.base import ReporterSet
from ihe_test_util.report.terminal_record import RecordView, write_json
from ihe_test_util.results import ExchangeError, ExchangeResult, Outcome, RunInfo, RunSummary

TOKEN = "tok-6f5e4d3c2b1a"


class Collecting:
    def __init__(self) -> None:
        self.results: list[ExchangeResult] = []

    def start(self, info: RunInfo) -> None:
        return

    def exchange(self, result: ExchangeResult) -> None:
        self.results.append(result)

    def finish(self, summary: RunSummary, finished_at: str) -> None:
        return


def test_the_reporter_set_redacts_each_result_before_any_reporter_sees_it() -> None:
    first, second = Collecting(), Collecting()
    reporters = ReporterSet([first, second], Redactor(secrets={"api_token": TOKEN}).result)
    reporters.exchange(ExchangeResult(
        "c.yaml#0", "c.yaml", 0, Outcome.ERROR, replayed_uri=f"http://h/?t={TOKEN}",
        error=ExchangeError("TransportError", f"reset by http://h/?t={TOKEN}")))
    assert first.results == second.results
    (result,) = first.results
    assert TOKEN not in repr(result)
    assert result.replayed_uri == "http://h/?t=[[ihe-secret:api_token]]"


def test_record_lines_and_json_show_no_secret(capsys: pytest.CaptureFixture[str]) -> None:
    redactor = Redactor(secrets={"api_token": TOKEN})
    step = StepResult(1, "query", "ITI-45", "pix", StepStatus.FAILED,
                      url=f"http://h/pix?t={TOKEN}",
                      message="reset by http://h/pix?access_token=srv-issued-1",
                      warnings=(f"echoed Bearer {TOKEN}",), captured={"token": [TOKEN]})
    write_json(RecordResult("s", Path("c.yaml"), total=1, steps=[step]), redactor)
    printed = capsys.readouterr().out
    shown = io.StringIO()
    view = RecordView(Console(file=shown, width=200, no_color=True), verbosity=1,
                      redactor=redactor)
    view.event(StepFinished(step))
    for text in (printed, shown.getvalue()):
        assert TOKEN not in text and "srv-issued-1" not in text, text
        assert "[[ihe-secret:api_token]]" in text
    assert json.loads(printed)["steps"][0]["captured"] == {"token": ["[[ihe-secret:api_token]]"]}
