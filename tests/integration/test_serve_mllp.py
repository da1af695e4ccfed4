"""``ihe serve`` as an MLLP playback stub (issue 14): the example cassette recorded from
@medplum/hl7 served on an MLLP port to python-hl7's ``mllp_send`` (an ordinary HL7 client, its
own process, one connection), with fresh MSH-7, MSH-10 and QPD-2 as a real sender makes them."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from ihe_test_util.cassette import load_cassette
from ihe_test_util.ihe.er7 import FieldRef, edit_er7, read_field

from .hl7_servers import mllp_send
from .record.conftest import finally_killed

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

CASSETTE = Path(__file__).parents[2] / "examples" / "cassettes" / "pix-pdq-v2.yaml"


@contextmanager
def ihe_serve(*args: str) -> Iterator[tuple[dict[str, Any], list[str]]]:
    """``ihe serve ... --json``; yields its first line and the JSON lines that follow."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ihe_test_util", "serve", *args, "--json"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=dict(os.environ))
    with finally_killed(process):
        assert process.stdout is not None
        first = process.stdout.readline()
        assert first, process.stderr.read() if process.stderr else ""
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()),
                                  daemon=True)
        reader.start()
        yield json.loads(first), lines
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        reader.join(timeout=10)


def fresh(body: bytes, number: int) -> bytes:
    """``body`` as a sender sends it again: new MSH-7, MSH-10 and (queries) QPD-2."""
    edits = [(FieldRef.parse("MSH-7"), "20270101000000"),
             (FieldRef.parse("MSH-10"), f"FRESH{number}")]
    if b"\rQPD|" in body:
        edits.append((FieldRef.parse("QPD-2"), f"TAG{number}"))
    return edit_er7(body, edits)


def replies(output: str) -> list[str]:
    """mllp_send prints each reply framed, segments on lines."""
    return [frame.strip("\x0b\n").replace("\n", "\r")
            for frame in output.split("\x1c") if frame.strip()]


def _rest(message: str) -> list[str]:
    """The segments serve never changes (all but MSH, MSA, QAK, QPD), as recorded."""
    return [segment for segment in message.rstrip("\r").split("\r")
            if segment[:3] not in ("MSH", "MSA", "QAK", "QPD")]


def field(message: str, ref: str) -> str | None:
    return read_field(message, FieldRef.parse(ref))


def test_an_hl7_client_gets_the_recorded_replies_echoing_its_own_ids(tmp_path: Path) -> None:
    recorded = load_cassette(CASSETTE).interactions
    messages = [fresh(i.request.body, n) for n, i in enumerate(recorded)]
    with ihe_serve(str(CASSETTE), "--port", "0", "--mllp-port", "0") as (info, lines):
        assert info["mllp_url"].startswith("mllp://127.0.0.1:")
        assert info["paths"] == {}  # nothing of this cassette is HTTP
        sent = mllp_send(info["mllp_url"], messages, tmp_path)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    got = replies(sent.stdout)
    assert len(got) == len(recorded) == 6
    for number, (reply, interaction) in enumerate(zip(got, recorded, strict=True)):
        original = interaction.response.body.decode()
        assert field(reply, "MSA-1") == field(original, "MSA-1") == "AA"
        assert field(reply, "MSA-2") == f"FRESH{number}"  # echoes the new MSH-10
        assert field(reply, "MSH-10") != field(original, "MSH-10")  # its own id is fresh
        if field(original, "QAK-1") is not None:
            assert field(reply, "QAK-1") == field(reply, "QPD-2") == f"TAG{number}"
        assert _rest(reply) == _rest(original)
    pdq = got[5].split("\r")
    assert sum(segment.startswith("PID|") for segment in pdq) == 3
    assert not [line for line in lines if "no-match" in line]


def test_a_message_nothing_matches_gets_ack_ar_naming_the_closest(tmp_path: Path) -> None:
    admit = load_cassette(CASSETTE).interactions[0].request.body
    changed = fresh(admit, 7).replace(b"Meyer^Hans", b"Meier^Hans")
    with ihe_serve(str(CASSETTE), "--port", "0", "--mllp-port", "0") as (info, lines):
        sent = mllp_send(info["mllp_url"], [changed, fresh(admit, 8)], tmp_path)
    assert sent.returncode == 0, sent.stdout + sent.stderr
    refused, accepted = replies(sent.stdout)
    assert field(refused, "MSA-1") == "AR" and field(refused, "MSA-2") == "FRESH7"
    [err] = [segment for segment in refused.split("\r") if segment.startswith("ERR|")]
    assert "closest pix-pdq-v2.yaml#0 (ITI-8 'admit Hans')" in err
    assert "PID-5.1: recorded 'Meyer', received 'Meier'" in err
    assert field(accepted, "MSA-1") == "AA"  # the connection goes on
    misses = [json.loads(line) for line in lines if '"no-match"' in line]
    assert len(misses) == 1
    assert misses[0]["path"] == "ADT^A01" and misses[0]["transaction"] == "ITI-8"


def test_without_json_a_miss_is_one_console_line(tmp_path: Path) -> None:
    admit = load_cassette(CASSETTE).interactions[0].request.body
    process = subprocess.Popen(
        [sys.executable, "-m", "ihe_test_util", "--no-color", "serve", str(CASSETTE), "--port",
         "0", "--mllp-port", "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "300", "NO_COLOR": "1"})
    with finally_killed(process):
        assert process.stdout is not None
        head = [process.stdout.readline() for _ in range(2)]
        mllp = next(line.split()[0] for line in head if line.strip().startswith("mllp://"))
        sent = mllp_send(mllp, [fresh(admit, 1).replace(b"Meyer", b"Meier")], tmp_path)
        assert sent.returncode == 0
        process.send_signal(signal.SIGINT)
        out, _ = process.communicate(timeout=30)
    misses = [line for line in out.splitlines() if "no match" in line]
    assert len(misses) == 1
    assert "MLLP ADT^A01 ITI-8 -> closest pix-pdq-v2.yaml#0" in misses[0]
