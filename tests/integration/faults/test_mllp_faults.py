"""Each MLLP peer fault, hit by one exchange among good ones, through the real CLI (``ihe replay
--target mllp://...``): that exchange is ``error`` with a one-line cause naming what happened,
the others keep their normal outcome (their replies are their own: a reply that slid onto
another exchange would differ from its recording), the run finishes within the configured
``--timeout``s (asserted as finishing, not timed), every report is written, exit 3."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lxml import etree

from ihe_test_util.cassette import save_cassette
from ihe_test_util.model import (
    Cassette,
    CassetteMeta,
    Interaction,
    InteractionMeta,
    Request,
    Response,
)
from ihe_test_util.transport.mllp import MLLP_METHOD, MLLP_REASON, MLLP_STATUS

from .mllp_fault_server import MLLP_FAULTS, ack, mllp_fault_server

RECORDED_AT = "mllp://adt.example:2575"

#: What the error of each fault says (its first line), and its type.
MLLP_CAUSES: dict[str, tuple[str, str]] = {
    "no-answer": ("EndpointTimeout", "no complete reply within 1 s (nothing received)"),
    "close-mid-reply": ("MllpFramingError", "closed the connection in the middle of a reply"),
    "close-without-reply": ("TransportError", "closed the connection without replying"),
    "bad-framing": ("MllpFramingError", "does not begin with the start block <VT>"),
    "no-end-block": ("EndpointTimeout", "no end block <FS><CR>"),
    "stall-mid-reply": ("EndpointTimeout", "no end block <FS><CR>"),
    "late-reply": ("EndpointTimeout", "no complete reply within 1 s (nothing received)"),
    "earlier-ack": ("MllpFramingError", "the reply answers an earlier message"),
}


def ihe(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ihe_test_util", "--no-color", *args], capture_output=True,
        text=True, cwd=cwd, timeout=180, env={**os.environ, "COLUMNS": "200"},
    )


def adt(ident: str, fault: str | None = None) -> bytes:
    note = f"NTE|1||fault:{fault}\r" if fault else f"NTE|1||step {ident}\r"
    return (f"MSH|^~\\&|SND|FAC|RCV|FAC|20240101120000||ADT^A01^ADT_A01|{ident}|P|2.5\r"
            f"EVN|A01|20240101120000\rPID|1||{ident}^^^HOSP^MR||Doe^John\r{note}").encode()


def exchange(ident: str, fault: str | None = None) -> Interaction:
    """A message and the reply a good peer gave it when it was recorded."""
    message = adt(ident, fault)
    return Interaction(
        Request(MLLP_METHOD, RECORDED_AT, body=message),
        Response(MLLP_STATUS, MLLP_REASON, body=ack(message)),
        InteractionMeta(transaction="ITI-8", step=ident),
    )


def cassettes(folder: Path) -> None:
    """Per fault: good, fault, good, good (control ids unique in the run)."""
    for fault in MLLP_FAULTS:
        save_cassette(folder / f"{fault}.yaml", Cassette(
            (exchange(f"{fault}-1"), exchange(f"{fault}-2", fault), exchange(f"{fault}-3"),
             exchange(f"{fault}-4")), meta=CassetteMeta(name=fault)))


@pytest.mark.parametrize("jobs", [1, 4], ids=["jobs-1", "jobs-4"])
def test_replay_each_mllp_fault_is_that_exchanges_error_and_every_report_is_written(
        tmp_path: Path, jobs: int) -> None:
    cassettes(tmp_path / "cassettes")
    out = tmp_path / "out"
    with mllp_fault_server(late_after=2.0) as server:
        run = ihe("replay", "cassettes", "--target", server.url, "--timeout", "1",
                  "--jobs", str(jobs),
                  "--report-json", str(out / "run.json"), "--junit", str(out / "junit.xml"),
                  "--markdown", str(out / "run.md"), "--html", str(out / "run.html"),
                  cwd=tmp_path)
    assert run.returncode == 3, run.stdout + run.stderr
    assert "internal error" not in run.stdout + run.stderr and "Traceback" not in run.stderr
    data = json.loads((out / "run.json").read_text(encoding="utf-8"))
    by_cassette: dict[str, list[dict[str, object]]] = {}
    for item in data["exchanges"]:
        by_cassette.setdefault(str(item["cassette"]), []).append(item)
    assert sorted(by_cassette) == sorted(f"{fault}.yaml" for fault in MLLP_FAULTS)
    for fault in MLLP_FAULTS:
        items = by_cassette[f"{fault}.yaml"]
        outcomes = [item["outcome"] for item in items]
        if fault == "answer-twice":
            # the message answered twice got its first reply; the second is seen before (or
            # as the reply of) the next message on that connection: that one is the error,
            # and the connection is replaced so the last message gets its own reply
            assert outcomes == ["pass", "pass", "error", "pass"], (fault, items)
            message = str(items[2]["error"]["message"])  # type: ignore[index]
            assert ("nobody asked for" in message or "answers an earlier message" in message), \
                message
            continue
        assert outcomes == ["pass", "error", "pass", "pass"], (fault, items)
        error = items[1]["error"]
        kind, cause = MLLP_CAUSES[fault]
        first_line = str(error["message"]).splitlines()[0]  # type: ignore[index]
        assert cause in first_line and error["type"] == kind, (fault, error)  # type: ignore[index]
    assert data["summary"]["error"] == len(MLLP_FAULTS)
    assert data["summary"]["pass"] == 3 * len(MLLP_FAULTS)
    junit = etree.parse(str(out / "junit.xml")).getroot()
    assert junit.get("tests") == str(4 * len(MLLP_FAULTS))
    assert junit.get("errors") == str(len(MLLP_FAULTS))
    assert "no-end-block" in (out / "run.html").read_text(encoding="utf-8")
    assert "ERRORS" in (out / "run.md").read_text(encoding="utf-8")
