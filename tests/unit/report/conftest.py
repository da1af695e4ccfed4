"""Fixtures for reporter tests: the shared schema, a realistic run, and feeding it to reporters."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from ihe_test_util.report.base import Reporter, feed
from ihe_test_util.results import ExchangeResult, RunSummary

from ...conftest import shared_file
from .run_builder import FINISHED_AT, realistic_results, run_info


@pytest.fixture
def shared_schema() -> dict[str, Any]:
    """The contract itself (``../shared/spec``): skipped locally, failed in CI when absent."""
    path = shared_file("spec/run-report.schema.json")
    schema: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return schema


@pytest.fixture
def results() -> list[ExchangeResult]:
    return realistic_results()


Run = Callable[[Reporter], RunSummary]


@pytest.fixture
def run_realistic(results: list[ExchangeResult]) -> Run:
    """Feed the realistic run through a reporter, the way the replay engine does."""

    def run(reporter: Reporter) -> RunSummary:
        return feed(reporter, run_info(), results, FINISHED_AT)

    return run


@pytest.fixture
def out_dir(tmp_path: Path) -> Path:
    directory = tmp_path / "reports"
    directory.mkdir()
    return directory


def leftovers(directory: Path) -> list[str]:
    """Temporary files a reporter left beside its output (there must be none)."""
    return sorted(p.name for p in directory.iterdir() if p.name.startswith("."))
