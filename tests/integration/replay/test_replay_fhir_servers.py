"""IHE FHIR (PDQm, MHD, PIXm) sessions recorded through ``ihe record --proxy`` in front of a real
FHIR server and replayed with ``ihe replay`` against another fresh server of the same product
(issue 13): sekmet-fhir (PyPI) and @medplum/fhir-router (npm), each a separate process, plain
and behind a front end that gzips its answers.

Done when: exit 0, every exchange passes, and no request the second server received carries a
value the first server assigned (resource ids in paths, queries and JSON bodies).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from ihe_test_util.cassette import load_cassette
from ihe_test_util.cli.main import cli
from ihe_test_util.ihe.message import message_of

from ..fhir_servers import FhirServer, ServerPool
from ..fhir_session import (
    STEPS,
    UUID,
    SessionResult,
    front_end,
    provide_bundle,
    run_session,
)

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

Starter = Callable[[], AbstractContextManager[FhirServer]]
#: Two processes of each product (recording and replay never share one), emptied before every
#: use: a fresh server each time.
RECORDING, REPLAYING = ServerPool(), ServerPool()


def _servers(pool: ServerPool) -> dict[str, Starter]:
    return {"sekmet": lambda: pool.fresh("sekmet"), "medplum": lambda: pool.fresh("medplum"),
            # Medplum where a sekmet recording sends its requests (the recorded path is kept)
            "medplum-at-/fhir": lambda: pool.fresh("medplum", "/fhir")}


@pytest.fixture(scope="module", autouse=True)
def _server_processes() -> Iterator[None]:
    yield
    RECORDING.close()
    REPLAYING.close()


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str


def ihe(*args: str, cwd: Path) -> Run:
    """``ihe ARGS`` in-process (an interpreter start less per replay), in ``cwd``."""
    previous = Path.cwd()
    os.chdir(cwd)
    try:
        result = CliRunner().invoke(cli, ["--no-color", *args], env={"COLUMNS": "200"},
                                    catch_exceptions=False)
    finally:
        os.chdir(previous)
    return Run(result.exit_code, result.stdout, result.stderr)


@contextmanager
def recording_proxy(folder: Path, upstream: str) -> Iterator[str]:
    """``ihe record --proxy`` as a process in front of ``upstream``; yields its URL."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ihe_test_util", "--no-color", "record", "--proxy", "127.0.0.1:0",
         "--json", "--cassette", "cassettes/fhir.yaml", "--upstream", upstream],
        cwd=folder, text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        env={**os.environ, "COLUMNS": "200"})
    assert process.stdout is not None and process.stderr is not None
    try:
        info = json.loads(process.stdout.readline() or "{}")
        assert info.get("event") == "listening", process.stderr.read()
        lines: list[str] = []
        reader = threading.Thread(target=lambda: lines.extend(process.stdout or ()), daemon=True)
        reader.start()
        yield str(info["proxy"])
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, "".join(lines) + process.stderr.read()
        reader.join(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        for stream in (process.stdout, process.stderr):
            stream.close()


@dataclass(frozen=True)
class Recording:
    cassette: Path
    session: SessionResult
    server_ids: frozenset[str]  # every id the recorded server assigned
    base_path: str


def _origin(server: FhirServer) -> str:
    return server.base_url.split("/fhir")[0]


def _server_ids(cassette: Path) -> frozenset[str]:
    """UUIDs in the recorded responses (decoded) that the client did not make up."""
    client = set(UUID.findall(json.dumps(provide_bundle("x"))))
    found: set[str] = set()
    for interaction in load_cassette(cassette).interactions:
        response = interaction.response
        for name in ("Location", "Content-Location", "ETag"):
            found.update(UUID.findall(response.headers.get(name) or ""))
        found.update(UUID.findall(message_of(response).raw.decode("utf-8", "replace")))
    return frozenset(found - client)


def record(folder: Path, product: str, *, gzip_answers: bool) -> Recording:
    folder.mkdir(parents=True, exist_ok=True)
    with _servers(RECORDING)[product]() as server, front_end(
            _origin(server), gzip_answers=gzip_answers) as front:
        with recording_proxy(folder, front.url) as proxy:
            path = server.base_url.removeprefix(_origin(server))
            session = run_session(proxy + path)
        if gzip_answers:
            assert front.compressed == len(STEPS)
    cassette = folder / "cassettes" / "fhir.yaml"
    return Recording(cassette, session, _server_ids(cassette), path)


@dataclass(frozen=True)
class Replay:
    run: Run
    report: dict[str, Any]
    received: list[Any]


def replay(recording: Recording, product: str, folder: Path, *, gzip_answers: bool,
           corrupt_gzip: bool = False, env_headers: dict[str, str] | None = None) -> Replay:
    """``ihe replay`` of the recording against a fresh server behind a front end (with
    ``env_headers``: through ``--env`` whose ``[env.NAME].headers`` are these)."""
    folder.mkdir(parents=True, exist_ok=True)
    report = folder / "run.json"
    with _servers(REPLAYING)[product]() as server, front_end(
            _origin(server), gzip_answers=gzip_answers, corrupt_gzip=corrupt_gzip) as front:
        target = ["--target", front.url]
        if env_headers is not None:
            (folder / "ihe.toml").write_text(f'[env.candidate]\nurl = "{front.url}"\n'
                                            "[env.candidate.headers]\n" + "".join(
                                                f'"{k}" = "{v}"\n' for k, v in
                                                env_headers.items()))
            target = ["--env", "candidate"]
        run = ihe("replay", str(recording.cassette), *target, "--fail-on", "changed",
                  "--report-json", str(report), cwd=folder)
        received = list(front.received)
        if gzip_answers and not corrupt_gzip:
            assert front.compressed == sum(
                "gzip" in dict(r.headers).get("Accept-Encoding", "") for r in received)
    assert report.exists(), run.stdout + run.stderr
    return Replay(run, json.loads(report.read_text()), received)


def _outcomes(result: Replay) -> list[tuple[str | None, str]]:
    return [(item.get("transaction"), item["outcome"]) for item in result.report["exchanges"]]


#: (product, the recording's front end gzips, the replay's front end gzips)
CASES = [("sekmet", False, False), ("medplum", False, False), ("sekmet", True, True),
         ("medplum", True, True), ("medplum", True, False)]


def _case_id(product: str, recorded_gzip: bool, replayed_gzip: bool) -> str:
    if recorded_gzip == replayed_gzip:
        return product + ("-gzip" if recorded_gzip else "")
    names = {True: "gzip", False: "plain"}
    return f"{product}-{names[recorded_gzip]}-to-{names[replayed_gzip]}"


_RECORDINGS: dict[tuple[str, bool], Recording] = {}


def recording_of(product: str, zipped: bool, factory: pytest.TempPathFactory) -> Recording:
    """One recording per product and front end for the module (recording is the slow part)."""
    key = (product, zipped)
    if key not in _RECORDINGS:
        folder = factory.mktemp(f"record-{product}-{'gzip' if zipped else 'plain'}")
        _RECORDINGS[key] = record(folder, product, gzip_answers=zipped)
    return _RECORDINGS[key]


_REPLAYS: dict[tuple[str, bool, bool], Replay] = {}


def replay_of(product: str, recorded_gzip: bool, replayed_gzip: bool,
              factory: pytest.TempPathFactory) -> tuple[Recording, Replay]:
    recording = recording_of(product, recorded_gzip, factory)
    key = (product, recorded_gzip, replayed_gzip)
    if key not in _REPLAYS:
        folder = factory.mktemp(f"replay-{_case_id(*key)}")
        _REPLAYS[key] = replay(recording, product, folder, gzip_answers=replayed_gzip)
    return recording, _REPLAYS[key]


@pytest.fixture(scope="module", params=CASES, ids=[_case_id(*case) for case in CASES])
def replayed(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[Recording, Replay]:
    return replay_of(*request.param, tmp_path_factory)


def test_the_session_is_recorded_with_its_transactions(
        replayed: tuple[Recording, Replay]) -> None:
    recording, _ = replayed
    interactions = load_cassette(recording.cassette).interactions
    assert [i.meta.transaction for i in interactions] == [t for _, t in STEPS]
    assert recording.session.statuses[:10] == [201, 201, 200, 200, 200, 200, 200, 200, 200, 404]
    assert recording.session.statuses[11:] == [404, 200]


def test_no_replayed_request_carries_a_recorded_server_id(
        replayed: tuple[Recording, Replay]) -> None:
    recording, result = replayed
    assert len(result.received) == len(STEPS)
    assert recording.server_ids  # the first server did assign ids
    leaked = {(r.method, r.target): sorted(i for i in recording.server_ids if i in r.text())
              for r in result.received}
    assert {k: v for k, v in leaked.items() if v} == {}
    # ... and the ids the second server assigned reached the requests that need them
    targets = [r.target for r in result.received]
    assert recording.session.patient_a not in "".join(targets)
    read_a, binary = targets[3], targets[8]
    assert read_a.startswith(f"{recording.base_path}/Patient/") and UUID.search(read_a)
    assert binary.startswith(f"{recording.base_path}/Binary/") and UUID.search(binary)
    bundle = json.loads(result.received[4].body)
    new_patient = read_a.rsplit("/", 1)[1]
    assert {e["resource"]["subject"]["reference"] for e in bundle["entry"][:2]} == {
        f"Patient/{new_patient}"}
    assert f"patient=Patient%2F{new_patient}" in targets[5].replace("/", "%2F") \
        or f"patient=Patient/{new_patient}" in targets[5]


def test_the_replay_passes(replayed: tuple[Recording, Replay]) -> None:
    _, result = replayed
    items = result.report["exchanges"]
    assert [item.get("transaction") for item in items] == [t for _, t in STEPS]
    assert _outcomes(result) == [(t, "pass") for _, t in STEPS], result.run.stdout
    assert result.run.returncode == 0, result.run.stdout + result.run.stderr


def test_replay_never_asks_for_a_coding_it_cannot_read(replayed: tuple[Recording, Replay]) -> (
        None):
    recording, result = replayed
    recorded = [i.request.headers.get("Accept-Encoding")
                for i in load_cassette(recording.cassette).interactions]
    assert set(recorded) == {"gzip, deflate, zstd"}  # what the client sent
    assert {dict(r.headers).get("Accept-Encoding") for r in result.received} == {"gzip, deflate"}


# -- content codings: [env] headers, what the comparison reads, a broken coding --------------


def _differences(result: Replay) -> list[tuple[str, list[tuple[str, str]]]]:
    return [(item["outcome"], sorted((d.get("severity"), d.get("path"))
                                     for d in item["differences"]))
            for item in result.report["exchanges"]]


def test_env_headers_override_the_recorded_accept_encoding(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    recording, zipped = replay_of("medplum", True, True, tmp_path_factory)
    folder = tmp_path_factory.mktemp("env-identity")
    plain = replay(recording, "medplum", folder, gzip_answers=True,
                   env_headers={"Accept-Encoding": "identity"})
    assert {dict(r.headers).get("Accept-Encoding") for r in plain.received} == {"identity"}
    # the same verdicts and differences whether the answers came compressed or not
    assert _differences(plain) == _differences(zipped)
    assert [item["outcome"] for item in plain.report["exchanges"]].count("error") == 0


def test_a_body_not_in_its_declared_coding_is_an_error_naming_it(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    recording = recording_of("medplum", True, tmp_path_factory)
    result = replay(recording, "medplum", tmp_path_factory.mktemp("corrupt"), gzip_answers=True,
                    corrupt_gzip=True)
    items = result.report["exchanges"]
    errors = [item for item in items if item["outcome"] == "error"]
    # every exchange sent is an error; those needing a value from one are skipped
    assert len(errors) == len(result.received) and {item["outcome"] for item in items} <= {
        "error", "skipped"}
    assert all("not valid gzip" in item["error"]["message"] for item in errors), errors[0]
    assert result.run.returncode == 3, result.run.stdout


# -- another product: the real behavioural differences are regressions, nothing else ----------

CHAINED_SEARCH = 7  # DocumentReference?patient.identifier=...: sekmet finds 1, Medplum 0
INVALID_CREATE = 10  # birthDate "not-a-date": sekmet 400, Medplum accepts it (201)


def test_a_sekmet_recording_replayed_against_medplum(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    recording = recording_of("sekmet", False, tmp_path_factory)
    result = replay(recording, "medplum-at-/fhir", tmp_path_factory.mktemp("sekmet-to-medplum"),
                    gzip_answers=False)
    items = result.report["exchanges"]
    assert STEPS[CHAINED_SEARCH][1] == "ITI-67" and STEPS[INVALID_CREATE][1] is None
    # correlation works across products: Medplum's ids in every dependent request
    leaked = [r.target for r in result.received
              if any(i in r.text() for i in recording.server_ids)]
    assert leaked == []
    assert all(item["outcome"] != "skipped" for item in items)
    regressions = {item["index"] for item in items if item["outcome"] == "regression"}
    assert {CHAINED_SEARCH, INVALID_CREATE} <= regressions, result.run.stdout
    chained = {d["path"] for d in items[CHAINED_SEARCH]["differences"]
               if d["severity"] == "regression"}
    assert any("total" in path for path in chained), chained
    assert ("http:status", "400", "201") in {
        (d["path"], str(d["recorded"]), str(d["replayed"]))
        for d in items[INVALID_CREATE]["differences"] if d["severity"] == "regression"}
    # nothing else: severities have a direction, server ids are compared up to renaming
    assert regressions == {CHAINED_SEARCH, INVALID_CREATE}, result.run.stdout


# -- [[correlate]] rules through the CLI -------------------------------------------------------


def test_json_and_header_correlate_rules_replay_and_a_rule_that_cannot_apply_stops_the_run(
        tmp_path_factory: pytest.TempPathFactory) -> None:
    recording = recording_of("medplum", False, tmp_path_factory)
    folder = tmp_path_factory.mktemp("rules")
    config = folder / "ihe.toml"
    config.write_text(
        '[[correlate]]\nname = "created"\nheader = "Location"\npattern = "/Patient/([^/]+)"\n'
        '[[correlate]]\ntransaction = "ITI-65"\njson = "Bundle.entry.response.location"\n'
        'pattern = "^Binary/([^/]+)"\n')
    assert ihe("--config", str(config), "config", cwd=folder).returncode == 0
    result = replay(recording, "medplum", folder, gzip_answers=False)
    assert [r for r in result.received if any(i in r.text() for i in recording.server_ids)] == []
    assert all(item["outcome"] != "skipped" for item in result.report["exchanges"])

    config.write_text('[[correlate]]\ntransaction = "ITI-18"\njson = "entry.resource.id"\n')
    refused = ihe("--config", str(config), "config", cwd=folder)
    assert refused.returncode == 2 and "correlate[0].json" in refused.stdout + refused.stderr
    with front_end("http://127.0.0.1:9") as front:  # nothing may be sent
        run = ihe("--config", str(config), "replay", str(recording.cassette), "--target",
                  front.url, cwd=folder)
        assert front.received == []
    assert run.returncode == 2
    assert "ITI-18 responses are xds, never JSON" in run.stdout + run.stderr
