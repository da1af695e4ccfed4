"""The serving side of HTTP, shared by ``ihe sim``, ``ihe serve`` and the recording proxy.

One threaded HTTP/1.1 server (a thread per client connection) whose behaviour is an
:class:`HttpApp`: calls in, answers out. What every local endpoint needs is done here once:
bodies have a size limit (checked before reading), slow clients time out, chunked uploads are
read, absolute request URIs (a client using the server as a forward proxy) become paths, a
client that goes away is dropped quietly, and problems reading a request become an answer
built by the app (a SOAP fault for SOAP endpoints), never a traceback. Headers and body leave
with TCP_NODELAY: without it Nagle's algorithm and delayed ACKs add ~40 ms to every exchange.
An answer is either the app's own (with our ``Server``, ``Date`` and framing) or another
server's passed on as it is (:func:`relayed`).

:class:`LocalEndpoint` is the lifecycle around it (bind, serve in a thread or in the caller's
thread, stop: answers in progress finish, idle keep-alive connections are closed, context
manager); subclasses say which methods they take and how to open and close their app.
"""

from __future__ import annotations

import logging
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from types import TracebackType
from typing import Any, Protocol, TypeVar
from urllib.parse import urlsplit

from ihe_test_util import __version__
from ihe_test_util.errors import UsageError
from ihe_test_util.model import Headers, Response
from ihe_test_util.transport.hop_by_hop import end_to_end

logger = logging.getLogger("ihe_test_util.endpoint")

#: Largest request body accepted (bytes), the same for every server: room for a Provide and
#: Register with large documents (base64 inline grows them by a third). The recording proxy
#: must not refuse what a real repository takes, and ``ihe serve`` / ``ihe sim`` must take
#: every request the proxy recorded; a larger body is refused (413) before it is read.
DEFAULT_MAX_BODY_BYTES = 256 * 1024 * 1024
#: Seconds a connection may stay silent while a request is being read.
DEFAULT_READ_TIMEOUT = 10.0
#: Seconds :meth:`LocalEndpoint.stop` waits for answers in progress.
DEFAULT_DRAIN_TIMEOUT = 5.0
#: Connections the kernel queues before they are accepted (socketserver's default of 5 resets
#: clients as soon as a few dozen connect at once; 200 concurrent clients must all get in).
LISTEN_BACKLOG = 512


@dataclass(frozen=True)
class HttpAnswer:
    """What goes back: status, body, its media type and any further headers.

    ``relayed``: another server's answer passed on (:func:`relayed`): ``headers`` are sent
    exactly, with no ``Server``, ``Date``, ``Content-Type`` or ``Content-Length`` of ours, and
    ``reason`` is its reason phrase.
    """

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)
    reason: str | None = None
    relayed: bool = False


def relayed(response: Response, method: str) -> HttpAnswer:
    """``response`` passed on to a client: its end-to-end headers and exact body, framed for
    this connection (a ``HEAD`` answer keeps the length the server stated)."""
    kept = list(end_to_end(response.headers))
    if method == "HEAD":
        length = response.headers.get("Content-Length")
        kept += [("Content-Length", length)] if length else []
    elif response.status >= 200 and response.status not in (204, 304):
        kept.append(("Content-Length", str(len(response.body))))
    return HttpAnswer(response.status, response.body, response.content_type or "",
                      tuple(kept), reason=response.reason or None, relayed=True)


@dataclass(frozen=True)
class HttpCall:
    """One request as read from the wire (``path`` includes the query string); ``base_url``
    is where the server listens, for answers that show absolute URLs."""

    method: str
    path: str
    headers: Headers
    body: bytes
    base_url: str = ""

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")


