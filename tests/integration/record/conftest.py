"""Fixtures for ``ihe record`` end to end: a live ``ihe sim``, the CLI in-process and as a
subprocess, and scenario files written into the test's folder."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner

from ihe_test_util.cli.main import cli
from ihe_test_util.sim import Simulator


@dataclass(frozen=True)
class Run:
    exit_code: int
    stdout: str
    stderr: str


@pytest.fixture
def sim() -> Iterator[Simulator]:
    with Simulator(profile="baseline") as simulator:
        yield simulator


@pytest.fixture
def workdir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The test's folder as the current directory (cassettes/ lands here)."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def ihe(*args: str, env: dict[str, str] | None = None) -> Run:
    """``ihe ARGS`` in-process (fast); COLUMNS fixed so lines do not wrap."""
    result = CliRunner().invoke(cli, ["--no-color", *args], env={"COLUMNS": "200", **(env or {})},
                                catch_exceptions=False)
    return Run(result.exit_code, result.stdout, result.stderr)


def ihe_process(*args: str, cwd: Path, env: dict[str, str] | None = None) -> (
        subprocess.Popen[str]):
    """``ihe ARGS`` as a separate process (for signals), output piped line by line."""
    return subprocess.Popen(
        [sys.executable, "-m", "ihe_test_util", "--no-color", *args], cwd=cwd, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200", **(env or {})},
    )


@contextmanager
def finally_killed(process: subprocess.Popen[str]) -> Iterator[subprocess.Popen[str]]:
    """The process, killed if it still runs at the end and its pipes closed."""
    try:
        yield process
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def scenario_file(folder: Path, text: str, name: str = "scenario.yaml", **files: str | bytes) -> (
        Path):
    for relative, content in files.items():
        target = folder / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, bytes):
            target.write_bytes(content)
        else:
            target.write_text(textwrap.dedent(content), encoding="utf-8")
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def endpoints(sim: Simulator, *names: str) -> list[str]:
    """``--endpoint NAME=URL`` options pointing endpoints named like actors at the simulator."""
    return [option for name in names for option in ("--endpoint", f"{name}={sim.url_for(name)}")]
