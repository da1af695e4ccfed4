"""Each server fault, hit by one exchange among good ones, through the real CLI: ``ihe replay``
gives that exchange ``error`` with a one-line cause and the others their normal outcome, exits
3 (1 when another exchange regressed) and writes every report; ``ihe record SCENARIO`` fails
that step, records the others and exits 3. The runs finish because ``--timeout`` bounds each
exchange (asserted as finishing, not timed)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from ihe_test_util.cassette import load_cassette
from ihe_test_util.cassette.store import save_cassette
from ihe_test_util.model import Cassette, CassetteMeta, Headers, Interaction, Request, Response

from .fault_server import FAULTS, GOOD_BODY, fault_server
from .test_transport_faults import CAUSES

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


def ihe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ihe_test_util", "--no-color", *args], capture_output=True,
        text=True, cwd=cwd, timeout=120, env={**os.environ, "COLUMNS": "200"},
    )


def _exchange(path: str, body: bytes = GOOD_BODY) -> Interaction:
    return Interaction(
        Request("POST", f"http://recorded.example{path}", Headers([("Content-Type", "text/xml")]),
                b"<ask/>"),
        Response(200, "OK", Headers([("Content-Type", "text/xml; charset=UTF-8")]), body),
    )


def _cassettes(folder: Path, *, changed_last: bool = False) -> None:
    """One cassette per fault: a good exchange, the fault, a good exchange."""
    last = b"<answer><status>other</status></answer>" if changed_last else GOOD_BODY
    for fault in FAULTS:
        save_cassette(folder / f"{fault}.yaml", Cassette(
            (_exchange(f"/good/{fault}/1"), _exchange(f"/fault/{fault}"),
             _exchange(f"/good/{fault}/2", last)), CassetteMeta(name=fault)))


def test_replay_each_fault_is_that_exchanges_error_and_every_report_is_written(
        tmp_path: Path) -> None:
    _cassettes(tmp_path / "cassettes")
    out = tmp_path / "out"
    with fault_server() as server:
        run = ihe("replay", "cassettes", "--target", server.url, "--timeout", "1",
                  "--report-json", str(out / "run.json"), "--junit", str(out / "junit.xml"),
                  "--markdown", str(out / "run.md"), "--html", str(out / "run.html"),
                  cwd=tmp_path)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "internal error" not in run.stdout + run.stderr
    data = json.loads((out / "run.json").read_text(encoding="utf-8"))
    by_cassette: dict[str, list[dict[str, object]]] = {}
    for exchange in data["exchanges"]:
        by_cassette.setdefault(exchange["cassette"].split("#")[0], []).append(exchange)
    assert len(by_cassette) == len(FAULTS)
    for fault in FAULTS:
        first, broken, last = by_cassette[f"{fault}.yaml"]
        assert (first["outcome"], broken["outcome"], last["outcome"]) == \
            ("pass", "error", "pass"), fault
        cause = str(broken["error"]["message"]).splitlines()[0]  # type: ignore[index]
        assert CAUSES[fault] in cause, (fault, cause)
    assert data["summary"]["error"] == len(FAULTS)
    assert data["summary"]["pass"] == 2 * len(FAULTS)
    junit = etree.parse(str(out / "junit.xml")).getroot()
    assert junit.get("tests") == str(3 * len(FAULTS)) and junit.get("errors") == str(len(FAULTS))
    assert "header-trickle" in (out / "run.html").read_text(encoding="utf-8")
    assert "bad-gzip" in (out / "run.md").read_text(encoding="utf-8")


def test_replay_with_a_fault_and_a_changed_exchange_exits_1(tmp_path: Path) -> None:
    _cassettes(tmp_path / "cassettes", changed_last=True)
    with fault_server() as server:
        run = ihe("replay", "cassettes/body-stall.yaml", "cassettes/headers-truncated.yaml",
                  "--target", server.url, "--timeout", "1",
                  "--report-json", "run.json", cwd=tmp_path)
    assert run.returncode == 1, run.stdout + run.stderr
    summary = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))["summary"]
    assert (summary["error"], summary["changed"], summary["pass"]) == (2, 2, 2)


SCENARIO = """\
version: 1
name: {fault}
endpoints:
  good: "{url}/good/1"
  bad: "{url}/fault/{fault}"
  again: "{url}/good/2"
steps:
  - name: before
    transaction: raw
    endpoint: good
    with: {{file: ask.txt, content_type: text/plain}}
  - name: broken
    transaction: raw
    endpoint: bad
    with: {{file: ask.txt, content_type: text/plain}}
  - name: after
    transaction: raw
    endpoint: again
    with: {{file: ask.txt, content_type: text/plain}}
"""


@pytest.mark.parametrize("fault", ["reset-after-headers", "header-trickle", "headers-truncated",
                                   "bad-chunking"])
def test_record_a_fault_fails_its_step_and_keeps_the_others(tmp_path: Path, fault: str) -> None:
    (tmp_path / "ask.txt").write_text("ask", encoding="utf-8")
    with fault_server() as server:
        (tmp_path / "s.yaml").write_text(SCENARIO.format(fault=fault, url=server.url),
                                         encoding="utf-8")
        run = ihe("record", "s.yaml", "--timeout", "1", cwd=tmp_path)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "internal error" not in run.stdout + run.stderr
    out = " ".join(run.stdout.split())
    assert "2/3 broken raw -> bad failed: " in out and CAUSES[fault] in out
    cassette = load_cassette(tmp_path / "cassettes" / f"{fault}.yaml")
    assert [i.meta.step for i in cassette.interactions] == ["before", "after"]
    assert all(i.response.body == GOOD_BODY for i in cassette.interactions)
    assert [p.name for p in (tmp_path / "cassettes").iterdir()] == [f"{fault}.yaml"]
