"""The bundled demo scenario (``ihe demo``'s XDS round trip) recorded against a running ``ihe sim``.

Tests that need a realistic cassette record this one flow rather than a second copy of it.
"""

from __future__ import annotations

from importlib import resources
from pathlib import Path

from ihe_test_util.config import Settings
from ihe_test_util.record import record_scenario
from ihe_test_util.sim import Simulator

DEMO_SCENARIO = Path(str(resources.files("ihe_test_util.demo").joinpath("xds-roundtrip.yaml")))


def record_demo(path: Path, sim: Simulator) -> Path:
    """ITI-44 -> 45 -> 47 -> 41 -> 18 -> 18 -> 43 into ``path``; fails on any unanswered step."""
    result = record_scenario(DEMO_SCENARIO, settings=Settings(), endpoints_override=sim.urls(),
                             cassette=path)
    assert result.recorded == 7, result.as_dict()
    return path
