"""``ihe sim`` as users run it: a subprocess that prints its URLs, answers, stops on Ctrl-C,
and keeps its state in a file across restarts."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
import requests

from .sim_support import (
    PIX_ADD,
    PIX_QUERY,
    PNR,
    RETRIEVE,
    STORED_QUERY,
    Patient,
    feed_message,
    find_documents,
    pix_query,
    pnr_request,
    post,
    retrieve_request,
    unique_id_of,
)

PATIENT = Patient("1.2.260", "SR7")


@contextmanager
def running_sim(*args: str) -> Iterator[tuple[subprocess.Popen[str], dict[str, object]]]:
    process = subprocess.Popen(
        [sys.executable, "-m", "ihe_test_util", "sim", "--port", "0", "--json", *args],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "NO_COLOR": "1"},
    )
    try:
        assert process.stdout is not None
        line = process.stdout.readline()
        assert line, process.stderr.read() if process.stderr else ""
        yield process, json.loads(line)
    finally:
        if process.poll() is None:
            _interrupt(process)
        process.wait(timeout=10)
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()


def _interrupt(process: subprocess.Popen[str]) -> None:
    if sys.platform == "win32":  # pragma: no cover - no SIGINT to a child on Windows
        process.terminate()
    else:
        process.send_signal(signal.SIGINT)


def _urls(info: dict[str, object]) -> dict[str, str]:
    actors = info["actors"]
    assert isinstance(actors, dict)
    return {name: value["url"] for name, value in actors.items()}


def test_prints_urls_answers_and_stops_cleanly_on_ctrl_c() -> None:
    with running_sim("--profile", "compatible") as (process, info):
        urls = _urls(info)
        assert set(urls) == {"pix", "pdq", "registry", "repository", "xcpd",
                             "mhd-recipient", "mhd-responder", "pdqm", "pixm",
                             "pix-v2", "pdq-v2"}
        assert info["profile"] == "compatible"
        base = str(info["base_url"])
        assert base.startswith("http://127.0.0.1:")
        assert urls["registry"] == f"{base}/xds/registry"
        assert info["actors"]["repository"]["transactions"] == ["ITI-41", "ITI-43"]  # type: ignore[index]
        assert urls["pdqm"] == urls["mhd-recipient"] == f"{base}/fhir"
        assert info["actors"]["mhd-responder"]["transactions"] == [  # type: ignore[index]
            "ITI-66", "ITI-67", "ITI-68"]
        assert requests.get(f"{base}/fhir/metadata", timeout=10).json()["fhirVersion"] == "4.0.1"
        assert post(urls["pix"], PIX_ADD, feed_message(PATIENT)).ack_code == "AA"
        _interrupt(process)
        assert process.wait(timeout=10) == (0 if sys.platform != "win32" else process.returncode)
        assert process.stderr is not None
        assert "Traceback" not in process.stderr.read()


@pytest.mark.skipif(sys.platform == "win32", reason="SIGINT to a child process")
@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["ctrl-c", "sigterm"])
def test_table_output_lists_every_actor(signum: int) -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "ihe_test_util", "--no-color", "sim", "--port", "0"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "60"},
    )
    assert process.stdout is not None
    lines = [process.stdout.readline() for _ in range(11)]
    process.send_signal(signum)
    out, err = process.communicate(timeout=10)
    assert process.returncode == 0, err
    text = "".join(lines) + out
    for path, transactions in (("/pix", "ITI-44 ITI-45"), ("/pdq", "ITI-47"),
                               ("/xds/registry", "ITI-18 ITI-42"),
                               ("/xds/repository", "ITI-41 ITI-43"), ("/xcpd", "ITI-55")):
        line = next(x for x in text.splitlines() if f"{path} " in x or x.endswith(path))
        assert transactions in line  # one line per actor even in a narrow terminal
    for title, transactions in (("MHD Document Recipient", "ITI-65"),
                                ("MHD Document Responder", "ITI-66 ITI-67 ITI-68"),
                                ("PDQm", "ITI-78 ITI-119"), ("PIXm", "ITI-83 ITI-104")):
        line = next(x for x in text.splitlines() if x.strip().startswith(title))
        assert "/fhir " in line and transactions in line
    assert "stopped" in text


def test_state_file_survives_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "sim.sqlite"
    with running_sim("--state", str(state)) as (_, info):
        urls = _urls(info)
        assert post(urls["pix"], PIX_ADD, feed_message(PATIENT, ("1.2.3", "L1"))).ack_code == "AA"
        request, attachments = pnr_request(PATIENT, content=b"kept across restarts")
        assert post(urls["repository"], PNR, request, attachments=attachments).status.endswith(
            ":Success")
        uid = unique_id_of(request)
    assert state.is_file()
    with running_sim("--state", str(state)) as (_, info):
        urls = _urls(info)
        pix = post(urls["pix"], PIX_QUERY, pix_query((PATIENT.root, PATIENT.extension)))
        assert pix.query_code == "OK"
        found = post(urls["registry"], STORED_QUERY, find_documents(PATIENT))
        assert len(found.registry_objects) == 1
        repository_id = next(
            s.findtext("{*}ValueList/{*}Value") for s in found.registry_objects[0].findall(
                "{*}Slot") if s.get("name") == "repositoryUniqueId")
        retrieved = post(urls["repository"], RETRIEVE, retrieve_request(repository_id or "", uid))
        assert retrieved.documents == {uid: b"kept across restarts"}
        again = post(urls["repository"], PNR, request, attachments=attachments)
        assert "XDSDuplicateUniqueIdInRegistry" in again.error_codes


def _run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "ihe_test_util", "--no-color", "sim", *args],
                          capture_output=True, text=True, timeout=20)


def test_bad_state_file_and_busy_port_exit_2(tmp_path: Path) -> None:
    garbage = tmp_path / "not-a-db.sqlite"
    garbage.write_bytes(b"this is not sqlite" * 100)
    result = _run("--port", "0", "--state", str(garbage))
    assert result.returncode == 2
    assert "not a simulator state file" in " ".join(result.stderr.split())
    assert "Traceback" not in result.stderr
    with socket.socket() as busy:
        busy.bind(("127.0.0.1", 0))
        busy.listen()
        result = _run("--port", str(busy.getsockname()[1]))
    assert result.returncode == 2
    assert "cannot listen on" in " ".join(result.stderr.split())


def test_help_and_unknown_profile() -> None:
    help_text = _run("--help").stdout
    assert "Examples" in help_text and "ihe sim --port 0" in help_text
    result = _run("--profile", "nonsense")
    assert result.returncode == 2
    assert "baseline" in result.stderr


def test_cli_profile_choices_match_the_engine() -> None:
    from ihe_test_util.cli.commands import sim as sim_command
    from ihe_test_util.sim import PROFILES

    assert sim_command._PROFILES == PROFILES
