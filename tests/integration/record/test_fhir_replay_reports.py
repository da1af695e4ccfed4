"""A PDQm client session recorded through ``ihe record --proxy`` in front of a real sekmet-fhir,
replayed against fresh sekmet-fhir servers (issue 13):

* against a fresh server: every exchange passes (server-assigned ids, ``Location``,
  ``fullUrl``s, ``Bundle.id`` / ``meta`` / ``link`` are renamed or noise);
* behind a front proxy that reverses a ``_sort``, changes a gender and drops the last entry of
  a searchset (its ``total`` kept): exactly those three exchanges are not ``pass``, with the
  right class, and every report format (terminal, JSON,
  Markdown, HTML, JUnit) shows the values as JSON with FHIR-style paths, each once;
* one numbering everywhere: the proxy's ``index``, the run report's ``cassette#index``, JUnit and
  ``ihe approve --only`` agree.
"""

from __future__ import annotations

import json
import signal
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import requests

from ihe_test_util.cassette import load_cassette

from ..fhir_servers import FhirServer, start_sekmet
from .conftest import ihe
from .test_proxy_cli import running_proxy

pytestmark = [pytest.mark.slow,
              pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")]

FHIR = "application/fhir+json"
HEADERS = {"Content-Type": FHIR, "Accept": FHIR}
PEOPLE = (("Adams", "male"), ("Baker", "female"), ("Clark", "male"))
SORTED = "Patient?_sort=family"
BY_ID = "Patient?identifier=urn:oid:1.2.3|Baker"
MEN = "Patient?gender=male"


def client_session(base: str) -> None:
    """What the PDQm client does: three creates, a sorted search, an identifier search, a
    search by gender."""
    with requests.Session() as session:
        for family, gender in PEOPLE:
            created = session.post(f"{base}/Patient", headers=HEADERS, data=json.dumps({
                "resourceType": "Patient", "gender": gender, "name": [{"family": family}],
                "identifier": [{"system": "urn:oid:1.2.3", "value": family}]}))
            assert created.status_code == 201, created.text
        for query in (SORTED, BY_ID, MEN):
            assert session.get(f"{base}/{query}", headers=HEADERS).status_code == 200


class _Front(BaseHTTPRequestHandler):
    """A front end that breaks the upstream's answers: the ``_sort`` search comes back in
    reverse order, Baker's gender as "other", the search by gender without its last entry
    (``total`` left as it was)."""

    protocol_version = "HTTP/1.1"
    upstream = ""

    def _forward(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else None
        headers = {k: v for k, v in self.headers.items()
                   if k.lower() not in ("host", "content-length", "accept-encoding")}
        answer = requests.request(self.command, self.upstream + self.path, data=body,
                                  headers=headers, timeout=30)
        content = answer.content
        if self.command == "GET" and "_sort=" in self.path:
            bundle = answer.json()
            bundle["entry"].reverse()
            content = json.dumps(bundle).encode()
        elif self.command == "GET" and "identifier=" in self.path:
            content = content.replace(b'"gender":"female"', b'"gender":"other"')
        elif self.command == "GET" and "gender=" in self.path:
            bundle = answer.json()
            bundle["entry"].pop()
            content = json.dumps(bundle).encode()
        self.send_response(answer.status_code)
        for name, value in answer.headers.items():
            if name.lower() not in ("content-length", "transfer-encoding", "content-encoding",
                                    "connection", "date", "server"):
                self.send_header(name, value)
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = _forward

    def log_message(self, *args: object) -> None:
        pass


@contextmanager
def front_of(server: FhirServer) -> Iterator[str]:
    """The front end on 127.0.0.1 before ``server``; yields its origin."""
    origin = server.base_url.rsplit("/fhir", 1)[0]
    handler = type("Front", (_Front,), {"upstream": origin})
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[dict[str, object]]]:
    """The session recorded through the proxy in front of a fresh sekmet-fhir."""
    folder = tmp_path_factory.mktemp("fhir-session")
    with start_sekmet() as sekmet, running_proxy(folder, sekmet.base_url.rsplit("/fhir", 1)[0]) \
            as proxy:
        client_session(f"{proxy.url}/fhir")
        code, events = proxy.stop(signal.SIGINT)
    assert code == 0, events
    return folder, events


def origin(server: FhirServer) -> str:
    return server.base_url.rsplit("/fhir", 1)[0]


def test_the_proxy_numbers_exchanges_like_the_run_report(
        recorded: tuple[Path, list[dict[str, object]]]) -> None:
    folder, events = recorded
    exchanges = [e for e in events if e.get("event") == "exchange"]
    assert [e["index"] for e in exchanges] == [0, 1, 2, 3, 4, 5]
    cassette = load_cassette(folder / "cassettes" / "p.yaml")
    assert [i.request.method for i in cassette.interactions] == ["POST"] * 3 + ["GET"] * 3
    text = (folder / "cassettes" / "p.yaml").read_text(encoding="utf-8")
    assert text.count("response_view:") >= 5  # sekmet minifies: every JSON body gets a view
    assert '"family": "Baker"' in text


def test_replay_against_a_fresh_sekmet_passes(
        recorded: tuple[Path, list[dict[str, object]]], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, _ = recorded
    monkeypatch.chdir(folder)
    with start_sekmet() as fresh:
        run = ihe("replay", "cassettes/p.yaml", "--target", origin(fresh),
                  "--report-json", "fresh.json")
    report = json.loads((folder / "fresh.json").read_text(encoding="utf-8"))
    outcomes = {e["id"]: (e["outcome"], e["differences"]) for e in report["exchanges"]}
    assert run.exit_code == 0, (run.stdout, outcomes)
    assert all(outcome == "pass" for outcome, _ in outcomes.values()), outcomes


def test_injected_regressions_in_every_report_format_with_one_numbering(
        recorded: tuple[Path, list[dict[str, object]]], monkeypatch: pytest.MonkeyPatch) -> None:
    folder, _ = recorded
    monkeypatch.chdir(folder)
    with start_sekmet() as fresh, front_of(fresh) as front:
        run = ihe("replay", "cassettes/p.yaml", "--target", front, "--report-json", "run.json",
                  "--junit", "junit.xml", "--markdown", "run.md", "--html", "run.html")
    assert run.exit_code == 1, run.stdout
    report = json.loads((folder / "run.json").read_text(encoding="utf-8"))
    by_id = {e["id"]: e for e in report["exchanges"]}
    assert {i: e["outcome"] for i, e in by_id.items()} == {
        "p.yaml#0": "pass", "p.yaml#1": "pass", "p.yaml#2": "pass",
        "p.yaml#3": "regression", "p.yaml#4": "changed", "p.yaml#5": "regression"}, by_id
    assert [e["index"] for e in report["exchanges"]] == [0, 1, 2, 3, 4, 5]
    lost = [d for d in by_id["p.yaml#5"]["differences"] if d["severity"] == "regression"]
    assert lost, by_id["p.yaml#5"]  # one match fewer, though total still says 2

    [gender] = by_id["p.yaml#4"]["differences"]
    assert gender["location"] == "Bundle.entry[0].resource.gender"
    assert gender["path"] == "/Bundle/entry/resource/Patient/gender/@value"  # a rule pattern
    assert (gender["recorded"], gender["replayed"]) == ('"female"', '"other"')
    moved = by_id["p.yaml#3"]["differences"]
    assert moved and all(d["kind"] == "moved" and d["severity"] == "regression"
                         and "_sort=family" in d["rule"] for d in moved), moved
    assert [(d["location"], d["replayed"]) for d in moved] == [
        ("Bundle.entry[0]", "Bundle.entry[2]"), ("Bundle.entry[2]", "Bundle.entry[0]")], moved

    terminal = run.stdout
    markdown = (folder / "run.md").read_text(encoding="utf-8")
    html = (folder / "run.html").read_text(encoding="utf-8")
    junit = (folder / "junit.xml").read_text(encoding="utf-8")
    for name, text in (("terminal", terminal), ("markdown", markdown), ("html", html),
                       ("junit", junit)):
        assert "Bundle.entry[0].resource.gender" in text, name
        assert "ns0:" not in text and "/@value" not in text, name
        assert "p.yaml#4" in text or "#4" in text, name
    assert '"female" -> "other"' in terminal and '"female" -> "other"' in markdown
    assert "&#34;female&#34; -&gt; &#34;other&#34;" in html or \
        "&quot;female&quot; -&gt; &quot;other&quot;" in html
    assert "&quot;female&quot; -&gt; &quot;other&quot;" in junit or \
        '"female" -&gt; "other"' in junit

    approved = ihe("approve", "run.json", "--only", "p.yaml#4")
    assert approved.exit_code == 0, approved.stdout + approved.stderr
    cassette = load_cassette(folder / "cassettes" / "p.yaml")
    assert b'"gender":"other"' in cassette.interactions[4].response.body
    assert b'"gender":"other"' not in cassette.interactions[3].response.body


def mhd_bundle(patient: str) -> dict[str, object]:
    """An ITI-65 Provide Document Bundle: List + DocumentReference + Binary (urn:uuid refs)."""
    def uid(n: int) -> str:
        return f"urn:uuid:00000000-0000-4000-8000-00000000000{n}"
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": uid(1), "request": {"method": "POST", "url": "List"}, "resource": {
            "resourceType": "List", "status": "current", "mode": "working",
            "identifier": [{"system": "urn:ietf:rfc:3986", "value": "urn:oid:1.2.3.99"}],
            "subject": {"reference": patient}, "entry": [{"item": {"reference": uid(2)}}]}},
        {"fullUrl": uid(2), "request": {"method": "POST", "url": "DocumentReference"},
         "resource": {"resourceType": "DocumentReference", "status": "current",
                      "masterIdentifier": {"value": "urn:oid:1.2.3.4"},
                      "subject": {"reference": patient},
                      "content": [{"attachment": {"contentType": "text/plain",
                                                  "url": uid(3)}}]}},
        {"fullUrl": uid(3), "request": {"method": "POST", "url": "Binary"},
         "resource": {"resourceType": "Binary", "contentType": "text/plain",
                      "data": "aGVsbG8="}}]}


