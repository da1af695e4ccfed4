"""Transport, builders and replay regeneration, each against a baseline from the same run.

* ``HttpTransport.send`` vs a bare ``requests.Session.post`` to the same local server (5 KB
  SOAP body): what exact-bytes reading, header handling and error mapping cost.
* ``regenerate_request`` on a 5 KB ITI-41 MTOM request vs parsing and re-serialising the same
  envelope (the unavoidable part); replay's target is < 2 ms harness time per exchange.
* Building an ITI-41 request (metadata, MTOM) vs the same parse + serialise baseline.
* Issuing a signed SAML assertion vs one bare RSA-SHA256 signature of the same size of data.
"""

from __future__ import annotations

import datetime as dt
import statistics
import threading
import time
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from lxml import etree

from ihe_test_util.ihe.builders import (
    DocumentEntrySpec,
    PatientDemographics,
    PatientId,
    PersonName,
    iti41_provide_and_register,
    iti47_query,
)
from ihe_test_util.ihe.idmap import IdMap
from ihe_test_util.ihe.regenerate import regenerate_request
from ihe_test_util.model import Headers, Request
from ihe_test_util.safexml import parse_xml
from ihe_test_util.transport.http import HttpTransport, TransportOptions
from ihe_test_util.transport.mtom import parse_multipart
from ihe_test_util.transport.wssecurity import SamlIssuer

REPLY = b"<Envelope>" + b"x" * 5000 + b"</Envelope>"


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # headers and body leave in two writes: without TCP_NODELAY, Nagle + delayed ACK add
    # ~40 ms to every exchange (any http.server-based endpoint, e.g. a simulator, needs this)
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", "application/soap+xml")
        self.send_header("Content-Length", str(len(REPLY)))
        self.end_headers()
        self.wfile.write(REPLY)


def _per_call(function: Callable[[], object], runs: int, repeats: int = 5) -> float:
    """Median over ``repeats`` of the mean seconds per call over ``runs`` calls."""
    samples = []
    for _ in range(repeats):
        started = time.perf_counter()
        for _ in range(runs):
            function()
        samples.append((time.perf_counter() - started) / runs)
    return statistics.median(samples)


def _line(label: str, seconds: float, baseline: float | None = None) -> None:
    ratio = "(baseline)" if baseline is None else f"ratio {seconds / baseline:5.2f}x"
    print(f"{label:<44}: {seconds * 1e6:9.1f} µs  {ratio}")


def _transport() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}/soap"
    body = b"<Envelope>" + b"y" * 5000 + b"</Envelope>"
    headers = {"Content-Type": "application/soap+xml"}
    try:
        with requests.Session() as session:
            bare = _per_call(lambda: session.post(url, data=body, headers=headers).content, 200)
        request = Request("POST", url, Headers(headers), body)
        with HttpTransport(TransportOptions(timeout=10)) as transport:
            ours = _per_call(lambda: transport.send(request), 200)
    finally:
        server.shutdown()
        server.server_close()
    _line("requests.Session.post, 5 KB, local server", bare)
    _line("HttpTransport.send, 5 KB, local server", ours, bare)


def _regeneration_and_builders() -> None:
    patient = PatientDemographics(ids=(PatientId("P-1", "1.2.3.4"),), name=PersonName("Doe"))
    document = DocumentEntrySpec(content=b"<doc>" + b"z" * 2000 + b"</doc>")

    def build() -> Request:
        return iti41_provide_and_register(patient, [document]).to_request("http://h/rep")

    recorded = build()
    root_xml = parse_multipart(recorded.body, recorded.content_type or "").root.content
    print(f"(ITI-41 MTOM request: {len(recorded.body):,} bytes)")

    def baseline() -> bytes:
        parts = parse_multipart(recorded.body, recorded.content_type or "")
        return etree.tostring(parse_xml(parts.root.content))

    id_map = IdMap()
    base = _per_call(baseline, 300)
    _line("parse MIME + XML and re-serialise", base)
    _line("regenerate_request (ITI-41, MTOM)", _per_call(
        lambda: regenerate_request(recorded, id_map), 300), base)
    _line("build ITI-41 + to_request (MTOM)", _per_call(build, 300), base)
    assert len(root_xml) > 0
    query = iti47_query(patient).to_request("http://h/pdq")
    print(f"(ITI-47 SOAP request: {len(query.body):,} bytes)")
    base = _per_call(lambda: etree.tostring(parse_xml(query.body)), 300)
    _line("parse XML and re-serialise", base)
    _line("regenerate_request (ITI-47)", _per_call(
        lambda: regenerate_request(query, id_map), 300), base)


def _saml() -> None:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "bench")])
    now = dt.datetime.now(dt.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name)
            .public_key(key.public_key()).serial_number(1)
            .not_valid_before(now - dt.timedelta(days=1))
            .not_valid_after(now + dt.timedelta(days=1)).sign(key, hashes.SHA256()))
    issuer = SamlIssuer(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                          serialization.NoEncryption()),
        cert.public_bytes(serialization.Encoding.PEM), issuer="https://sts", subject="user")
    data = b"a" * 2048
    base = _per_call(lambda: key.sign(data, padding.PKCS1v15(), hashes.SHA256()), 50)
    _line("RSA-2048 SHA-256 signature (cryptography)", base)
    _line("SamlIssuer.issue (build, C14N, sign)", _per_call(issuer.issue, 50), base)


def main() -> None:
    _transport()
    _regeneration_and_builders()
    _saml()


if __name__ == "__main__":
    main()
