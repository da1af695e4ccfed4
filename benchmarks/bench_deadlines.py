"""How soon deadlines fire and things start: the wall-clock side of behaviour the tests check.

The tests prove *that* a timeout fires (the server would answer much later) and *that* the
simulator starts; how long that takes depends on the machine, so it is measured here, as the
overshoot past each configured deadline (median of a few runs).
"""

from __future__ import annotations

import socket
import statistics
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from ihe_test_util.errors import EndpointTimeout
from ihe_test_util.model import Headers, Request
from ihe_test_util.sim import Simulator
from ihe_test_util.transport.http import HttpTransport, TransportOptions

RUNS = 5
SOAP = "application/soap+xml; charset=UTF-8"


class _Slow(BaseHTTPRequestHandler):
    """``/sleep`` answers after 10 s; ``/trickle`` sends one byte of 100 every 50 ms."""

    protocol_version = "HTTP/1.1"
    stop = threading.Event()

    def log_message(self, format: str, *args: object) -> None:
        return

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        if self.path == "/sleep":
            self.stop.wait(10)
            return
        self.send_response(200)
        self.send_header("Content-Length", "100")
        self.end_headers()
        for _ in range(100):
            if self.stop.wait(0.05):
                return
            self.wfile.write(b"x")
            self.wfile.flush()


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request: object, client_address: object) -> None:
        return  # the client gives up mid-response: that is the point


@contextmanager
def _slow_server() -> Iterator[str]:
    server = _Server(("127.0.0.1", 0), _Slow)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        _Slow.stop.set()
        server.shutdown()
        server.server_close()
        _Slow.stop.clear()


def _median(measure: Callable[[], float]) -> float:
    return statistics.median(measure() for _ in range(RUNS))


def _timeout_seconds(url: str, timeout: float) -> float:
    request = Request("POST", url, Headers([("Content-Type", SOAP)]), b"<q/>")
    with HttpTransport(TransportOptions(timeout=timeout)) as transport:
        started = time.perf_counter()
        try:
            transport.send(request)
        except EndpointTimeout:
            return time.perf_counter() - started
    raise AssertionError(f"{url} answered within {timeout} s")


def _sim_start_seconds() -> float:
    started = time.perf_counter()
    sim = Simulator(port=0).start()
    elapsed = time.perf_counter() - started
    sim.stop()
    return elapsed


def _slow_body_408_seconds(sim: Simulator) -> float:
    with socket.create_connection(("127.0.0.1", sim.port), timeout=30) as slow:
        slow.sendall(b"POST /pix HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml\r\n"
                     b"Content-Length: 1000\r\n\r\n<soap:Envelope")
        started = time.perf_counter()
        reply = slow.recv(65536)
        elapsed = time.perf_counter() - started
    assert reply.startswith(b"HTTP/1.1 408"), reply[:100]
    return elapsed


def _dtd_bomb_seconds(sim: Simulator) -> float:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + b"".join(b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10)
                       for i in range(1, 9))
            + b"]><soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope'>"
            b"<soap:Body>&lol8;</soap:Body></soap:Envelope>")
    import requests

    started = time.perf_counter()
    answer = requests.post(sim.url_for("pix"), data=bomb, timeout=30,
                           headers={"Content-Type": SOAP})
    elapsed = time.perf_counter() - started
    assert answer.status_code == 400, answer.status_code
    return elapsed


def main() -> None:
    with _slow_server() as base:
        sleep = _median(lambda: _timeout_seconds(f"{base}/sleep", 0.5))
        trickle = _median(lambda: _timeout_seconds(f"{base}/trickle", 0.6))
    start = _median(_sim_start_seconds)
    with Simulator(read_timeout=0.5) as sim:
        slow_body = _median(lambda: _slow_body_408_seconds(sim))
        bomb = _median(lambda: _dtd_bomb_seconds(sim))
    print(f"transport timeout 0.5 s, silent server : {sleep * 1000:7.1f} ms "
          f"(+{(sleep - 0.5) * 1000:.0f} ms)")
    print(f"transport timeout 0.6 s, trickling     : {trickle * 1000:7.1f} ms "
          f"(+{(trickle - 0.6) * 1000:.0f} ms)")
    print(f"sim read timeout 0.5 s -> 408          : {slow_body * 1000:7.1f} ms "
          f"(+{(slow_body - 0.5) * 1000:.0f} ms)")
    print(f"sim refuses a DTD entity bomb          : {bomb * 1000:7.1f} ms")
    print(f"Simulator().start()                    : {start * 1000:7.1f} ms")


if __name__ == "__main__":
    main()
