"""The JSON run report (``--report-json``): exactly ``run-report.schema.json`` version 1.

Layout, chosen so that the file streams both ways: the header members one per line, then each
exchange as one line inside ``"exchanges": [ ... ]``. :mod:`ihe_test_util.report.reader`
reads such a file exchange by exchange; any other valid layout (say, re-indented by ``jq``)
is still read, just in one piece.

Exchanges are spooled as they finish and written sorted by (cassette, index) at ``finish``,
through a temporary file that replaces the target atomically.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any, TextIO

from ihe_test_util.report.file_reporter import SpooledFileReporter
from ihe_test_util.report.labels import TABLE_ORDER
from ihe_test_util.results import REPORT_SCHEMA_ID, ExchangeResult, RunInfo, RunSummary

#: The line that opens the exchanges array; the reader looks for exactly this line.
EXCHANGES_OPEN = '  "exchanges": ['
EXCHANGE_INDENT = "    "


def report_header(info: RunInfo, summary: RunSummary, finished_at: str) -> dict[str, Any]:
    """Every top-level member but ``exchanges``, in the schema's order; ``interrupted``
    (an addition to schema v1, optional) only for a run stopped before its end."""
    header: dict[str, Any] = {
        "schema": REPORT_SCHEMA_ID,
        "tool_version": info.tool_version,
        "started_at": info.started_at,
        "finished_at": finished_at,
        "targets": dict(info.targets),
        "fail_on": info.fail_on.value,
        "summary": {"total": summary.total, **{o.value: summary.counts[o] for o in TABLE_ORDER}},
    }
    if summary.interrupted:
        header["interrupted"] = True
    return header


def exchange_line(result: ExchangeResult) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, separators=(", ", ": "))


class JsonReporter(SpooledFileReporter):
    """Writes the JSON run report to ``path`` when the run finishes (also when it failed)."""

    def observe(self, result: ExchangeResult) -> None:
        """The header needs only the summary, which ``finish`` is given."""

    def render(self, result: ExchangeResult) -> str:
        return exchange_line(result)

    def write(self, out: TextIO, info: RunInfo, summary: RunSummary, finished_at: str,
              exchanges: Iterator[str], count: int) -> None:
        out.write("{\n")
        for key, value in report_header(info, summary, finished_at).items():
            out.write(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n")
        out.write(EXCHANGES_OPEN)
        separator = "\n"
        for line in exchanges:
            out.write(separator)
            out.write(EXCHANGE_INDENT)
            out.write(line)
            separator = ",\n"
        out.write("\n  ]\n}\n" if count else "]\n}\n")
