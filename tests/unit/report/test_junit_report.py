"""JUnit XML: the structure GitHub, GitLab and Jenkins read, sums that add up, safe text."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest
from lxml import etree

from ihe_test_util.report.base import feed
from ihe_test_util.report.junit_report import JunitReporter, case_name
from ihe_test_util.results import (
    Difference,
    DifferenceKind,
    ExchangeResult,
    Outcome,
    Severity,
)
from ihe_test_util.safexml import parse_xml

from ...conftest import corpus_file
from .conftest import Run, leftovers
from .run_builder import FINISHED_AT, run_info


def _junit(run: Run, out_dir: Path) -> etree._Element:
    path = out_dir / "junit.xml"
    run(JunitReporter(path))
    assert leftovers(out_dir) == []
    return parse_xml(path.read_bytes(), source=str(path))


def _int(element: etree._Element, name: str) -> int:
    return int(element.get(name, "-1"))


def test_structure_and_sums(run_realistic: Run, out_dir: Path,
                            results: list[ExchangeResult]) -> None:
    root = _junit(run_realistic, out_dir)
    assert root.tag == "testsuites"
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == sorted({r.cassette for r in results})
    for attribute, child in (("failures", "failure"), ("errors", "error"),
                             ("skipped", "skipped")):
        for suite in suites:
            assert _int(suite, attribute) == len(suite.findall(f"testcase/{child}"))
        assert _int(root, attribute) == sum(_int(s, attribute) for s in suites)
    for suite in suites:
        cases = suite.findall("testcase")
        assert _int(suite, "tests") == len(cases)
        assert {c.get("classname") for c in cases} == {suite.get("name")}
        assert float(suite.get("time", "x")) == pytest.approx(
            sum(float(c.get("time", "x")) for c in cases), abs=0.01)
    assert _int(root, "tests") == len(results) == len(list(root.iter("testcase")))
    assert (_int(root, "failures"), _int(root, "errors"), _int(root, "skipped")) == (9, 2, 2)
    assert float(root.get("time", "x")) == pytest.approx(42.5)
    assert root.get("timestamp") == "2025-01-15T10:00:00Z"


def test_case_names_and_ordering(run_realistic: Run, out_dir: Path) -> None:
    root = _junit(run_realistic, out_dir)
    suite = root.find("testsuite[@name='xds/provide-register-query-retrieve.yaml']")
    assert suite is not None
    assert [c.get("name") for c in suite.findall("testcase")] == [
        "#0 ITI-41 provide document", "#1 ITI-18 find documents",
        "#2 ITI-43 retrieve document",
    ]


def test_failure_carries_outcome_message_and_differences(run_realistic: Run,
                                                          out_dir: Path) -> None:
    root = _junit(run_realistic, out_dir)
    case = root.find(".//testcase[@name='#2 ITI-43 retrieve document']")
    assert case is not None
    failure = case.find("failure")
    assert failure is not None
    assert failure.get("type") == "regression"
    message = failure.get("message", "")
    assert message.startswith("regression: regression status ") and "(+1 more)" in message
    text = failure.text or ""
    assert "ResponseStatusType:Success -> urn:oasis:names:tc:ebxml-regrep:ResponseStatusType" \
           ":Failure [rule registry_status]" in text
    assert "DocumentResponse[1]" in text and "result_count" in text
    assert "verdict replayed:" in text and "XDSMissingDocument" in text


def test_error_and_skipped(run_realistic: Run, out_dir: Path) -> None:
    root = _junit(run_realistic, out_dir)
    error = root.find(".//testcase[@name='#1 ITI-47 PDQ query']/error")
    assert error is not None and error.get("type") == "EndpointUnreachable"
    assert "connection refused" in (error.text or "")
    skipped = root.find(".//testcase[@name='#2 ITI-45 PIX query (merged id)']/skipped")
    assert skipped is not None
    assert skipped.get("message", "").startswith("DependencyNotCorrelated: pix/")


def test_hostile_values_stay_text(run_realistic: Run, out_dir: Path) -> None:
    root = _junit(run_realistic, out_dir)
    assert root.find(".//script") is None
    case = next(c for c in root.iter("testcase") if "<script>" in c.get("name", ""))
    assert "\\x1b[31m" in case.get("name", "")  # the escape character cannot travel in XML 1.0
    failure = case.find("failure")
    assert failure is not None
    assert "]]></failure><script>x</script>" in (failure.text or "")
    assert "line one\\nline two" in (failure.text or "")


def test_real_stack_trace_from_a_registry_error(out_dir: Path) -> None:
    """A NIST registry puts a Java stack trace into RegistryError/@location (corpus)."""
    source = corpus_file("ITI-41/regresp-suc-err.xml")
    registry_error = parse_xml(source.read_bytes(), source=str(source))[0][0]
    trace = registry_error.get("location", "")
    assert "SubmitObjectsRequest.java" in trace
    result = ExchangeResult(
        id="xds/pnr.yaml#0", cassette="xds/pnr.yaml", index=0, transaction="ITI-41",
        outcome=Outcome.REGRESSION, differences=(Difference(
            "/RegistryResponse/RegistryErrorList/RegistryError[1]/@location",
            DifferenceKind.ATTRIBUTE, Severity.REGRESSION, None, trace, rule="error_codes"),),
    )
    path = out_dir / "junit.xml"
    feed(JunitReporter(path), run_info(), [result], FINISHED_AT)
    failure = parse_xml(path.read_bytes()).find(".//failure")
    assert failure is not None and trace[:400] in (failure.text or "")


def test_many_differences_are_capped(out_dir: Path) -> None:
    diff = Difference("/A/B[1]", DifferenceKind.VALUE, Severity.CHANGED, "a", "b")
    result = ExchangeResult(id="c#0", cassette="c", index=0, outcome=Outcome.CHANGED,
                            differences=(diff,) * 250)
    path = out_dir / "junit.xml"
    feed(JunitReporter(path), run_info(), [result], FINISHED_AT)
    text = parse_xml(path.read_bytes()).findtext(".//failure") or ""
    assert "... and 50 more" in text and text.count("/A/B[1]") == 200


def test_name_without_step_name() -> None:
    result = ExchangeResult(id="c#4", cassette="c", index=4, outcome=Outcome.PASS)
    assert case_name(result) == "#4 (unrecognised)"
    assert case_name(replace(result, transaction="ITI-18", name="q")) == "#4 ITI-18 q"


def test_empty_run(out_dir: Path) -> None:
    path = out_dir / "junit.xml"
    feed(JunitReporter(path), run_info(), [], FINISHED_AT)
    root = parse_xml(path.read_bytes())
    assert root.tag == "testsuites" and root.get("tests") == "0" and len(root) == 0


def test_written_to_a_pipe(tmp_path: Path, run_realistic: Run) -> None:
    import os
    import threading

    if not hasattr(os, "mkfifo"):
        pytest.skip("named pipes are POSIX")
    fifo = tmp_path / "junit.pipe"
    os.mkfifo(fifo)
    received: list[bytes] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_bytes()))
    reader.start()
    run_realistic(JunitReporter(fifo))
    reader.join(timeout=10)
    assert parse_xml(received[0]).get("tests") == "18"
    assert sorted(os.listdir(tmp_path)) == ["junit.pipe"]
