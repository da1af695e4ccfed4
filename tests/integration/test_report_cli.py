"""``ihe report merge`` and ``ihe report render`` end to end through the CLI.

Shard reports are written by the real JSON reporter from a realistic run (ITI-18/41/43/44/45/47
in all five outcomes, hostile strings included), then merged and rendered by the command.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner

from ihe_test_util.cli.main import cli
from ihe_test_util.report.base import feed
from ihe_test_util.report.json_report import JsonReporter
from ihe_test_util.report.schema import report_schema
from ihe_test_util.results import ExchangeResult, FailOn, Outcome
from ihe_test_util.safexml import parse_xml

from ..unit.report.run_builder import FINISHED_AT, realistic_results, run_info


def ihe(*args: str | Path, env: dict[str, str] | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(cli, [str(a) for a in args], env=env, catch_exceptions=False)
    return result.exit_code, result.stdout, result.stderr


def _write(path: Path, results: list[ExchangeResult], *, started_at: str = "2025-01-15T10:00:00Z",
           finished_at: str = FINISHED_AT, fail_on: FailOn = FailOn.CHANGED) -> Path:
    info = replace(run_info(fail_on), started_at=started_at)
    feed(JsonReporter(path), info, results, finished_at)
    return path


@pytest.fixture
def shards(tmp_path: Path) -> list[Path]:
    """The realistic run cut into three shards by cassette, as --shard I/3 would."""
    results = realistic_results()
    cassettes = sorted({r.cassette for r in results})
    groups = [[r for r in results if cassettes.index(r.cassette) % 3 == n] for n in range(3)]
    times = [("2025-01-15T10:00:05Z", "2025-01-15T10:00:30Z"),
             ("2025-01-15T09:59:59.250+00:00", "2025-01-15T10:00:20Z"),
             ("2025-01-15T10:00:01Z", "2025-01-15T11:00:42+01:00")]
    return [_write(tmp_path / f"shard-{n + 1}.json", group, started_at=start, finished_at=end)
            for n, (group, (start, end)) in enumerate(zip(groups, times, strict=True))]


def _load(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_merge_writes_every_format_and_fails_on_regressions(shards: list[Path],
                                                            tmp_path: Path) -> None:
    out = tmp_path / "out"
    out.mkdir()
    code, stdout, stderr = ihe("report", "merge", *shards, "-o", out / "run.json",
                               "--junit", out / "junit.xml", "--markdown", out / "summary.md",
                               "--html", out / "run.html")
    assert code == 1
    assert "FAILED (exit 1): 3 regression, 2 error, 6 changed, 2 skipped, 5 pass" in stdout
    assert "Outcomes by transaction" in stdout and "╭─ regression" in stdout
    assert f"wrote junit report: {out / 'junit.xml'}" in stderr
    merged = _load(out / "run.json")
    jsonschema.Draft202012Validator(report_schema()).validate(merged)
    assert merged["started_at"] == "2025-01-15T09:59:59.250+00:00"
    assert merged["finished_at"] == "2025-01-15T11:00:42+01:00"
    assert merged["summary"] == {"total": 18, "pass": 5, "changed": 6, "regression": 3,
                                 "error": 2, "skipped": 2}
    expected = sorted(realistic_results(), key=lambda r: (r.cassette, r.index))
    assert [x["id"] for x in merged["exchanges"]] == [r.id for r in expected]
    assert merged["exchanges"] == [r.to_dict() for r in expected]
    junit = parse_xml((out / "junit.xml").read_bytes())
    assert junit.get("tests") == "18" and len(junit.findall("testsuite")) == 4
    assert (out / "summary.md").read_text("utf-8").startswith("## ❌ ihe replay FAILED")
    assert "<h2>Findings (7)</h2>" in (out / "run.html").read_text("utf-8")
    assert sorted(p.name for p in out.iterdir()) == ["junit.xml", "run.html", "run.json",
                                                     "summary.md"]


def test_merged_report_equals_the_unsharded_report(shards: list[Path], tmp_path: Path) -> None:
    whole = _write(tmp_path / "whole.json", realistic_results())
    code, _, _ = ihe("report", "merge", *shards, "-o", tmp_path / "merged.json")
    assert code == 1
    merged, single = _load(tmp_path / "merged.json"), _load(whole)
    assert merged["exchanges"] == single["exchanges"]
    assert merged["summary"] == single["summary"]


@pytest.mark.parametrize(("fail_on", "exit_code"), [
    (None, 1), ("changed", 1), ("regression", 1), ("never", 3),
])
def test_render_exit_codes_follow_fail_on(shards: list[Path], tmp_path: Path,
                                          fail_on: str | None, exit_code: int) -> None:
    run = _write(tmp_path / "run.json", realistic_results())
    args = ["report", "render", run] + (["--fail-on", fail_on] if fail_on else [])
    code, stdout, _ = ihe(*args)
    assert code == exit_code
    assert f"fail on {fail_on or 'changed'}" in stdout


@pytest.mark.parametrize(("keep", "fail_on", "exit_code"), [
    ({Outcome.PASS, Outcome.SKIPPED}, "changed", 0),
    ({Outcome.PASS, Outcome.CHANGED}, "regression", 0),
    ({Outcome.PASS, Outcome.CHANGED}, "changed", 1),
    ({Outcome.PASS, Outcome.ERROR, Outcome.CHANGED}, "regression", 3),
])
def test_render_exit_codes_per_cli_contract(tmp_path: Path, keep: set[Outcome], fail_on: str,
                                            exit_code: int) -> None:
    run = _write(tmp_path / "run.json", [r for r in realistic_results() if r.outcome in keep])
    code, _, _ = ihe("report", "render", run, "--fail-on", fail_on)
    assert code == exit_code


def test_render_other_formats_from_a_json_report(tmp_path: Path) -> None:
    run = _write(tmp_path / "run.json", realistic_results())
    code, _, _ = ihe("report", "render", run, "--junit", tmp_path / "j.xml",
                     "--markdown", tmp_path / "s.md", "--html", tmp_path / "r.html")
    assert code == 1
    assert parse_xml((tmp_path / "j.xml").read_bytes()).get("failures") == "9"
    html = (tmp_path / "r.html").read_text("utf-8")
    assert "&lt;script&gt;alert(" in html and html.count("<script") == 1


def test_quiet_and_no_color(tmp_path: Path) -> None:
    run = _write(tmp_path / "run.json", realistic_results())
    code, stdout, _ = ihe("--no-color", "-q", "report", "render", run)
    assert code == 1
    assert stdout.splitlines() == [
        "FAILED (exit 1): 3 regression, 2 error, 6 changed, 2 skipped, 5 pass (18 exchanges); "
        "fail on changed; took 42.5 s"]
    forced = {"FORCE_COLOR": "1"}  # rich would colour even a pipe
    _, coloured, _ = ihe("report", "render", run, env=forced)
    _, plain, _ = ihe("--no-color", "report", "render", run, env=forced)
    colour = re.compile(r"\x1b\[[0-9;]*(3[0-9]|9[0-7])[;m]")  # SGR foreground colours
    assert colour.search(coloured) and not colour.search(plain)  # NO_COLOR: bold may stay


def test_duplicate_exchange_across_shards_is_refused(shards: list[Path],
                                                     tmp_path: Path) -> None:
    code, _, stderr = ihe("report", "merge", shards[0], shards[1], shards[0],
                               "-o", tmp_path / "all.json")
    assert code == 2
    assert "is in both" in stderr and "shard-1.json" in stderr
    assert not (tmp_path / "all.json").exists()


def test_mixed_schema_versions_are_refused(shards: list[Path], tmp_path: Path) -> None:
    text = shards[1].read_text("utf-8").replace("run-report@1", "run-report@2")
    shards[1].write_text(text, encoding="utf-8")
    code, _, stderr = ihe("report", "merge", *shards, "-o", tmp_path / "all.json")
    assert code == 2
    assert "cannot merge reports of different schema versions" in stderr


def test_invalid_shard_names_file_and_member(shards: list[Path], tmp_path: Path) -> None:
    text = shards[2].read_text("utf-8").replace('"index": 1,', '"index": -1,', 1)
    shards[2].write_text(text, encoding="utf-8")
    code, _, stderr = ihe("report", "merge", *shards, "-o", tmp_path / "all.json")
    assert code == 2
    assert "shard-3.json: not a valid run report: exchanges[1].index: -1 is less than the " \
           "minimum of 0" in stderr.replace("\n", " ").replace("  ", " ")


def test_different_fail_on_needs_a_choice(tmp_path: Path) -> None:
    results = realistic_results()
    one = _write(tmp_path / "a.json", results[:5], fail_on=FailOn.CHANGED)
    two = _write(tmp_path / "b.json", results[5:], fail_on=FailOn.REGRESSION)
    code, _, stderr = ihe("report", "merge", one, two)
    assert code == 2 and "different --fail-on" in stderr
    code, _, _ = ihe("report", "merge", one, two, "--fail-on", "regression",
                          "-o", tmp_path / "all.json")
    assert code == 1 and _load(tmp_path / "all.json")["fail_on"] == "regression"


def test_missing_output_folder_is_created(shards: list[Path], tmp_path: Path) -> None:
    code, _, stderr = ihe("report", "merge", *shards, "--html", tmp_path / "new" / "r.html")
    assert code in (0, 1), stderr
    assert (tmp_path / "new" / "r.html").is_file()


def test_output_folder_blocked_by_a_file_is_a_usage_error_before_reading(
    shards: list[Path], tmp_path: Path,
) -> None:
    (tmp_path / "taken").write_text("a file, not a folder")
    code, _, stderr = ihe("report", "merge", *shards, "--html", tmp_path / "taken" / "r.html")
    assert code == 2
    assert "taken" in stderr


def test_missing_input_is_a_usage_error(tmp_path: Path) -> None:
    code, _, stderr = ihe("report", "render", tmp_path / "absent.json")
    assert code == 2 and "does not exist" in stderr


def test_console_script_end_to_end(tmp_path: Path) -> None:
    run = _write(tmp_path / "run.json", realistic_results())
    completed = subprocess.run(
        [sys.executable, "-m", "ihe_test_util", "--no-color", "report", "render", run,
         "--markdown", tmp_path / "s.md"], capture_output=True, text=True, encoding="utf-8",
        timeout=60, check=False,
    )
    assert completed.returncode == 1, completed.stderr
    assert "FAILED (exit 1)" in completed.stdout
    assert (tmp_path / "s.md").read_text("utf-8").startswith("## ❌")


def test_merge_may_replace_one_of_its_inputs(shards: list[Path]) -> None:
    code, _, _ = ihe("report", "merge", *shards, "-o", shards[0])
    assert code == 1
    assert _load(shards[0])["summary"]["total"] == 18
