"""The reporter protocol and the fan-out that feeds one result stream to several reporters.

Every output format consumes the same stream (``start``, one ``exchange`` per finished
exchange, ``finish``), so the engine never knows which formats were asked for and memory stays
flat however many exchanges a run has: reporters spool to disk, never to lists.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from typing import Protocol, TypeVar, runtime_checkable

from ihe_test_util.results import ExchangeResult, RunInfo, RunSummary


class Reporter(Protocol):
    """One output format. Calls come from one thread, in the order start, exchange*, finish."""

    def start(self, info: RunInfo) -> None: ...

    def exchange(self, result: ExchangeResult) -> None: ...

    def finish(self, summary: RunSummary, finished_at: str) -> None: ...


@runtime_checkable
class Closeable(Protocol):
    """Reporters holding temporary storage release it in ``close`` (idempotent)."""

    def close(self) -> None: ...


_Self = TypeVar("_Self", bound="Closing")


class Closing:
    """``with`` support for objects whose ``close`` releases temporary files or handles."""

    def close(self) -> None:
        raise NotImplementedError

    def __enter__(self: _Self) -> _Self:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


class ReporterSet(Closing):
    """A reporter that forwards to several; as a context manager it releases their temp files.

    ``with ReporterSet(reporters) as report: ...`` guarantees that an interrupted run leaves no
    spool files behind, while a finished run has already written every report.

    ``redact`` (``Redactor.result``) is applied to each result once, before any reporter sees
    it: no format, terminal included, can show a secret another one hides.
    """

    def __init__(self, reporters: Iterable[Reporter],
                 redact: Callable[[ExchangeResult], ExchangeResult] | None = None) -> None:
        self.reporters: Sequence[Reporter] = tuple(reporters)
        self.redact = redact

    def start(self, info: RunInfo) -> None:
        for reporter in self.reporters:
            reporter.start(info)

    def exchange(self, result: ExchangeResult) -> None:
        if self.redact is not None:
            result = self.redact(result)
        for reporter in self.reporters:
            reporter.exchange(result)

    def finish(self, summary: RunSummary, finished_at: str) -> None:
        for reporter in self.reporters:
            reporter.finish(summary, finished_at)

    def close(self) -> None:
        for reporter in self.reporters:
            if isinstance(reporter, Closeable):
                reporter.close()


def feed(
    reporter: Reporter, info: RunInfo, results: Iterable[ExchangeResult], finished_at: str,
) -> RunSummary:
    """Stream ``results`` through ``reporter`` and return the summary counted on the way."""
    summary = RunSummary()
    reporter.start(info)
    for result in results:
        summary.add(result.outcome)
        reporter.exchange(result)
    reporter.finish(summary, finished_at)
    return summary
