"""One self-contained HTML file (``--html``) for reviewing the diffs after an upgrade.

Inline CSS and a little inline JavaScript (filters by outcome, transaction and text), no other
file, no network: it opens from disk, from a CI artifact, or attached to a ticket. Each exchange
is a collapsible section with its verdict fields and its differences side by side (recorded |
replayed), with path, kind, severity and rule, and its notes (objects of earlier replays not
counted, missing-state hints); grouped findings come first.

Rendering is jinja2 with autoescaping on, so every value from a response is escaped; control
characters are shown as ``\\xNN``. Exchange sections are rendered as exchanges finish and
spooled to disk, then streamed into the page at ``finish``: memory stays flat.
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any, TextIO

from jinja2 import Environment, PackageLoader, StrictUndefined
from markupsafe import Markup

from ihe_test_util.errors import IheTestError
from ihe_test_util.model import Response
from ihe_test_util.report.digest import RunDigest
from ihe_test_util.report.file_reporter import SpooledFileReporter
from ihe_test_util.report.labels import (
    ABSENT,
    TABLE_ORDER,
    counts_phrase,
    not_run_phrase,
    run_outcome,
    transaction_label,
    verdict_word,
)
from ihe_test_util.report.sidebyside import compare_bodies
from ihe_test_util.report.timestamps import duration_seconds
from ihe_test_util.results import NOT_RUN, ExchangeResult, Outcome, RunInfo, RunSummary

#: Longest value shown in full; longer ones are cut, saying by how much.
MAX_VALUE_CHARS = 20_000
#: Longest example value in the findings table (the exchange section has the full value).
MAX_EXAMPLE_CHARS = 2_000
#: Differences shown per exchange; the JSON report has the rest.
MAX_DIFFERENCES = 500
#: Exchanges each finding links to (the JSON report lists them all).
MAX_FINDING_LINKS = 20
#: Distinct verdict tables kept rendered (see :meth:`HtmlReporter._verdict_table`).
_MAX_TABLES = 256
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]")


def anchor(exchange_id: str) -> str:
    """A stable, URL-safe element id for an exchange (ids contain ``/`` and ``#``)."""
    return "ex-" + hashlib.sha256(exchange_id.encode("utf-8")).hexdigest()[:16]


def shown_value(value: str | None, limit: int = MAX_VALUE_CHARS) -> str:
    """A value for a ``<pre>``: control characters visible, huge values cut (still escaped)."""
    if value is None:
        return ABSENT
    cut = ""
    if len(value) > limit:
        cut = f"\n… ({len(value) - limit:,} more characters in the JSON report)"
        value = value[:limit]
    return _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", value) + cut


#: What ``json.dumps`` writes for the scalars most verdict fields hold (a status, a count, a
#: flag, nothing): looked up instead of encoded, 8 fields per exchange.
_JSON_SCALARS: dict[object, str] = {None: "null", True: "true", False: "false"}


def _verdict_text(value: Any) -> str:
    if isinstance(value, str):
        return value
    kind = type(value)
    if kind is int:  # not bool, not an IntEnum (json.dumps writes their int value, str not)
        return str(value)
    if kind is bool or value is None:
        return _JSON_SCALARS[value]
    return json.dumps(value, ensure_ascii=False)


@dataclass(frozen=True)
class VerdictRow:
    field: str
    recorded: str
    replayed: str

    @property
    def differs(self) -> bool:
        return self.recorded != self.replayed


def verdict_rows(recorded: Mapping[str, Any] | None,
                 replayed: Mapping[str, Any] | None) -> list[VerdictRow]:
    """The verdict fields of both responses aligned by name (fields missing on one side: absent)."""
    recorded, replayed = recorded or {}, replayed or {}
    names = list(recorded) + [name for name in replayed if name not in recorded]
    return [VerdictRow(name,
                       _verdict_text(recorded[name]) if name in recorded else ABSENT,
                       _verdict_text(replayed[name]) if name in replayed else ABSENT)
            for name in names]


def _environment() -> Environment:
    env = Environment(
        loader=PackageLoader("ihe_test_util.report", "templates"), autoescape=True,
        undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters["shown"] = shown_value
    env.filters["anchor"] = anchor
    env.filters["transaction"] = transaction_label
    env.globals["MAX_DIFFERENCES"] = MAX_DIFFERENCES
    env.globals["MAX_EXAMPLE_CHARS"] = MAX_EXAMPLE_CHARS
    return env


class HtmlReporter(SpooledFileReporter):
    """Writes the HTML review page to ``path`` when the run finishes."""

    def __init__(self, path: Path, *, title: str = "ihe replay", max_findings: int = 500,
                 bodies: Callable[[ExchangeResult], tuple[Response, Response] | None] |
                 None = None) -> None:
        super().__init__(path)
        #: The recorded and replayed response of a result (``sidebyside.ResponsePairs``):
        #: with it, each non-pass exchange gets its side-by-side view.
        self.bodies = bodies
        self.title = title
        self.max_findings = max_findings
        self._env = _environment()
        self._section = self._env.get_template("exchange.html.j2")
        self._verdict = self._env.get_template("verdict.html.j2")
        self._pairs = self._env.get_template("sidebyside.html.j2")
        self._tables: dict[tuple[VerdictRow, ...], Markup] = {}
        self._digest = RunDigest(attention_limit=0, max_examples=MAX_FINDING_LINKS)
        self._not_run = 0

    def start(self, info: RunInfo) -> None:
        super().start(info)
        self._digest = RunDigest(attention_limit=0, max_examples=MAX_FINDING_LINKS)
        self._not_run = 0

    def observe(self, result: ExchangeResult) -> None:
        self._digest.add(result)
        if result.error is not None and result.error.type == NOT_RUN:
            self._not_run += 1

    def render(self, result: ExchangeResult) -> str:
        return self._section.render(
            x=result, verdict_table=self._verdict_table(
                tuple(verdict_rows(result.verdict_recorded, result.verdict_replayed))),
            is_open=result.outcome in (Outcome.REGRESSION, Outcome.ERROR),
            side_by_side=self._side_by_side(result),
        )

    def _side_by_side(self, result: ExchangeResult) -> Markup:
        """Both responses pretty-printed side by side (empty without bodies or for a pass)."""
        pair = self.bodies(result) if self.bodies is not None else None
        if pair is None:
            return Markup("")
        try:
            # Changed lines carrying no finding (noise, reference noise) are shown dimmed.
            rows = compare_bodies(*pair, result.differences)
        except IheTestError:
            return Markup("")
        return Markup(self._pairs.render(rows=rows))

    def _verdict_table(self, rows: tuple[VerdictRow, ...]) -> Markup:
        """The verdict table of an exchange: the same few tables recur run-long (one status,
        one count), so each distinct one is rendered once (a bounded memo)."""
        table = self._tables.get(rows)
        if table is None:
            table = Markup(self._verdict.render(verdict=rows))
            if len(self._tables) < _MAX_TABLES:
                self._tables[rows] = table
        return table

    def write(self, out: TextIO, info: RunInfo, summary: RunSummary, finished_at: str,
              exchanges: Iterator[str], count: int) -> None:
        findings = self._digest.findings.findings()
        page = self._env.get_template("report.html.j2")
        context = {
            "title": self.title, "info": info, "summary": summary, "finished_at": finished_at,
            "verdict": verdict_word(summary, info.fail_on),
            "overall": run_outcome(summary, info.fail_on).value,
            "exit_code": summary.exit_code(info.fail_on),
            "counts_phrase": counts_phrase(summary),
            "interrupted": not_run_phrase(summary, self._not_run),
            "took": duration_seconds(info.started_at, finished_at),
            "outcomes": TABLE_ORDER, "matrix": list(self._digest.matrix.rows()),
            "totals": self._digest.matrix.totals(),
            "findings": findings[: self.max_findings], "findings_total": len(findings),
            "error_groups": self._digest.findings.error_groups(),
            # Rendered (and escaped) by our own autoescaping template at exchange time.
            "exchanges": (Markup(section) for section in exchanges),
        }
        for chunk in page.generate(**context):
            out.write(chunk)
