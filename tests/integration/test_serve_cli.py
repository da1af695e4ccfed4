"""``ihe serve`` as users run it: a subprocess that prints its URLs, answers, shows each miss as
one line (explains it on stderr with -v), stops cleanly on Ctrl-C, and refuses an invalid
cassette with exit 2."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from ihe_test_util.cassette import load_cassette
from ihe_test_util.ihe.idmap import IdMap
from ihe_test_util.ihe.regenerate import regenerate_request
from ihe_test_util.model import Request
from ihe_test_util.transport.soap import parse_envelope

from .serve_support import record_flow

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_flow(tmp_path_factory.mktemp("serve-cli") / "flow.yaml")


@contextmanager
def serving(*args: str) -> Iterator[tuple[subprocess.Popen[str], str]]:
    """Start ``ihe ... serve``; yields the process and the first line it printed."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ihe_test_util", *args], stdout=subprocess.PIPE,
        stderr=subprocess.PIPE, text=True, env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else ""
        yield process, line
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _post(base_url: str, request: Request) -> requests.Response:
    return requests.post(base_url + urlsplit(request.uri).path, data=request.body, timeout=10,
                         headers=dict(request.headers.items()))


def test_json_announcement_answers_and_ctrl_c(recorded: Path) -> None:
    with serving("serve", str(recorded), "--port", "0", "--json") as (process, line):
        info = json.loads(line)
        base = info["base_url"]
        assert base.startswith("http://127.0.0.1:") and not base.endswith(":0")
        assert info["interactions"] == 7 and info["cassettes"] == [str(recorded)]
        assert info["paths"]["/pix"] == {"url": f"{base}/pix", "interactions": 2,
                                         "transactions": ["ITI-44", "ITI-45"]}
        assert info["paths"]["/xds/registry"]["interactions"] == 2
        interaction = load_cassette(recorded).interactions[0]
        fresh = regenerate_request(interaction.request, IdMap()).request
        answer = _post(base, fresh)
        assert answer.status_code == 200
        served = parse_envelope(answer.content, answer.headers["Content-Type"])
        assert served.relates_to == parse_envelope(fresh.body).message_id
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=10) == 0
        assert process.stderr is not None
        assert "Traceback" not in process.stderr.read()


def test_table_output_and_verbose_mismatch_log(recorded: Path) -> None:
    with serving("--no-color", "-v", "serve", str(recorded), "--port", "0") as (process, line):
        assert line.startswith("ihe serve listening on http://127.0.0.1:")
        assert "7 interaction(s) from 1 cassette(s)" in line
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert found is not None
        base_url = found.group(0)
        assert process.stdout is not None
        table = [process.stdout.readline() for _ in range(5)]
        assert any(row.split()[:3] == [f"{base_url}/pix", "2", "ITI-44"] for row in table)
        assert table[-1].startswith("Press Ctrl-C")
        query = load_cassette(recorded).interactions[4].request
        fresh = regenerate_request(query, IdMap()).request
        wrong = fresh.evolve(body=fresh.body.replace(b"IHEDEMO-0001", b"IHEDEMO-0002"))
        assert _post(base_url, wrong).status_code == 500
        assert _post(base_url, fresh).status_code == 200
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    assert process.returncode == 0
    assert "stopped" in out
    assert "no recorded interaction matches this ITI-18" in err
    assert "flow.yaml#4 (ITI-18 'find documents')" in err and "IHEDEMO-0002" in err
    assert "/xds/registry -> flow.yaml#4" in err  # -v also logs what each request matched
    assert "Traceback" not in err


def test_every_miss_is_one_console_line_without_verbose(recorded: Path) -> None:
    with serving("--no-color", "serve", str(recorded), "--port", "0") as (process, line):
        found = re.search(r"http://127\.0\.0\.1:\d+", line)
        assert found is not None
        assert process.stdout is not None
        table = [process.stdout.readline() for _ in range(5)]
        assert table[-1].startswith("Press Ctrl-C")
        query = load_cassette(recorded).interactions[4].request
        fresh = regenerate_request(query, IdMap()).request
        wrong = fresh.evolve(body=fresh.body.replace(b"IHEDEMO-0001", b"IHEDEMO-0002"))
        assert _post(found.group(0), wrong).status_code == 500
        assert _post(found.group(0), fresh).status_code == 200
        assert _post(found.group(0), wrong).status_code == 500
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=10)
    misses = [row for row in out.splitlines() if "no match" in row]
    assert len(misses) == 2, out
    for row in misses:
        assert "POST /xds/registry ITI-18" in row
        assert "closest flow.yaml#4 (ITI-18 'find documents')" in row
        assert "IHEDEMO-0002" in row
    assert "Traceback" not in err


def test_json_lines_name_each_miss(recorded: Path) -> None:
    with serving("serve", str(recorded), "--port", "0", "--json") as (process, line):
        base = json.loads(line)["base_url"]
        query = load_cassette(recorded).interactions[4].request
        fresh = regenerate_request(query, IdMap()).request
        wrong = fresh.evolve(body=fresh.body.replace(b"IHEDEMO-0001", b"IHEDEMO-0002"))
        assert _post(base, wrong).status_code == 500
        assert process.stdout is not None
        event = json.loads(process.stdout.readline())
    assert event["event"] == "no-match"
    assert (event["method"], event["path"], event["transaction"]) == (
        "POST", "/xds/registry", "ITI-18")
    assert event["closest"] == "flow.yaml#4 (ITI-18 'find documents')"
    assert "IHEDEMO-0002" in event["reason"]


def test_invalid_cassette_exits_2_naming_file_and_line(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("version: 1\ninteractions:\n- request:\n    method: [POST\n",
                      encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "ihe_test_util", "serve", str(broken), "--port", "0"],
        capture_output=True, text=True, timeout=30, env={**os.environ, "NO_COLOR": "1",
                                                          "COLUMNS": "200"})
    assert result.returncode == 2
    assert f"{broken}:" in result.stderr and "Traceback" not in result.stderr
    line = result.stderr.split(f"{broken}:", 1)[1].split(":", 1)[0]
    assert line.isdigit()
    missing = subprocess.run(
        [sys.executable, "-m", "ihe_test_util", "serve", str(tmp_path / "nope.yaml")],
        capture_output=True, text=True, timeout=30, env={**os.environ, "NO_COLOR": "1"})
    assert missing.returncode == 2 and "no such cassette" in missing.stderr
