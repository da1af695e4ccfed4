"""An IHE FHIR client session (PDQm, MHD, PIXm) for the record -> replay tests, and a front end
that sits before a FHIR server: it keeps every request the server received and can gzip the
answers (as the web servers in front of production FHIR servers do)."""

from __future__ import annotations

import gzip
import http.client
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

import requests

FHIR_JSON = "application/fhir+json"
ID_SYSTEM = "urn:oid:1.3.6.1.4.1.21367.13.20.1000"
CLIENT_ACCEPT_ENCODING = "gzip, deflate, zstd"
UUID = re.compile(r"[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}")

#: The session's exchanges, in order: (name, transaction the catalogue gives it).
STEPS = (
    ("create patient A", None),
    ("create patient B", None),
    ("search patients by family", "ITI-78"),
    ("read patient A", "ITI-78"),
    ("provide document bundle", "ITI-65"),
    ("find document references", "ITI-67"),
    ("find document lists", "ITI-66"),
    ("find document references by patient identifier (chained)", "ITI-67"),
    ("retrieve document", "ITI-68"),
    ("PIXm query", "ITI-83"),
    ("invalid patient create", None),
    ("read a patient that does not exist", "ITI-78"),
    ("empty search", "ITI-78"),
)


def _patient(identifier: str, given: str, gender: str) -> dict[str, Any]:
    return {"resourceType": "Patient", "active": True,
            "identifier": [{"system": ID_SYSTEM, "value": identifier}],
            "name": [{"family": "Fhirsession", "given": [given]}], "gender": gender,
            "birthDate": "1970-04-01"}


def provide_bundle(patient_id: str) -> dict[str, Any]:
    subject = {"reference": f"Patient/{patient_id}"}
    document = "urn:uuid:2b8f3b0e-6a40-4a8e-9d1d-6f1b8a2c9e01"
    binary = "urn:uuid:7c1d2e3f-4a5b-4c6d-8e7f-901a2b3c4d5e"
    return {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": "urn:uuid:0f6b1c2d-3e4f-4a5b-9c6d-7e8f9a0b1c2d",
         "resource": {"resourceType": "List", "status": "current", "mode": "working",
                      "code": {"coding": [{
                          "system": "https://profiles.ihe.net/ITI/MHD/CodeSystem/MHDlistTypes",
                          "code": "submissionset"}]},
                      "subject": subject, "entry": [{"item": {"reference": document}}]},
         "request": {"method": "POST", "url": "List"}},
        {"fullUrl": document,
         "resource": {"resourceType": "DocumentReference", "status": "current",
                      "masterIdentifier": {"system": "urn:ietf:rfc:3986",
                                           "value": "urn:oid:1.2.3.4.5.6.7.8.9.1"},
                      "subject": subject,
                      "content": [{"attachment": {"contentType": "text/plain", "url": binary}}]},
         "request": {"method": "POST", "url": "DocumentReference"}},
        {"fullUrl": binary,
         "resource": {"resourceType": "Binary", "contentType": "text/plain",
                      "data": "SGVsbG8gTUhEIQ=="},
         "request": {"method": "POST", "url": "Binary"}},
    ]}


def _id_of(location: str) -> str:
    """The id in ``[base/]Type/id[/_history/v]``."""
    parts = [part for part in urlsplit(location).path.split("/") if part]
    if "_history" in parts:
        parts = parts[:parts.index("_history")]
    return parts[-1]


@dataclass
class SessionResult:
    statuses: list[int] = field(default_factory=list)
    patient_a: str = ""
    binary: str = ""


