"""What ``ihe record SCENARIO`` shows: progress, one line per step, a summary table, or JSON.

People get a progress bar (steps done, rate, ETA) on an interactive terminal, one status line
per step as it finishes, and a summary table; ``--json`` prints one JSON object instead. Reads
the recorder's events and result only (the recorder prints nothing).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from dataclasses import replace

from rich import box
from rich.console import Console
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    ProgressColumn,
    Task,
    TaskID,
    TextColumn,
    TimeRemainingColumn,
)
from rich.table import Table
from rich.text import Text

from ihe_test_util.cassette.redact import Redactor
from ihe_test_util.record.results import (
    RecordEvent,
    RecordResult,
    RecordStarted,
    RowRejected,
    StepFinished,
    StepResult,
    StepStatus,
)

_MARK = {StepStatus.RECORDED: ("✓", "green"), StepStatus.FAILED: ("✗", "bold red"),
         StepStatus.NOT_SENT: ("–", "yellow")}


class _RateColumn(ProgressColumn):
    def render(self, task: Task) -> Text:
        speed = task.finished_speed or task.speed
        return Text(f"{speed:.1f} steps/s" if speed else "", style="dim")


class RecordView:
    """Renders record events on a rich console, then the summary (:meth:`finish`); URLs,
    messages and captured values redacted by ``redactor`` (``Redactor.from_settings``)."""

    def __init__(self, console: Console, verbosity: int,
                 redactor: Redactor | None = None) -> None:
        self.console = console
        self.verbosity = verbosity
        self.redactor = redactor or Redactor()
        self.total = 0
        self.done = 0
        self.progress: Progress | None = None
        self.task: TaskID | None = None

    def event(self, event: RecordEvent) -> None:
        if isinstance(event, RecordStarted):
            self._started(event)
        elif isinstance(event, StepFinished):
            self._advance(1)
            self._step(event.result)
        elif isinstance(event, RowRejected):
            self._advance(event.steps)
            for message in event.messages():
                self._print(Text.assemble(("✗ row rejected ", "bold red"), message))

    def _started(self, event: RecordStarted) -> None:
        self.total = event.total
        self._print(Text.assemble("recording ", (event.scenario, "bold"), " -> ",
                                  (str(event.cassette), "bold")))
        if self.verbosity > 0:
            for name, url in event.endpoints.items():
                self._print(Text(f"  {name:12} {self.redactor.uri(url)}", style="dim"))
        if self.console.is_terminal and self.verbosity >= 0:
            self.progress = Progress(
                TextColumn("recording"), BarColumn(), MofNCompleteColumn(), _RateColumn(),
                TextColumn("ETA"), TimeRemainingColumn(), console=self.console,
                transient=True,
            )
            self.task = self.progress.add_task("record", total=event.total)
            self.progress.start()

    def _advance(self, steps: int) -> None:
        self.done += steps
        if self.progress is not None and self.task is not None:
            self.progress.advance(self.task, steps)

    def _print(self, text: Text) -> None:
        if self.verbosity >= 0:
            self.console.print(text, soft_wrap=True)

    def _step(self, result: StepResult) -> None:
        result = redact_step(result, self.redactor)
        mark, style = _MARK[result.status]
        where = f"row {result.row} " if result.row is not None else ""
        line = Text.assemble(
            (f"{mark} ", style), (f"{self.done}/{self.total} ", "dim"), (where, "dim"),
            (result.name, "bold"), f"  {result.transaction} -> {result.endpoint}",
        )
        if result.status is StepStatus.RECORDED:
            mllp = (result.url or "").lower().startswith(("mllp://", "mllps://"))
            line.append("  reply" if mllp else f"  HTTP {result.http_status}")
            if result.ihe_status:
                line.append(f"  {result.ihe_status}", style=_status_style(result))
            if result.duration_ms is not None:
                line.append(f"  {result.duration_ms:.0f} ms", style="dim")
        else:
            label = "failed" if result.status is StepStatus.FAILED else "not sent"
            line.append(f"  {label}: {result.message}", style=style)
        self._print(line)
        if result.hint and result.status is not StepStatus.RECORDED:
            self._print(Text(f"    hint: {result.hint}", style="dim"))
        for warning in result.warnings:
            self._print(Text(f"    warning: {warning}", style="yellow"))
        if self.verbosity > 0 and result.captured:
            for name, value in result.captured.items():
                shown = ", ".join(value) if isinstance(value, list) else value
                self._print(Text(f"    captured {name} = {shown}", style="dim"))

    def finish(self, result: RecordResult) -> None:
        if self.progress is not None:
            self.progress.stop()
        if self.verbosity < 0 and not result.steps:
            return
        self.console.print(summary_table(result))
        if result.written:
            self.console.print(Text.assemble(
                "cassette: ", (str(result.cassette), "bold"),
                f" ({result.exchanges} exchange(s), secrets redacted)"))
        else:
            self.console.print(Text("nothing recorded: the cassette was not written "
                                    "(an existing file is left as it was)", style="yellow"))


def _status_style(result: StepResult) -> str:
    words = (result.ihe_status or "").lower()
    bad = ("fault", "failure", "ack ae", "ack ar", "ack ce", "ack cr", "query ae", "query qe",
           "errors ")
    return "yellow" if any(word in words for word in bad) else "green"


def summary_table(result: RecordResult) -> Table:
    """Steps by transaction and status, with totals."""
    table = Table(title=f"ihe record {result.scenario}", box=box.SIMPLE_HEAD,
                  title_justify="left")
    table.add_column("transaction")
    for status in StepStatus:
        table.add_column(status.value, justify="right")
    counts: Counter[tuple[str, StepStatus]] = Counter(
        (step.transaction, step.status) for step in result.steps)
    for transaction in dict.fromkeys(step.transaction for step in result.steps):
        table.add_row(transaction, *(str(counts[(transaction, s)] or "") for s in StepStatus))
    table.add_row(Text("total", style="bold"),
                  *(Text(str(result.count(s)), style="bold") for s in StepStatus))
    if result.rejected_rows:
        table.caption = f"{len(result.rejected_rows)} CSV row(s) rejected"
    return table


def redact_step(result: StepResult, redactor: Redactor) -> StepResult:
    """A step result as people may see it: URL, message, hint, warnings, captures redacted."""
    return replace(
        result, url=result.url and redactor.uri(result.url),
        message=result.message and redactor.text(result.message),
        hint=result.hint and redactor.text(result.hint),
        warnings=tuple(redactor.text(warning) for warning in result.warnings),
        captured=redactor.data(dict(result.captured)),
    )


def write_json(result: RecordResult, redactor: Redactor | None = None) -> None:
    """``--json``: the whole result as one JSON object on stdout, redacted."""
    data = result.as_dict()
    redactor = redactor or Redactor()
    data["steps"] = [redact_step(step, redactor).as_dict() for step in result.steps]
    sys.stdout.write(json.dumps(redactor.data(data), indent=2) + "\n")
    sys.stdout.flush()


def print_interrupted(errors: Console, result: RecordResult) -> None:
    """After Ctrl-C or SIGTERM: what was kept."""
    errors.print(Text(f"interrupted: {result.exchanges} completed exchange(s) kept in "
                      f"{result.cassette}" if result.written else
                      "interrupted before any exchange completed: no cassette written",
                      style="bold yellow"))
