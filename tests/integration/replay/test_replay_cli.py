"""``ihe replay`` end to end: a real cassette, a real simulator on 127.0.0.1, the real CLI."""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from ihe_test_util.report.schema import report_schema
from ihe_test_util.sim import Simulator

from ..transport_servers import base_url, serve

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def ihe(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ihe_test_util", "--no-color", *args],
        capture_output=True, text=True, cwd=cwd, timeout=120,
        env={**os.environ, "COLUMNS": "120"},
    )


def validate(report: Path) -> dict[str, object]:
    import jsonschema

    data = json.loads(report.read_text(encoding="utf-8"))
    jsonschema.validate(data, report_schema())
    return data


def test_baseline_replays_clean_and_writes_every_report(cassettes: Path, tmp_path: Path) -> (
    None
):
    out = tmp_path / "out"
    with Simulator(profile="baseline") as sim:
        result = ihe("replay", str(cassettes), "--target", sim.base_url,
                     "--report-json", str(out / "run.json"), "--junit", str(out / "junit.xml"),
                     "--markdown", str(out / "summary.md"), "--html", str(out / "run.html"))
    assert result.returncode == 0, result.stdout + result.stderr
    data = validate(out / "run.json")
    assert data["summary"] == {"total": 7, "pass": 7, "changed": 0, "regression": 0,
                               "error": 0, "skipped": 0}
    transactions = [e["transaction"] for e in data["exchanges"]]  # type: ignore[index]
    assert transactions == ["ITI-44", "ITI-45", "ITI-47", "ITI-41", "ITI-18", "ITI-18", "ITI-43"]
    junit = etree.parse(str(out / "junit.xml")).getroot()
    assert junit.get("tests") == "7" and junit.get("failures") == "0"
    assert "PASSED" in result.stdout
    html = (out / "run.html").read_text(encoding="utf-8")
    assert "<script src=" not in html and "xds-flow.yaml#6" in html
    assert "7" in (out / "summary.md").read_text(encoding="utf-8")


def test_breaking_upgrade_is_exit_1_naming_the_regressions(cassettes: Path, tmp_path: Path) -> (
    None
):
    report = tmp_path / "run.json"
    with Simulator(profile="breaking") as sim:
        result = ihe("replay", str(cassettes), "--target", sim.base_url,
                     "--report-json", str(report))
    assert result.returncode == 1, result.stdout + result.stderr
    data = validate(report)
    regressions = [e for e in data["exchanges"]  # type: ignore[attr-defined]
                   if e["outcome"] == "regression"]
    assert regressions, data["summary"]
    assert any(d["rule"] for e in regressions for d in e["differences"])
    assert "regression" in result.stdout and "FAILED" in result.stdout


def test_fail_on_regression_lets_changes_pass(cassettes: Path) -> None:
    with Simulator(profile="compatible") as sim:
        result = ihe("replay", str(cassettes), "--target", sim.base_url,
                     "--fail-on", "regression")
    assert result.returncode == 0, result.stdout + result.stderr


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_endpoint_down_is_exit_3_with_errors(cassettes: Path, tmp_path: Path) -> None:
    report = tmp_path / "run.json"
    result = ihe("replay", str(cassettes), "--target", f"http://127.0.0.1:{_closed_port()}",
                 "--report-json", str(report), "--timeout", "5")
    assert result.returncode == 3, result.stdout + result.stderr
    data = validate(report)
    summary = data["summary"]
    assert summary["error"] >= 1  # type: ignore[index]
    first = data["exchanges"][0]  # type: ignore[index]
    assert first["outcome"] == "error" and first["error"]["type"] == "EndpointUnreachable"


def test_invalid_cassette_is_exit_2_and_nothing_is_sent(cassettes: Path) -> None:
    (cassettes / "broken.yaml").write_text("interactions:\n- request: !!python/object:os.system"
                                           " {}\nversion: 1\n", encoding="utf-8")
    with serve() as server:  # records every request it receives in server.seen
        result = ihe("replay", str(cassettes), "--target", base_url(server))
        assert server.seen == []
    assert result.returncode == 2, result.stdout + result.stderr
    assert "broken.yaml" in result.stderr
    assert "Traceback" not in result.stderr


