"""JUnit XML (``--junit``) in the shape CI systems read: GitHub test-report actions, GitLab
``artifacts:reports:junit``, Jenkins' ``junit`` step.

``<testsuites>`` holds a ``<testsuite>`` per cassette and a ``<testcase>`` per exchange
(classname = cassette, name = ``#index transaction step``). ``changed`` and ``regression`` are
``<failure>`` (type = outcome, the differences in the text), ``error`` is ``<error>``, ``skipped``
is ``<skipped>``. The exchange's notes (objects of earlier replays not counted, missing-state
hints, caveats) are the test case's ``<system-out>``, one per line. Test cases are spooled as
they finish; per-cassette counters are all that stays in memory.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO
from xml.sax.saxutils import escape, quoteattr

from ihe_test_util.report.file_reporter import SpooledFileReporter
from ihe_test_util.report.labels import difference_line, one_line, transaction_label
from ihe_test_util.report.timestamps import duration_seconds
from ihe_test_util.results import ExchangeResult, Outcome, RunInfo, RunSummary

#: Characters XML 1.0 cannot carry at all, even escaped.
_NOT_XML = re.compile("[^\t\n\r\x20-\ud7ff\ue000-\ufffd\U00010000-\U0010ffff]")
#: Differences listed in one failure text; the rest are counted.
MAX_DIFFERENCES = 200


def xml_text(value: str) -> str:
    """``value`` as XML character data: invalid characters shown as ``\\xNN``, then escaped."""
    return escape(_NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", value))


def xml_attr(value: str) -> str:
    """``value`` as a quoted XML attribute (newlines kept as character references)."""
    return quoteattr(_NOT_XML.sub(lambda m: f"\\x{ord(m.group()):02x}", value))


def _seconds(milliseconds: float | None) -> float:
    return (milliseconds or 0.0) / 1000.0


@dataclass
class _SuiteCounts:
    tests: int = 0
    failures: int = 0
    errors: int = 0
    skipped: int = 0
    time: float = 0.0

    def add(self, outcome: Outcome, seconds: float) -> None:
        self.tests += 1
        self.failures += outcome in (Outcome.CHANGED, Outcome.REGRESSION)
        self.errors += outcome is Outcome.ERROR
        self.skipped += outcome is Outcome.SKIPPED
        self.time += seconds

    def attributes(self) -> str:
        return (f'tests="{self.tests}" failures="{self.failures}" errors="{self.errors}" '
                f'skipped="{self.skipped}" time="{self.time:.3f}"')


def case_name(result: ExchangeResult) -> str:
    name = f"#{result.index} {transaction_label(result.transaction)}"
    return f"{name} {result.name}" if result.name else name


def case_element(result: ExchangeResult) -> str:
    """One ``<testcase>`` element, indented for a ``<testsuite>``."""
    head = (f"    <testcase classname={xml_attr(result.cassette)} "
            f"name={xml_attr(case_name(result))} "
            f'time="{_seconds(result.duration_replayed_ms):.3f}"')
    children = _outcome_element(result) + _notes_element(result)
    if not children:
        return head + "/>\n"
    return f"{head}>\n{children}    </testcase>\n"


def _outcome_element(result: ExchangeResult) -> str:
    outcome = result.outcome
    if outcome is Outcome.PASS:
        return ""
    if outcome is Outcome.SKIPPED:
        reason = _error_summary(result) or "not replayed"
        return f"      <skipped message={xml_attr(reason)}/>\n"
    if outcome is Outcome.ERROR:
        error_type = result.error.type if result.error else "error"
        message = _error_summary(result) or "no response obtained"
        body = result.error.message if result.error else message
        return (f"      <error message={xml_attr(one_line(message, 300))} "
                f"type={xml_attr(error_type)}>{xml_text(body)}</error>\n")
    return (f"      <failure message={xml_attr(_failure_message(result))} "
            f'type="{outcome.value}">{xml_text(_failure_text(result))}</failure>\n')


def _notes_element(result: ExchangeResult) -> str:
    """The exchange's notes as ``<system-out>`` (what CI test viewers show beside a case)."""
    if not result.notes:
        return ""
    text = "\n".join(f"note: {note}" for note in result.notes)
    return f"      <system-out>{xml_text(text)}</system-out>\n"


def _error_summary(result: ExchangeResult) -> str:
    if result.error is None:
        return ""
    return one_line(f"{result.error.type}: {result.error.message}", 300)


def _failure_message(result: ExchangeResult) -> str:
    count = len(result.differences)
    if not count:
        return f"{result.outcome.value}: the responses differ"
    first = result.differences[0]
    more = f" (+{count - 1} more)" if count > 1 else ""
    return f"{result.outcome.value}: {one_line(difference_line(first, 60), 300)}{more}"


def _failure_text(result: ExchangeResult) -> str:
    lines = [f"{result.outcome.value}: {len(result.differences)} difference(s), "
             f"{result.noise_suppressed} explained away by noise rules"]
    lines += [difference_line(d, 500) for d in result.differences[:MAX_DIFFERENCES]]
    if len(result.differences) > MAX_DIFFERENCES:
        lines.append(f"... and {len(result.differences) - MAX_DIFFERENCES} more")
    if result.verdict_recorded is not None or result.verdict_replayed is not None:
        lines.append(f"verdict recorded: {dict(result.verdict_recorded or {})}")
        lines.append(f"verdict replayed: {dict(result.verdict_replayed or {})}")
    if result.recorded_uri:
        lines.append(f"request: {result.method or ''} {result.recorded_uri} -> "
                     f"{result.replayed_uri or '(not sent)'}")
    return "\n".join(lines)


class JunitReporter(SpooledFileReporter):
    """Writes the JUnit XML file to ``path`` when the run finishes."""

    def __init__(self, path: Path, *, suite_name: str = "ihe replay") -> None:
        super().__init__(path)
        self.suite_name = suite_name
        self._suites: dict[str, _SuiteCounts] = {}

    def start(self, info: RunInfo) -> None:
        super().start(info)
        self._suites = {}

    def observe(self, result: ExchangeResult) -> None:
        counts = self._suites.setdefault(result.cassette, _SuiteCounts())
        counts.add(result.outcome, _seconds(result.duration_replayed_ms))

    def render(self, result: ExchangeResult) -> str:
        return case_element(result)

    def write(self, out: TextIO, info: RunInfo, summary: RunSummary, finished_at: str,
              exchanges: Iterator[str], count: int) -> None:
        totals = _SuiteCounts()
        for counts in self._suites.values():
            totals.tests += counts.tests
            totals.failures += counts.failures
            totals.errors += counts.errors
            totals.skipped += counts.skipped
        took = duration_seconds(info.started_at, finished_at)
        totals.time = sum(c.time for c in self._suites.values()) if took is None else took
        timestamp = xml_attr(info.started_at)
        out.write('<?xml version="1.0" encoding="UTF-8"?>\n')
        out.write(f"<testsuites name={xml_attr(self.suite_name)} {totals.attributes()} "
                  f"timestamp={timestamp}>\n")
        for cassette in sorted(self._suites):  # the spool is sorted by cassette too
            counts = self._suites[cassette]
            out.write(f"  <testsuite name={xml_attr(cassette)} {counts.attributes()} "
                      f"timestamp={timestamp}>\n")
            for _ in range(counts.tests):
                out.write(next(exchanges))
            out.write("  </testsuite>\n")
        out.write("</testsuites>\n")
