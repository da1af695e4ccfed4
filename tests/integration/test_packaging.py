"""The delivery frame: wheel + sdist build, the wheel installs and runs in a clean virtualenv."""

from __future__ import annotations

import shutil
import subprocess
import sys
import tarfile
import venv
from pathlib import Path

import pytest

from ..conftest import REPO_ROOT, file_lock, run_folder

pytestmark = pytest.mark.slow


def _scripts_dir(env_dir: Path) -> Path:
    return env_dir / ("Scripts" if sys.platform == "win32" else "bin")


def _pip_version() -> tuple[int, ...]:
    from pip import __version__

    return tuple(int(part) for part in __version__.split(".")[:2] if part.isdigit())


@pytest.fixture(scope="session")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The one build of the run: the sdist, then the wheel from that sdist. Under pytest-xdist
    the first worker that needs it builds it into the run's shared folder, the others wait for
    that build (a lock) and reuse it."""
    shared = run_folder(tmp_path_factory)
    out = shared / "dist"
    with file_lock(shared / "dist.lock"):
        if not (shared / "dist.built").is_file():
            shutil.rmtree(out, ignore_errors=True)  # a build another worker did not finish
            out.mkdir()
            subprocess.run(
                [sys.executable, "-m", "build", "--outdir", str(out), str(REPO_ROOT)],
                check=True, capture_output=True, timeout=600,
            )
            (shared / "dist.built").touch()
    return out


def test_build_produces_exactly_wheel_and_sdist(dist: Path) -> None:
    assert sorted(p.name for p in dist.iterdir()) == [
        "ihe_test_utility-0.1.0-py3-none-any.whl",
        "ihe_test_utility-0.1.0.tar.gz",
    ]


def test_sdist_contains_tests_and_docs(dist: Path) -> None:
    with tarfile.open(dist / "ihe_test_utility-0.1.0.tar.gz") as archive:
        names = archive.getnames()
    assert any("/tests/" in n for n in names)
    assert any("/docs/" in n for n in names)
    assert any(n.endswith("src/ihe_test_util/py.typed") for n in names)


def test_wheel_installs_and_runs_in_clean_virtualenv(dist: Path, tmp_path: Path) -> None:
    env_dir = tmp_path / "venv"
    python = _scripts_dir(env_dir) / ("python.exe" if sys.platform == "win32" else "python")
    wheel = dist / "ihe_test_utility-0.1.0-py3-none-any.whl"
    # This environment's pip installs into the new one (``--python``, pip >= 22.3), with the
    # dependencies the wheel declares: the new environment needs no pip of its own, which
    # saves bootstrapping one (ensurepip) on every run; and nothing is byte-compiled ahead
    # (what the commands below import compiles as they run).
    own_pip = _pip_version() >= (22, 3)
    venv.EnvBuilder(with_pip=not own_pip).create(env_dir)
    pip = [sys.executable, "-m", "pip", "--python", str(python)] if own_pip \
        else [str(python), "-m", "pip"]
    subprocess.run(
        [*pip, "install", "--quiet", "--no-compile", "--disable-pip-version-check", str(wheel)],
        check=True, capture_output=True, timeout=600,
    )
    ihe = _scripts_dir(env_dir) / "ihe"
    version = subprocess.run([str(ihe), "--version"], check=True, capture_output=True, text=True)
    assert version.stdout.strip() == "ihe-test-utility 0.1.0"
    helped = subprocess.run([str(ihe), "--help"], check=True, capture_output=True, text=True)
    assert "Usage: ihe" in helped.stdout
    alias = subprocess.run(
        [str(_scripts_dir(env_dir) / "ihe-test-util"), "--version"],
        check=True, capture_output=True, text=True,
    )
    assert "0.1.0" in alias.stdout
    typed = subprocess.run(
        [str(python), "-c", "import importlib.resources as r;"
         "print(r.files('ihe_test_util').joinpath('py.typed').is_file())"],
        check=True, capture_output=True, text=True,
    )
    assert typed.stdout.strip() == "True"


def test_wheel_carries_the_scenario_schema_and_the_demo_scenario(dist: Path) -> None:
    import zipfile

    with zipfile.ZipFile(dist / "ihe_test_utility-0.1.0-py3-none-any.whl") as wheel:
        names = set(wheel.namelist())
    assert "ihe_test_util/record/scenario.schema.json" in names
    assert "ihe_test_util/demo/xds-roundtrip.yaml" in names
