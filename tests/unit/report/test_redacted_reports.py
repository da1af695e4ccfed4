"""Every reporter is fed from one redaction step: no format shows what another hides."""

from __future__ import annotations

from ihe_test_util.cassette import Redactor
from ihe_test_util.report.base import ReporterSet
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
