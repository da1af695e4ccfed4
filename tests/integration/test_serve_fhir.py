"""``ihe serve`` for FHIR clients (issue 13): a PDQm / MHD client session recorded through
``ihe record --proxy`` in front of a real FHIR server (sekmet-fhir 0.1.1 and @medplum/fhir-router
4.5.2, separate processes),
then served by ``ihe serve`` (a separate process) to the same client, which makes up fresh
``urn:uuid`` fullUrls and uniqueIds like a real MHD Document Source: the same answers modulo the
base URL; content negotiation part of matching; a no-match a 4xx OperationOutcome in the
client's format, shown as one console line."""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests
from lxml import etree

from ihe_test_util.cassette import load_cassette

from .fhir_servers import start_medplum, start_sekmet
from .record.conftest import finally_killed, ihe_process

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
PATIENT = {"resourceType": "Patient", "active": True,
           "identifier": [{"system": "urn:oid:1.3.6.1.4.1.21367.13.20.1000",
                           "value": "SERVE-0001"}],
           "name": [{"family": "Servetest", "given": ["Ann"]}], "gender": "female"}


@dataclass
class Session:
    """What one run of the client saw, and the values it made up."""

    base: str
    answers: list[tuple[str, int, str, bytes]] = field(default_factory=list)
    made_up: list[str] = field(default_factory=list)
    path: str = "/fhir"  # where the server's FHIR base is (sekmet /fhir, medplum /fhir/R4)

    def normalised(self) -> list[tuple[str, int, str, str]]:
        """The answers with this run's base URL and made-up values replaced by placeholders."""
        out = []
        for step, status, media, body in self.answers:
            text = body.decode("utf-8", "replace").replace(self.base, "BASE")
            for number, value in enumerate(self.made_up):
                text = text.replace(value, f"MADE-UP-{number}")
            out.append((step, status, media, text))
        return out


def mhd_bundle(patient: str, session: Session) -> dict[str, Any]:
    """ITI-65 as a real Document Source sends it: fresh entry fullUrls, SubmissionSet and
    DocumentEntry uniqueIds and entryUUIDs, submission time."""
    listed, document, binary = (f"urn:uuid:{uuid.uuid4()}" for _ in range(3))
    set_uid, doc_uid = (f"urn:oid:1.2.826.0.1.3680043.2.{uuid.uuid4().int % 10 ** 15}"
                        for _ in range(2))
    session.made_up += [listed, document, binary, set_uid, doc_uid]
    subject = {"reference": f"Patient/{patient}"}
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": listed, "request": {"method": "POST", "url": "List"}, "resource": {
            "resourceType": "List", "status": "current", "mode": "working", "subject": subject,
            "date": f"2026-12-02T11:{uuid.uuid4().int % 60:02d}:00Z",
            "identifier": [{"system": "urn:ietf:rfc:3986", "value": set_uid},
                           {"system": "urn:ietf:rfc:3986", "value": listed}],
            "entry": [{"item": {"reference": document}}]}},
        {"fullUrl": document, "request": {"method": "POST", "url": "DocumentReference"},
         "resource": {
             "resourceType": "DocumentReference", "status": "current", "subject": subject,
             "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": doc_uid},
             "identifier": [{"system": "urn:ietf:rfc:3986", "value": document}],
             "content": [{"attachment": {"contentType": "text/plain", "url": binary}}]}},
        {"fullUrl": binary, "request": {"method": "POST", "url": "Binary"},
         "resource": {"resourceType": "Binary", "contentType": "text/plain",
                      "data": "SGVsbG8gc2VydmUh"}},
    ]}


