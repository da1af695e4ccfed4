"""A recording process killed at any moment leaves a valid cassette with every completed one."""

from __future__ import annotations

import random
import subprocess
import sys
from pathlib import Path

import pytest

from ihe_test_util.cassette import load_cassette

RECORDER = """
import sys
from pathlib import Path
from ihe_test_util.cassette import CassetteWriter, Redactor
from ihe_test_util.model import Headers, Interaction, InteractionMeta, Request, Response

path, stepwise, size = Path(sys.argv[1]), sys.argv[2] == "step", int(sys.argv[3])
with CassetteWriter(path, redactor=Redactor()) as writer:
    for number in range(1, 10_000):
        writer.append(Interaction(
            Request("POST", f"http://127.0.0.1:1/step/{number}",
                    Headers([("Authorization", "Basic c2VjcmV0")]), b"<q>\\r\\n</q>"),
            Response(200, "OK", body=bytes([number % 256]) * size),
            InteractionMeta(step=f"step {number}"),
        ))
        print(number, flush=True)
        if stepwise:
            sys.stdin.readline()  # a slow client: the next exchange starts when the test says
"""


def _record_then_kill(path: Path, *, stepwise: bool, size: int, completed: int) -> int:
    """Start the recorder, kill it (SIGKILL / TerminateProcess) once ``completed`` appends are
    reported: stepwise, while it waits between two appends; else while it keeps writing."""
    process = subprocess.Popen(
        [sys.executable, "-c", RECORDER, str(path), "step" if stepwise else "run", str(size)],
        stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None and process.stdin is not None
    last = 0
    try:
        while last < completed:
            line = process.stdout.readline()
            assert line, "recorder ended early"
            last = int(line)
            if stepwise and last < completed:
                process.stdin.write("next\n")
                process.stdin.flush()
    finally:
        process.kill()
        process.wait(timeout=30)
        process.stdout.close()
        process.stdin.close()
    return last


def _assert_complete(path: Path, at_least: int) -> None:
    cassette = load_cassette(path)
    count = len(cassette.interactions)
    assert count >= at_least
    for number, interaction in enumerate(cassette.interactions, start=1):
        assert interaction.request.uri.endswith(f"/step/{number}")
        assert interaction.meta.step == f"step {number}"
        assert interaction.response.body == bytes([number % 256]) * len(interaction.response.body)
        assert interaction.request.headers.get("Authorization") == "[[ihe-secret:authorization]]"


def test_killed_slow_recording_keeps_completed_interactions(tmp_path: Path) -> None:
    path = tmp_path / "slow.yaml"
    completed = _record_then_kill(path, stepwise=True, size=100, completed=3)
    _assert_complete(path, at_least=completed)
    assert len(load_cassette(path).interactions) == 3  # killed while waiting for the 4th


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_killed_in_the_middle_of_a_write_never_leaves_a_broken_file(
    tmp_path: Path, seed: int,
) -> None:
    path = tmp_path / "fast.yaml"
    completed = _record_then_kill(path, stepwise=False, size=200_000,
                                  completed=random.Random(seed).randint(1, 4))
    _assert_complete(path, at_least=completed)
    assert b"c2VjcmV0" not in path.read_bytes()
