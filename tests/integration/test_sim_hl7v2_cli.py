"""``ihe sim`` as users run it, with its HL7 v2 actors: the MLLP URL printed and listed by
``--json``, and python-hl7's ``mllp_send`` (a separate process) as the client."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from urllib.parse import urlsplit

from ihe_test_util.ihe.builders.hl7v2 import iti8_feed, iti21_query
from ihe_test_util.ihe.builders.patients import PatientDemographics, PersonName
from ihe_test_util.ihe.cx import PatientId

from .test_sim_cli import running_sim

A = "1.3.6.1.4.1.21367.2005.3.7"


def _mllp_send(url: str, messages: list[bytes], folder: Path) -> list[str]:
    """Send with python-hl7's ``mllp_send`` over one connection; the replies it prints."""
    file = folder / "messages.hl7"
    file.write_bytes(b"\n".join(m.replace(b"\r", b"\n") for m in messages))
    parts = urlsplit(url)
    script = Path(sys.executable).with_name("mllp_send")
    result = subprocess.run(
        [str(script), "--port", str(parts.port), "--file", str(file), "--loose",
         parts.hostname or ""], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stdout + result.stderr
    return [r for r in result.stdout.replace("\r", "\n").split("MSH|") if r.strip()]


def test_json_lists_the_v2_actors_and_mllp_send_is_answered(tmp_path: Path) -> None:
    with running_sim("--profile", "baseline") as (_, info):
        mllp = str(info["mllp_url"])
        assert mllp.startswith("mllp://127.0.0.1:")
        actors = info["actors"]
        assert isinstance(actors, dict)
        assert actors["pix-v2"] == {"url": mllp, "transactions": ["ITI-8", "ITI-9"]}
        assert actors["pdq-v2"] == {"url": mllp, "transactions": ["ITI-21"]}
        patient = PatientDemographics(ids=(PatientId("CLI-1", A),),
                                      name=PersonName("Cli", ("Carla",)), gender="F",
                                      birth_date="19900909")
        replies = _mllp_send(mllp, [iti8_feed(patient).body,
                                    iti21_query({"family": "cli"}).body], tmp_path)
    assert len(replies) == 2, replies
    assert "ACK^A01^ACK" in replies[0] and "\nMSA|AA|" in replies[0]
    assert "RSP^K22^RSP_K21" in replies[1] and "\nQAK|" in replies[1]
    assert f"PID|1||CLI-1^^^&{A}&ISO^PI||Cli^Carla||19900909|F" in replies[1]


def test_table_prints_the_mllp_actors() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "ihe_test_util", "sim", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NO_COLOR": "1", "COLUMNS": "200"})
    try:
        assert process.stdout is not None
        lines = []
        while not lines or not lines[-1].startswith("Press Ctrl-C"):
            line = process.stdout.readline()
            assert line, process.stderr.read() if process.stderr else ""
            lines.append(line)
    finally:
        process.terminate()
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    text = "".join(lines)
    assert "PIX Manager (HL7 v2)" in text and "PDQ Supplier (HL7 v2)" in text
    assert "mllp://127.0.0.1:" in text and "ITI-8 ITI-9" in text
