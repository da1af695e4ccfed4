"""Installing the third-party peers the integration tests run against: the one installer.

Every peer (sekmet-fhir in a venv, fhir.resources / fhirclient into a ``--target`` folder,
@medplum/fhir-router, @medplum/hl7 and node-hl7-server from npm) is installed by the test setup
into :func:`cache_root` (``~/.cache/ihe-test-util/``, ``IHE_TEST_CACHE`` overrides), one folder
per package and version, reused across runs. Each install runs under a file lock, so parallel
test processes never install twice or see half an install; a half install is removed and redone.

node and npm: a developer's machine without them skips the test; CI (``CI`` set, see
:func:`tests.conftest.running_in_ci`) has both, so there their absence fails the test.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from contextlib import AbstractContextManager
from pathlib import Path

import pytest

from ..conftest import file_lock, running_in_ci

_INSTALLED = ".installed"
_STEP_TIMEOUT = 600


def cache_root() -> Path:
    """Where peers are installed: ``IHE_TEST_CACHE`` or ``~/.cache/ihe-test-util``."""
    root = os.environ.get("IHE_TEST_CACHE")
    return Path(root) if root else Path.home() / ".cache" / "ihe-test-util"


def _locked(folder: Path) -> AbstractContextManager[None]:
    """The install lock of ``folder``: the suite's one cross-process lock (conftest)."""
    return file_lock(folder.with_name(folder.name + ".lock"))


def _install(folder: Path, steps: list[list[str]], what: str) -> Path:
    """Run ``steps`` in a fresh ``folder`` once; a half install is removed and redone."""
    with _locked(folder):
        if (folder / _INSTALLED).exists():
            return folder
        shutil.rmtree(folder, ignore_errors=True)
        folder.mkdir(parents=True)
        for step in steps:
            done = subprocess.run(step, cwd=folder, capture_output=True, text=True,
                                  timeout=_STEP_TIMEOUT, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"installing {what} failed ({' '.join(step)}):\n"
                                   f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}")
        (folder / _INSTALLED).write_text(what + "\n", encoding="utf-8")
        return folder


def node() -> str:
    """The ``node`` executable; skips the test locally when node or npm is missing, fails it
    in CI."""
    return _node_tools()[0]


def _node_tools() -> tuple[str, str]:
    node_exe, npm = shutil.which("node"), shutil.which("npm")
    if node_exe is None or npm is None:
        if running_in_ci():
            pytest.fail("node and npm are needed for the npm peers (CI has both)")
        pytest.skip("node and npm are needed for the npm peers")
    return node_exe, npm


def npm_package(name: str, version: str) -> Path:
    """``node_modules`` holding npm package ``name`` at ``version`` (installed on first use
    into ``<cache>/npm/<name>-<version>``; a scope's ``@`` dropped, ``/`` as ``-``)."""
    _, npm = _node_tools()
    folder = cache_root() / "npm" / f"{name.lstrip('@').replace('/', '-')}-{version}"
    write_package = [sys.executable, "-c", "open('package.json', 'w').write("
                     "'{\"name\": \"ihe-test-peer\", \"private\": true}')"]
    _install(folder, [write_package,
                      [npm, "install", "--no-audit", "--no-fund", "--loglevel=error",
                       f"{name}@{version}"]], f"{name} {version}")
    return folder / "node_modules"


def pip_venv(name: str, version: str) -> Path:
    """The Python of a venv of its own (``<cache>/<name>-<version>``) with PyPI package
    ``name`` at ``version`` installed (on first use)."""
    folder = cache_root() / f"{name}-{version}"
    python = folder / "bin" / "python"
    _install(folder, [[sys.executable, "-m", "venv", str(folder)],
                      [str(python), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                       f"{name}=={version}"]], f"{name} {version}")
    return python


def pip_target(name: str, version: str) -> Path:
    """A folder (``<cache>/<name>-<version>``) holding PyPI package ``name`` at ``version``
    and its dependencies, ``pip install --target`` style (on first use); add it to
    ``sys.path`` to import it."""
    folder = cache_root() / f"{name}-{version}"
    return _install(folder, [[sys.executable, "-m", "pip", "install", "--quiet",
                              "--disable-pip-version-check", "--no-compile", "--target",
                              str(folder), f"{name}=={version}"]], f"{name} {version}")


__all__ = ["cache_root", "node", "npm_package", "pip_target", "pip_venv"]


def stop_process(process: subprocess.Popen[str]) -> None:
    """End a peer process (terminate, then kill after 20 s) and close its pipes."""
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
