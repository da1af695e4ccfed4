"""Read a JSON run report back: header first, then the exchanges one at a time, validated.

Reports written by :class:`~ihe_test_util.report.json_report.JsonReporter` are streamed line by
line, so reading a 100,000-exchange shard does not hold it in memory; a report in any other
JSON layout is read in one piece. Every problem is a :class:`UsageError` (exit 2) that names
the file and the member at fault.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from ihe_test_util.errors import UsageError
from ihe_test_util.report.base import Closing
from ihe_test_util.report.json_report import EXCHANGES_OPEN
from ihe_test_util.report.schema import exchange_problem, header_problem
from ihe_test_util.report.timestamps import parse_timestamp
from ihe_test_util.results import REPORT_SCHEMA_ID, ExchangeResult, RunInfo, RunSummary

_EMPTY_EXCHANGES = '  "exchanges": []'
_OPENINGS = (EXCHANGES_OPEN.encode(), _EMPTY_EXCHANGES.encode())
_CLOSINGS = (b"\n  ]\n}\n", b"[]\n}\n")


class ReportReader(Closing):
    """An open JSON run report. Use as a context manager; read ``header``, then ``exchanges()``.

    The header is parsed on opening but validated only by :meth:`validate_header`, so a caller
    comparing several files can first say that their schema versions differ.
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self.counted = RunSummary()
        try:
            self._handle: IO[str] = path.open(encoding="utf-8", newline="\n")
        except OSError as exc:
            raise UsageError(f"{path}: cannot read the report: {exc.strerror or exc}") from None
        self._line_no = 0
        self._loaded: list[Any] | None = None
        try:
            self.header = self._read_header()
        except BaseException:
            self._handle.close()
            raise

    # -- header --------------------------------------------------------------------------

    @property
    def schema_id(self) -> object:
        return self.header.get("schema")

    def validate_header(self) -> None:
        if self.schema_id != REPORT_SCHEMA_ID:
            raise UsageError(
                f"{self.path}: report schema {self.schema_id!r} is not supported; this version "
                f"reads {REPORT_SCHEMA_ID!r}",
                hint="render or merge it with the ihe-test-utility version that wrote it",
            )
        problem = header_problem(self.header)
        if problem:
            raise UsageError(f"{self.path}: not a valid run report: {problem}")
        for key in ("started_at", "finished_at"):
            parse_timestamp(self.header[key], source=f"{self.path}: {key}")

    @property
    def info(self) -> RunInfo:
        return RunInfo.from_dict(self.header)

    @property
    def interrupted(self) -> bool:
        """The run was stopped before its end (``interrupted``, optional in schema v1)."""
        return self.header.get("interrupted") is True

    @property
    def summary(self) -> RunSummary:
        """The summary the file states (compare with :attr:`counted` after reading)."""
        return RunSummary.from_dict(self.header["summary"])

    @property
    def started_at(self) -> datetime:
        return parse_timestamp(self.header["started_at"], source=str(self.path))

    @property
    def finished_at(self) -> datetime:
        return parse_timestamp(self.header["finished_at"], source=str(self.path))

    # -- exchanges -----------------------------------------------------------------------

    def exchanges(self) -> Iterator[ExchangeResult]:
        """Each exchange, validated against the schema; counts outcomes into :attr:`counted`."""
        items = self._loaded if self._loaded is not None else self._streamed_items()
        for position, item in enumerate(items):
            problem = exchange_problem(item, position)
            if problem:
                raise UsageError(f"{self.path}: not a valid run report: {problem}")
            result = ExchangeResult.from_dict(item)
            self.counted.add(result.outcome)
            yield result

    def _streamed_items(self) -> Iterator[Any]:
        for line in self._handle:
            self._line_no += 1
            text = line.rstrip("\n")
            if text == "  ]":
                return
            text = text.strip().removesuffix(",")
            yield self._json(text, f"line {self._line_no}")
        raise UsageError(f"{self.path}: the report ends inside the exchanges list (truncated?)")

    # -- layout --------------------------------------------------------------------------

    def _read_header(self) -> dict[str, Any]:
        if self._streamable():
            lines: list[str] = []
            for line in self._handle:
                self._line_no += 1
                text = line.rstrip("\n")
                if text in (EXCHANGES_OPEN, _EMPTY_EXCHANGES):
                    if text == _EMPTY_EXCHANGES:
                        self._loaded = []
                    header = self._json("{" + "".join(lines) + '"exchanges": []}', "header")
                    return self._object(header)
                if self._line_no > 1:
                    lines.append(text)
            raise UsageError(f"{self.path}: no exchanges list in the report")  # pragma: no cover
        document = self._object(self._json(self._handle.read(), "document"))
        exchanges = document.pop("exchanges", None)
        if not isinstance(exchanges, list):
            raise UsageError(f"{self.path}: not a valid run report: 'exchanges' is not a list")
        self._loaded = exchanges
        return document

    def _streamable(self) -> bool:
        """Does the file have JsonReporter's layout? Checked at both ends, cheaply."""
        with self.path.open("rb") as raw:
            if raw.readline() != b"{\n":
                return False
            for _ in range(64):
                line = raw.readline()
                if not line.startswith(b'  "'):
                    return False
                if line.rstrip(b"\n") in _OPENINGS:
                    break
            else:
                return False
            size = raw.seek(0, 2)
            raw.seek(max(size - 16, 0))
            return raw.read().endswith(_CLOSINGS)

    def _json(self, text: str, where: str) -> Any:
        try:
            return json.loads(text)
        except (ValueError, RecursionError) as exc:
            raise UsageError(f"{self.path}: {where}: not valid JSON: {exc}") from None

    def _object(self, value: Any) -> dict[str, Any]:
        if not isinstance(value, dict):
            raise UsageError(f"{self.path}: not a run report: the top level is not an object")
        return value

    def close(self) -> None:
        self._handle.close()
