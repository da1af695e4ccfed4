"""The terminal report (rich): progress while replaying, then what happened and what to look at.

While the run goes: a progress bar (only on an interactive terminal, never in CI logs or with
``--quiet``) and, as each exchange finishes that did not pass, a panel with its differences --
printed at once, so nothing accumulates. At the end: a table by transaction and outcome, the
grouped findings, errors grouped by reason, every skipped exchange with its reason (a skip is
never silent: what was not compared is listed by name), and the verdict with the exit code.

Every value from a response goes through :func:`~ihe_test_util.report.labels.one_line` and into
a :class:`rich.text.Text`, so it can carry neither markup nor terminal escape sequences. With a
fixed-width, colourless console the output is deterministic (snapshot-tested).
"""

from __future__ import annotations

from dataclasses import dataclass

from rich import box
from rich.console import Console, Group, RenderableType
from rich.panel import Panel
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table
from rich.text import Text

from ihe_test_util.report.digest import RunDigest
from ihe_test_util.report.labels import (
    TABLE_ORDER,
    counts_phrase,
    exchange_label,
    one_line,
    verdict_word,
)
from ihe_test_util.report.timestamps import duration_seconds
from ihe_test_util.results import (
    NOT_RUN,
    ExchangeResult,
    Outcome,
    RunInfo,
    RunSummary,
    Severity,
)

STYLE: dict[Outcome, str] = {
    Outcome.PASS: "green",
    Outcome.CHANGED: "yellow",
    Outcome.REGRESSION: "bold red",
    Outcome.ERROR: "magenta",
    Outcome.SKIPPED: "dim",
}
_SEVERITY_STYLE = {Severity.CHANGED: "yellow", Severity.REGRESSION: "bold red"}
_VERDICT_STYLE = {"PASSED": "bold green", "FAILED": "bold red", "ERRORS": "bold magenta",
                  "INTERRUPTED": "bold yellow"}


@dataclass(frozen=True)
class TerminalOptions:
    """How much to show. ``verbosity`` follows the global -q/-v: -1 quiet, 0 normal, 1+ more."""

    verbosity: int = 0
    progress: bool | None = None  # None: only on an interactive terminal
    max_panels: int = 50
    max_differences: int = 10
    max_findings: int = 20

    @classmethod
    def for_verbosity(cls, verbosity: int, *, progress: bool | None = None) -> TerminalOptions:
        if verbosity >= 2:
            return cls(verbosity, progress, max_panels=10**9, max_differences=10**9,
                       max_findings=10**9)
        if verbosity == 1:
            return cls(verbosity, progress, max_panels=500, max_differences=100,
                       max_findings=100)
        return cls(verbosity, progress)