def run_client(base: str, *, xml_first: bool = False, server: str | None = None) -> Session:
    """A PDQm / MHD client: create and read a patient, search it in JSON and XML (by Accept
    and by _format), provide a document bundle, find it by patient and by its uniqueId,
    read a patient that does not exist. Ids come from the server's answers. ``server``: the
    base URL the server names itself by (behind the recording proxy: its own)."""
    session = Session(server or base)
    http = requests.Session()

    def send(step: str, method: str, url: str, *, body: object = None,
             accept: str = FHIR_JSON) -> requests.Response:
        headers = {"Accept": accept}
        if body is not None:
            headers["Content-Type"] = FHIR_JSON
        answer = http.request(method, url, headers=headers, timeout=60,
                              data=json.dumps(body).encode() if body is not None else None)
        media = answer.headers.get("Content-Type", "").split(";")[0]
        session.answers.append((step, answer.status_code, media, answer.content))
        return answer

    created = send("create", "POST", f"{base}/Patient", body=PATIENT)
    assert created.status_code == 201, created.text
    patient = created.json()["id"]
    assert created.headers["Location"].startswith(session.base + "/Patient/")
    send("read", "GET", f"{base}/Patient/{patient}")
    searches = [("search json", FHIR_JSON, ""), ("search xml", FHIR_XML, ""),
                ("search _format", FHIR_JSON, "&_format=xml")]
    for step, accept, extra in (reversed(searches) if xml_first else searches):
        send(step, "GET", f"{base}/Patient?family=Servetest{extra}", accept=accept)
    provided = send("ITI-65", "POST", base, body=mhd_bundle(patient, session))
    assert provided.status_code == 200, provided.text
    send("ITI-67 by patient", "GET", f"{base}/DocumentReference?patient=Patient/{patient}")
    send("ITI-67 by uniqueId", "GET",
         f"{base}/DocumentReference?identifier={session.made_up[-1]}")
    send("read missing", "GET", f"{base}/Patient/no-such-patient-0001")
    return session


@contextmanager
def proxy_before(upstream: str, folder: Path) -> Iterator[str]:
    """``ihe record --proxy`` in front of ``upstream``; the cassette is written on exit."""
    process = ihe_process("record", "--proxy", "127.0.0.1:0", "--json", "--upstream", upstream,
                          "--cassette", "fhir.yaml", cwd=folder)
    with finally_killed(process):
        assert process.stdout is not None and process.stderr is not None
        info = json.loads(process.stdout.readline() or "{}")
        assert info.get("event") == "listening", process.stderr.read()
        drained = threading.Thread(target=process.stdout.read, daemon=True)
        drained.start()
        yield str(info["proxy"]).rstrip("/")
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=60) == 0, process.stderr.read()


@contextmanager
def ihe_serve(cassette: Path) -> Iterator[tuple[str, list[str]]]:
    """``ihe serve CASSETTE --port 0``; yields its base URL and the console lines so far."""
    process = subprocess.Popen(
        [sys.executable, "-m", "ihe_test_util", "--no-color", "serve", str(cassette), "--port",
         "0"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "COLUMNS": "300", "NO_COLOR": "1"})
    with finally_killed(process):
        assert process.stdout is not None
        first = process.stdout.readline()
        found = re.search(r"listening on (\S+?):? ", first)
        assert found, first + (process.stderr.read() if process.stderr else "")
        lines: list[str] = []

        def read() -> None:
            assert process.stdout is not None
            lines.extend(process.stdout)

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        yield found.group(1), lines
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0
        reader.join(timeout=10)


@pytest.fixture(scope="module", params=["sekmet", "medplum"])
def recorded(request: pytest.FixtureRequest,
             tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Session]:
    folder = tmp_path_factory.mktemp(f"serve-fhir-{request.param}")
    start = start_sekmet if request.param == "sekmet" else start_medplum
    with start() as server:
        origin = server.base_url.split("/fhir", 1)[0]
        with proxy_before(origin, folder) as proxy:
            session = run_client(proxy + server.base_url.removeprefix(origin),
                                 server=server.base_url)
        session.path = server.base_url.removeprefix(origin)
    return folder / "fhir.yaml", session


