"""Simulators for tests that replay the example cassettes (``cassettes/``) as users would."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ihe_test_util.sim import Simulator


@pytest.fixture
def baseline() -> Iterator[str]:
    """Base URL of a fresh simulator answering as when the examples were recorded."""
    with Simulator(profile="baseline") as sim:
        yield sim.base_url


@pytest.fixture
def breaking() -> Iterator[str]:
    """Base URL of a fresh simulator with the ``breaking`` profile's regressions."""
    with Simulator(profile="breaking") as sim:
        yield sim.base_url
