"""What a recording produced, and the events that report it while it runs.

:class:`RecordResult` is the outcome (steps, rejected rows, the exit code); the events
(:class:`RecordStarted`, :class:`StepFinished`, :class:`RowRejected`) go to ``on_event`` as
the run goes, for a terminal view, JSON lines or ``ihe demo``.
"""

from __future__ import annotations

import enum
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ihe_test_util.record.data import RowProblem
from ihe_test_util.record.variables import Value


class StepStatus(enum.Enum):
    RECORDED = "recorded"  # an answer was obtained and written to the cassette
    FAILED = "failed"  # no answer (transport error): nothing written
    NOT_SENT = "not-sent"  # the request could not be built (missing variable, bad value)


@dataclass(frozen=True)
class StepResult:
    step: int
    name: str
    transaction: str
    endpoint: str
    status: StepStatus
    url: str | None = None
    row: int | None = None  # line of the CSV row
    http_status: int | None = None
    ihe_status: str | None = None
    duration_ms: float | None = None
    message: str | None = None
    hint: str | None = None
    captured: Mapping[str, Value] = field(default_factory=dict)
    warnings: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        return {
            "step": self.step, "name": self.name, "transaction": self.transaction,
            "endpoint": self.endpoint, "url": self.url, "row": self.row,
            "status": self.status.value, "http_status": self.http_status,
            "ihe_status": self.ihe_status,
            "duration_ms": round(self.duration_ms, 1) if self.duration_ms is not None
            else None,
            "message": self.message, "hint": self.hint, "captured": dict(self.captured),
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class RowRejected:
    """A CSV row that did not run, with every problem found in it."""

    data: str
    line: int
    problems: tuple[RowProblem, ...]
    steps: int  # steps that were planned for it

    def messages(self) -> list[str]:
        return [problem.render(self.data) for problem in self.problems]


@dataclass(frozen=True)
class RecordStarted:
    scenario: str
    cassette: Path
    total: int  # steps to run (steps x rows)
    endpoints: Mapping[str, str]


@dataclass(frozen=True)
class StepFinished:
    result: StepResult


RecordEvent = RecordStarted | StepFinished | RowRejected
EventHandler = Callable[[RecordEvent], None]


@dataclass
class RecordResult:
    scenario: str
    cassette: Path
    total: int = 0
    steps: list[StepResult] = field(default_factory=list)
    rejected_rows: list[RowRejected] = field(default_factory=list)
    interrupted: bool = False
    exchanges: int = 0  # interactions in the cassette file (0: not written, the old one kept)

    def count(self, status: StepStatus) -> int:
        return sum(1 for result in self.steps if result.status is status)

    @property
    def recorded(self) -> int:
        return self.count(StepStatus.RECORDED)

    @property
    def written(self) -> bool:
        """Whether the cassette file was (re)written."""
        return self.exchanges > 0

    @property
    def exit_code(self) -> int:
        """0 all recorded; 3 some step failed, was not sent, or a row was rejected; 130 Ctrl-C."""
        if self.interrupted:
            return 130
        if self.rejected_rows or any(r.status is not StepStatus.RECORDED for r in self.steps):
            return 3
        return 0

    def as_dict(self) -> dict[str, Any]:
        return {
            "scenario": self.scenario, "cassette": str(self.cassette),
            "written": self.written, "exchanges": self.exchanges, "total": self.total,
            "recorded": self.recorded,
            "failed": self.count(StepStatus.FAILED),
            "not_sent": self.count(StepStatus.NOT_SENT),
            "rejected_rows": [{"line": r.line, "problems": r.messages()}
                              for r in self.rejected_rows],
            "interrupted": self.interrupted, "exit_code": self.exit_code,
            "steps": [result.as_dict() for result in self.steps],
        }
