"""Markdown for step summaries and PR comments: snapshot, safe values, size limit."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from markdown_it import MarkdownIt

from ihe_test_util.report.base import feed
from ihe_test_util.report.markdown_report import MarkdownReporter, md_code
from ihe_test_util.results import FailOn

from .conftest import Run, leftovers
from .run_builder import FINISHED_AT, run_info, synthetic_results
from .snapshots import assert_snapshot


def _markdown(run: Run, out_dir: Path, **options: int) -> str:
    path = out_dir / "summary.md"
    run(MarkdownReporter(path, **options))
    assert leftovers(out_dir) == []
    return path.read_text(encoding="utf-8")


def _html(markdown: str) -> str:
    return MarkdownIt("commonmark").enable("table").render(markdown)


def test_snapshot(run_realistic: Run, out_dir: Path) -> None:
    assert_snapshot("summary.md", _markdown(run_realistic, out_dir))


def test_headline_and_table(run_realistic: Run, out_dir: Path) -> None:
    text = _markdown(run_realistic, out_dir)
    assert text.startswith("## ❌ ihe replay FAILED: 3 regression, 2 error, 6 changed, "
                           "2 skipped, 5 pass (18 exchanges)\n")
    assert "exit code 1" in text and "took 42.5 s" in text
    html = _html(text)
    rows = re.findall(r"<tr>(.*?)</tr>", html, re.S)
    matrix = [r for r in rows if "<code>ITI-18</code></td>" in r.split("</td>")[0] + "</td>"]
    assert matrix, "ITI-18 row in the outcome table"
    cells = re.findall(r"<td[^>]*>(.*?)</td>", matrix[0], re.S)
    assert cells[1:] == ["2", "5", "1", "0", "0", "8"]


def test_findings_grouped_with_counts(run_realistic: Run, out_dir: Path) -> None:
    text = _markdown(run_realistic, out_dir)
    assert "### Findings (7)" in text
    line = next(li for li in text.splitlines() if "ExtrinsicObject[*]/Slot[3]" in li)
    assert "| 5 |" in line and "xds/provide-register-query-retrieve.yaml#1" in line
    assert "### Errors and skipped exchanges" in text
    assert re.search(r"`EndpointUnreachable` \| 2 \|", text)


def test_hostile_values_cannot_become_markup(run_realistic: Run, out_dir: Path) -> None:
    text = _markdown(run_realistic, out_dir)
    html = _html(text)
    assert "<script>" not in html and "<a " not in html
    assert "&lt;script&gt;" in html
    assert "\x1b" not in text
    outside_code = re.sub(r"(`+).*?\1", "", text)
    assert "http" not in outside_code  # no autolinks: URLs only inside code spans
    for row in re.findall(r"<tr>(.*?)</tr>", html, re.S):  # `|` in values never adds a cell
        assert len(re.findall(r"<t[dh]", row)) in (5, 7)


@pytest.mark.parametrize(("value", "expected"), [
    ("plain", "`plain`"),
    ("a`b", "``a`b``"),
    ("`x`", "`` `x` ``"),
    ("a|b", "`a\\|b`"),
    ("", "*(empty)*"),
    (None, "`(absent)`"),
    ("line\nbreak", "`line\\nbreak`"),
    ("red\x1b[31m", "`red\\x1b[31m`"),
])
def test_md_code(value: str | None, expected: str) -> None:
    assert md_code(value) == expected


def test_passing_run_headline(out_dir: Path) -> None:
    path = out_dir / "summary.md"
    passing = [r for r in synthetic_results(22) if r.outcome.value == "pass"]
    feed(MarkdownReporter(path), run_info(FailOn.CHANGED), passing, FINISHED_AT)
    text = path.read_text(encoding="utf-8")
    assert text.startswith(f"## ✅ ihe replay PASSED: {len(passing)} pass")
    assert "Findings" not in text and "attention" not in text


def test_errors_only_headline(out_dir: Path) -> None:
    path = out_dir / "summary.md"
    results = [r for r in synthetic_results(22) if r.outcome.value in ("pass", "error")]
    feed(MarkdownReporter(path), run_info(FailOn.CHANGED), results, FINISHED_AT)
    assert path.read_text(encoding="utf-8").startswith("## 💥 ihe replay ERRORS:")


def test_huge_run_stays_within_the_size_limit(out_dir: Path) -> None:
    path = out_dir / "summary.md"
    feed(MarkdownReporter(path, max_bytes=6_000, max_findings=1000, max_exchanges=1000),
         run_info(), synthetic_results(3_000), FINISHED_AT)
    text = path.read_text(encoding="utf-8")
    assert len(text.encode("utf-8")) <= 6_000
    assert text.rstrip().endswith("the JSON and HTML reports have everything.*")
    assert "### Outcomes by transaction" in text


def test_exchange_list_is_capped_and_counted(out_dir: Path) -> None:
    path = out_dir / "summary.md"
    feed(MarkdownReporter(path, max_exchanges=5), run_info(), synthetic_results(110),
         FINISHED_AT)
    text = path.read_text(encoding="utf-8")
    assert "Exchanges needing attention (first 5 of 50)" in text
    block = text.split("<details>")[1]
    assert block.count("❌ regression") == 5  # the most severe are the ones kept
