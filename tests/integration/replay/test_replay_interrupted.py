"""Stopping ``ihe replay`` or ``ihe approve`` mid-run: SIGTERM (a CI job cancelled) stops
exactly like Ctrl-C.

Both exit 130 without a traceback. ``ihe replay`` writes every report asked for (and the
terminal summary) for the exchanges done, marked ``interrupted``, the others listed as
``skipped`` / ``NotRun``, and keeps the exchanges done in ``run.exchanges/``; no spool or
temporary file is left. ``ihe approve`` leaves the baseline wholly old or wholly new.
The server holds an answer until the test has sent the signal: an event handshake, no sleep.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from click.testing import CliRunner
from lxml import etree

from ihe_test_util.cassette import save_cassette
from ihe_test_util.cli.main import cli
from ihe_test_util.model import Cassette, Headers, Interaction, Request, Response
from ihe_test_util.report.schema import report_schema

from ...conftest import shared_file
from ..transport_servers import base_url, serve

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


class HeldAnswers:
    """A route that answers the first ``answered`` requests at once and holds the later ones
    until ``release``; ``arrived`` is set when ``holding`` held requests came in: one per
    worker (``--jobs``), so every answered exchange is done (a worker sends its next request
    only once it has handed over the result of the last).
    """

    def __init__(self, answered: int, holding: int = 1) -> None:
        self.answered = answered
        self.holding = holding
        self.count = 0
        self.lock = threading.Lock()
        self.arrived = threading.Event()
        self.release = threading.Event()

    def __call__(self, body: bytes, headers: dict[str, str]) -> tuple[
            int, list[tuple[str, str]], bytes]:
        with self.lock:
            self.count += 1
            held = self.count > self.answered
            if self.count >= self.answered + self.holding:
                self.arrived.set()
        if held:
            self.release.wait(timeout=120)  # a guard against a hung test: the test releases
        return 200, [("Content-Type", "text/plain")], b"answer to " + body


def _cassettes(folder: Path, url: str) -> Path:
    for name in ("a", "b"):
        interactions = tuple(
            Interaction(Request("POST", url, Headers([("Content-Type", "text/plain")]),
                                f"{name} question {n}".encode()),
                        Response(200, "OK", Headers([("Content-Type", "text/plain")]),
                                 f"answer to {name} question {n}".encode()))
            for n in range(3))
        save_cassette(folder / f"{name}.yaml", Cassette(interactions))
    return folder


def _replay_args(cassettes: Path, out: Path, jobs: int) -> list[str]:
    return [sys.executable, "-m", "ihe_test_util", "--no-color", "replay", str(cassettes),
            "--jobs", str(jobs), "--report-json", str(out / "run.json"),
            "--junit", str(out / "junit.xml"), "--html", str(out / "run.html"),
            "--markdown", str(out / "run.md")]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() if path.is_file() else b"<dir>"
            for path in sorted(folder.rglob("*"))}


def _leftovers(folder: Path) -> list[Path]:
    """Temporary files and folders any writer of ours could leave: atomic writes (.tmp),
    report spools, the kept-exchanges staging (.partial / .old)."""
    return [path for path in folder.rglob("*")
            if any(mark in path.name for mark in (".tmp", ".spool", ".partial", ".old"))]


@pytest.mark.parametrize("jobs", [1, 2], ids=["jobs-1", "jobs-2"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stopped_replay_reports_the_exchanges_done_and_lists_the_rest_as_not_run(
        tmp_path: Path, signum: int, jobs: int) -> None:
    answers = HeldAnswers(answered=2, holding=jobs)
    env = {**os.environ, "COLUMNS": "200"}
    out = tmp_path / "out"
    out.mkdir()
    with serve(routes={"held": answers}) as server:
        cassettes = _cassettes(tmp_path / "cassettes", base_url(server) + "/held")
        process = subprocess.Popen(_replay_args(cassettes, out, jobs), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert answers.arrived.wait(timeout=120), "the replay never got past 2 exchanges"
            process.send_signal(signum)
            stdout, stderr = process.communicate(timeout=120)
        finally:
            answers.release.set()
            if process.poll() is None:
                process.kill()
                process.communicate()

    assert process.returncode == 130, stdout + stderr
    assert "interrupted" in stderr and "Traceback" not in stderr + stdout
    assert not _leftovers(tmp_path)

    report = json.loads((out / "run.json").read_text(encoding="utf-8"))
    # valid for the shared spec (the member is an allowed extra) and for the packaged schema
    jsonschema.Draft202012Validator(report_schema()).validate(report)
    jsonschema.Draft202012Validator(
        json.loads(shared_file("spec/run-report.schema.json").read_text(encoding="utf-8")),
    ).validate(report)
    assert report["interrupted"] is True
    outcomes = {item["id"]: item["outcome"] for item in report["exchanges"]}
    assert sorted(outcomes) == [f"{c}.yaml#{n}" for c in "ab" for n in range(3)]
    done = sorted(i for i, outcome in outcomes.items() if outcome == "pass")
    assert len(done) == 2  # exactly the answered exchanges: none lost, none invented
    not_run = [item for item in report["exchanges"] if item["outcome"] == "skipped"]
    assert len(not_run) == 4
    how = "SIGTERM" if signum == signal.SIGTERM else "Ctrl-C"
    for item in not_run:
        assert item["error"]["type"] == "NotRun" and how in item["error"]["message"]
        assert item["request"]["recorded_uri"].endswith("/held")  # listed with its details
    assert report["summary"] == {"total": 6, "pass": 2, "changed": 0, "regression": 0,
                                 "error": 0, "skipped": 4}
    # the exchanges done are kept for ihe approve, beside their report
    kept = sorted(str(p.relative_to(out / "run.exchanges"))
                  for p in (out / "run.exchanges").rglob("*.yaml") if p.is_file())
    assert kept == sorted(f"{i.replace('#', '/')}.yaml" for i in done)

    junit = etree.parse(str(out / "junit.xml")).getroot()
    assert (junit.get("tests"), junit.get("skipped")) == ("6", "4")
    assert len(junit.findall(".//testcase/skipped")) == 4
    assert "NotRun" in (junit.find(".//testcase/skipped").get("message") or "")  # type: ignore[union-attr]
    html = (out / "run.html").read_text(encoding="utf-8")
    assert "INTERRUPTED" in html and "exit code 130" in html and "4 exchanges not run" in html
    markdown = (out / "run.md").read_text(encoding="utf-8")
    assert "INTERRUPTED" in markdown and "4 exchanges not run" in markdown
    terminal = " ".join(stdout.split())
    assert "INTERRUPTED (exit 130): 4 skipped, 2 pass (6 exchanges)" in terminal
    assert "Not run (4 exchanges)" in terminal
    for name in ("json", "junit", "markdown", "html"):
        assert f"wrote {name} report" in stderr


def test_a_second_replay_replaces_an_interrupted_ones_reports(tmp_path: Path) -> None:
    """The interrupted run's reports stand until the next run, which replaces them whole."""
    answers = HeldAnswers(answered=1)
    out = tmp_path / "out"
    out.mkdir()
    with serve(routes={"held": answers}) as server:
        cassettes = _cassettes(tmp_path / "cassettes", base_url(server) + "/held")
        process = subprocess.Popen(_replay_args(cassettes, out, 1), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True)
        try:
            assert answers.arrived.wait(timeout=120)
            process.send_signal(signal.SIGTERM)
            process.communicate(timeout=120)
        finally:
            answers.release.set()
            if process.poll() is None:
                process.kill()
                process.communicate()
        assert process.returncode == 130
        assert json.loads((out / "run.json").read_text(encoding="utf-8"))["interrupted"]
        answers.answered = 10**6
        again = subprocess.run(_replay_args(cassettes, out, 1), capture_output=True, text=True,
                               timeout=120)
    assert again.returncode == 0, again.stdout + again.stderr
    report = json.loads((out / "run.json").read_text(encoding="utf-8"))
    assert "interrupted" not in report and report["summary"]["pass"] == 6
    assert len([p for p in (out / "run.exchanges").rglob("*.yaml") if p.is_file()]) == 6
    assert not _leftovers(tmp_path)


