"""An exchange's notes (objects of earlier replays set aside, missing-state hints) appear in
every report format, redacted like everything else a report writes."""

from __future__ import annotations

from pathlib import Path

from lxml import etree

from ihe_test_util.cassette.redact import Redactor
from ihe_test_util.report.base import ReporterSet, feed
from ihe_test_util.report.html_report import HtmlReporter, anchor
from ihe_test_util.report.json_report import JsonReporter
from ihe_test_util.report.junit_report import JunitReporter
from ihe_test_util.report.markdown_report import MarkdownReporter
from ihe_test_util.results import ExchangeError, ExchangeResult, Outcome
from ihe_test_util.safexml import parse_xml

from .conftest import leftovers
from .run_builder import FINISHED_AT, run_info

SECRET = "s3cr3t-t0ken-value"
EARLIER = "2 ObjectRef of earlier replays (run r7) were set aside"
HINT = (f"the target does not know patient 'P1^^^&1.2.3&ISO' (token {SECRET}): it is created "
        f"by z-feed.yaml#0")


def _results() -> list[ExchangeResult]:
    return [
        ExchangeResult(id="q.yaml#0", cassette="q.yaml", index=0, outcome=Outcome.PASS,
                       transaction="ITI-18", notes=(EARLIER,)),
        ExchangeResult(id="q.yaml#1", cassette="q.yaml", index=1, outcome=Outcome.PASS,
                       transaction="ITI-18"),
        ExchangeResult(id="s.yaml#0", cassette="s.yaml", index=0, outcome=Outcome.ERROR,
                       transaction="ITI-41", error=ExchangeError("http", "500"),
                       notes=(HINT, "second <note> & more")),
    ]


def _write(out_dir: Path) -> dict[str, Path]:
    paths = {"junit": out_dir / "junit.xml", "md": out_dir / "report.md",
             "html": out_dir / "report.html", "json": out_dir / "report.json"}
    reporters = ReporterSet(
        [JunitReporter(paths["junit"]), MarkdownReporter(paths["md"]),
         HtmlReporter(paths["html"]), JsonReporter(paths["json"])],
        redact=Redactor(secrets={"token": SECRET}).result)
    with reporters:
        feed(reporters, run_info(), _results(), FINISHED_AT)
    assert leftovers(out_dir) == []
    return paths


def test_redactor_result_covers_notes() -> None:
    redacted = Redactor(secrets={"token": SECRET}).result(_results()[2])
    assert all(SECRET not in note for note in redacted.notes)
    assert "[[ihe-secret:token]]" in redacted.notes[0]


def test_junit_notes_are_the_test_cases_system_out(out_dir: Path) -> None:
    path = _write(out_dir)["junit"]
    root = parse_xml(path.read_bytes(), source=str(path))
    cases = {(c.get("classname"), (c.get("name") or "").split()[0]): c
             for c in root.iter("testcase")}
    passed = cases["q.yaml", "#0"]
    assert passed.find("failure") is None
    assert passed.findtext("system-out") == f"note: {EARLIER}"
    assert cases["q.yaml", "#1"].find("system-out") is None
    error_case = cases["s.yaml", "#0"]
    assert error_case.find("error") is not None
    out = error_case.findtext("system-out") or ""
    assert out.splitlines() == [f"note: {HINT.replace(SECRET, '[[ihe-secret:token]]')}",
                                "note: second <note> & more"]
    assert SECRET not in path.read_text(encoding="utf-8")
    # The schema CI tools read: system-out after the outcome element, inside the testcase.
    assert [child.tag for child in error_case] == ["error", "system-out"]
    assert isinstance(root, etree._Element)


def test_markdown_lists_the_notes_per_exchange(out_dir: Path) -> None:
    text = _write(out_dir)["md"].read_text(encoding="utf-8")
    assert "### Notes (2 exchanges)" in text
    assert f"| `q.yaml#0` | `{EARLIER}` |" in text
    assert "`second <note> & more`" in text  # a code span: no markup
    assert "[[ihe-secret:token]]" in text and SECRET not in text


def test_html_shows_the_notes_in_the_exchange_section(out_dir: Path) -> None:
    text = _write(out_dir)["html"].read_text(encoding="utf-8")
    section = text[text.index(f'id="{anchor("s.yaml#0")}"'):]
    section = section[: section.index("</details>")]
    assert '<ul class="notes">' in section
    assert "<li>second &lt;note&gt; &amp; more</li>" in section
    assert "2 notes</span>" in section
    first = text[text.index(f'id="{anchor("q.yaml#0")}"'):]
    assert f"<li>{EARLIER}</li>" in first[: first.index("</details>")]
    assert "[[ihe-secret:token]]" in text and SECRET not in text


def test_json_notes_are_redacted_too(out_dir: Path) -> None:
    text = _write(out_dir)["json"].read_text(encoding="utf-8")
    assert EARLIER in text and SECRET not in text
