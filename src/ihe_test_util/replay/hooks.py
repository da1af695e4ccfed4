"""``[hooks]``: commands run before and after a replay run, for systems with a reset API.

A staging registry keeps what every earlier replay stored; a ``before_replay`` hook (a purge
script, a ``curl`` to the vendor's reset endpoint) gives each run the state the cassettes were
recorded on. Commands run without a shell (argv, see :mod:`ihe_test_util.config`), in the
configuration file's folder, each with a timeout. The output of a hook (stdout and stderr
together) is kept for the log; a hook that cannot start, exits non-zero or times out has
failed. A stop signal (``KeyboardInterrupt``, see ``cli/signals.py``) while a hook runs ends
the hook and everything it started (its own process group on POSIX), then propagates.
"""

from __future__ import annotations

import os
import shlex
import signal
import subprocess
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path

#: How much output a hook may leave in memory: the tail is what explains a failure.
OUTPUT_LIMIT = 64 * 1024


@dataclass(frozen=True)
class HookRun:
    """One hook command that ran (or could not start): how it ended and what it printed."""

    phase: str  # before_replay | after_replay
    argv: tuple[str, ...]
    returncode: int | None  # None: it could not start, or was killed at its timeout
    output: str
    seconds: float
    problem: str | None = None  # why it failed, in words; None when it succeeded

    @property
    def ok(self) -> bool:
        return self.problem is None

    @property
    def command(self) -> str:
        return shlex.join(self.argv)

    def tail(self, lines: int = 20) -> str:
        """The last ``lines`` lines of output: enough to see why it failed."""
        return "\n".join(self.output.rstrip().splitlines()[-lines:])


def run_hook(
    phase: str, argv: Sequence[str], *, timeout: float, cwd: Path | None = None,
    env: Mapping[str, str] | None = None,
) -> HookRun:
    """Run one hook command to completion (or its timeout); never raises for its failure.

    ``env`` is added to this process's environment. Interrupted (KeyboardInterrupt), the
    command and its children are killed before the exception propagates.
    """
    started = time.monotonic()
    try:
        process = subprocess.Popen(
            list(argv), cwd=cwd, env={**os.environ, **(env or {})}, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=os.name == "posix",
        )
    except OSError as exc:
        return HookRun(phase, tuple(argv), None, "", time.monotonic() - started,
                       f"could not start: {exc.strerror or exc}")
    try:
        data, _ = process.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        _kill(process)
        data, _ = process.communicate()
        return HookRun(phase, tuple(argv), None, _text(data), time.monotonic() - started,
                       f"timed out after {timeout:g} s (hooks.timeout) and was killed")
    except BaseException:  # a stop signal: the hook must not outlive the run
        _kill(process)
        process.wait()
        raise
    code = process.returncode
    return HookRun(phase, tuple(argv), code, _text(data), time.monotonic() - started,
                   None if code == 0 else f"exited with status {code}")


def _kill(process: subprocess.Popen[bytes]) -> None:
    """The command and whatever it started (its session's process group on POSIX)."""
    try:
        if os.name == "posix":
            os.killpg(process.pid, signal.SIGKILL)
        else:  # pragma: no cover - Windows: no process groups here
            process.kill()
    except (ProcessLookupError, PermissionError):
        pass


def _text(data: bytes | None) -> str:
    return (data or b"")[-OUTPUT_LIMIT:].decode("utf-8", "replace")