class HttpApp(Protocol):
    """What an endpoint does with requests; the server only moves bytes."""

    max_body_bytes: int

    def handle(self, call: HttpCall) -> HttpAnswer:
        """The answer to a request whose body was read completely."""
        ...  # pragma: no cover - protocol

    def problem(self, status: int, reason: str, call: HttpCall) -> HttpAnswer:
        """The answer when the request itself could not be read (411, 413, 408, 400);
        ``call`` is the request line and headers, without a body."""
        ...  # pragma: no cover - protocol


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True
    request_queue_size = LISTEN_BACKLOG

    def __init__(self, address: tuple[str, int], app: HttpApp, endpoint: LocalEndpoint) -> None:
        self.app = app
        self.read_timeout = endpoint.read_timeout
        self.server_version = endpoint.server_name
        self.methods = endpoint.methods
        self.length_required = endpoint.length_required
        self._connections: set[socket.socket] = set()
        self._state = threading.Condition()
        self._answering = 0
        super().__init__(address, _Handler)

    def process_request(self, request: Any, client_address: Any) -> None:
        with self._state:
            self._connections.add(request)
        super().process_request(request, client_address)

    def shutdown_request(self, request: Any) -> None:
        with self._state:
            self._connections.discard(request)
        super().shutdown_request(request)

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that hangs up or goes silent is the client's business: one debug line.
        Anything else is a bug of ours and keeps socketserver's traceback."""
        error = sys.exc_info()[1]
        if isinstance(error, (ConnectionError, TimeoutError)):
            logger.debug("%s: connection dropped: %s", _address(client_address),
                         type(error).__name__)
            return
        super().handle_error(request, client_address)

    @contextmanager
    def answering(self) -> Iterator[None]:
        """Counts an answer in progress (from the app's call until it is written)."""
        with self._state:
            self._answering += 1
        try:
            yield
        finally:
            with self._state:
                self._answering -= 1
                self._state.notify_all()

    def drain(self, timeout: float) -> None:
        """Let answers in progress finish (up to ``timeout`` s), then close every connection:
        handlers waiting on an idle keep-alive connection stop waiting."""
        with self._state:
            self._state.wait_for(lambda: self._answering == 0, timeout=timeout)
            connections = list(self._connections)
        for connection in connections:
            with suppress(OSError):
                connection.shutdown(socket.SHUT_RDWR)


class BodyProblem(Exception):
    """A request body that cannot be read: ``status`` (400, 411, 413) and why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def read_request_body(rfile: BufferedIOBase, header: Callable[[str], str | None], limit: int, *,
              required: bool) -> bytes | None:
    """The request body from ``Content-Length`` or chunked framing; None when the client went
    away mid-body. ``required``: a missing length is 411 rather than an empty body."""
    if "chunked" in (header("Transfer-Encoding") or "").lower():
        return _read_chunked(rfile, limit)
    raw = header("Content-Length")
    if raw is None:
        if not required:
            return b""
        raise BodyProblem(411, "Content-Length header required")
    try:
        length = int(raw)
        if length < 0:
            raise ValueError(raw)
    except ValueError:
        raise BodyProblem(400, f"invalid Content-Length {raw!r}") from None
    if length > limit:
        raise _too_large(length, limit)
    body = rfile.read(length)
    return body if len(body) == length else None


def _read_chunked(rfile: BufferedIOBase, limit: int) -> bytes | None:
    parts: list[bytes] = []
    total = 0
    while True:
        line = rfile.readline(1024)
        if not line:
            return None
        try:
            size = int(line.split(b";", 1)[0].strip(), 16)
        except ValueError:
            raise BodyProblem(400, "malformed chunked transfer encoding") from None
        if size == 0:
            while rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                pass
            return b"".join(parts)
        total += size
        if total > limit:
            raise _too_large(total, limit)
        chunk = rfile.read(size)
        if len(chunk) != size:
            return None
        parts.append(chunk)
        rfile.readline(1024)


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"
    disable_nagle_algorithm = True

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.read_timeout)

    def version_string(self) -> str:
        return self.server.server_version

    def handle_one_request(self) -> None:
        try:
            super().handle_one_request()
        except ConnectionError as error:  # the client went away: not the server's error
            logger.debug("%s: client hung up: %s", self.address_string(),
                         type(error).__name__)
            self.close_connection = True

    def finish(self) -> None:
        try:
            super().finish()  # flushes what is left of the answer
        except ConnectionError as error:
            logger.debug("%s: client hung up before the answer was sent: %s",
                         self.address_string(), type(error).__name__)

    def _serve(self) -> None:
        server = self.server
        if self.command not in server.methods:
            self.send_error(501, f"Unsupported method ({self.command!r})")
            return
        host, port = server.server_address[:2]
        call = HttpCall(self.command, origin_form(self.path), Headers(self.headers.items()),
                        b"", url_of(str(host), int(port)))
        try:
            body = read_request_body(self.rfile, self.headers.get, server.app.max_body_bytes,
                             required=self.command in server.length_required)
        except BodyProblem as problem:
            self.close_connection = True
            self._send(server.app.problem(problem.status, problem.reason, call))
            return
        except TimeoutError:
            self.close_connection = True
            self._send(server.app.problem(
                408, f"request body not received within {server.read_timeout:g} s", call))
            return
        if body is None:  # the client went away mid-body
            self.close_connection = True
            return
        with server.answering():
            self._send(server.app.handle(replace(call, body=body)))

    do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = do_OPTIONS = _serve

    def _send(self, answer: HttpAnswer) -> None:
        if answer.relayed:
            self.send_response_only(answer.status, answer.reason)
        else:
            self.send_response(answer.status, answer.reason)
            self.send_header("Content-Type", answer.content_type)
            self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        if self.command != "HEAD" and answer.body:
            self.wfile.write(answer.body)

    def log_message(self, format: str, *args: object) -> None:
        logger.info("%s %s", self.address_string(), format % args)


def _address(client_address: Any) -> str:
    return str(client_address[0]) if isinstance(client_address, tuple) else str(client_address)


def origin_form(target: str) -> str:
    """The path and query of a request target: a client using the server as a forward proxy
    sends an absolute URI (RFC 9112 3.2.2)."""
    parts = urlsplit(target)
    if parts.scheme:
        return (parts.path or "/") + (f"?{parts.query}" if parts.query else "")
    return target


def _too_large(size: int, limit: int) -> BodyProblem:
    return BodyProblem(413, f"request body of {size:,} bytes exceeds the limit of "
                             f"{limit:,} bytes")


def url_of(host: str, port: int) -> str:
    """``http://host:port`` (IPv6 hosts in brackets)."""
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


