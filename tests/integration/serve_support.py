"""A realistic cassette for the ``ihe serve`` tests: the demo flow recorded against ``ihe sim``."""

from __future__ import annotations

from pathlib import Path

from ihe_test_util.demo.flow import FlowEndpoints, record_xds_flow
from ihe_test_util.sim import Simulator


def record_flow(path: Path) -> Path:
    """Record the 7-exchange XDS/PIX/PDQ demo flow into ``path`` (about a second)."""
    with Simulator() as sim:
        record_xds_flow(path, FlowEndpoints.of(sim.urls(), sim.identity.repository_unique_id))
    return path