def run_session(base: str) -> SessionResult:
    """The PDQm / MHD / PIXm session against the FHIR base URL ``base``."""
    session = requests.Session()
    session.headers["Accept"] = FHIR_JSON
    # zstd: a coding the harness cannot decode, which replay must not ask for again
    session.headers["Accept-Encoding"] = CLIENT_ACCEPT_ENCODING
    result = SessionResult()

    def send(method: str, url: str, body: object | None = None,
             params: dict[str, str] | None = None) -> requests.Response:
        data = json.dumps(body).encode() if body is not None else None
        headers = {"Content-Type": FHIR_JSON} if data is not None else {}
        answer = session.request(method, url, data=data, params=params, headers=headers,
                                 timeout=60)
        result.statuses.append(answer.status_code)
        return answer

    created = send("POST", f"{base}/Patient", _patient("FS-A-000001", "Alice", "female"))
    assert created.status_code == 201, created.text
    result.patient_a = str(created.json()["id"])
    send("POST", f"{base}/Patient", _patient("FS-B-000002", "Bob", "male"))
    send("GET", f"{base}/Patient", params={"family": "Fhirsession"})
    send("GET", f"{base}/Patient/{result.patient_a}")
    provided = send("POST", base, provide_bundle(result.patient_a))
    assert provided.status_code == 200, provided.text
    result.binary = _id_of(provided.json()["entry"][2]["response"]["location"])
    patient = f"Patient/{result.patient_a}"
    send("GET", f"{base}/DocumentReference", params={"patient": patient})
    send("GET", f"{base}/List", params={"patient": patient, "code": "submissionset"})
    send("GET", f"{base}/DocumentReference",
         params={"patient.identifier": f"{ID_SYSTEM}|FS-A-000001"})
    send("GET", f"{base}/Binary/{result.binary}")
    send("GET", f"{base}/Patient/$ihe-pix",
         params={"sourceIdentifier": f"{ID_SYSTEM}|FS-A-000001"})
    send("POST", f"{base}/Patient", {"resourceType": "Patient", "birthDate": "not-a-date"})
    send("GET", f"{base}/Patient/no-such-patient-0001")
    send("GET", f"{base}/Patient", params={"family": "Nobody-Has-This-Name"})
    return result


# -- the front end ----------------------------------------------------------------------------

_NOT_FORWARDED = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding",
                  "keep-alive"}


@dataclass(frozen=True)
class Received:
    method: str
    target: str  # path and query, as sent
    headers: tuple[tuple[str, str], ...]
    body: bytes

    def text(self) -> str:
        return "\n".join((self.target, *(f"{k}: {v}" for k, v in self.headers),
                          self.body.decode("utf-8", "replace")))


class FrontEnd(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, upstream: str, *, gzip_answers: bool, corrupt_gzip: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        split = urlsplit(upstream)
        self.upstream_host = split.hostname or "127.0.0.1"
        self.upstream_port = split.port or 80
        self.gzip_answers = gzip_answers
        self.corrupt_gzip = corrupt_gzip  # says gzip, sends the plain bytes: a broken server
        self.received: list[Received] = []
        self.compressed = 0
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FrontEnd
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _forward(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        with self.server.lock:
            self.server.received.append(Received(self.command, self.path,
                                                 tuple(self.headers.items()), body))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _NOT_FORWARDED}
        connection = http.client.HTTPConnection(self.server.upstream_host,
                                                self.server.upstream_port, timeout=60)
        try:
            connection.request(self.command, self.path, body=body or None, headers=headers)
            answer = connection.getresponse()
            content = answer.read()
            answer_headers = answer.getheaders()
            status = answer.status
        finally:
            connection.close()
        zipped = self.server.gzip_answers and "gzip" in (
            self.headers.get("Accept-Encoding") or "").lower()
        if zipped and not self.server.corrupt_gzip:
            content = gzip.compress(content)
            with self.server.lock:
                self.server.compressed += 1
        zipped = zipped or self.server.corrupt_gzip
        self.send_response(status)
        for name, value in answer_headers:
            if name.lower() not in _NOT_FORWARDED | {"date", "server", "content-encoding"}:
                self.send_header(name, value)
        if zipped:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)

    do_GET = do_POST = do_PUT = do_DELETE = _forward


@contextmanager
def front_end(upstream: str, *, gzip_answers: bool = False,
              corrupt_gzip: bool = False) -> Iterator[FrontEnd]:
    """A front end on 127.0.0.1 before the server at ``upstream`` (scheme, host, port)."""
    server = FrontEnd(upstream, gzip_answers=gzip_answers, corrupt_gzip=corrupt_gzip)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()