EndpointT = TypeVar("EndpointT", bound="LocalEndpoint")


class LocalEndpoint:
    """An :class:`HttpApp` served on ``host:port`` (0 picks a free port).

    Subclasses implement :meth:`_open_app` (called when the port is bound) and may override
    :meth:`_close_app` to release what the app holds (a database, files).
    """

    #: Sent as the ``Server`` header.
    server_name = f"ihe-test-utility/{__version__}"
    #: Methods answered (others get 501), and those whose body length must be stated (411).
    methods: frozenset[str] = frozenset({"GET", "POST", "PUT", "DELETE"})
    length_required: frozenset[str] = frozenset({"POST", "PUT"})
    #: What to do when the port is taken.
    port_hint = "choose another --port (0 picks a free one)"

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 read_timeout: float = DEFAULT_READ_TIMEOUT,
                 drain_timeout: float = DEFAULT_DRAIN_TIMEOUT) -> None:
        self.host = host
        self.port = port
        self.read_timeout = read_timeout
        self.drain_timeout = drain_timeout
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # -- what subclasses provide ---------------------------------------------------------------

    def _open_app(self) -> HttpApp:
        raise NotImplementedError

    def _close_app(self) -> None:
        """Release what :meth:`_open_app` acquired (nothing by default)."""

    # -- lifecycle -----------------------------------------------------------------------------

    def start(self: EndpointT) -> EndpointT:
        """Bind the port and serve in a background thread; returns once requests are accepted."""
        if self._server is not None:
            return self
        server = self._bind()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self: EndpointT, *,
                      on_ready: Callable[[EndpointT], None] | None = None) -> None:
        """Serve in the calling thread until :meth:`stop` or KeyboardInterrupt."""
        server = self._bind()
        if on_ready is not None:
            on_ready(self)
        try:
            server.serve_forever(poll_interval=0.05)
        finally:
            self._close(self.drain_timeout)

    def stop(self, *, drain_timeout: float | None = None) -> None:
        """Stop accepting, let answers in progress finish (up to ``drain_timeout`` s, default
        :attr:`drain_timeout`), close the connections that are left."""
        server = self._server
        if server is None:
            return
        server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close(self.drain_timeout if drain_timeout is None else drain_timeout)

    def _bind(self) -> _HttpServer:
        if self._server is not None:
            return self._server
        app = self._open_app()
        try:
            server = _HttpServer((self.host, self.port), app, self)
        except OSError as exc:
            self._close_app()
            raise UsageError(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}",
                hint=self.port_hint,
            ) from None
        self._server = server
        self.port = int(server.server_address[1])
        return server

    def _close(self, drain_timeout: float) -> None:
        if self._server is not None:
            self._server.drain(drain_timeout)
            self._server.server_close()
            self._server = None
        self._close_app()

    def __enter__(self: EndpointT) -> EndpointT:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        return url_of(self.host, self.port)
