"""``[hooks]`` in ihe.toml: commands before and after ``ihe replay``, through the real CLI."""

from __future__ import annotations

import json
import os
import shlex
import signal
import subprocess
import sys
from pathlib import Path

import pytest

from ihe_test_util.sim import Simulator

from ..transport_servers import base_url, serve
from .test_replay_cli import ihe

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def python(code: str) -> list[str]:
    """An argv running ``code`` with this interpreter (no shell involved)."""
    return [sys.executable, "-c", code]


def append(path: Path, what: str) -> str:
    """Python code appending ``what`` (formatted with the environment) and a newline."""
    return (f"import os; open({str(path)!r}, 'a').write({what!r}.format(**os.environ) + '\\n');"
            f" print('hook says ' + 'hello')")  # the command line never says it


def config(folder: Path, *, before: list[list[str]] | str = (), after: list[list[str]] = (),
           extra: str = "") -> Path:
    path = folder / "ihe.toml"
    path.write_text(
        f"[hooks]\nbefore_replay = {json.dumps(before)}\nafter_replay = {json.dumps(after)}\n"
        f"{extra}", encoding="utf-8")
    return path


def test_hooks_run_before_and_after_with_their_output_in_the_verbose_log(
    cassettes: Path, tmp_path: Path,
) -> None:
    log = tmp_path / "hooks.log"
    # The string form: split like a shell would (quotes kept together), never run by one.
    before = shlex.join(python(append(log, "before {IHE_HOOK} {IHE_TARGET}")))
    toml = config(tmp_path, before=before,
                  after=[python(append(log, "after {IHE_HOOK} exit={IHE_EXIT_CODE}"))])
    with Simulator(profile="baseline") as sim:
        result = ihe("--config", str(toml), "-v", "replay", str(cassettes), "--target",
                     sim.base_url)
        target = sim.base_url
    assert result.returncode == 0, result.stdout + result.stderr
    host_port = target.split("//", 1)[1]
    assert log.read_text(encoding="utf-8").splitlines() == [
        f"before before_replay http://{host_port}", "after after_replay exit=0"]
    assert result.stderr.count("hook says hello") == 2
    assert "hook before_replay:" in result.stderr and ": ok (" in result.stderr


def test_a_failing_before_hook_is_exit_3_and_nothing_is_sent(cassettes: Path,
                                                              tmp_path: Path) -> None:
    log = tmp_path / "hooks.log"
    toml = config(tmp_path, before=[python("print('purge API said 503'); raise SystemExit(4)")],
                  after=[python(append(log, "after"))])
    report = tmp_path / "run.json"
    with serve() as server:
        result = ihe("--config", str(toml), "replay", str(cassettes), "--target",
                     base_url(server), "--report-json", str(report))
        assert server.seen == []
    assert result.returncode == 3, result.stdout + result.stderr
    assert "before_replay hook failed" in result.stderr
    assert "exited with status 4" in result.stderr
    assert "nothing was sent or compared" in result.stderr
    assert "purge API said 503" in result.stderr  # the end of its output explains why
    assert not log.exists() and not report.exists()


def test_a_before_hook_that_cannot_start_is_exit_3(cassettes: Path, tmp_path: Path) -> None:
    toml = config(tmp_path, before=[[str(tmp_path / "no-such-reset-script")]])
    with serve() as server:
        result = ihe("--config", str(toml), "replay", str(cassettes), "--target",
                     base_url(server))
        assert server.seen == []
    assert result.returncode == 3, result.stdout + result.stderr
    assert "could not start" in result.stderr and "no-such-reset-script" in result.stderr


def test_a_failing_after_hook_is_exit_3_when_the_replay_passed(cassettes: Path,
                                                                tmp_path: Path) -> None:
    toml = config(tmp_path, after=[python("raise SystemExit(2)")])
    report = tmp_path / "run.json"
    with Simulator(profile="baseline") as sim:
        result = ihe("--config", str(toml), "replay", str(cassettes), "--target",
                     sim.base_url, "--report-json", str(report))
    assert result.returncode == 3, result.stdout + result.stderr
    assert "after_replay hook failed" in result.stderr and "PASSED" in result.stdout
    assert json.loads(report.read_text(encoding="utf-8"))["summary"]["pass"] == 7


def test_a_failing_after_hook_keeps_exit_1_for_regressions(cassettes: Path,
                                                            tmp_path: Path) -> None:
    toml = config(tmp_path, after=[python("raise SystemExit(2)")])
    with Simulator(profile="breaking") as sim:
        result = ihe("--config", str(toml), "replay", str(cassettes), "--target",
                     sim.base_url)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "after_replay hook failed" in result.stderr


def test_a_hook_past_its_timeout_is_killed_and_fails(cassettes: Path, tmp_path: Path) -> None:
    toml = config(tmp_path, before=[python("import time; time.sleep(120)")],
                  extra="timeout = 0.2\n")
    with serve() as server:
        result = ihe("--config", str(toml), "replay", str(cassettes), "--target",
                     base_url(server))
        assert server.seen == []
    assert result.returncode == 3, result.stdout + result.stderr
    assert "timed out after 0.2 s" in result.stderr


def test_unknown_hook_key_is_a_config_error_naming_it(cassettes: Path, tmp_path: Path) -> None:
    toml = tmp_path / "ihe.toml"
    toml.write_text('[hooks]\nbefor_replay = ["true"]\n', encoding="utf-8")
    result = ihe("--config", str(toml), "replay", str(cassettes), "--target",
                 "http://127.0.0.1:9")
    assert result.returncode == 2, result.stdout + result.stderr
    assert "hooks.befor_replay" in result.stderr and "unknown key" in result.stderr


@pytest.mark.skipif(os.name != "posix", reason="FIFOs and SIGTERM are POSIX")
def test_sigterm_during_a_hook_stops_the_hook_and_the_run(cassettes: Path,
                                                           tmp_path: Path) -> None:
    fifo = tmp_path / "started"
    os.mkfifo(fifo)
    # The hook announces its pid through the FIFO (the open blocks until the test reads),
    # then waits for ever: only a signal ends it.
    hook = python(f"import os, time; f = open({str(fifo)!r}, 'w'); f.write(str(os.getpid()));"
                  f" f.close(); time.sleep(600)")
    toml = config(tmp_path, before=[hook])
    with serve() as server:
        process = subprocess.Popen(
            [sys.executable, "-m", "ihe_test_util", "--no-color", "--config", str(toml),
             "replay", str(cassettes), "--target", base_url(server)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        try:
            with fifo.open(encoding="utf-8") as started:
                hook_pid = int(started.read())
            process.send_signal(signal.SIGTERM)
            _, stderr = process.communicate(timeout=60)
        finally:
            if process.poll() is None:
                process.kill()
        assert server.seen == []
    assert process.returncode == 130, stderr
    assert "interrupted" in stderr
    with pytest.raises(ProcessLookupError):
        os.kill(hook_pid, 0)  # killed and reaped: no hook outlives the run
