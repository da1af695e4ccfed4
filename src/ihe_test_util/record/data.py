"""The CSV of a data-driven scenario: a header row, then one row per run of the steps.

Rows are read once, before anything is sent. A row with the wrong number of cells is reported
by its line and skipped; the others still run. Values are taken as written (whitespace around
them trimmed); which values are *valid* is decided by the steps that use them.
"""

from __future__ import annotations

import csv
import io
import os
import re
import stat
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

MAX_ROWS = 100_000
#: Characters no scenario value may hold: C0 controls except TAB, LF and CR, and DEL. XML
#: cannot carry them and no HL7 or HTTP field means them.
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
#: Largest file a scenario may name (its CSV, a document, a raw request).
MAX_FILE_BYTES = 64 * 1024 * 1024


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


def control_character_problem(value: str) -> str:
    match = CONTROL_CHARACTERS.search(value)
    return (f"holds the control character {match.group(0)!r}, which no message can carry"
            if match else "")


def not_a_regular_file(path: Path) -> str | None:
    """Why a scenario may not read ``path`` (None if it may): only a regular file of at most
    :data:`MAX_FILE_BYTES`, because a device never ends (``/dev/zero``) and a FIFO blocks."""
    try:
        info = path.stat()
    except OSError:
        return None  # reported as missing or unreadable by the reader
    if not stat.S_ISREG(info.st_mode):
        return f"{path} is not a regular file (a device, FIFO or folder cannot be read)"
    if info.st_size > MAX_FILE_BYTES:
        return f"{path} has {info.st_size} bytes (at most {MAX_FILE_BYTES})"
    return None


def read_scenario_file(path: Path) -> bytes:
    """The bytes of a file a scenario names, checked by :func:`not_a_regular_file` on the open
    file itself (opened without blocking, so a FIFO swapped in cannot hang the run)."""
    descriptor = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0))
    with os.fdopen(descriptor, "rb") as handle:
        info = os.fstat(handle.fileno())
        if not stat.S_ISREG(info.st_mode):
            raise DataFileError(f"{path} is not a regular file (a device, FIFO or folder "
                                "cannot be read)")
        data = handle.read(MAX_FILE_BYTES + 1)
    if len(data) > MAX_FILE_BYTES:
        raise DataFileError(f"{path} has more than {MAX_FILE_BYTES} bytes")
    return data


def read_table(path: Path, delimiter: str = ",") -> DataTable:
    try:
        text = read_scenario_file(path).decode("utf-8-sig")
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
        bad = [c for c, v in values.items() if CONTROL_CHARACTERS.search(v)]
        if bad:
            problems.append(RowProblem(reader.line_num, bad[0], control_character_problem(
                values[bad[0]])))
            continue
        rows.append(Row(reader.line_num, values))
    return DataTable(path, columns, tuple(rows), tuple(problems))