class TerminalReporter:
    """Renders the run on ``console``; ``total`` (exchanges to replay) sizes the progress bar."""

    def __init__(self, console: Console, *, total: int | None = None,
                 options: TerminalOptions | None = None) -> None:
        self.console = console
        self.total = total
        self.options = options or TerminalOptions()
        self._info: RunInfo | None = None
        self._digest = RunDigest(attention_limit=0)
        self._progress: Progress | None = None
        self._task: TaskID | None = None
        self._panels = 0
        self._unshown = 0
        self._skipped: list[ExchangeResult] = []
        self._not_run: dict[str, list[int]] = {}  # cassette -> indexes an interrupted run left
        self._noted: list[ExchangeResult] = []

    @property
    def quiet(self) -> bool:
        return self.options.verbosity < 0

    def start(self, info: RunInfo) -> None:
        self._info = info
        self._digest = RunDigest(attention_limit=0)
        self._panels = self._unshown = 0
        self._skipped = []
        self._not_run = {}
        self._noted = []
        wanted = self.options.progress
        if wanted is None:
            wanted = self.console.is_terminal and not self.quiet
        if wanted:
            self._progress = Progress(
                TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                console=self.console, transient=True,
            )
            self._task = self._progress.add_task("replay", total=self.total)
            self._progress.start()

    def exchange(self, result: ExchangeResult) -> None:
        self._digest.add(result)
        if result.error is not None and result.error.type == NOT_RUN:
            # an interrupted run's remainder: one grouped line at the end, not a panel each
            self._not_run.setdefault(result.cassette, []).append(result.index)
            return
        if result.outcome is Outcome.SKIPPED:
            self._skipped.append(result)
        elif result.outcome is Outcome.PASS and result.notes:
            self._noted.append(result)
        if self._progress is not None and self._task is not None:
            self._progress.advance(self._task)
        if result.outcome is Outcome.PASS or self.quiet:
            return
        if self._panels < self.options.max_panels:
            self._panels += 1
            self.console.print(exchange_panel(result, self.options.max_differences))
        else:
            self._unshown += 1

    def finish(self, summary: RunSummary, finished_at: str) -> None:
        self.close()
        assert self._info is not None
        console = self.console
        if not self.quiet:
            if self._unshown:
                console.print(Text(f"... {self._unshown} more exchanges that did not pass are "
                                   f"not shown (-v shows more; the HTML report has all)",
                                   style="dim"))
            if summary.total:
                console.print(self._outcome_table())
            findings = self._findings_table()
            if findings is not None:
                console.print(findings)
            errors = self._errors_table()
            if errors is not None:
                console.print(errors)
            for line in noted_lines(self._noted):
                console.print(line, soft_wrap=True)
            for line in skipped_lines(self._skipped):
                console.print(line, soft_wrap=True)  # one line each: grep-able in CI logs
            for line in not_run_lines(self._not_run):
                console.print(line, soft_wrap=True)
        console.print(verdict_line(self._info, summary, finished_at), soft_wrap=True)

    def close(self) -> None:
        """Stop the progress bar (also when the run is interrupted)."""
        if self._progress is not None:
            self._progress.stop()
            self._progress = None

    def _outcome_table(self) -> Table:
        table = Table(title="Outcomes by transaction", box=box.SIMPLE_HEAVY, show_footer=True,
                      title_justify="left")
        totals = self._digest.matrix.totals()
        table.add_column("transaction", footer="total")
        for outcome in TABLE_ORDER:
            table.add_column(outcome.value, justify="right", style=STYLE[outcome],
                             footer=str(totals[outcome]))
        table.add_column("total", justify="right", footer=str(sum(totals.values())))
        for label, counts in self._digest.matrix.rows():
            table.add_row(Text(one_line(label, 40)), *(str(counts[o]) for o in TABLE_ORDER),
                          str(sum(counts.values())))
        return table

    def _findings_table(self) -> Table | None:
        findings = self._digest.findings.findings()
        if not findings:
            return None
        shown = findings[: self.options.max_findings]
        title = f"Findings: differences grouped by transaction and location ({len(findings)})"
        if len(shown) < len(findings):
            title += f", first {len(shown)}"
        table = Table(title=title, box=box.SIMPLE_HEAVY, title_justify="left", expand=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("transaction", no_wrap=True)
        table.add_column("exch.", justify="right")
        table.add_column("location, then an example: recorded -> replayed (exchange)",
                         overflow="fold", ratio=1)
        for finding in shown:
            example = finding.example
            where = Text(one_line(finding.location, 300))
            where.append(f"\n{one_line(example.recorded, 60)} -> {one_line(example.replayed, 60)}"
                         f" ({one_line(finding.example_ids[0], 100)})", style="dim")
            table.add_row(
                Text(finding.severity.value, style=_SEVERITY_STYLE[finding.severity]),
                Text(one_line(finding.transaction_label, 30)), str(finding.exchanges), where,
            )
        return table

    def _errors_table(self) -> Table | None:
        groups = self._digest.findings.error_groups()
        if not groups:
            return None
        table = Table(title="Errors and skipped exchanges by reason", box=box.SIMPLE_HEAVY,
                      title_justify="left", expand=True)
        table.add_column("outcome", no_wrap=True)
        table.add_column("transaction", no_wrap=True)
        table.add_column("reason", overflow="fold")
        table.add_column("exch.", justify="right")
        table.add_column("example", overflow="fold", ratio=2)
        for group in groups[: self.options.max_findings]:
            table.add_row(
                Text(group.outcome.value, style=STYLE[group.outcome]),
                Text(one_line(group.transaction_label, 30)),
                Text(one_line(group.error_type, 60)), str(group.exchanges),
                Text(f"{one_line(group.example_message, 160)} ({one_line(group.example_id)})"),
            )
        return table


def exchange_panel(result: ExchangeResult, max_differences: int = 10) -> Panel:
    """One exchange that did not pass: its differences, or why it has none."""
    parts: list[RenderableType] = []
    if result.differences:
        table = Table(box=None, show_header=True, pad_edge=False, expand=True)
        table.add_column("severity", no_wrap=True)
        table.add_column("path", overflow="fold", ratio=3)
        table.add_column("recorded -> replayed", overflow="fold", ratio=2)
        for difference in result.differences[:max_differences]:
            change = f"{one_line(difference.recorded, 60)} -> {one_line(difference.replayed, 60)}"
            if difference.rule:
                change += f" [{one_line(difference.rule, 40)}]"
            table.add_row(Text(difference.severity.value,
                               style=_SEVERITY_STYLE[difference.severity]),
                          Text(one_line(difference.shown_path, 300)), Text(change))
        parts.append(table)
        hidden = len(result.differences) - max_differences
        if hidden > 0:
            parts.append(Text(f"... and {hidden} more differences", style="dim"))
    if result.error is not None:
        parts.append(Text(one_line(f"{result.error.type}: {result.error.message}", 300)))
    for note in result.notes:
        parts.append(Text(f"note: {one_line(note, 600)}", style="dim"))
    if not parts:
        parts.append(Text("the responses differ (no details recorded)", style="dim"))
    title = Text(f"{result.outcome.value} ", style=STYLE[result.outcome])
    title.append(exchange_label(result), style="bold")
    return Panel(Group(*parts), title=title, title_align="left", border_style=STYLE[
        result.outcome], box=box.ROUNDED)


def noted_lines(noted: list[ExchangeResult]) -> list[Text]:
    """Exchanges that passed with a note (objects of earlier replays not counted, ...)."""
    if not noted:
        return []
    lines = [Text(f"Passed with notes ({len(noted)}):", style="bold")]
    for result in noted:
        for note in result.notes:
            line = Text(f"  {exchange_label(result)}: ", style=STYLE[Outcome.PASS])
            line.append(one_line(note, 300))
            lines.append(line)
    return lines


def skipped_lines(skipped: list[ExchangeResult]) -> list[Text]:
    """Every skipped exchange, one line each with its reason: what this run did not compare."""
    if not skipped:
        return []
    noun = "exchange" if len(skipped) == 1 else "exchanges"
    lines = [Text(f"Skipped {noun} ({len(skipped)}), not replayed:", style="bold")]
    for result in skipped:
        reason = (f"{result.error.type}: {result.error.message}" if result.error is not None
                  else "no reason recorded")
        line = Text(f"  {exchange_label(result)}: ", style=STYLE[Outcome.SKIPPED])
        line.append(one_line(reason, 300))
        lines.append(line)
    return lines


def not_run_lines(not_run: dict[str, list[int]]) -> list[Text]:
    """What an interrupted run did not replay: one line per cassette, indexes as ranges
    (``a.yaml: #2-#5``), so that 10,000 exchanges not run are not 10,000 lines."""
    if not not_run:
        return []
    count = sum(len(indexes) for indexes in not_run.values())
    noun = "exchange" if count == 1 else "exchanges"
    lines = [Text(f"Not run ({count} {noun}): the run was interrupted before them:",
                  style="bold")]
    for cassette in sorted(not_run):
        line = Text(f"  {one_line(cassette, 200)}: ", style=STYLE[Outcome.SKIPPED])
        line.append(one_line(index_ranges(not_run[cassette]), 300))
        lines.append(line)
    return lines


def index_ranges(indexes: list[int]) -> str:
    """``#0, #2-#5``: sorted exchange indexes with runs of consecutive ones collapsed."""
    parts: list[str] = []
    ordered = sorted(indexes)
    start = previous = ordered[0]
    for index in [*ordered[1:], None]:
        if index is not None and index == previous + 1:
            previous = index
            continue
        parts.append(f"#{start}" if start == previous else f"#{start}-#{previous}")
        if index is not None:
            start = previous = index
    return ", ".join(parts)


def verdict_line(info: RunInfo, summary: RunSummary, finished_at: str) -> Text:
    """``FAILED (exit 1): 3 regression, ... (18 exchanges); fail on changed; took 42.5 s``."""
    word = verdict_word(summary, info.fail_on)
    line = Text(f"{word} (exit {summary.exit_code(info.fail_on)})", style=_VERDICT_STYLE[word])
    line.append(f": {counts_phrase(summary)}; fail on {info.fail_on.value}")
    if summary.interrupted:
        line.append("; interrupted by Ctrl-C or SIGTERM, reports cover the exchanges done")
    took = duration_seconds(info.started_at, finished_at)
    if took is not None:
        line.append(f"; took {took:.1f} s")
    return line
