"""A fault-injecting HTTP server on 127.0.0.1 for the bad-server tests.

Raw sockets, so every fault is exactly what a broken server sends. A request for ``/good/...``
gets :data:`GOOD_BODY` (keep-alive); a request for ``/fault/NAME`` gets the fault ``NAME`` of
:data:`FAULTS`. Nothing here sleeps for a test: a stall waits until the server stops (the end
of the test), and a trickle sends one byte per ``trickle_interval`` until the client hangs up,
so how long either lasts is bounded only by the client's ``--timeout``.
"""

from __future__ import annotations

import gzip
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

GOOD_BODY = b"<answer><status>ok</status></answer>"
BAD_BODY = b"<answer><status>broken</status></answer>" * 4
#: A Content-Length above the transport's response limit (nothing that large is ever sent).
OVERSIZED_LENGTH = 10 * 1024 * 1024 * 1024


def _head(status: str = "200 OK", *extra: str, length: int | None = None,
          close: bool = True) -> bytes:
    lines = [f"HTTP/1.1 {status}", "Content-Type: text/xml; charset=UTF-8", *extra]
    if length is not None:
        lines.append(f"Content-Length: {length}")
    if close:
        lines.append("Connection: close")
    return ("\r\n".join(lines) + "\r\n\r\n").encode("ascii")


class _Connection:
    """The client's socket, with what a fault may do to it."""

    def __init__(self, sock: socket.socket, stop: threading.Event, interval: float,
                 path: str) -> None:
        self.sock = sock
        self.stop = stop
        self.interval = interval
        self.path = path

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def reset(self) -> None:
        """Close with RST instead of FIN."""
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))

    def stall(self) -> None:
        """Send nothing more until the server stops."""
        self.stop.wait()

    def trickle(self, data: bytes) -> None:
        """One byte per interval until the client hangs up or the server stops."""
        for index in range(len(data)):
            if self.stop.wait(self.interval):
                return
            try:
                self.sock.sendall(data[index:index + 1])
            except OSError:
                return


def _reset_after_headers(c: _Connection) -> None:
    c.send(_head(length=len(BAD_BODY)))
    c.reset()


def _body_cut(c: _Connection) -> None:
    c.send(_head(length=len(BAD_BODY)) + BAD_BODY[: len(BAD_BODY) // 2])


def _body_stall(c: _Connection) -> None:
    c.send(_head(length=len(BAD_BODY)) + BAD_BODY[: len(BAD_BODY) // 2])
    c.stall()


def _length_longer(c: _Connection) -> None:
    c.send(_head(length=len(BAD_BODY) + 100) + BAD_BODY)


def _length_shorter(c: _Connection) -> None:
    c.send(_head(length=len(BAD_BODY) - 20) + BAD_BODY)


def _bad_chunking(c: _Connection) -> None:
    c.send(_head("200 OK", "Transfer-Encoding: chunked") + b"zz\r\n" + BAD_BODY + b"\r\n0\r\n\r\n")


def _chunked_truncated(c: _Connection) -> None:
    c.send(_head("200 OK", "Transfer-Encoding: chunked") + b"%x\r\n" % len(BAD_BODY) + BAD_BODY
           + b"\r\n40\r\n<more>")


def _header_trickle(c: _Connection) -> None:
    c.trickle(_head(length=len(GOOD_BODY)) + GOOD_BODY)


def _headers_truncated(c: _Connection) -> None:
    c.send(b"HTTP/1.1 200 OK\r\nContent-Type: text/xml; charset=UTF-8\r\n")


def _close_empty(c: _Connection) -> None:
    pass


def _redirect_loop(c: _Connection) -> None:
    c.send(_head("302 Found", f"Location: {c.path}", length=0))


def _oversized(c: _Connection) -> None:
    c.send(_head(length=OVERSIZED_LENGTH) + BAD_BODY)
    c.stall()


def _bad_gzip(c: _Connection) -> None:
    body = gzip.compress(BAD_BODY)[:10] + b"this is not deflate data at all" * 3
    c.send(_head("200 OK", "Content-Encoding: gzip", length=len(body)) + body)


#: Each fault the server can inject, by the name in ``/fault/NAME``.
FAULTS: dict[str, Callable[[_Connection], None]] = {
    "reset-after-headers": _reset_after_headers,
    "body-cut": _body_cut,
    "body-stall": _body_stall,
    "length-longer": _length_longer,
    "length-shorter": _length_shorter,
    "bad-chunking": _bad_chunking,
    "chunked-truncated": _chunked_truncated,
    "header-trickle": _header_trickle,
    "headers-truncated": _headers_truncated,
    "close-empty": _close_empty,
    "redirect-loop": _redirect_loop,
    "oversized": _oversized,
    "bad-gzip": _bad_gzip,
}


class FaultServer:
    """Serves ``/good/...`` well and ``/fault/NAME`` badly; ``requests`` lists the paths
    asked for, in order."""

    def __init__(self, *, trickle_interval: float = 0.2) -> None:
        self.trickle_interval = trickle_interval
        self.requests: list[str] = []
        self._stop = threading.Event()
        self._listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self._listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self._listener.bind(("127.0.0.1", 0))
        self._listener.listen(64)
        self.port = int(self._listener.getsockname()[1])
        self._open: set[socket.socket] = set()
        self._lock = threading.Lock()
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> FaultServer:
        self._spawn(self._accept)
        return self

    def stop(self) -> None:
        self._stop.set()
        with suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes the accept (close alone does not)
        with suppress(OSError):
            self._listener.close()
        with self._lock:
            for sock in list(self._open):
                with suppress(OSError):
                    sock.shutdown(socket.SHUT_RDWR)
        for thread in self._threads:
            thread.join(timeout=10)

    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)
        with self._lock:
            self._threads.append(thread)
        thread.start()

    def _accept(self) -> None:
        while not self._stop.is_set():
            try:
                sock, _ = self._listener.accept()
            except OSError:
                return
            with self._lock:
                self._open.add(sock)
            self._spawn(self._serve, sock)

    def _serve(self, sock: socket.socket) -> None:
        reader = sock.makefile("rb")
        try:
            while not self._stop.is_set():
                path = _read_request(reader)
                if path is None:
                    return
                with self._lock:
                    self.requests.append(path)
                if path.startswith("/fault/"):
                    FAULTS[path.split("/")[2]](_Connection(sock, self._stop,
                                                           self.trickle_interval, path))
                    return
                sock.sendall(_head(length=len(GOOD_BODY), close=False) + GOOD_BODY)
        except OSError:
            return
        finally:
            with self._lock:
                self._open.discard(sock)
            with suppress(OSError):
                reader.close()
                sock.close()


def _read_request(reader: object) -> str | None:
    """The path of the next request on the connection (its body read and dropped)."""
    readline = reader.readline  # type: ignore[attr-defined]
    line = readline(65536)
    if not line:
        return None
    path = line.split()[1].decode("ascii")
    length = 0
    while True:
        header = readline(65536)
        if header in (b"\r\n", b"\n", b""):
            break
        name, _, value = header.decode("latin-1").partition(":")
        if name.strip().lower() == "content-length":
            length = int(value.strip())
    if length:
        reader.read(length)  # type: ignore[attr-defined]
    return path


@contextmanager
def fault_server(*, trickle_interval: float = 0.2) -> Iterator[FaultServer]:
    server = FaultServer(trickle_interval=trickle_interval).start()
    try:
        yield server
    finally:
        server.stop()
