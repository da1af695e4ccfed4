"""Stopping ``ihe replay`` or ``ihe approve`` mid-run: SIGTERM (a CI job cancelled) stops
exactly like Ctrl-C.

Both exit 130 without a traceback and leave the report folder as it was before the run: the
previous reports and their ``run.exchanges/`` untouched (so ``ihe approve`` on the previous
report still approves what that report shows), no spool files, no half-kept exchanges.
The server holds the answer until the test has sent the signal: an event handshake, no sleep.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ihe_test_util.cassette import save_cassette
from ihe_test_util.cli.main import cli
from ihe_test_util.model import Cassette, Headers, Interaction, Request, Response

from ..transport_servers import base_url, serve

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


class HeldAnswers:
    """A route that answers at once, or, once ``hold`` is set, only after ``release``."""

    def __init__(self) -> None:
        self.hold = threading.Event()
        self.arrived = threading.Event()
        self.release = threading.Event()

    def __call__(self, body: bytes, headers: dict[str, str]) -> tuple[
            int, list[tuple[str, str]], bytes]:
        if self.hold.is_set():
            self.arrived.set()
            self.release.wait(timeout=120)
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
            "--junit", str(out / "junit.xml"), "--html", str(out / "run.html")]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {str(path.relative_to(folder)): path.read_bytes() if path.is_file() else b"<dir>"
            for path in sorted(folder.rglob("*"))}


@pytest.mark.parametrize("jobs", [1, 2], ids=["jobs-1", "jobs-2"])
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stopped_replay_exits_130_and_leaves_the_previous_reports_as_they_were(
        tmp_path: Path, signum: int, jobs: int) -> None:
    answers = HeldAnswers()
    env = {**os.environ, "COLUMNS": "120"}
    out = tmp_path / "out"
    out.mkdir()
    with serve(routes={"held": answers}) as server:
        cassettes = _cassettes(tmp_path / "cassettes", base_url(server) + "/held")
        previous = subprocess.run(_replay_args(cassettes, out, jobs), capture_output=True,
                                  text=True, env=env, timeout=120)
        assert previous.returncode == 0, previous.stdout + previous.stderr
        assert (out / "run.exchanges" / "manifest.json").is_file()
        before = _snapshot(out)

        answers.hold.set()
        process = subprocess.Popen(_replay_args(cassettes, out, jobs), stdout=subprocess.PIPE,
                                   stderr=subprocess.PIPE, text=True, env=env)
        try:
            assert answers.arrived.wait(timeout=120), "the replay never sent a request"
            process.send_signal(signum)
            stdout, stderr = process.communicate(timeout=120)
        finally:
            answers.release.set()
            if process.poll() is None:
                process.kill()
                process.communicate()

    assert process.returncode == 130, stdout + stderr
    assert "interrupted" in stderr
    assert "Traceback" not in stderr + stdout
    assert _snapshot(out) == before
    assert not [path for path in tmp_path.rglob("*") if ".spool" in path.name]


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
