"""The CSV of a data-driven scenario: a header row, then one row per run of the steps.

Rows are read once, before anything is sent. A row with the wrong number of cells is reported
by its line and skipped; the others still run. Values are taken as written (whitespace around
them trimmed); which values are *valid* is decided by the steps that use them.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

MAX_ROWS = 100_000


@dataclass(frozen=True)
class Row:
    """One data row: its line in the file and ``column -> value``."""

    line: int
    values: Mapping[str, str]


@dataclass(frozen=True)
class RowProblem:
    """Why a row cannot run: its line, the column (when one is to blame) and what is wrong."""

    line: int
    column: str | None
    message: str
    field: str | None = None  # the scenario field the value went into

    def render(self, source: str) -> str:
        where = f"{source}:{self.line}"
        text = f"column {self.column!r}: {self.message}" if self.column else self.message
        return f"{where}: {text}" + (f" (in {self.field})" if self.field else "")


@dataclass(frozen=True)
class DataTable:
    path: Path
    columns: tuple[str, ...]
    rows: tuple[Row, ...] = ()
    problems: tuple[RowProblem, ...] = field(default_factory=tuple)

    @property
    def name(self) -> str:
        return self.path.name


class DataFileError(Exception):
    """The file as a whole is unusable (missing, not UTF-8, no header, repeated column)."""

    def __init__(self, message: str, line: int | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.line = line


def read_table(path: Path, delimiter: str = ",") -> DataTable:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise DataFileError(f"data file {path} not found (paths are relative to the scenario "
                            "file)") from None
    except UnicodeDecodeError as exc:
        raise DataFileError(f"{path.name} is not UTF-8 text (byte {exc.start})") from None
    except OSError as exc:
        raise DataFileError(f"cannot read {path}: {exc.strerror}") from None
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    try:
        header = next(reader, None)
    except csv.Error as exc:
        raise DataFileError(f"{path.name}: {exc}", 1) from None
    if not header or not any(cell.strip() for cell in header):
        raise DataFileError(f"{path.name} has no header row (the first line names the columns)",
                            1)
    columns = tuple(cell.strip() for cell in header)
    seen: set[str] = set()
    for column in columns:
        if not column:
            raise DataFileError(f"{path.name}: a column in the header has no name", 1)
        if column in seen:
            raise DataFileError(f"{path.name}: column {column!r} appears twice in the header", 1)
        seen.add(column)
    rows: list[Row] = []
    problems: list[RowProblem] = []
    while True:
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            problems.append(RowProblem(reader.line_num, None, f"unreadable CSV: {exc}"))
            continue
        if not any(cell.strip() for cell in cells):
            continue  # blank lines
        if len(rows) + len(problems) >= MAX_ROWS:
            raise DataFileError(f"{path.name} has more than {MAX_ROWS:,} rows; split it")
        if len(cells) != len(columns):
            problems.append(RowProblem(
                reader.line_num, None,
                f"has {len(cells)} cells, the header names {len(columns)} columns"))
            continue
        values = {c: v.strip() for c, v in zip(columns, cells, strict=True)}
        rows.append(Row(reader.line_num, values))
    return DataTable(path, columns, tuple(rows), tuple(problems))
