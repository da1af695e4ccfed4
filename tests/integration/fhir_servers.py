"""Real third-party FHIR servers as separate processes on 127.0.0.1 (issue 13).

* **sekmet-fhir** (PyPI, a FHIR R4 server on FastAPI + SQLite) installed into its own venv;
* **@medplum/fhir-router** (npm, Medplum's FHIR R4 router with its in-memory repository)
  behind ``medplum_server.mjs``, a small node HTTP launcher kept beside this file.

Both are installed by the test setup through :mod:`.peers` (the one installer: a cache folder
per package and version outside the repository, reused across runs, under a file lock).
Every :func:`start_sekmet` / :func:`start_medplum` is a fresh server with an empty database.
"""

from __future__ import annotations

import os
import subprocess
import tempfile
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import requests

from .peers import node, npm_package, pip_venv, stop_process

SEKMET_VERSION = "0.1.1"
MEDPLUM_VERSION = "4.5.2"
HERE = Path(__file__).parent


def sekmet_python() -> Path:
    """The Python of a venv with sekmet-fhir installed (installed on first use)."""
    return pip_venv("sekmet-fhir", SEKMET_VERSION)


def medplum_modules() -> Path:
    """``node_modules`` holding @medplum/fhir-router (installed on first use)."""
    return npm_package("@medplum/fhir-router", MEDPLUM_VERSION)


@dataclass
class FhirServer:
    """A running FHIR server process: its base URL and what it logged."""

    name: str
    base_url: str
    process: subprocess.Popen[str]
    log: list[str] = field(default_factory=list)

    def stop(self) -> None:
        stop_process(self.process)


def _started(name: str, command: list[str], path: str, *, cwd: Path,
             env: dict[str, str]) -> FhirServer:
    process = subprocess.Popen(command, cwd=cwd, env={**os.environ, **env}, text=True,
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    assert process.stdout is not None and process.stderr is not None
    first = process.stdout.readline()  # blocks until bound, or EOF when it died
    if not first.startswith("listening "):
        process.wait()
        raise RuntimeError(f"{name} did not start: {first}{process.stderr.read()[-3000:]}")
    server = FhirServer(name, f"http://127.0.0.1:{int(first.split()[1])}{path}", process)

    def drain() -> None:  # keep the pipe from filling up; kept for failure messages
        assert process.stderr is not None
        for line in process.stderr:
            server.log.append(line)

    threading.Thread(target=drain, daemon=True).start()
    return server


@contextmanager
def start_sekmet() -> Iterator[FhirServer]:
    """A fresh sekmet-fhir (empty SQLite database in a folder of its own); base ``/fhir``."""
    python = sekmet_python()
    with tempfile.TemporaryDirectory(prefix="sekmet-") as tmp:
        folder = Path(tmp)
        (folder / "settings.yaml").write_text(
            f"db_path: {folder / 'db.sqlite'}\ndata_dir: {folder / 'data'}\n"
            "simulator:\n  enabled: false\n")
        server = _started("sekmet-fhir", [str(python), str(HERE / "sekmet_server.py")], "/fhir",
                          cwd=folder, env={"SEKMET_CONFIG": str(folder / "settings.yaml")})
        try:
            yield server
        finally:
            server.stop()


class ServerPool:
    """FHIR servers kept running and emptied between uses (``POST /__reset``, which both
    launchers serve outside the FHIR base): a fresh, empty server for each :meth:`fresh`
    without paying the seconds a start takes (sekmet imports its models, Medplum indexes the
    FHIR definitions). One process per product and base path; :meth:`close` stops them.
    """

    def __init__(self) -> None:
        self._servers: dict[tuple[str, str], tuple[FhirServer,
                                                   AbstractContextManager[FhirServer]]] = {}

    @contextmanager
    def fresh(self, product: str, base_path: str | None = None) -> Iterator[FhirServer]:
        key = (product, base_path or "")
        if key not in self._servers:
            starting = start_sekmet() if product == "sekmet" else \
                start_medplum(base_path or "/fhir/R4")
            self._servers[key] = (starting.__enter__(), starting)
        server = self._servers[key][0]
        origin = server.base_url[:server.base_url.index("/fhir")]
        with requests.post(f"{origin}/__reset", timeout=30) as answer:
            answer.raise_for_status()
        yield server

    def close(self) -> None:
        for _, starting in self._servers.values():
            starting.__exit__(None, None, None)
        self._servers.clear()


@contextmanager
def start_medplum(base_path: str = "/fhir/R4") -> Iterator[FhirServer]:
    """A fresh @medplum/fhir-router (in-memory repository) at ``base_path`` (Medplum's own
    ``/fhir/R4`` by default; ``/fhir`` where a sekmet recording expects it)."""
    modules = medplum_modules()
    node_exe = node()
    with tempfile.TemporaryDirectory(prefix="medplum-") as tmp:
        server = _started("medplum", [node_exe, str(HERE / "medplum_server.mjs")], base_path,
                          cwd=Path(tmp), env={"MEDPLUM_NODE_MODULES": str(modules),
                                              "MEDPLUM_BASE_PATH": base_path})
        try:
            yield server
        finally:
            server.stop()
