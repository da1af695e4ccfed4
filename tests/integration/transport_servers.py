"""Real local HTTP(S) servers on 127.0.0.1 and a throwaway PKI for the transport tests."""

from __future__ import annotations

import datetime as dt
import gzip
import ipaddress
import json
import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

# -- PKI ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Pki:
    ca: Path
    other_ca: Path
    server_cert: Path
    server_key: Path
    client_cert: Path
    client_key: Path
    stranger_cert: Path  # client cert signed by a CA the server does not trust
    stranger_key: Path


def _name(common_name: str) -> x509.Name:
    return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def _write_key(key: ec.EllipticCurvePrivateKey, path: Path) -> None:
    path.write_bytes(key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ))


def _issue(
    subject: str, issuer_cert: x509.Certificate | None, issuer_key: ec.EllipticCurvePrivateKey
    | None, *, ca: bool, server: bool = False,
) -> tuple[x509.Certificate, ec.EllipticCurvePrivateKey]:
    key = ec.generate_private_key(ec.SECP256R1())
    now = dt.datetime.now(dt.timezone.utc)
    builder = (
        x509.CertificateBuilder()
        .subject_name(_name(subject))
        .issuer_name(issuer_cert.subject if issuer_cert else _name(subject))
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.BasicConstraints(ca=ca, path_length=None), critical=True)
    )
    if ca:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False,
                          key_encipherment=False, data_encipherment=False, key_agreement=False,
                          key_cert_sign=True, crl_sign=True, encipher_only=False,
                          decipher_only=False), critical=True)
        builder = builder.add_extension(
            x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
    else:
        assert issuer_cert is not None
        builder = builder.add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(
                issuer_cert.public_key()),  # type: ignore[arg-type]
            critical=False)
        usage = ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH
        builder = builder.add_extension(x509.ExtendedKeyUsage([usage]), critical=False)
        if server:
            builder = builder.add_extension(x509.SubjectAlternativeName([
                x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1")),
            ]), critical=False)
    cert = builder.sign(issuer_key or key, hashes.SHA256())
    return cert, key


def make_pki(directory: Path) -> Pki:
    def save(name: str, cert: x509.Certificate, key: ec.EllipticCurvePrivateKey) -> tuple[
        Path, Path
    ]:
        cert_path, key_path = directory / f"{name}.pem", directory / f"{name}.key"
        cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
        _write_key(key, key_path)
        return cert_path, key_path

    ca_cert, ca_key = _issue("Test CA", None, None, ca=True)
    other_cert, other_key = _issue("Other CA", None, None, ca=True)
    server_cert, server_key = _issue("localhost", ca_cert, ca_key, ca=False, server=True)
    client_cert, client_key = _issue("IHE client", ca_cert, ca_key, ca=False)
    stranger_cert, stranger_key = _issue("Stranger", other_cert, other_key, ca=False)
    ca_path, _ = save("ca", ca_cert, ca_key)
    other_path, _ = save("other-ca", other_cert, other_key)
    return Pki(
        ca_path, other_path, *save("server", server_cert, server_key),
        *save("client", client_cert, client_key), *save("stranger", stranger_cert, stranger_key),
    )


# -- servers --------------------------------------------------------------------------------

Route = Callable[[bytes, dict[str, str]], tuple[int, list[tuple[str, str]], bytes]]


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True  # else Nagle + delayed ACK add ~40 ms per exchange
    server: _Server

    def log_message(self, format: str, *args: Any) -> None:
        return

    def do_POST(self) -> None:
        self._dispatch()

    def do_GET(self) -> None:
        self._dispatch()

    def _dispatch(self) -> None:
        url = urlsplit(self.path)
        query = {k: v[0] for k, v in parse_qs(url.query).items()}
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        route = url.path.strip("/") or "echo"
        custom = self.server.routes.get(route)
        if custom is not None:
            status, headers, reply = custom(body, dict(self.headers.items()))
            self._reply(status, reply, headers)
        elif route == "sleep":
            self.server.stop.wait(float(query.get("s", "5")))
            self._reply(200, b"late")
        elif route == "trickle":
            self.send_response(200)
            self.send_header("Content-Length", "100")
            self.end_headers()
            for _ in range(100):
                if self.server.stop.wait(0.05):
                    return
                self.wfile.write(b"x")
                self.wfile.flush()
        elif route == "chunked":
            self.send_response(200)
            self.send_header("Transfer-Encoding", "chunked")
            self.send_header("Content-Type", "application/octet-stream")
            self.end_headers()
            for piece in (body[:7], body[7:]):
                if piece:
                    self.wfile.write(f"{len(piece):x}\r\n".encode() + piece + b"\r\n")
            self.wfile.write(b"0\r\n\r\n")
        elif route == "gzip":
            self._reply(200, gzip.compress(body), [("Content-Encoding", "gzip")])
        elif route == "close":
            self.close_connection = True
            self.connection.shutdown(socket.SHUT_RDWR)
        elif route == "fault":
            self._reply(500, body, [("Content-Type", "application/soap+xml")])
        else:
            seen = {"method": self.command, "path": self.path,
                    "headers": [[k, v] for k, v in self.headers.items()]}
            self.server.seen.append(seen)
            self._reply(200, body, [
                ("Content-Type", self.headers.get("Content-Type") or "application/octet-stream"),
                ("X-Seen", json.dumps(seen)), ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
            ])

    def _reply(self, status: int, body: bytes, headers: list[tuple[str, str]] = ()) -> None:  # type: ignore[assignment]
        self.send_response(status)
        for name, value in headers:
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False

    def __init__(self, context: ssl.SSLContext | None, routes: dict[str, Route]) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.context = context
        self.routes = routes
        self.stop = threading.Event()
        self.seen: list[dict[str, Any]] = []

    def finish_request(self, request: Any, client_address: Any) -> None:
        # TLS handshake in the per-connection thread, so a failing one cannot block the rest.
        if self.context is not None:
            try:
                request = self.context.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError):
                return
        super().finish_request(request, client_address)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # clients that go away mid-response are part of the tests


@contextmanager
def serve(context: ssl.SSLContext | None = None, routes: dict[str, Route] | None = None,
          ) -> Iterator[_Server]:
    """A threaded server on 127.0.0.1: built-in routes (echo, sleep, ...) plus ``routes``
    (path -> function of body and headers returning status, headers and body)."""
    server = _Server(context, routes or {})
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def base_url(server: _Server, scheme: str = "http", host: str = "127.0.0.1") -> str:
    return f"{scheme}://{host}:{server.server_address[1]}"


def tls_context(pki: Pki, *, require_client_cert: bool = False) -> ssl.SSLContext:
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(pki.server_cert, pki.server_key)
    if require_client_cert:
        context.verify_mode = ssl.CERT_REQUIRED
        context.load_verify_locations(pki.ca)
    return context


def free_port() -> int:
    """A port on 127.0.0.1 nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
    return port
