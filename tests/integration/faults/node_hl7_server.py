"""node-hl7-server (npm) as a separate node process on 127.0.0.1: a real third-party MLLP
peer with a real bug. Version 2.5.0 never empties its per-connection buffer, so on a reused
connection it answers the Nth message with N ACKs, the first of them the ACK of the first
message (see tests/integration/faults/test_node_hl7_server.py).

Installed by the test setup into ``~/.cache/ihe-test-util/npm/node-hl7-server-2.5.0``
(``IHE_TEST_CACHE`` overrides the root) on first use, reused across runs, under a file lock so
parallel workers (xdist) never install twice or see half an install. Launched through
``node_hl7_server.mjs`` beside this file, which prints ``listening PORT`` once bound.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ...conftest import running_in_ci

VERSION = "2.5.0"
PACKAGE = "node-hl7-server"
HERE = Path(__file__).parent
_INSTALLED = ".installed"


def cache_root() -> Path:
    root = os.environ.get("IHE_TEST_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "ihe-test-util"


@contextmanager
def _locked(folder: Path) -> Iterator[None]:
    folder.parent.mkdir(parents=True, exist_ok=True)
    with open(folder.with_name(folder.name + ".lock"), "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def node_modules() -> Path:
    """``node_modules`` holding node-hl7-server (npm install on first use). Skips the test
    when node or npm is missing from a developer's machine; fails in CI, which has both."""
    npm, node = shutil.which("npm"), shutil.which("node")
    if npm is None or node is None:
        if running_in_ci():
            pytest.fail("node and npm are needed for the node-hl7-server peer")
        pytest.skip("node and npm are needed for the node-hl7-server peer")
    folder = cache_root() / "npm" / f"{PACKAGE}-{VERSION}"
    with _locked(folder):
        if not (folder / _INSTALLED).exists():
            shutil.rmtree(folder, ignore_errors=True)  # a half install is redone
            folder.mkdir(parents=True)
            (folder / "package.json").write_text(
                '{"name": "ihe-node-hl7-peer", "private": true}\n', encoding="utf-8")
            done = subprocess.run(
                [npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
                 f"{PACKAGE}@{VERSION}"], cwd=folder, capture_output=True, text=True,
                timeout=600, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"installing {PACKAGE} {VERSION} failed:\n"
                                   f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
            (folder / _INSTALLED).write_text(f"{PACKAGE} {VERSION}\n", encoding="utf-8")
    return folder / "node_modules"


@dataclass
class NodeHl7Server:
    url: str
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)


@contextmanager
def node_hl7_server() -> Iterator[NodeHl7Server]:
    """A fresh node-hl7-server answering every message AA, stopped (SIGTERM) at the end."""
    modules = node_modules()
    node = shutil.which("node") or "node"
    process = subprocess.Popen(
        [node, str(HERE / "node_hl7_server.mjs")], cwd=modules.parent, text=True,
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
        if process.poll() is None:
            process.terminate()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


__all__ = ["NodeHl7Server", "node_hl7_server", "node_modules"]
