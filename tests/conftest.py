"""Shared fixtures: the public IHE corpus (skipped cleanly when absent) and CLI helpers."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
CORPUS_DIR = Path(os.environ.get("IHE_CORPUS", REPO_ROOT.parent / "shared" / "corpus"))


def corpus_file(relative: str) -> Path:
    """Path to a corpus file; skips the calling test when the corpus is not checked out."""
    path = CORPUS_DIR / relative
    if not path.is_file():
        pytest.skip(f"corpus file not available: {path} (set IHE_CORPUS or check out ../shared)")
    return path


@pytest.fixture
def corpus() -> Path:
    if not CORPUS_DIR.is_dir():
        pytest.skip(f"IHE corpus not available at {CORPUS_DIR}")
    return CORPUS_DIR


@pytest.fixture(autouse=True)
def _isolated_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never see the developer's IHE_* settings or colour preferences."""
    for name in list(os.environ):
        if name.startswith("IHE_") and name != "IHE_CORPUS":
            monkeypatch.delenv(name, raising=False)
    monkeypatch.delenv("NO_COLOR", raising=False)
    monkeypatch.setenv("COLUMNS", "100")