def test_parallel_cassettes_and_shards_cover_every_exchange(cassettes: Path, tmp_path: Path) -> (
    None
):
    for n in range(3):
        shutil.copy(cassettes / "xds-flow.yaml", cassettes / f"copy-{n}.yaml")
    reports = []
    with Simulator(profile="baseline") as sim:
        # The copies share one patient on one stateful server, so later replays see the
        # documents of earlier ones: outcomes vary, coverage must not (--fail-on never).
        everything = ihe("replay", str(cassettes), "--target", sim.base_url, "--jobs", "2",
                         "--fail-on", "never", "--report-json", str(tmp_path / "all.json"))
        assert everything.returncode == 0, everything.stdout + everything.stderr
        for shard in (1, 2):
            report = tmp_path / f"shard-{shard}.json"
            result = ihe("replay", str(cassettes), "--target", sim.base_url, "--fail-on",
                         "never", "--shard", f"{shard}/2", "--report-json", str(report))
            assert result.returncode == 0, result.stdout + result.stderr
            reports.append(report)
    merged = tmp_path / "merged.json"
    result = ihe("report", "merge", *map(str, reports), "-o", str(merged))
    assert result.returncode == 0, result.stdout + result.stderr
    assert all(len(validate(r)["exchanges"]) in range(29) for r in reports)  # type: ignore[arg-type]
    ids_all = sorted(e["id"] for e in validate(tmp_path / "all.json")["exchanges"])  # type: ignore[attr-defined]
    ids_merged = sorted(e["id"] for e in validate(merged)["exchanges"])  # type: ignore[attr-defined]
    assert ids_all == ids_merged and len(ids_all) == 28


def test_approve_makes_the_replayed_responses_the_new_baseline(cassettes: Path,
                                                               tmp_path: Path) -> None:
    report = tmp_path / "run.json"
    with Simulator(profile="breaking") as sim:
        first = ihe("replay", str(cassettes), "--target", sim.base_url,
                    "--report-json", str(report))
    assert first.returncode == 1
    refused = ihe("approve", str(report))
    assert refused.returncode == 2 and "--allow-regressions" in refused.stderr
    before = (cassettes / "xds-flow.yaml").read_bytes()
    approved = ihe("approve", str(report), "--allow-regressions")
    assert approved.returncode == 0, approved.stdout + approved.stderr
    assert (cassettes / "xds-flow.yaml").read_bytes() != before
    with Simulator(profile="breaking") as sim:
        again = ihe("replay", str(cassettes), "--target", sim.base_url, "--fail-on",
                    "regression")
    assert again.returncode == 0, again.stdout + again.stderr


def test_unknown_origin_target_syntax_is_usage_error(cassettes: Path) -> None:
    result = ihe("replay", str(cassettes), "--target", "ftp://nowhere")
    assert result.returncode == 2
    assert "http(s) URL" in result.stderr


def _outcomes(report: Path) -> dict[str, str]:
    data = validate(report)
    return {e["name"]: e["outcome"] for e in data["exchanges"]}  # type: ignore[attr-defined]


def test_replays_stay_repeatable_on_a_stateful_server_without_any_flag(
    cassettes: Path, tmp_path: Path,
) -> None:
    """Replaying twice against one stateful registry: every run has its own identity space
    (the patient it feeds gets this run's ids, family name and birth date), so the second
    FindDocuments does not find the first replay's documents and the PDQ query by
    demographics does not find its patient. --fresh-patients is still accepted (a no-op)."""
    state = tmp_path / "state.sqlite"
    with Simulator(profile="baseline", state_path=state) as sim:
        for run in ("a", "b"):
            result = ihe("replay", str(cassettes), "--target", sim.base_url,
                         "--report-json", str(tmp_path / f"same-{run}.json"))
            assert result.returncode == 0, result.stdout + result.stderr
        old = ihe("replay", str(cassettes), "--target", sim.base_url, "--fresh-patients",
                  "--report-json", str(tmp_path / "flag.json"))
        assert old.returncode == 0, old.stdout + old.stderr
    for report in ("same-a.json", "same-b.json", "flag.json"):
        assert set(_outcomes(tmp_path / report).values()) == {"pass"}, report