def _escaped(signum: int, frame: object) -> None:
    raise AssertionError(f"signal {signum} reached the handler installed before the command")


def _changed_run(tmp_path: Path) -> tuple[Path, Path]:
    """Cassettes ``a`` and ``b`` and the report of a replay that changed every answer."""
    def changed(body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        return 200, [("Content-Type", "text/plain")], b"new answer to " + body

    report = tmp_path / "run.json"
    with serve(routes={"changed": changed}) as server:
        cassettes = _cassettes(tmp_path / "cassettes", base_url(server) + "/changed")
        replayed = CliRunner().invoke(cli, ["replay", str(cassettes), "--fail-on", "never",
                                            "--report-json", str(report)])
    assert replayed.exit_code == 0, replayed.output
    return cassettes, report


def _approve_with_sigterm(report: Path, monkeypatch: pytest.MonkeyPatch, step: str,
                          at_call: int) -> list[Path]:
    """``ihe approve`` in-process, SIGTERM raised as ``approval.<step>`` is called the
    ``at_call``-th time (0-based); the paths each call got. The handler installed before the
    command must never see the signal."""
    import ihe_test_util.replay.approval as approval

    calls: list[Path] = []
    real = getattr(approval, step)

    def then_sigterm(path: Path, *args: Any, **kwargs: Any) -> None:
        if len(calls) == at_call:
            signal.raise_signal(signal.SIGTERM)
        real(path, *args, **kwargs)
        calls.append(path)

    monkeypatch.setattr(approval, step, then_sigterm)
    previous = signal.signal(signal.SIGTERM, _escaped)
    try:
        result = CliRunner().invoke(cli, ["--no-color", "approve", str(report),
                                          "--allow-regressions"])
        assert signal.getsignal(signal.SIGTERM) is _escaped
    finally:
        signal.signal(signal.SIGTERM, previous)
    assert result.exit_code == 130, result.output
    assert "interrupted" in result.output and "Traceback" not in result.output
    return calls


def test_an_approve_stopped_while_writing_leaves_every_cassette_as_it_was(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    # Issue 17: the baseline is wholly old or wholly new. (Before, the first cassette stayed
    # approved and the second not.)
    cassettes, report = _changed_run(tmp_path)
    before = _snapshot(cassettes)
    # the job is cancelled while the second cassette is written
    saved = _approve_with_sigterm(report, monkeypatch, "save_cassette", at_call=1)
    assert len(saved) == 1  # the first cassette was written (staged) before the signal
    assert _snapshot(cassettes) == before  # nothing replaced, no temporary file left


def test_an_approve_stopped_while_renaming_completes_every_cassette(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    cassettes, report = _changed_run(tmp_path)
    before = _snapshot(cassettes)
    # the job is cancelled as the first staged cassette is put in place
    staged = _approve_with_sigterm(report, monkeypatch, "install_staged", at_call=0)
    after = _snapshot(cassettes)
    assert sorted(after) == sorted(before)  # no temporary file left beside the cassettes
    assert len(staged) == len(before) == 2
    for name in before:
        assert after[name] != before[name] and b"new answer to" in after[name], name
