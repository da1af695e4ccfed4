"""A cassette recorded from a live ``ihe sim`` once per test session, and sim fixtures."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ihe_test_util.sim import Simulator

from ..demo_support import record_demo


@pytest.fixture(scope="session")
def recorded_flow(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """ITI-44 -> 45 -> 47 -> 41 -> 18 -> 18 -> 43, recorded against a baseline simulator."""
    folder = tmp_path_factory.mktemp("recorded")
    with Simulator(profile="baseline") as sim:
        return record_demo(folder / "xds-flow.yaml", sim)


@pytest.fixture
def cassettes(recorded_flow: Path, tmp_path: Path) -> Path:
    """A fresh copy of the recorded cassette in a ``cassettes/`` folder of the test."""
    folder = tmp_path / "cassettes"
    folder.mkdir()
    shutil.copy(recorded_flow, folder / "xds-flow.yaml")
    return folder


@pytest.fixture
def sim_factory() -> Iterator[type[Simulator]]:
    yield Simulator
