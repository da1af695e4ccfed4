"""Helpers: write a scenario (and its files) into a folder, load it, read its problems."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from ihe_test_util.errors import ScenarioError
from ihe_test_util.record.loader import load_scenario
from ihe_test_util.record.scenario import Scenario

HEAD = """\
version: 1
name: t
endpoints:
  pix: http://127.0.0.1:9/pix
  registry: http://127.0.0.1:9/xds/registry
  repository: http://127.0.0.1:9/xds/repository
"""
PATIENT_ID = "P-1^^^&1.3.6.1.4.1.21367.13.20.1000&ISO"


def write(folder: Path, text: str, name: str = "scenario.yaml", **files: str) -> Path:
    for relative, content in files.items():
        target = folder / relative.replace("__", "/")
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(textwrap.dedent(content), encoding="utf-8")
    path = folder / name
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def load(folder: Path, text: str, variables: dict[str, str] | None = None,
         **files: str) -> Scenario:
    return load_scenario(write(folder, text, **files), variables=variables)


def problems(folder: Path, text: str, variables: dict[str, str] | None = None,
             **files: str) -> list[str]:
    """The rendered problems, without the file name (``12: steps[0].with: ...``)."""
    with pytest.raises(ScenarioError) as caught:
        load(folder, text, variables, **files)
    prefix = str(folder / "scenario.yaml") + ":"
    return [p.removeprefix(prefix) for p in caught.value.problems]
