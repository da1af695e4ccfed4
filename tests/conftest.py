"""Shared fixtures: the public IHE corpus and shared spec (../shared), and CLI helpers.

``../shared`` is a separate checkout. Locally, a test that needs it skips with the reason when
it is missing; in CI (``CI=true``) the same absence fails the test, so a CI job without the
corpus cannot pass by silently skipping several hundred tests (:func:`shared_missing`).
"""

from __future__ import annotations

import atexit
import os
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import NoReturn

import pytest
from hypothesis import settings

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("IHE_SHARED", REPO_ROOT.parent / "shared"))
CORPUS_DIR = Path(os.environ.get("IHE_CORPUS", SHARED_DIR / "corpus"))


# The suite never writes into the user's own cache (``ihe --help`` caches its text there, see
# cli/launcher.py): processes started by tests inherit a private one, removed at exit.
_CACHE_HOME = tempfile.mkdtemp(prefix="ihe-test-cache-")
os.environ["XDG_CACHE_HOME"] = _CACHE_HOME
atexit.register(shutil.rmtree, _CACHE_HOME, True)


@pytest.hookimpl(tryfirst=True)
def pytest_configure(config: pytest.Config) -> None:
    """Under pytest-xdist (``make test``), each worker's temporary folder is ``<run>/<n>``
    instead of xdist's ``<run>/popen-gw<n>``: paths in messages stay as long as in a serial
    run, so an error line naming a file wraps at the same terminal width (tests read them)."""
    workerinput = getattr(config, "workerinput", None)
    if workerinput is None or not config.option.basetemp:
        return
    given = Path(config.option.basetemp)
    config.option.basetemp = str(given.with_name(str(workerinput["workerid"]).removeprefix("gw")))


def run_folder(factory: pytest.TempPathFactory) -> Path:
    """This run's temporary folder, shared by every pytest-xdist worker (each worker's own
    ``tmp_path_factory`` folder is inside it): where a session fixture that must run once per
    run, not once per worker, keeps its result (see :func:`file_lock`)."""
    base = factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


@contextmanager
def file_lock(path: Path) -> Iterator[None]:
    """Hold an exclusive lock on ``path`` (created if missing) against other processes: the
    pytest-xdist workers of this run, or another run installing into the same cache. The one
    cross-process lock of the suite (one-time builds, third-party peer installs)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+b") as handle:
        if os.name == "nt":  # pragma: no cover - the suite runs on POSIX in CI
            import msvcrt

            while True:
                try:  # LK_LOCK retries for about 10 s, then raises: wait again
                    msvcrt.locking(handle.fileno(), msvcrt.LK_LOCK, 1)
                    break
                except OSError:
                    continue
            try:
                yield
            finally:
                handle.seek(0)
                msvcrt.locking(handle.fileno(), msvcrt.LK_UNLCK, 1)
        else:
            import fcntl

            fcntl.flock(handle, fcntl.LOCK_EX)
            try:
                yield
            finally:
                fcntl.flock(handle, fcntl.LOCK_UN)


def running_in_ci() -> bool:
    """``CI=true`` (GitHub Actions, GitLab, ``.ci/run`` under a CI runner) or ``CI=1``."""
    return os.environ.get("CI", "").strip().lower() in {"true", "1", "yes"}


# Property tests: no per-example wall-clock deadline anywhere (a shared, busy machine would
# make them flaky; speed belongs in benchmarks/). In CI the examples are derandomised (the
# same run every time, nothing written to .hypothesis/); locally they vary from run to run.
settings.register_profile("dev", deadline=None)
settings.register_profile("ci", deadline=None, derandomize=True, database=None,
                          print_blob=True)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci" if running_in_ci() else "dev"))


#: A CI that cannot have ``../shared`` says so explicitly (``IHE_SHARED_ABSENT=skip``): the
#: GitHub workflow of this public repository, whose runners get the repository only. Our own
#: CI (``.ci/run``) has the corpus and never sets it.
SHARED_ABSENT = "IHE_SHARED_ABSENT"


def shared_missing(what: str, path: Path) -> NoReturn:
    """The one rule for absent ``../shared`` data: a failure in CI, a skip elsewhere."""
    reason = f"{what} not available at {path} (set IHE_CORPUS / IHE_SHARED or check out ../shared)"
    if running_in_ci() and os.environ.get(SHARED_ABSENT) != "skip":
        pytest.fail(f"{reason}; CI=true, where missing shared data is an error, not a skip",
                    pytrace=False)
    pytest.skip(reason)


def corpus_file(relative: str) -> Path:
    """Path to a corpus file (see :func:`shared_missing` when it is absent)."""
    path = CORPUS_DIR / relative
    if not path.is_file():
        shared_missing("corpus file", path)
    return path


def shared_file(relative: str) -> Path:
    """Path to a file under ``../shared`` such as ``spec/run-report.schema.json``."""
    path = SHARED_DIR / relative
    if not path.is_file():
        shared_missing("shared file", path)
    return path


def corpus_dir() -> Path:
    if not CORPUS_DIR.is_dir():
        shared_missing("IHE corpus", CORPUS_DIR)
    return CORPUS_DIR


@pytest.fixture
def corpus() -> Path:
    return corpus_dir()


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's IHE_* settings or colour preferences."""
    for name in list(os.environ):
        if name.startswith("IHE_") and name not in {"IHE_CORPUS", "IHE_SHARED"}:
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("COLUMNS", "100")
