"""Readable snapshot files for report outputs.

``UPDATE_SNAPSHOTS=1 pytest tests/unit/report`` rewrites them; review the diff with git. A
missing snapshot is written and the test fails once, so a new snapshot is always looked at.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

SNAPSHOT_DIR = Path(__file__).parent / "snapshots"


def assert_snapshot(name: str, actual: str) -> None:
    path = SNAPSHOT_DIR / name
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        path.write_text(actual, encoding="utf-8", newline="\n")
        return
    if not path.exists():
        path.write_text(actual, encoding="utf-8", newline="\n")
        pytest.fail(f"snapshot {path} did not exist and was written: review it, then re-run")
    expected = path.read_text(encoding="utf-8")
    assert actual == expected, (
        f"output differs from snapshot {path.name}; if the change is intended, run "
        f"UPDATE_SNAPSHOTS=1 pytest {Path(__file__).parent} and review the diff"
    )
