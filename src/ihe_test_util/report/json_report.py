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
from pathlib import Path
from typing import Any

from ihe_test_util.report.atomic import atomic_text_file
from ihe_test_util.report.labels import TABLE_ORDER
from ihe_test_util.report.spool import ExchangeSpool
from ihe_test_util.results import REPORT_SCHEMA_ID, ExchangeResult, RunInfo, RunSummary

#: The line that opens the exchanges array; the reader looks for exactly this line.
EXCHANGES_OPEN = '  "exchanges": ['
EXCHANGE_INDENT = "    "


def report_header(info: RunInfo, summary: RunSummary, finished_at: str) -> dict[str, Any]:
    """Every top-level member but ``exchanges``, in the schema's order."""
    return {
        "schema": REPORT_SCHEMA_ID,
        "tool_version": info.tool_version,
        "started_at": info.started_at,
        "finished_at": finished_at,
        "targets": dict(info.targets),
        "fail_on": info.fail_on.value,
        "summary": {"total": summary.total, **{o.value: summary.counts[o] for o in TABLE_ORDER}},
    }


def exchange_line(result: ExchangeResult) -> str:
    return json.dumps(result.to_dict(), ensure_ascii=False, separators=(", ", ": "))


class JsonReporter:
    """Writes the JSON run report to ``path`` when the run finishes (also when it failed)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._info: RunInfo | None = None
        self._spool: ExchangeSpool | None = None

    def start(self, info: RunInfo) -> None:
        self._info = info
        self._spool = ExchangeSpool(self.path)

    def exchange(self, result: ExchangeResult) -> None:
        self._require_spool().add(result.cassette, result.index, exchange_line(result))

    def finish(self, summary: RunSummary, finished_at: str) -> None:
        spool = self._require_spool()
        assert self._info is not None
        header = report_header(self._info, summary, finished_at)
        try:
            with atomic_text_file(self.path) as out:
                out.write("{\n")
                for key, value in header.items():
                    out.write(f"  {json.dumps(key)}: {json.dumps(value, ensure_ascii=False)},\n")
                out.write(EXCHANGES_OPEN)
                separator = "\n"
                for line in spool.ordered():
                    out.write(separator)
                    out.write(EXCHANGE_INDENT)
                    out.write(line)
                    separator = ",\n"
                out.write("\n  ]\n}\n" if len(spool) else "]\n}\n")
        finally:
            self.close()

    def close(self) -> None:
        if self._spool is not None:
            self._spool.close()
            self._spool = None

    def _require_spool(self) -> ExchangeSpool:
        if self._spool is None:
            raise RuntimeError("JsonReporter used outside start() ... finish()")
        return self._spool