def test_medplum_recording_replayed_against_a_fresh_medplum_passes(tmp_path: Path) -> None:
    """medplum answers a transaction with informational OperationOutcomes, "201" statuses,
    relative locations and rewritten Binary URLs: all of it the same up to server ids."""
    from ..fhir_servers import start_medplum

    with start_medplum() as medplum, running_proxy(tmp_path, origin(medplum)) as proxy:
        base = f"{proxy.url}/fhir/R4"
        with requests.Session() as session:
            created = session.post(f"{base}/Patient", headers=HEADERS, data=json.dumps({
                "resourceType": "Patient", "gender": "male", "name": [{"family": "Meyer"}],
                "identifier": [{"system": "urn:oid:1.2.3", "value": "M1"}]}))
            assert created.status_code == 201, created.text
            patient = f"Patient/{created.json()['id']}"
            answer = session.post(base, headers=HEADERS, data=json.dumps(mhd_bundle(patient)))
            assert answer.status_code == 200, answer.text
            assert session.get(f"{base}/Patient?family=Meyer&_sort=family",
                               headers=HEADERS).status_code == 200
        code, _ = proxy.stop(signal.SIGINT)
    assert code == 0
    with start_medplum() as fresh:
        run = ihe("replay", str(tmp_path / "cassettes" / "p.yaml"), "--target", origin(fresh),
                  "--report-json", str(tmp_path / "run.json"))
    report = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))
    outcomes = {e["id"]: (e["transaction"], e["outcome"], e["differences"])
                for e in report["exchanges"]}
    assert run.exit_code == 0, outcomes
    assert [transaction for transaction, _, _ in outcomes.values()][1] == "ITI-65"
