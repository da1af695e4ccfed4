"""The recording proxy: an existing client (an EHR, SoapUI, zeep) talks through it, and every
exchange is forwarded unchanged and appended to a cassette as it completes.

A :class:`ThreadingHTTPServer` serves each client connection in its own thread; each thread
forwards through one :class:`~ihe_test_util.transport.http.HttpTransport` (a requests session
per thread), so concurrent clients never share a session, and nothing is patched process-wide
(vcrpy's patching loses recordings under threads). Bodies pass byte for byte both ways;
hop-by-hop headers (``Connection``, ``Transfer-Encoding``, ``Keep-Alive``, ... and those named
in ``Connection``) belong to one connection and are not forwarded; ``Content-Length`` is
recomputed.

The exchange is appended (redacted, atomically) *before* the response goes back to the client,
so whatever a client has received is in the cassette, even if the proxy is killed right after;
exchanges of concurrent clients that complete together share one rewrite (:class:`GroupCommit`).
An upstream that gives no answer gets the client a 502 with a SOAP 1.2 Fault saying why; it is
reported and not recorded.

Routing by path prefix is :mod:`.routes`.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any
from urllib.parse import urlsplit
from xml.sax.saxutils import escape

from ihe_test_util import __version__
from ihe_test_util.cassette.store import CassetteWriter, GroupCommit, now_utc
from ihe_test_util.errors import IheTestError, UsageError
from ihe_test_util.model import Headers, Interaction, InteractionMeta, Request, Response
from ihe_test_util.record.responses import read_response
from ihe_test_util.record.routes import Routes
from ihe_test_util.transport.endpoint import BodyProblem, read_body
from ihe_test_util.transport.http import HttpTransport, TransportOptions

#: Headers that describe one connection (RFC 9110 7.6.1), plus Expect (answered here) and the
#: framing headers recomputed for the other side.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "transfer-encoding", "upgrade", "expect", "content-length", "host",
})
DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024
DEFAULT_IDLE_TIMEOUT = 60.0


@dataclass(frozen=True)
class ProxyExchange:
    """One exchange forwarded and recorded (``number`` counts recorded exchanges)."""

    number: int
    method: str
    path: str
    url: str
    status: int
    duration_ms: float
    transaction: str | None
    ihe_status: str | None


@dataclass(frozen=True)
class ProxyFailure:
    """A request the proxy could not forward or record; the client got ``status``."""

    method: str
    path: str
    url: str | None
    status: int
    message: str
    hint: str | None = None
    recorded: bool = False


ProxyEvent = ProxyExchange | ProxyFailure


class RecordingProxy:
    """Forwards to ``routes`` and appends every completed exchange to ``writer``::

        with RecordingProxy(Routes.parse(["http://reg:8080"]), writer) as proxy:
            proxy.url   # point the client here
    """

    def __init__(
        self, routes: Routes, writer: CassetteWriter, *, options: TransportOptions | None = None,
        host: str = "127.0.0.1", port: int = 0, on_event: Callable[[ProxyEvent], None] | None
        = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        self.routes = routes
        self.writer = writer
        self.transport = HttpTransport(options or TransportOptions())
        self.on_event = on_event or (lambda event: None)
        self.max_body_bytes = max_body_bytes
        self.idle_timeout = idle_timeout
        self.failures = 0
        self._host, self._port = host, port
        self._server: _ProxyServer | None = None
        self._thread: threading.Thread | None = None
        self._busy = 0
        self._idle = threading.Condition()
        self._commits = GroupCommit(writer)

    # -- lifecycle ---------------------------------------------------------------------------

    def start(self) -> RecordingProxy:
        """Listen and serve in a background thread; returns once connections are accepted."""
        if self._server is None:
            try:
                self._server = _ProxyServer((self._host, self._port), self)
            except OSError as exc:
                raise UsageError(f"cannot listen on {self._host}:{self._port}: "
                                 f"{exc.strerror or exc}",
                                 hint="choose another --proxy port (0 picks a free one)") from None
            self._thread = threading.Thread(target=self._server.serve_forever,
                                            kwargs={"poll_interval": 0.05},
                                            name="ihe-record-proxy", daemon=True)
            self._thread.start()
        return self

    def stop(self, *, drain_timeout: float | None = None) -> None:
        """Stop accepting, let exchanges in flight finish (and be recorded), close the rest."""
        server = self._server
        if server is None:
            return
        server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
        limit = drain_timeout if drain_timeout is not None else self.transport.options.timeout
        with self._idle:
            self._idle.wait_for(lambda: self._busy == 0, timeout=limit)
        server.close_connections()
        server.server_close()
        self.transport.close()
        self._server = None

    def __enter__(self) -> RecordingProxy:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    @property
    def address(self) -> tuple[str, int]:
        if self._server is None:
            return self._host, self._port
        host, port = self._server.server_address[:2]
        return str(host), int(port)

    @property
    def url(self) -> str:
        host, port = self.address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}"

    @property
    def recorded(self) -> int:
        return self.writer.count

    # -- one exchange ------------------------------------------------------------------------

    def exchange(self, method: str, path: str, headers: Headers, body: bytes) -> (
            tuple[int, str, Headers, bytes]):
        """Forward one request; returns what to send back (status, reason, headers, body)."""
        with self._idle:
            self._busy += 1
        try:
            return self._exchange(method, path, headers, body)
        finally:
            with self._idle:
                self._busy -= 1
                self._idle.notify_all()

    def _exchange(self, method: str, path: str, headers: Headers, body: bytes) -> (
            tuple[int, str, Headers, bytes]):
        upstream = self.routes.choose(urlsplit(path).path)
        if upstream is None:
            known = ", ".join(u.prefix for u in self.routes.upstreams)
            return self.reject(method, path, None, 404, f"no --upstream for path {path} "
                              f"(prefixes: {known})")
        url = upstream.target(path)
        request = Request(method, url, forwarded(headers), body)
        try:
            response, elapsed = self.transport.send(request)
        except IheTestError as exc:
            return self.reject(method, path, url, 502, exc.message, exc.hint)
        reading = read_response(request, response, None)
        try:
            number = self._commits.commit(Interaction(request, response, InteractionMeta(
                transaction=reading.transaction, endpoint=upstream.name,
                duration_ms=round(elapsed, 3), recorded_at=now_utc(),
            )))
        except IheTestError as exc:  # the client still gets its answer
            self._count_failure()
            self.on_event(ProxyFailure(method, path, url, response.status,
                                       f"answered but NOT recorded: {exc.message}", exc.hint,
                                       recorded=False))
        else:
            self.on_event(ProxyExchange(number, method, path, url, response.status,
                                        elapsed, reading.transaction, reading.status))
        return response.status, response.reason, returned(response, method), response.body

    def _count_failure(self) -> None:
        with self._idle:  # handler threads count concurrently
            self.failures += 1

    def reject(self, method: str, path: str, url: str | None, status: int, message: str,
              hint: str | None = None) -> tuple[int, str, Headers, bytes]:
        self._count_failure()
        self.on_event(ProxyFailure(method, path, url, status, message, hint))
        body = fault_body(message, hint)
        reason = "Bad Gateway" if status == 502 else "Not Found"
        return status, reason, Headers([("Content-Type", "application/soap+xml; charset=UTF-8"),
                                        ("Content-Length", str(len(body)))]), body


def _connection_tokens(headers: Headers) -> set[str]:
    """Header names listed in ``Connection`` (also hop-by-hop, RFC 9110 7.6.1)."""
    return {token.strip().lower() for value in headers.get_all("Connection")
            for token in value.split(",") if token.strip()}


def forwarded(headers: Headers) -> Headers:
    """The client's end-to-end headers, as they are sent upstream and recorded."""
    drop = HOP_BY_HOP | _connection_tokens(headers)
    return Headers([(name, value) for name, value in headers if name.lower() not in drop])


