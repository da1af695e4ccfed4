"""Bursts of concurrent clients on 127.0.0.1, for the load test and the load benchmark."""

from __future__ import annotations

import socket
import struct
import threading
from dataclasses import dataclass, field

#: A SOAP 1.2 request every local server answers (with a response or a fault).
BODY = (b'<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" '
        b'xmlns:wsa="http://www.w3.org/2005/08/addressing"><soap:Header>'
        b'<wsa:Action>urn:hl7-org:v3:PRPA_IN201309UV02</wsa:Action>'
        b'<wsa:MessageID>urn:uuid:1</wsa:MessageID></soap:Header><soap:Body/></soap:Envelope>')


@dataclass
class Burst:
    answered: int = 0
    failed: list[str] = field(default_factory=list)


def _request(host: str, port: int, path: str) -> bytes:
    return (f"POST {path} HTTP/1.1\r\nHost: {host}:{port}\r\n"
            f"Content-Type: application/soap+xml; charset=UTF-8\r\n"
            f"Content-Length: {len(BODY)}\r\nConnection: close\r\n\r\n").encode() + BODY


def _exchange(host: str, port: int, path: str) -> bytes:
    with socket.create_connection((host, port), timeout=60) as sock:
        sock.sendall(_request(host, port, path))
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


def burst(host: str, port: int, path: str, *, clients: int, requests: int) -> Burst:
    """``clients`` threads, started together, each sending ``requests`` requests (one
    connection each); counts complete HTTP answers."""
    result = Burst()
    lock = threading.Lock()
    start = threading.Barrier(clients)

    def client() -> None:
        start.wait()
        for _ in range(requests):
            try:
                answer = _exchange(host, port, path)
            except OSError as exc:
                with lock:
                    result.failed.append(f"{type(exc).__name__}: {exc}")
                continue
            with lock:
                if answer.startswith(b"HTTP/1.1 ") and b"\r\n\r\n" in answer:
                    result.answered += 1
                else:
                    result.failed.append(f"incomplete answer: {answer[:40]!r}")

    threads = [threading.Thread(target=client) for _ in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return result


def hang_ups(host: str, port: int, path: str, *, clients: int) -> None:
    """Clients that send a request and reset the connection without reading the answer."""
    for _ in range(clients):
        with socket.create_connection((host, port), timeout=60) as sock:
            sock.sendall(_request(host, port, path))
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
