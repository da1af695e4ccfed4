"""Essentials of files no engine runs here: Dockerfile, workflows, Makefile, README."""

from __future__ import annotations

import re
import sys

import yaml

from ..conftest import REPO_ROOT

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib


def test_dockerfile_essentials() -> None:
    text = (REPO_ROOT / "Dockerfile").read_text()
    assert re.search(r"^FROM python:3\.\d+-slim", text, re.M)
    assert "pip install /tmp/ihe_test_utility-" in text
    assert re.search(r"^USER (?!root)\w+", text, re.M)
    assert 'ENTRYPOINT ["ihe"]' in text
    assert re.search(r"^VOLUME \[\"/cassettes\"\]", text, re.M)


def test_ci_workflow_matrix_and_jobs() -> None:
    workflow = yaml.safe_load((REPO_ROOT / ".github/workflows/ci.yml").read_text())
    jobs = workflow["jobs"]
    assert {"lint", "test", "build"} <= set(jobs)
    matrix = jobs["test"]["strategy"]["matrix"]
    assert set(matrix["os"]) == {"ubuntu-latest", "windows-latest", "macos-latest"}
    assert set(matrix["python-version"]) == {"3.10", "3.11", "3.12"}
    uploads = [s for s in jobs["build"]["steps"] if "upload-artifact" in s.get("uses", "")]
    assert uploads and uploads[0]["with"]["path"] == "dist/"
    coverage = [s for s in jobs["test"]["steps"] if "codecov" in s.get("uses", "")]
    assert coverage and "if" in coverage[0]


def test_release_workflow_uses_trusted_publishing() -> None:
    workflow = yaml.safe_load((REPO_ROOT / ".github/workflows/release.yml").read_text())
    assert workflow[True]["push"]["tags"] == ["v*"]  # YAML 1.1 reads the key `on` as True
    pypi = workflow["jobs"]["pypi"]
    assert pypi["permissions"]["id-token"] == "write"
    assert any("pypa/gh-action-pypi-publish" in s.get("uses", "") for s in pypi["steps"])
    release = workflow["jobs"]["github-release"]
    # zizmor (superfluous-actions): the runner's gh CLI replaces softprops/action-gh-release
    assert any("gh release create" in s.get("run", "") and "dist/*" in s["run"]
               for s in release["steps"])


def test_makefile_targets() -> None:
    text = (REPO_ROOT / "Makefile").read_text()
    for target in ("install", "dev", "test", "lint", "build", "demo", "bench", "docker", "clean"):
        assert re.search(rf"^{target}:", text, re.M), target
    assert "mypy --strict src" in text


def test_pyproject_contract() -> None:
    project = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
    meta = project["project"]
    assert meta["name"] == "ihe-test-utility"
    assert meta["version"] == "0.1.0"
    assert meta["requires-python"] == ">=3.10"
    assert meta["scripts"] == {
        "ihe": "ihe_test_util.cli.launcher:main",
        "ihe-test-util": "ihe_test_util.cli.launcher:main",
    }
    deps = " ".join(meta["dependencies"])
    for name in ("vcrpy>=8.2.1", "requests", "lxml", "xmldiff", "click", "rich"):
        assert name in deps
    assert project["tool"]["ruff"]["target-version"] == "py310"
    assert project["tool"]["mypy"]["python_version"] == "3.10"


def test_readme_first_screen_has_the_two_commands() -> None:
    lines = (REPO_ROOT / "README.md").read_text().splitlines()[:40]
    first_screen = "\n".join(lines)
    assert "make demo" in first_screen
    assert "make test" in first_screen
