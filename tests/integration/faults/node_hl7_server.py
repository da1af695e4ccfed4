"""node-hl7-server (npm) as a separate node process on 127.0.0.1: a real third-party MLLP
peer with a real bug. Version 2.5.0 never empties its per-connection buffer, so on a reused
connection it answers the Nth message with N ACKs, the first of them the ACK of the first
message (see tests/integration/faults/test_node_hl7_server.py).

Installed by the test setup through :mod:`..peers` (``<cache>/npm/node-hl7-server-2.5.0``) on
first use, reused across runs, under a file lock. Launched through
``node_hl7_server.mjs`` beside this file, which prints ``listening PORT`` once bound.
"""

from __future__ import annotations

import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from ..peers import node, npm_package, stop_process

VERSION = "2.5.0"
PACKAGE = "node-hl7-server"
HERE = Path(__file__).parent


def node_modules() -> Path:
    """``node_modules`` holding node-hl7-server (npm install on first use, by
    :mod:`..peers`: skipped locally without node/npm, a failure in CI)."""
    return npm_package(PACKAGE, VERSION)


@dataclass
class NodeHl7Server:
    url: str
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)


@contextmanager
def node_hl7_server() -> Iterator[NodeHl7Server]:
    """A fresh node-hl7-server answering every message AA, stopped (SIGTERM) at the end."""
    modules = node_modules()
    process = subprocess.Popen(
        [node(), str(HERE / "node_hl7_server.mjs")], cwd=modules.parent, text=True,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "NODE_HL7_SERVER_MODULES": str(modules)})
    assert process.stdout is not None and process.stderr is not None
    try:
        first = process.stdout.readline()  # blocks until bound, or EOF when it died
        if not first.startswith("listening "):
            process.wait(timeout=30)
            raise RuntimeError(f"node-hl7-server did not start: {first}"
                               f"{process.stderr.read()[-3000:]}")
        server = NodeHl7Server(f"mllp://127.0.0.1:{int(first.split()[1])}", process)

        def drain() -> None:  # keeps the pipe from filling; kept for failure messages
            assert process.stderr is not None
            server.log.extend(process.stderr)

        threading.Thread(target=drain, daemon=True).start()
        yield server
    finally:
        stop_process(process)


__all__ = ["NodeHl7Server", "node_hl7_server", "node_modules"]
