"""Markdown (``--markdown``) for ``$GITHUB_STEP_SUMMARY`` and pull-request comments.

A headline with the run's verdict, a table by transaction and outcome, the grouped findings,
errors and skips grouped by reason, the exchanges' notes (objects of earlier replays not counted,
missing-state hints) and the first exchanges needing attention. No links (the
files they would point at are not in the pull request). Every value from a response is put in
a code span, so nothing a server sends can become markup, a link or HTML. The output stays
under ``max_bytes`` (GitHub accepts at most 1 MiB per step summary): rows that do not fit are
counted in a closing note instead.
"""

from __future__ import annotations

import re
from pathlib import Path

from ihe_test_util.report.atomic import atomic_text_file
from ihe_test_util.report.digest import RunDigest
from ihe_test_util.report.labels import (
    EMOJI,
    TABLE_ORDER,
    counts_phrase,
    not_run_phrase,
    one_line,
    run_outcome,
    transaction_label,
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

#: Stay clearly below GitHub's 1 MiB limit for one step summary.
DEFAULT_MAX_BYTES = 1_000_000
_BACKTICKS = re.compile(r"`+")
_SEVERITY_EMOJI = {Severity.REGRESSION: EMOJI[Outcome.REGRESSION],
                   Severity.CHANGED: EMOJI[Outcome.CHANGED]}


def md_code(value: str | None, limit: int = 100, *, in_table: bool = True) -> str:
    """``value`` as an inline code span: one line, shortened, safe in a table cell."""
    text = one_line(value, limit)
    if not text:
        return "*(empty)*"
    longest = max((len(run) for run in _BACKTICKS.findall(text)), default=0)
    fence = "`" * (longest + 1)
    if text.startswith("`") or text.endswith("`"):
        text = f" {text} "
    if in_table:
        text = text.replace("|", "\\|")
    return f"{fence}{text}{fence}"


class _Budget:
    """Lines that fit in a byte budget; what does not fit is counted, not written."""

    def __init__(self, max_bytes: int) -> None:
        self.lines: list[str] = []
        self.size = 0
        self.max_bytes = max_bytes

    def add(self, line: str, *, reserve: int = 0) -> bool:
        cost = len(line.encode("utf-8")) + 1
        if self.size + cost + reserve > self.max_bytes:
            return False
        self.lines.append(line)
        self.size += cost
        return True


class MarkdownReporter:
    """Writes the Markdown summary to ``path`` when the run finishes."""

    def __init__(self, path: Path, *, max_findings: int = 100, max_exchanges: int = 50,
                 max_bytes: int = DEFAULT_MAX_BYTES, title: str = "ihe replay") -> None:
        self.path = path
        self.title = title
        self.max_findings = max_findings
        self.max_bytes = max_bytes
        self._max_exchanges = max_exchanges
        self._info: RunInfo | None = None
        self._digest = RunDigest(attention_limit=max_exchanges)
        self._not_run = 0
        self._noted: list[tuple[str, tuple[str, ...]]] = []  # the first max_findings
        self._noted_total = 0

    def start(self, info: RunInfo) -> None:
        self._info = info
        self._digest = RunDigest(attention_limit=self._max_exchanges)
        self._not_run = 0
        self._noted = []
        self._noted_total = 0

    def exchange(self, result: ExchangeResult) -> None:
        self._digest.add(result)
        if result.notes:
            self._noted_total += 1
            if len(self._noted) < self.max_findings:
                self._noted.append((result.id, result.notes))
        if result.error is not None and result.error.type == NOT_RUN:
            self._not_run += 1

    def finish(self, summary: RunSummary, finished_at: str) -> None:
        with atomic_text_file(self.path) as out:
            out.write(self.render(summary, finished_at))

    def render(self, summary: RunSummary, finished_at: str) -> str:
        if self._info is None:
            raise RuntimeError("MarkdownReporter.render before start()")
        budget = _Budget(self.max_bytes)
        omitted = 0
        for line in self._head(self._info, summary, finished_at):
            budget.add(line)
        for section in (self._findings(), self._error_groups(), self._notes(),
                        self._attention()):
            for line in section:
                if not budget.add(line, reserve=300):
                    omitted += 1
        if omitted:
            budget.add("")
            budget.add(f"*{omitted} more lines not shown to stay within the size limit of "
                       f"a step summary; the JSON and HTML reports have everything.*")
        return "\n".join(budget.lines) + "\n"

    def _head(self, info: RunInfo, summary: RunSummary, finished_at: str) -> list[str]:
        overall = run_outcome(summary, info.fail_on)
        verdict = verdict_word(summary, info.fail_on)
        took = duration_seconds(info.started_at, finished_at)
        facts = [f"fail on {info.fail_on.value}", f"exit code {summary.exit_code(info.fail_on)}",
                 f"started {md_code(info.started_at, in_table=False)}"]
        if took is not None:
            facts.append(f"took {took:.1f} s")
        facts.append(f"ihe-test-utility {md_code(info.tool_version, 40, in_table=False)}")
        lines = [
            f"## {EMOJI[overall]} {self.title} {verdict}: {counts_phrase(summary)}", "",
            " · ".join(facts), "",
        ]
        interrupted = not_run_phrase(summary, self._not_run)
        if interrupted is not None:
            lines += [f"> **{interrupted}**", ""]
        rows = list(self._digest.matrix.rows())
        if not rows:
            return lines
        header = " | ".join(f"{EMOJI[o]} {o.value}" for o in TABLE_ORDER)
        lines += ["### Outcomes by transaction", "",
                  f"| transaction | {header} | total |",
                  "|---|" + "---:|" * (len(TABLE_ORDER) + 1)]
        for label, counts in rows:
            cells = " | ".join(str(counts[o]) for o in TABLE_ORDER)
            lines.append(f"| {md_code(label, 40)} | {cells} | {sum(counts.values())} |")
        totals = self._digest.matrix.totals()
        cells = " | ".join(f"**{totals[o]}**" for o in TABLE_ORDER)
        lines += [f"| **total** | {cells} | **{sum(totals.values())}** |", ""]
        return lines

    def _findings(self) -> list[str]:
        findings = self._digest.findings.findings()
        if not findings:
            return []
        shown = findings[: self.max_findings]
        lines = [f"### Findings ({len(findings)})", "",
                 "Differences grouped by transaction and location (`*` = positions that vary).",
                 "",
                 "| severity | transaction | location | exchanges | example |",
                 "|---|---|---|---:|---|"]
        for finding in shown:
            example = finding.example
            rule = f" (rule {md_code(', '.join(finding.rules), 60)})" if finding.rules else ""
            lines.append(
                f"| {_SEVERITY_EMOJI[finding.severity]} {finding.severity.value} "
                f"| {md_code(finding.transaction_label, 40)} | {md_code(finding.location, 160)} "
                f"| {finding.exchanges} | {md_code(example.recorded, 60)} → "
                f"{md_code(example.replayed, 60)}{rule} in {md_code(finding.example_ids[0])} |"
            )
        if len(findings) > len(shown):
            lines += ["", f"*{len(findings) - len(shown)} more findings in the JSON and HTML "
                          f"reports.*"]
        return [*lines, ""]

    def _error_groups(self) -> list[str]:
        groups = self._digest.findings.error_groups()
        if not groups:
            return []
        lines = ["### Errors and skipped exchanges", "",
                 "| outcome | transaction | reason | exchanges | example |",
                 "|---|---|---|---:|---|"]
        for group in groups[: self.max_findings]:
            lines.append(
                f"| {EMOJI[group.outcome]} {group.outcome.value} "
                f"| {md_code(group.transaction_label, 40)} | {md_code(group.error_type, 60)} "
                f"| {group.exchanges} | {md_code(group.example_message, 120)} in "
                f"{md_code(group.example_id)} |"
            )
        return [*lines, ""]

    def _notes(self) -> list[str]:
        if not self._noted:
            return []
        lines = [f"### Notes ({self._noted_total} exchanges)", "",
                 "What the comparison did not count and why an exchange may have failed.", "",
                 "| exchange | note |", "|---|---|"]
        for exchange_id, notes in self._noted:
            for note in notes:
                lines.append(f"| {md_code(exchange_id)} | {md_code(note, 400)} |")
        if self._noted_total > len(self._noted):
            lines += ["", f"*{self._noted_total - len(self._noted)} more exchanges with notes "
                          f"in the JSON and HTML reports.*"]
        return [*lines, ""]

    def _attention(self) -> list[str]:
        attention = self._digest.attention
        items = attention.items()
        if not items:
            return []
        count = (f"first {len(items)} of {attention.total}" if attention.total > len(items)
                 else str(attention.total))
        lines = ["<details><summary>Exchanges needing attention "
                 f"({count})</summary>", "",
                 "| exchange | outcome | transaction | step | what |", "|---|---|---|---|---|"]
        for item in items:
            lines.append(
                f"| {md_code(item.id)} | {EMOJI[item.outcome]} {item.outcome.value} "
                f"| {md_code(transaction_label(item.transaction), 40)} "
                f"| {md_code(item.name, 60) if item.name else ''} "
                f"| {md_code(item.detail, 200)} |"
            )
        return [*lines, "", "</details>", ""]
