"""200 concurrent clients x 5 requests (1,000 connections) against ``ihe sim``, ``ihe serve``
and the recording proxy, all on 127.0.0.1 in this process: answers out of 1,000 and the time.

The listen backlog (``transport.endpoint.LISTEN_BACKLOG``) is what makes 1,000/1,000: with
socketserver's default of 5, about a third of the connections were reset or timed out.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from tests.integration.faults.load import burst
from tests.integration.serve_support import record_flow

from ihe_test_util.cassette import CassetteWriter
from ihe_test_util.record import RecordingProxy, Routes
from ihe_test_util.serve.server import PlaybackServer
from ihe_test_util.sim import Simulator
from ihe_test_util.transport.endpoint import LocalEndpoint

CLIENTS = 200
REQUESTS = 5


def _run(label: str, server: LocalEndpoint) -> None:
    started = time.perf_counter()
    result = burst(server.host, server.port, "/pdq", clients=CLIENTS, requests=REQUESTS)
    took = time.perf_counter() - started
    print(f"{label:<16}: {result.answered:5d}/{CLIENTS * REQUESTS} answered, "
          f"{len(result.failed)} failed, {took:6.2f} s")


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        with Simulator() as sim:
            _run("ihe sim", sim)
        with PlaybackServer([record_flow(Path(folder) / "flow.yaml")]) as stub:
            _run("ihe serve", stub)
        with Simulator() as sim, RecordingProxy(
                Routes.parse([sim.base_url]), CassetteWriter(Path(folder) / "p.yaml")) as proxy:
            _run("recording proxy", proxy)


if __name__ == "__main__":
    main()
