"""Words and one-line renderings shared by every human-readable format.

One place decides how an outcome is named, in which order outcomes are listed, and how a
possibly hostile value (newlines, escape sequences, megabytes of XML) becomes one safe line.
"""

from __future__ import annotations

import re

from ihe_test_util.results import (
    EXIT_INTERRUPTED,
    NOT_RUN,
    Difference,
    ExchangeResult,
    FailOn,
    Outcome,
    RunSummary,
)

#: Column order of tables: the schema's order.
TABLE_ORDER: tuple[Outcome, ...] = (
    Outcome.PASS, Outcome.CHANGED, Outcome.REGRESSION, Outcome.ERROR, Outcome.SKIPPED,
)

#: Order of lists of exchanges and findings: what needs attention first.
ATTENTION_ORDER: tuple[Outcome, ...] = (
    Outcome.REGRESSION, Outcome.ERROR, Outcome.CHANGED, Outcome.SKIPPED, Outcome.PASS,
)
_ATTENTION_RANK = {outcome: rank for rank, outcome in enumerate(ATTENTION_ORDER)}

#: Emoji for Markdown (terminals render their widths inconsistently, so only Markdown uses them).
EMOJI: dict[Outcome, str] = {
    Outcome.PASS: "✅",
    Outcome.CHANGED: "🟡",
    Outcome.REGRESSION: "❌",
    Outcome.ERROR: "💥",
    Outcome.SKIPPED: "⏭️",
}

UNKNOWN_TRANSACTION = "(unrecognised)"
ABSENT = "(absent)"

_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED_ESCAPES = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def attention_rank(outcome: Outcome) -> int:
    return _ATTENTION_RANK[outcome]


def transaction_label(transaction: str | None) -> str:
    return transaction or UNKNOWN_TRANSACTION


def one_line(value: str | None, limit: int = 120) -> str:
    """``value`` as one printable line: control characters escaped, long text shortened."""
    if value is None:
        return ABSENT
    if len(value) > limit * 4:  # do not escape megabytes only to cut them
        value = value[: limit * 4]
    text = _CONTROL.sub(_escape_control, value)
    return shorten(text, limit)


def shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    return text[: max(limit - 1, 0)] + "…"


def _escape_control(match: re.Match[str]) -> str:
    char = match.group()
    if char in _NAMED_ESCAPES:
        return _NAMED_ESCAPES[char]
    code = ord(char)
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def difference_line(difference: Difference, limit: int = 80) -> str:
    """``severity kind path: recorded -> replayed [rule]`` on one line."""
    text = (
        f"{difference.severity.value} {difference.kind.value} "
        f"{one_line(difference.shown_path, 200)}: "
        f"{one_line(difference.recorded, limit)} -> {one_line(difference.replayed, limit)}"
    )
    if difference.rule:
        text += f" [rule {one_line(difference.rule, 60)}]"
    return text


def exchange_label(result: ExchangeResult) -> str:
    """How people find an exchange: its id, transaction and step name."""
    parts = [result.id, transaction_label(result.transaction)]
    if result.name:
        parts.append(result.name)
    return one_line(" ".join(parts), 200)


def counts_phrase(summary: RunSummary) -> str:
    """``3 regression, 1 error, 40 pass (44 exchanges)``: non-zero counts, attention first."""
    parts = [f"{summary.counts[o]} {o.value}" for o in ATTENTION_ORDER if summary.counts[o]]
    noun = "exchange" if summary.total == 1 else "exchanges"
    return f"{', '.join(parts) or 'nothing replayed'} ({summary.total} {noun})"


def verdict_word(summary: RunSummary, fail_on: FailOn) -> str:
    """``PASSED`` / ``FAILED`` / ``ERRORS`` / ``INTERRUPTED``, matching the exit code of the
    CLI contract (130 for a run stopped by Ctrl-C or SIGTERM)."""
    return {0: "PASSED", 1: "FAILED", 3: "ERRORS", EXIT_INTERRUPTED: "INTERRUPTED"}[
        summary.exit_code(fail_on)]


def not_run_phrase(summary: RunSummary, not_run: int) -> str | None:
    """``interrupted: 4 exchanges not run (listed as skipped, NotRun)`` for an interrupted
    run, None for a complete one."""
    if not summary.interrupted:
        return None
    noun = "exchange" if not_run == 1 else "exchanges"
    return (f"interrupted (Ctrl-C or SIGTERM): {not_run} {noun} not run, listed as skipped "
            f"({NOT_RUN}); the others are reported as they finished")


def run_outcome(summary: RunSummary, fail_on: FailOn) -> Outcome:
    """The outcome that stands for the whole run in a headline."""
    code = summary.exit_code(fail_on)
    if code in (3, EXIT_INTERRUPTED):
        return Outcome.ERROR
    if code == 1:
        return Outcome.REGRESSION if summary.counts[Outcome.REGRESSION] else Outcome.CHANGED
    return Outcome.PASS
