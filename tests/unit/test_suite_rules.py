"""Rules for the suite itself (tests/conftest.py).

Missing ``../shared`` data is skipped with the reason locally and a failure in CI
(``CI=true``): a CI job that forgot to check out the corpus must not go green by skipping
every test that reads it. Property tests have no wall-clock deadline.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import pytest
from hypothesis import settings

from .. import conftest

pytest_plugins = ["pytester"]

LOOKUPS: list[Callable[[], Path]] = [
    lambda: conftest.corpus_file("ITI-41/missing.xml"),
    lambda: conftest.corpus_dir(),
    lambda: conftest.shared_file("spec/run-report.schema.json"),
]
NAMES = ["corpus_file", "corpus_dir", "shared_file"]


@pytest.fixture
def nothing_shared(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    missing = tmp_path / "no-shared"
    monkeypatch.setattr(conftest, "SHARED_DIR", missing)
    monkeypatch.setattr(conftest, "CORPUS_DIR", missing / "corpus")
    return missing


@pytest.mark.parametrize("lookup", LOOKUPS, ids=NAMES)
@pytest.mark.parametrize("ci", [None, "", "false", "0"])
def test_outside_ci_missing_shared_data_skips_naming_the_path(
    nothing_shared: Path, monkeypatch: pytest.MonkeyPatch, lookup: Callable[[], Path],
    ci: str | None,
) -> None:
    if ci is None:
        monkeypatch.delenv("CI", raising=False)
    else:
        monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.skip.Exception) as skipped:
        lookup()
    assert str(nothing_shared) in str(skipped.value)
    assert "IHE_CORPUS" in str(skipped.value)


@pytest.mark.parametrize("lookup", LOOKUPS, ids=NAMES)
@pytest.mark.parametrize("ci", ["true", "TRUE", "1"])
def test_in_ci_missing_shared_data_fails(
    nothing_shared: Path, monkeypatch: pytest.MonkeyPatch, lookup: Callable[[], Path], ci: str,
) -> None:
    monkeypatch.setenv("CI", ci)
    with pytest.raises(pytest.fail.Exception) as failed:
        lookup()
    assert str(nothing_shared) in str(failed.value)
    assert "CI=true" in str(failed.value)


@pytest.mark.parametrize("lookup", LOOKUPS, ids=NAMES)
def test_a_ci_without_shared_data_by_declaration_skips(
    nothing_shared: Path, monkeypatch: pytest.MonkeyPatch, lookup: Callable[[], Path],
) -> None:
    """Only the explicit IHE_SHARED_ABSENT=skip (the public GitHub workflow) turns it back into
    a skip; any other value keeps the failure."""
    monkeypatch.setenv("CI", "true")
    monkeypatch.setenv(conftest.SHARED_ABSENT, "yes")
    with pytest.raises(pytest.fail.Exception):
        lookup()
    monkeypatch.setenv(conftest.SHARED_ABSENT, "skip")
    with pytest.raises(pytest.skip.Exception):
        lookup()


def test_present_shared_data_is_found_in_ci_too(
    nothing_shared: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("CI", "true")
    corpus_file = nothing_shared / "corpus" / "ITI-41" / "present.xml"
    corpus_file.parent.mkdir(parents=True)
    corpus_file.write_bytes(b"<a/>")
    spec = nothing_shared / "spec" / "run-report.schema.json"
    spec.parent.mkdir()
    spec.write_text("{}", encoding="utf-8")
    assert conftest.corpus_file("ITI-41/present.xml") == corpus_file
    assert conftest.corpus_dir() == nothing_shared / "corpus"
    assert conftest.shared_file("spec/run-report.schema.json") == spec


def test_a_ci_run_without_the_corpus_reports_failures_not_skips(
    nothing_shared: Path, monkeypatch: pytest.MonkeyPatch, pytester: pytest.Pytester,
) -> None:
    """The way CI sees it: pytest's own outcome for tests that read the absent corpus."""
    monkeypatch.setenv("CI", "true")
    pytester.makepyfile(test_reads_the_corpus="""
        from tests.conftest import corpus_file, corpus_dir

        def test_a_file():
            corpus_file("ITI-41/nist-PnrXop-Xop-body.txt")

        def test_the_folder():
            corpus_dir()
    """)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")
    result.assert_outcomes(failed=2)
    result.stdout.fnmatch_lines(["*CI=true, where missing shared data is an error*"])


def test_property_tests_have_no_wall_clock_deadline() -> None:
    assert settings.default.deadline is None
    for profile in ("dev", "ci"):
        assert settings.get_profile(profile).deadline is None
    assert settings.get_profile("ci").derandomize
