"""Our workflows and action.yml: pinned actions, least privilege, no persisted credentials.

The linters (actionlint, zizmor) are run by ``make lint-ci``; the checks here hold the rules
this project adds on top, and show that the linters fail on a broken or unsafe workflow.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..conftest import REPO_ROOT

WORKFLOWS = sorted((REPO_ROOT / ".github" / "workflows").glob("*.yml"))
ACTION = REPO_ROOT / "action.yml"
PINNED = re.compile(r"^[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*$")


def load(path: Path) -> dict[Any, Any]:
    data = yaml.safe_load(path.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def steps(path: Path) -> list[dict[str, Any]]:
    data = load(path)
    if path == ACTION:
        return list(data["runs"]["steps"])
    return [step for job in data["jobs"].values() for step in job.get("steps", [])]


def uses_lines(path: Path) -> list[str]:
    """``owner/repo@ref # comment`` as written (YAML drops the comment)."""
    return [m.group(1).strip() for m in
            re.finditer(r"^\s*(?:- )?uses:\s*(.+)$", path.read_text(encoding="utf-8"), re.M)]


@pytest.mark.parametrize("path", [*WORKFLOWS, ACTION], ids=lambda p: p.name)
def test_every_remote_action_is_pinned_by_commit_with_its_version(path: Path) -> None:
    remote = [line for line in uses_lines(path) if not line.startswith("./")]
    assert remote
    unpinned = [line for line in remote if not PINNED.match(line)]
    assert not unpinned, f"{path.name}: pin by full SHA with '# vX.Y.Z': {unpinned}"


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_no_default_permissions_and_each_job_names_its_own(path: Path) -> None:
    data = load(path)
    assert data["permissions"] == {}
    for name, job in data["jobs"].items():
        assert "permissions" in job, f"{path.name}: job {name} must declare its permissions"
        assert "write-all" not in str(job["permissions"])


@pytest.mark.parametrize("path", WORKFLOWS, ids=lambda p: p.name)
def test_checkouts_do_not_persist_credentials(path: Path) -> None:
    for step in steps(path):
        if str(step.get("uses", "")).startswith("actions/checkout@"):
            assert step.get("with", {}).get("persist-credentials") is False, path.name


def test_release_builds_without_credentials_and_publishes_by_trusted_publishing() -> None:
    jobs = load(REPO_ROOT / ".github" / "workflows" / "release.yml")["jobs"]
    assert jobs["build"]["permissions"] == {"contents": "read"}
    assert jobs["pypi"]["needs"] == "build"
    assert jobs["pypi"]["permissions"] == {"id-token": "write"}
    publish = [s for s in jobs["pypi"]["steps"]
               if str(s.get("uses", "")).startswith("pypa/gh-action-pypi-publish@")]
    assert len(publish) == 1 and "password" not in publish[0].get("with", {})
    assert all("setup-python" not in str(s.get("uses", "")) for s in jobs["pypi"]["steps"])


def test_coverage_is_uploaded_from_one_matrix_cell() -> None:
    test = load(REPO_ROOT / ".github" / "workflows" / "ci.yml")["jobs"]["test"]
    uploads = [s for s in test["steps"] if "codecov" in str(s.get("uses", ""))]
    assert len(uploads) == 1
    assert uploads[0]["if"] == "matrix.os == 'ubuntu-latest' && matrix.python-version == '3.12'"


def _tool(name: str) -> str:
    path = shutil.which(name, path=str(Path(sys.executable).parent))
    if path is None:
        pytest.skip(f"{name} not installed (pip install -e '.[workflows]')")
    return path


BROKEN = """\
on: push
permissions: {}
jobs:
  build:
    runs-on: ubuntu-latest
    permissions:
      contents: read
    steps:
      - uses: actions/checkout@v4
      - run: echo "${{ github.event.pull_request.title }}"
      - run: echo ${{ matrix.nope }}
"""


def test_the_linters_fail_on_a_broken_and_unsafe_workflow(tmp_path: Path) -> None:
    actionlint, zizmor = _tool("actionlint"), _tool("zizmor")
    (tmp_path / ".github" / "workflows").mkdir(parents=True)
    (tmp_path / ".github" / "workflows" / "bad.yml").write_text(BROKEN, encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=tmp_path, check=True)
    lint = subprocess.run([actionlint], cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert lint.returncode == 1 and "matrix" in lint.stdout, lint.stdout + lint.stderr
    audit = subprocess.run([zizmor, "--offline", "--persona", "auditor", ".github/"],
                           cwd=tmp_path, capture_output=True, text=True, timeout=60)
    assert audit.returncode != 0
    assert "unpinned-uses" in audit.stdout and "artipacked" in audit.stdout, audit.stdout


def test_the_linters_pass_on_our_workflows_and_action() -> None:
    actionlint, zizmor = _tool("actionlint"), _tool("zizmor")
    lint = subprocess.run([actionlint], cwd=REPO_ROOT, capture_output=True, text=True,
                          timeout=60)
    assert lint.returncode == 0, lint.stdout + lint.stderr
    audit = subprocess.run([zizmor, "--offline", "--strict-collection", "--persona", "auditor",
                            ".github/", "action.yml"],
                           cwd=REPO_ROOT, capture_output=True, text=True, timeout=60)
    assert audit.returncode == 0, audit.stdout + audit.stderr
