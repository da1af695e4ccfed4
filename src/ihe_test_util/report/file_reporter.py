"""The base of the file reports that list every exchange (JSON, JUnit, HTML).

Each exchange is rendered to text the moment it finishes and spooled to disk; at ``finish`` the
file is written atomically from the spool, in (cassette, index) order. Subclasses say how one
exchange is rendered and how the whole file is laid out -- nothing else.
"""

from __future__ import annotations

import abc
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from ihe_test_util.report.atomic import atomic_text_file
from ihe_test_util.report.base import Closing
from ihe_test_util.report.exchange_spool import ExchangeSpool
from ihe_test_util.results import ExchangeResult, RunInfo, RunSummary


class SpooledFileReporter(Closing, abc.ABC):
    """Renders exchanges as they finish into a spool beside ``path``; writes ``path`` at finish."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._info: RunInfo | None = None
        self._spool: ExchangeSpool | None = None

    @abc.abstractmethod
    def render(self, result: ExchangeResult) -> str:
        """One exchange as it will appear in the file."""

    @abc.abstractmethod
    def write(self, out: TextIO, info: RunInfo, summary: RunSummary, finished_at: str,
              exchanges: Iterator[str], count: int) -> None:
        """The whole file; ``exchanges`` yields the ``count`` rendered exchanges in order."""

    @abc.abstractmethod
    def observe(self, result: ExchangeResult) -> None:
        """Gather what the file's header needs (counters, findings) from each exchange."""

    def start(self, info: RunInfo) -> None:
        self.close()
        self._info = info
        self._spool = ExchangeSpool(self.path)

    def exchange(self, result: ExchangeResult) -> None:
        spool = self._require_spool()
        self.observe(result)
        spool.add(result.cassette, result.index, self.render(result))

    def finish(self, summary: RunSummary, finished_at: str) -> None:
        spool = self._require_spool()
        assert self._info is not None
        try:
            with atomic_text_file(self.path) as out:
                self.write(out, self._info, summary, finished_at, spool.ordered(), len(spool))
        finally:
            self.close()

    def close(self) -> None:
        """Delete the spool (idempotent; also after an interrupted run)."""
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def _require_spool(self) -> ExchangeSpool:
        if self._spool is None:
            raise RuntimeError(f"{type(self).__name__} used outside start() ... finish()")
        return self._spool
