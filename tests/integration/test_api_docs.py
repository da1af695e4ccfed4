"""The examples in docs/api.md run as written, against ``ihe sim`` on 127.0.0.1."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from ihe_test_util.sim import Simulator

from .demo_support import record_demo

API_DOC = Path(__file__).resolve().parents[2] / "docs" / "api.md"
EXAMPLES = re.findall(r"```python\n(.*?)```", API_DOC.read_text(encoding="utf-8"), re.S)
DOCUMENTED_TARGET = "http://127.0.0.1:8080"


def test_the_page_has_its_three_examples() -> None:
    assert len(EXAMPLES) == 3


@pytest.mark.parametrize("code", EXAMPLES, ids=["cassettes", "compare", "replay"])
def test_example_runs(code: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    for name in [n for n in os.environ if n.startswith("IHE_")]:
        monkeypatch.delenv(name)
    with Simulator() as recorded_on:
        record_demo(tmp_path / "cassettes" / "xds-roundtrip.yaml", recorded_on)
    with Simulator() as sim:
        exec(compile(code.replace(DOCUMENTED_TARGET, sim.base_url), str(API_DOC), "exec"),
             {"__name__": "api_example"})
