"""A realistic cassette for the ``ihe serve`` tests: the demo flow recorded against ``ihe sim``."""

from __future__ import annotations

from pathlib import Path

from ihe_test_util.sim import Simulator

from .demo_support import record_demo


def record_flow(path: Path) -> Path:
    """Record the 7-exchange XDS/PIX/PDQ demo flow into ``path`` (about a second)."""
    with Simulator() as sim:
        return record_demo(path, sim)
