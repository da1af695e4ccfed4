"""Third-party HL7 v2 MLLP servers for the integration tests, each a separate process.

* **@medplum/hl7** (npm) behind ``medplum_hl7_server.mjs``, a small node launcher kept beside
  this file: medplum's ``Hl7Connection`` frames and parses, ``Hl7Message`` builds the ACKs; the
  launcher keeps a PIX / PDQ v2 patient store (fresh and empty on every start).

The package is installed by the test setup through :mod:`.peers` (the one installer: a cache
folder per package and version outside the repository, reused across runs, under a file lock).
Only 127.0.0.1 is listened on.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from .peers import node, npm_package, stop_process

HERE = Path(__file__).parent
MEDPLUM_HL7_VERSION = "4.5.2"


def medplum_hl7_modules() -> Path:
    """``node_modules`` holding @medplum/hl7 (installed on first use by :mod:`.peers`)."""
    return npm_package("@medplum/hl7", MEDPLUM_HL7_VERSION)


@dataclass
class Hl7Server:
    """A running MLLP server process: its URL and what it logged."""

    name: str
    url: str
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)

    def stop(self) -> None:
        stop_process(self.process)


@contextmanager
def start_medplum_hl7(*options: str) -> Iterator[Hl7Server]:
    """A fresh @medplum/hl7 PIX/PDQ v2 server; ``options``: ``--ack AE``, ``--drop-last``,
    ``--reverse``, ``--duplicates`` (see the launcher)."""
    modules = medplum_hl7_modules()
    process = subprocess.Popen(
        [node(), str(HERE / "medplum_hl7_server.mjs"), *options], cwd=HERE, text=True,
        env={**os.environ, "MEDPLUM_NODE_MODULES": str(modules)},
        stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()  # blocks until bound, or EOF when it died
    if not first.startswith("listening "):
        process.wait()
        raise RuntimeError(f"medplum-hl7 did not start: {first}{process.stderr.read()[-3000:]}")
    server = Hl7Server("medplum-hl7", f"mllp://127.0.0.1:{int(first.split()[1])}", process)

    def drain() -> None:  # keep the pipe from filling up; kept for failure messages
        assert process.stderr is not None
        for line in process.stderr:
            server.log.append(line)

    threading.Thread(target=drain, daemon=True).start()
    try:
        yield server
    finally:
        server.stop()


def mllp_send(url: str, messages: list[bytes], cwd: Path) -> subprocess.CompletedProcess[str]:
    """python-hl7's ``mllp_send`` (an ordinary HL7 client, its own process) sending
    ``messages`` over one connection, in order; it prints each reply."""
    host, port = url.removeprefix("mllp://").rsplit(":", 1)
    path = cwd / "session.hl7"
    path.write_bytes(b"\n".join(m.replace(b"\r", b"\n") for m in messages))
    script = Path(sys.executable).with_name("mllp_send")
    command = [str(script)] if script.exists() else [sys.executable, "-m", "hl7.client"]
    return subprocess.run([*command, "--loose", "-f", str(path), "-p", port, host],
                          capture_output=True, text=True, timeout=120, check=False)


__all__ = ["MEDPLUM_HL7_VERSION", "Hl7Server", "medplum_hl7_modules", "mllp_send",
           "start_medplum_hl7"]
