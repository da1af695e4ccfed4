"""The HTML review page: self-contained, escaped, filterable, side-by-side differences."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from html.parser import HTMLParser
from http import HTTPStatus
from pathlib import Path

import pytest

from ihe_test_util.report.base import feed
from ihe_test_util.report.html_report import (
    MAX_EXAMPLE_CHARS,
    MAX_VALUE_CHARS,
    HtmlReporter,
    anchor,
    shown_value,
    verdict_rows,
)
from ihe_test_util.results import (
    Difference,
    DifferenceKind,
    ExchangeResult,
    Outcome,
    Severity,
)

from .conftest import Run, leftovers
from .run_builder import FINISHED_AT, run_info


@dataclass
class Element:
    tag: str
    attrs: dict[str, str]
    text: str = ""


@dataclass
class Page(HTMLParser):
    """The elements of a page with their attributes and the text directly inside them."""

    elements: list[Element] = field(default_factory=list)
    _open: list[Element] = field(default_factory=list)

    def __post_init__(self) -> None:
        super().__init__(convert_charrefs=True)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        element = Element(tag, {k: v or "" for k, v in attrs})
        self.elements.append(element)
        if tag not in ("meta", "input", "br"):
            self._open.append(element)

    def handle_endtag(self, tag: str) -> None:
        while self._open and self._open.pop().tag != tag:
            pass

    def handle_data(self, data: str) -> None:
        if self._open:
            self._open[-1].text += data

    def find(self, tag: str, **attrs: str) -> list[Element]:
        return [e for e in self.elements if e.tag == tag and all(
            value in e.attrs.get(name.rstrip("_"), "").split() for name, value in attrs.items())]


def _page(run: Run, out_dir: Path) -> tuple[str, Page]:
    path = out_dir / "report.html"
    run(HtmlReporter(path))
    assert leftovers(out_dir) == []
    text = path.read_text(encoding="utf-8")
    page = Page()
    page.feed(text)
    return text, page


def test_self_contained_no_external_assets(run_realistic: Run, out_dir: Path) -> None:
    text, page = _page(run_realistic, out_dir)
    scripts = page.find("script")
    assert len(scripts) == 1 and "src" not in scripts[0].attrs
    assert not page.find("link") and not page.find("img") and not page.find("iframe")
    assert not [e for e in page.elements if "src" in e.attrs]
    ids = {e.attrs["id"] for e in page.elements if "id" in e.attrs}
    for link in page.find("a"):
        assert link.attrs["href"].startswith("#") and link.attrs["href"][1:] in ids
    assert "url(" not in text and "@import" not in text and "http" not in "".join(
        s.text for s in page.find("style"))


def test_hostile_values_are_escaped(run_realistic: Run, out_dir: Path) -> None:
    text, page = _page(run_realistic, out_dir)
    assert text.count("<script") == 1  # ours
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in text
    assert "]]&gt;&lt;/failure&gt;&lt;script&gt;x&lt;/script&gt;" in text
    assert not re.search(r"[\x00-\x08\x0b\x0c\x0e-\x1f]", text)
    assert "\\x1b[31m" in text
    assert any("<script>alert('x')</script>" in e.text for e in page.find("pre"))


def test_one_section_per_exchange_in_order_with_filter_data(
    run_realistic: Run, out_dir: Path, results: list[ExchangeResult],
) -> None:
    _, page = _page(run_realistic, out_dir)
    sections = page.find("details", class_="exchange")
    expected = sorted(results, key=lambda r: (r.cassette, r.index))
    assert [s.attrs["id"] for s in sections] == [anchor(r.id) for r in expected]
    assert [s.attrs["data-outcome"] for s in sections] == [r.outcome.value for r in expected]
    assert {s.attrs["data-transaction"] for s in sections} == {
        "ITI-18", "ITI-41", "ITI-43", "ITI-44", "ITI-45", "ITI-47", "(unrecognised)"}
    opened = {s.attrs["data-outcome"] for s in sections if "open" in s.attrs}
    assert opened == {"regression", "error"}


def test_filters(run_realistic: Run, out_dir: Path) -> None:
    _, page = _page(run_realistic, out_dir)
    boxes = page.find("input", name="outcome")
    assert [b.attrs["value"] for b in boxes] == ["pass", "changed", "regression", "error",
                                                 "skipped"]
    assert [b.attrs["value"] for b in boxes if "checked" in b.attrs] == [
        "changed", "regression", "error", "skipped"]
    options = [o.attrs["value"] for o in page.find("option")]
    assert options[0] == "" and "ITI-47" in options and "(unrecognised)" in options
    assert page.find("input", id="search")


def test_side_by_side_differences_with_path_kind_severity_rule(
    run_realistic: Run, out_dir: Path,
) -> None:
    text, _ = _page(run_realistic, out_dir)
    section = text[text.index(f'id="{anchor("xds/provide-register-query-retrieve.yaml#2")}"'):]
    section = section[: section.index("</details>")]
    assert "<th>path</th><th>kind</th><th>severity</th><th>rule</th>" in section
    row = re.search(r'<tr class="regression">.*?RegistryResponse/@status.*?</tr>', section)
    assert row
    assert "<td>status</td>" in row.group() and "<td>registry_status</td>" in row.group()
    assert re.search(r'class="side rec"><pre>urn:[^<]*:Success</pre>.*class="side rep"><pre>'
                     r'urn:[^<]*:Failure</pre>', row.group())
    assert '<tr class="differs"><th>registry_status</th>' in section
    assert '<pre class="absent">(absent)</pre>' in section


def test_findings_and_error_groups_link_to_examples(run_realistic: Run, out_dir: Path) -> None:
    text, _ = _page(run_realistic, out_dir)
    assert "<h2>Findings (7)</h2>" in text
    assert "ExtrinsicObject[*]/Slot[3]/ValueList/Value" in text
    assert f'href="#{anchor("pdq/demographics.yaml#1")}"' in text  # error group example
    assert "Errors and skipped exchanges by reason" in text


def test_huge_values_are_cut(out_dir: Path) -> None:
    big = "<x>" + "y" * (MAX_VALUE_CHARS * 2) + "</x>"
    result = ExchangeResult(id="c#0", cassette="c", index=0, outcome=Outcome.CHANGED,
                            differences=(Difference("/A", DifferenceKind.VALUE,
                                                    Severity.CHANGED, big, "z"),))
    path = out_dir / "r.html"
    feed(HtmlReporter(path), run_info(), [result], FINISHED_AT)
    text = path.read_text(encoding="utf-8")
    assert "more characters in the JSON report" in text
    assert text.count("y") < MAX_VALUE_CHARS + MAX_EXAMPLE_CHARS + 1_000


@pytest.mark.parametrize(("value", "expected"), [
    (None, "(absent)"), ("a\x1bb\nc\td", "a\\x1bb\nc\td"), ("\x7f", "\\x7f"),
])
def test_shown_value(value: str | None, expected: str) -> None:
    assert shown_value(value) == expected


def test_empty_run(out_dir: Path) -> None:
    path = out_dir / "r.html"
    feed(HtmlReporter(path), run_info(), [], FINISHED_AT)
    text = path.read_text(encoding="utf-8")
    assert "No exchanges were replayed." in text and "Exchanges (0)" in text


@pytest.mark.parametrize("value", [
    None, True, False, 0, 200, -3, 1.5, HTTPStatus.OK, "AA", "", ["XDSRegistryError", "b"],
    {"k": [1, None]}, "naïve",
])
def test_verdict_rows_write_non_text_values_as_json(value: object) -> None:
    # Scalars take a shortcut; the cell still reads exactly as JSON writes the value.
    row = verdict_rows({"f": value}, {"f": value})[0]
    expected = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    assert row.recorded == row.replayed == expected


def test_each_distinct_verdict_table_is_rendered_once(
        out_dir: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    reporter = HtmlReporter(out_dir / "r.html")
    rendered: list[object] = []
    template = reporter._verdict
    real_render = template.render

    def counting_render(*args: object, **kwargs: object) -> str:
        rendered.append(kwargs["verdict"])
        return real_render(*args, **kwargs)

    monkeypatch.setattr(template, "render", counting_render)
    same = {"http_status": 200, "ack_code": "AA"}
    results = [ExchangeResult(id=f"c#{i}", cassette="c", index=i, outcome=Outcome.PASS,
                              verdict_recorded=same, verdict_replayed=dict(same))
               for i in range(3)]
    results.append(ExchangeResult(id="c#3", cassette="c", index=3, outcome=Outcome.REGRESSION,
                                  verdict_recorded=same,
                                  verdict_replayed={"http_status": 500, "ack_code": "AE"}))
    feed(reporter, run_info(), results, FINISHED_AT)
    assert len(rendered) == 2
    text = (out_dir / "r.html").read_text(encoding="utf-8")
    assert text.count('<table class="verdict">') == 4
    assert text.count('<tr class="differs"><th>ack_code</th>') == 1
