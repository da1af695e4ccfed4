"""Stopping the recorder mid-run (Ctrl-C, SIGTERM, SIGKILL) keeps every completed exchange in a
valid cassette."""

from __future__ import annotations

import itertools
import re
import signal
import sys
import threading
from pathlib import Path

import pytest

from ihe_test_util.cassette import load_cassette

from ..faults.test_signals import leftovers
from ..transport_servers import Route, base_url, serve
from .conftest import finally_killed, ihe_process, scenario_file

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


def _held_after(answered: int) -> tuple[Route, threading.Event]:
    """A server route that answers ``answered`` requests at once and holds the later ones
    until the event is set: the stop always comes while the recording is in the middle."""
    release = threading.Event()
    count = itertools.count(1)

    def route(body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        if next(count) > answered:
            release.wait(60)  # a guard against a hung test only: the test releases it
        return 200, [("Content-Type", "text/plain")], b"answer to " + body

    return route, release


def _scenario(folder: Path, url: str, steps: int = 60) -> Path:
    lines = ["version: 1", "name: long", f"endpoints: {{slow: \"{url}\"}}", "steps:"]
    lines += [f"  - {{name: step {n}, transaction: raw, endpoint: slow, "
              "with: {file: q.txt, content_type: text/plain}}" for n in range(1, steps + 1)]
    return scenario_file(folder, "\n".join(lines) + "\n", **{"q.txt": "question"})


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL],
                         ids=["ctrl-c", "sigterm", "sigkill"])
def test_a_stopped_recording_keeps_its_completed_exchanges(tmp_path: Path, signum: int) -> None:
    route, release = _held_after(3)
    with serve(routes={"slow": route}) as server:
        path = _scenario(tmp_path, base_url(server) + "/slow")
        printed: set[int] = set()
        with finally_killed(ihe_process("record", str(path), cwd=tmp_path)) as process:
            assert process.stdout is not None and process.stderr is not None
            try:
                while len(printed) < 3:
                    line = process.stdout.readline()
                    assert line, process.stderr.read()
                    printed.update(_step_numbers(line))
                process.send_signal(signum)  # exchange 4 is held (or not even sent yet) ...
            finally:
                release.set()  # ... and answered now: kept or not, the recording ends
            code = process.wait(timeout=30)
            rest = process.stdout.read()
            errors = process.stderr.read()
    cassette = load_cassette(tmp_path / "cassettes" / "long.yaml")
    count = len(cassette.interactions)
    if signum != signal.SIGKILL:  # a clean stop leaves no temporary file (issue 17)
        assert not leftovers(tmp_path)
    assert 3 <= count <= 4
    for number, interaction in enumerate(cassette.interactions, start=1):
        assert interaction.meta.step == f"step {number}"
        assert interaction.response.body == b"answer to question"
    if signum == signal.SIGKILL:
        assert code == -signal.SIGKILL
        return
    assert code == 130, errors
    printed.update(_step_numbers(rest))
    assert count >= max(printed)  # everything reported as recorded is in the cassette
    assert f"interrupted: {count} completed exchange(s) kept in cassettes/long.yaml" in \
        " ".join(errors.split())


def _step_numbers(text: str) -> set[int]:
    return {int(number) for number in re.findall(r"^✓ (\d+)/60 ", text, re.MULTILINE)}