def test_the_client_gets_the_recorded_answers_modulo_base_url(
        recorded: tuple[Path, Session]) -> None:
    cassette, live = recorded
    assert len(load_cassette(cassette).interactions) == len(live.answers) == 9
    statuses = [status for _, status, _, _ in live.answers]
    assert statuses == [201, 200, 200, 200, 200, 200, 200, 200, 404]
    with ihe_serve(cassette) as (base, lines):
        served = run_client(base + live.path)
    assert served.normalised() == live.normalised()
    # absolute URLs point to the stub (Location, fullUrl, Bundle.link), none to the recording
    for _, _, _, body in served.answers:
        assert live.base.encode() not in body
    if live.path == "/fhir":  # sekmet names itself absolutely (medplum's links are relative)
        assert live.base.encode() in live.answers[2][3]
        search = json.loads(served.answers[2][3])
        assert search["link"][0]["url"].startswith(base + live.path + "/Patient?")
        assert search["entry"][0]["fullUrl"].startswith(base + live.path + "/Patient/")
    # the MHD source's own fresh ids come back where the server echoed the recorded ones
    echoed = [n for n, value in enumerate(live.made_up) if value.encode() in live.answers[5][3]]
    assert echoed, live.answers[5][3]  # the servers return the submitted identifiers
    bundle = served.answers[5][3].decode()
    for number in echoed:
        assert served.made_up[number] in bundle and live.made_up[number] not in bundle
    assert not [line for line in lines if "no match" in line]


def test_content_negotiation_is_part_of_matching(recorded: tuple[Path, Session]) -> None:
    """Asked in another order than recorded, each search gets the answer in its own format
    (not the recorded order of answers)."""
    cassette, live = recorded
    with ihe_serve(cassette) as (base, _):
        served = run_client(base + live.path, xml_first=True)
    media = {step: (status, kind) for step, status, kind, _ in served.answers}
    assert media == {step: (status, kind) for step, status, kind, _ in live.answers}
    if live.path == "/fhir":  # sekmet speaks both (medplum answers JSON whatever is asked)
        assert media["search json"] == (200, FHIR_JSON)
        assert media["search xml"] == media["search _format"] == (200, FHIR_XML)
    assert sorted(served.normalised()) == sorted(live.normalised())


def test_a_no_match_is_a_4xx_operation_outcome_in_the_clients_format_and_one_line(
        recorded: tuple[Path, Session]) -> None:
    cassette, live = recorded
    fhir = live.path
    with ihe_serve(cassette) as (base, lines):
        unknown = requests.get(f"{base}{fhir}/Patient?family=Nobody", timeout=10,
                               headers={"Accept": FHIR_JSON})
        assert unknown.status_code == 404
        assert unknown.headers["Content-Type"].startswith(FHIR_JSON)
        [issue] = unknown.json()["issue"]
        assert (issue["severity"], issue["code"]) == ("error", "not-found")
        assert "Closest: fhir.yaml#" in issue["diagnostics"]
        as_xml = requests.get(f"{base}{fhir}/Patient?family=Nobody", timeout=10,
                              headers={"Accept": FHIR_XML})
        assert as_xml.status_code == 404
        assert as_xml.headers["Content-Type"].startswith(FHIR_XML)
        outcome = etree.fromstring(as_xml.content)
        assert outcome.tag == "{http://hl7.org/fhir}OperationOutcome"
        changed = dict(PATIENT, gender="male")
        create = requests.post(f"{base}{fhir}/Patient", timeout=10, json=changed,
                               headers={"Accept": FHIR_JSON, "Content-Type": FHIR_JSON})
        assert create.status_code == 422
        assert "Patient.gender: recorded 'female', received 'male'" in \
            create.json()["issue"][0]["diagnostics"]
        other_format = requests.get(f"{base}{fhir}/Patient?family=Servetest", timeout=10,
                                    headers={"Accept": "application/x-turtle"})
        assert other_format.status_code == 406
    misses = [line for line in lines if "no match" in line]
    assert len(misses) == 4, lines
    assert f"GET {fhir}/Patient?family=Nobody" in misses[0] and "closest fhir.yaml#" in misses[0]
