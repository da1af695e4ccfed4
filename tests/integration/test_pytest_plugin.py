"""The pytest plugin replays the example cassettes against ``ihe sim`` as pytest tests."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path
from xml.etree import ElementTree

import pytest

from ihe_test_util.cassette import load_cassette
from ihe_test_util.sim import Simulator

from ..conftest import REPO_ROOT

pytest_plugins = ["pytester"]

EXAMPLES = REPO_ROOT / "cassettes"
#: docs/simulator.md: on the breaking server GetDocuments drops a document and a PIX revise
#: feed is answered AE; these are the example cassettes' regressions.
REGRESSIONS = {"cassettes/xds-documents.yaml::#3[ITI-18]", "cassettes/pix-pdq.yaml::#1[ITI-44]"}


@pytest.fixture
def cassettes(pytester: pytest.Pytester) -> Path:
    folder = pytester.path / "cassettes"
    shutil.copytree(EXAMPLES, folder)
    return folder


def replay(pytester: pytest.Pytester, target: str, *args: str) -> pytest.RunResult:
    return pytester.runpytest(
        "-p", "no:cacheprovider", "--ihe-replay", "cassettes", "--ihe-target", target,
        "--ihe-config", "cassettes/ihe.toml", "-rf", *args,
    )


def exchanges() -> int:
    return sum(len(load_cassette(p).interactions) for p in EXAMPLES.glob("*.yaml"))


def failed_ids(result: pytest.RunResult) -> set[str]:
    reports = result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
    return {r.nodeid for r in reports if r.failed}


def test_every_exchange_is_a_passing_test_on_the_baseline_server(
    pytester: pytest.Pytester, cassettes: Path, baseline: str,
) -> None:
    result = replay(pytester, baseline, "-v")
    result.assert_outcomes(passed=exchanges())
    result.stdout.fnmatch_lines([f"*collected {exchanges()} items",
                                 "cassettes/xds-documents.yaml::#3[[]ITI-18[]] PASSED*"],
                                consecutive=False)


def test_breaking_server_fails_the_regressions_naming_them_in_pytest_output(
    pytester: pytest.Pytester, cassettes: Path, breaking: str,
) -> None:
    result = replay(pytester, breaking, "--ihe-fail-on", "regression")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    assert failed_ids(result) == REGRESSIONS
    result.assert_outcomes(passed=exchanges() - 2, failed=2)
    result.stdout.fnmatch_lines([
        "*_ xds-documents.yaml#3 ITI-18 _*",
        "regression xds-documents.yaml#3 ITI-18 get documents: ITI-18 verdict result_count",
        "*regression*ITI-18 verdict*",  # the terminal report's panel, difference by difference
        "FAILED cassettes/pix-pdq.yaml::#1[[]ITI-44[]] - regression pix-pdq.yaml#1 ITI-44*",
    ], consecutive=False)


def test_changed_exchanges_fail_by_default_as_in_ihe_replay(
    pytester: pytest.Pytester, cassettes: Path, breaking: str,
) -> None:
    result = replay(pytester, breaking)
    assert REGRESSIONS < failed_ids(result)
    result.stdout.fnmatch_lines(
        ["FAILED cassettes/pix-pdq.yaml::#3[[]ITI-47[]] - changed pix-pdq.yaml#3*"],
        consecutive=False)


def test_k_selects_by_transaction_and_later_exchanges_still_see_earlier_ones(
    pytester: pytest.Pytester, cassettes: Path, breaking: str,
) -> None:
    # #3 needs entryUUIDs the server assigned in #1 and #2, which -k deselected: they are
    # replayed (unreported) so #3 is compared, and fails, as in a full run.
    result = replay(pytester, breaking, "-k", "xds-documents and ITI-18", "--ihe-fail-on",
                    "regression")
    assert failed_ids(result) == {"cassettes/xds-documents.yaml::#3[ITI-18]"}
    reports = result.reprec.getreports("pytest_runtest_logreport")  # type: ignore[attr-defined]
    ran = {r.nodeid for r in reports if r.when == "call"}
    assert ran and all(n.startswith("cassettes/xds-documents.yaml::#") and "[ITI-18]" in n
                       for n in ran)
    assert all(n in ran for n in failed_ids(result))


def test_x_stops_at_the_first_failing_exchange(
    pytester: pytest.Pytester, cassettes: Path, breaking: str,
) -> None:
    result = replay(pytester, breaking, "-x", "--ihe-fail-on", "regression")
    outcomes = result.parseoutcomes()
    assert outcomes["failed"] == 1
    assert outcomes.get("passed", 0) < exchanges() - 1


def test_xdist_keeps_each_cassette_on_one_worker_with_dist_loadfile(
    pytester: pytest.Pytester, cassettes: Path, breaking: str,
) -> None:
    pytest.importorskip("xdist")
    result = replay(pytester, breaking, "-n", "2", "--dist", "loadfile", "--ihe-fail-on",
                    "regression")
    result.assert_outcomes(passed=exchanges() - 2, failed=2)
    assert failed_ids(result) == REGRESSIONS
    result.stdout.fnmatch_lines(["created: 2/2 workers"], consecutive=False)


def test_junit_xml_has_one_testcase_per_exchange_with_the_failure(
    pytester: pytest.Pytester, cassettes: Path, breaking: str,
) -> None:
    junit = pytester.path / "junit.xml"
    replay(pytester, breaking, f"--junitxml={junit}", "--ihe-fail-on", "regression")
    cases = ElementTree.parse(junit).getroot().findall(".//testcase")
    assert len(cases) == exchanges()
    failures = {(c.get("classname"), c.get("name")): c.find("failure") for c in cases
                if c.find("failure") is not None}
    assert set(failures) == {("cassettes.xds-documents.yaml", "#3[ITI-18]"),
                             ("cassettes.pix-pdq.yaml", "#1[ITI-44]")}
    failure = failures[("cassettes.xds-documents.yaml", "#3[ITI-18]")]
    assert failure is not None and "ITI-18 verdict result_count" in (failure.text or "")


def test_an_invalid_cassette_is_a_collection_error_and_nothing_runs(
    pytester: pytest.Pytester, cassettes: Path, baseline: str,
) -> None:
    (cassettes / "broken.yaml").write_text("interactions: [\n", encoding="utf-8")
    result = replay(pytester, baseline)
    assert result.ret == pytest.ExitCode.INTERRUPTED
    result.stdout.fnmatch_lines(["*invalid cassette*broken.yaml*"], consecutive=False)
    result.assert_outcomes(errors=1)


def test_a_configuration_mistake_is_a_usage_error_before_anything_runs(
    pytester: pytest.Pytester, cassettes: Path,
) -> None:
    (cassettes / "ihe.toml").write_text("fail_onn = 'changed'\n", encoding="utf-8")
    result = replay(pytester, "http://127.0.0.1:9")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--ihe-replay:*fail_onn*"], consecutive=False)
    assert "collected" not in result.stdout.str()


def test_without_the_flag_the_plugin_changes_nothing(pytester: pytest.Pytester,
                                                     cassettes: Path) -> None:
    pytester.makepyfile(test_plain="def test_one():\n    assert True\n")
    result = pytester.runpytest("-p", "no:cacheprovider", "-v")
    result.assert_outcomes(passed=1)
    assert ".yaml::#" not in result.stdout.str()
    assert "--ihe-replay" in pytester.runpytest("--help").stdout.str()


def test_the_plugin_imports_nothing_heavy_at_pytest_start_up() -> None:
    code = (
        "import sys, ihe_test_util.pytest_plugin\n"
        "heavy = [m for m in ('lxml', 'rich', 'requests', 'ihe_test_util.replay', "
        "'ihe_test_util.cassette') if m in sys.modules]\n"
        "print(','.join(heavy))\n"
    )
    output = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            check=True, timeout=60).stdout.strip()
    assert output == ""


CLIENT_TEST = '''
import pytest
import requests

from ihe_test_util.cassette import load_cassette

FEED = load_cassette({example!r}).interactions[0].request  # an ITI-44 patient feed


@pytest.mark.ihe_cassette("recorded/feed.yaml", upstream={upstream!r})
def test_client_feeds_a_patient(ihe_cassette):
    answer = requests.post(ihe_cassette.url + "/pix", data=FEED.body,
                           headers={{"Content-Type": FEED.headers.get("Content-Type")}},
                           timeout=10)
    assert answer.status_code == 200
    assert b'<acknowledgement><typeCode code="AA"/>' in answer.content
    print("recording" if ihe_cassette.recording else "playback")
'''


def client_test(pytester: pytest.Pytester, upstream: str) -> None:
    pytester.makepyfile(test_client=CLIENT_TEST.format(
        example=str(EXAMPLES / "pix-pdq.yaml"), upstream=upstream))


def test_ihe_cassette_records_once_then_answers_offline_from_serve(
    pytester: pytest.Pytester,
) -> None:
    with Simulator(profile="baseline") as sim:
        client_test(pytester, sim.base_url)
        first = pytester.runpytest("-p", "no:cacheprovider", "-s")
    first.assert_outcomes(passed=1)
    assert "recording" in first.stdout.str()
    cassette = pytester.path / "recorded" / "feed.yaml"
    assert len(load_cassette(cassette).interactions) == 1
    # The simulator is gone: the same test now runs against the cassette, in-process.
    second = pytester.runpytest("-p", "no:cacheprovider", "-s", "--ihe-record-mode", "none")
    second.assert_outcomes(passed=1)
    assert "playback" in second.stdout.str()


def test_ihe_cassette_with_record_mode_none_fails_on_a_missing_cassette(
    pytester: pytest.Pytester,
) -> None:
    client_test(pytester, "http://127.0.0.1:9")
    result = pytester.runpytest("-p", "no:cacheprovider", "--ihe-record-mode", "none")
    result.assert_outcomes(errors=1)
    result.stdout.fnmatch_lines(["*feed.yaml does not exist and --ihe-record-mode is none*"],
                                consecutive=False)
