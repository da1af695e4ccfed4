"""SIGTERM and Ctrl-C in the middle of ``ihe record --proxy``: the cassette loads with every
completed exchange and no temporary file is left (issue 17). ``ihe replay`` and ``ihe record
SCENARIO`` are covered by tests/integration/replay/test_replay_interrupted.py and
tests/integration/record/test_record_interrupted.py, which check the same.

The signal is sent when the upstream has received the request that is still in flight (an
event handshake, no sleep)."""

from __future__ import annotations

import json
import signal
import sys
import threading
from pathlib import Path

import pytest
import requests

from ihe_test_util.cassette import load_cassette

from ..record.conftest import finally_killed, ihe_process
from ..replay.test_replay_interrupted import HeldAnswers
from ..transport_servers import base_url, serve

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

TEMPORARY_MARKS = (".tmp", ".spool", ".partial", ".old", ".journal")


def leftovers(folder: Path) -> list[Path]:
    """Temporary files any of our writers could leave behind (atomic writes, spools,
    staging folders)."""
    return [path for path in folder.rglob("*")
            if any(mark in path.name for mark in TEMPORARY_MARKS)]


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_a_stopped_proxy_leaves_a_loadable_cassette_and_no_temporary_file(
        tmp_path: Path, signum: int) -> None:
    route = HeldAnswers(answered=2)
    with serve(routes={"held": route}) as upstream:
        args = ["record", "--proxy", "127.0.0.1:0", "--json", "--cassette", "cassettes/p.yaml",
                "--upstream", base_url(upstream)]
        with finally_killed(ihe_process(*args, cwd=tmp_path)) as process:
            assert process.stdout is not None and process.stderr is not None
            listening = json.loads(process.stdout.readline() or "{}")
            assert listening.get("event") == "listening", process.stderr.read()
            url = str(listening["proxy"]) + "/held"
            for n in range(2):
                answer = requests.post(url, data=f"q{n}".encode(), timeout=30)
                assert answer.content == f"answer to q{n}".encode()
            in_flight: list[requests.Response] = []
            client = threading.Thread(target=lambda: in_flight.append(
                requests.post(url, data=b"q2", timeout=60)), daemon=True)
            client.start()
            try:
                assert route.arrived.wait(timeout=60), "the third request never got upstream"
                process.send_signal(signum)
            finally:
                route.release.set()
            code = process.wait(timeout=60)
            client.join(timeout=60)
            events = [json.loads(line) for line in process.stdout.read().splitlines() if line]
            errors = process.stderr.read()
    assert "Traceback" not in errors
    assert code == 0, errors  # a proxy stopping is how its run ends
    assert [a.content for a in in_flight] == [b"answer to q2"]  # the exchange in flight ended
    interactions = load_cassette(tmp_path / "cassettes" / "p.yaml").interactions
    assert [i.request.body for i in interactions] == [b"q0", b"q1", b"q2"]
    assert events[-1]["event"] == "stopped" and events[-1]["recorded"] == 3
    assert not leftovers(tmp_path)