def returned(response: Response, method: str) -> Headers:
    """The upstream's end-to-end headers plus the length of the body the client gets."""
    drop = HOP_BY_HOP | _connection_tokens(response.headers)
    kept = [(name, value) for name, value in response.headers if name.lower() not in drop]
    if method == "HEAD":
        length = response.headers.get("Content-Length")
        return Headers(kept + ([("Content-Length", length)] if length else []))
    if response.status < 200 or response.status in (204, 304):
        return Headers(kept)
    return Headers([*kept, ("Content-Length", str(len(response.body)))])


def fault_body(message: str, hint: str | None) -> bytes:
    """A SOAP 1.2 Receiver Fault telling the client why the proxy has no answer for it."""
    reason = escape(f"ihe record proxy: {message}" + (f" ({hint})" if hint else ""))
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope"><soap:Body>'
        "<soap:Fault><soap:Code><soap:Value>soap:Receiver</soap:Value></soap:Code>"
        f'<soap:Reason><soap:Text xml:lang="en">{reason}</soap:Text></soap:Reason>'
        "</soap:Fault></soap:Body></soap:Envelope>\n"
    ).encode()


class _ProxyServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], proxy: RecordingProxy) -> None:
        self.proxy = proxy
        self._connections: set[socket.socket] = set()
        self._lock = threading.Lock()
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._lock:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._lock:
            self._connections.discard(request)
        super().shutdown_request(request)

    def close_connections(self) -> None:
        """Unblock handlers waiting on idle keep-alive connections."""
        with self._lock:
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)

    def handle_error(self, request: Any, client_address: Any) -> None:
        return  # a client that goes away mid-exchange is not the proxy's error


class _Handler(BaseHTTPRequestHandler):
    server: _ProxyServer
    protocol_version = "HTTP/1.1"
    server_version = f"ihe-record-proxy/{__version__}"
    disable_nagle_algorithm = True  # headers and body go in two writes: avoid a 40 ms stall

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.proxy.idle_timeout)

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except (TimeoutError, ConnectionError):
            self.close_connection = True

    def forward(self) -> None:
        proxy = self.server.proxy
        headers = Headers(self.headers.items())
        try:
            body = read_body(self.rfile, self.headers.get, proxy.max_body_bytes,
                             required=False)
        except BodyProblem as problem:
            self.close_connection = True
            status, reason, out, data = proxy.reject(self.command, self.path, None,
                                                     problem.status, problem.reason)
            self._send(status, reason, out, data)
            return
        if body is None:  # the client went away mid-body
            self.close_connection = True
            return
        status, reason, out, data = proxy.exchange(self.command, self._path(), headers, body)
        self._send(status, reason, out, data)

    def _path(self) -> str:
        """Path and query (a client using us as a forward proxy sends an absolute URI)."""
        parts = urlsplit(self.path)
        if parts.scheme:
            return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
        return self.path

    def _send(self, status: int, reason: str, headers: Headers, body: bytes) -> None:
        self.send_response_only(status, reason or None)  # no Server/Date of our own
        for name, value in headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and body:
            self.wfile.write(body)
        self.wfile.flush()

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = do_HEAD = do_OPTIONS = forward

    def log_message(self, format: str, *args: object) -> None:
        return  # events go to the proxy's on_event
