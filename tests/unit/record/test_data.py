"""CSV data tables: header, rows with their lines, row problems, file problems."""

from __future__ import annotations

from pathlib import Path

import pytest

from ihe_test_util.record.data import DataFileError, read_table


def table_of(tmp_path: Path, data: bytes, delimiter: str = ",") -> Path:
    path = tmp_path / "p.csv"
    path.write_bytes(data)
    return path


def test_rows_keep_their_line_and_trimmed_values(tmp_path: Path) -> None:
    path = table_of(tmp_path, "\ufeffid, family\r\nA1, Müller \r\n\r\n\"B2\",\"O'Brien, Jr\"\n"
                    .encode())
    table = read_table(path)
    assert table.columns == ("id", "family")
    assert [(r.line, dict(r.values)) for r in table.rows] == [
        (2, {"id": "A1", "family": "Müller"}), (4, {"id": "B2", "family": "O'Brien, Jr"})]
    assert table.problems == ()


def test_rows_with_the_wrong_number_of_cells_are_problems_the_rest_stays(tmp_path: Path) -> (
        None):
    table = read_table(table_of(tmp_path, b"id;family\nA;B\nC\nD;E;F\nG;H\n"), ";")
    assert [r.line for r in table.rows] == [2, 5]
    assert [(p.line, p.message) for p in table.problems] == [
        (3, "has 1 cells, the header names 2 columns"),
        (4, "has 3 cells, the header names 2 columns")]
    assert table.problems[0].render("p.csv") == "p.csv:3: has 1 cells, the header names 2 " \
                                                "columns"


@pytest.mark.parametrize(("data", "message"), [
    (b"", "has no header row"),
    (b"id,id\n1,2\n", "column 'id' appears twice"),
    (b"id,,x\n", "a column in the header has no name"),
    (b"id\n\xff\xfe\n", "is not UTF-8 text"),
])
def test_unusable_files_are_errors(tmp_path: Path, data: bytes, message: str) -> None:
    with pytest.raises(DataFileError, match=message):
        read_table(table_of(tmp_path, data))
