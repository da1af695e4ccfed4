"""The serving side of HTTP on localhost, shared by ``ihe sim`` and ``ihe serve``.

One threaded HTTP/1.1 server whose behaviour is an :class:`HttpApp`: calls in, answers out.
What every local endpoint needs is done here once: bodies have a size limit (checked before
reading), slow clients time out, chunked uploads are read, a client that goes away mid-body is
dropped quietly, and problems reading a request become an answer built by the app (a SOAP
fault for SOAP endpoints), never a traceback. Headers and body leave with TCP_NODELAY: without
it Nagle's algorithm and delayed ACKs add ~40 ms to every exchange.

:class:`LocalEndpoint` is the lifecycle around it (bind, serve in a thread or in the caller's
thread, stop, context manager); subclasses say how to open and close their app.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from io import BufferedIOBase
from types import TracebackType
from typing import Protocol, TypeVar

from ihe_test_util import __version__
from ihe_test_util.errors import UsageError
from ihe_test_util.model import Headers

logger = logging.getLogger("ihe_test_util.endpoint")

#: Largest request body accepted (bytes): room for a PnR with a few large documents.
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
#: Seconds a connection may stay silent while a request is being read.
DEFAULT_READ_TIMEOUT = 10.0


@dataclass(frozen=True)
class HttpAnswer:
    """What goes back: status, body, its media type and any further headers."""

    status: int
    body: bytes
    content_type: str
    headers: tuple[tuple[str, str], ...] = field(default_factory=tuple)


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

    def problem(self, status: int, reason: str) -> HttpAnswer:
        """The answer when the request itself could not be read (411, 413, 408, 400)."""
        ...  # pragma: no cover - protocol


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: HttpApp, read_timeout: float,
                 server_version: str) -> None:
        self.app = app
        self.read_timeout = read_timeout
        self.server_version = server_version
        super().__init__(address, _Handler)


class BodyProblem(Exception):
    """A request body that cannot be read: ``status`` (400, 411, 413) and why."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def read_body(rfile: BufferedIOBase, header: Callable[[str], str | None], limit: int, *,
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

    def do_POST(self) -> None:
        self._serve(body_required=True)

    def do_PUT(self) -> None:
        self._serve(body_required=True)

    def do_GET(self) -> None:
        self._serve(body_required=False)

    def do_DELETE(self) -> None:
        self._serve(body_required=False)

    def _serve(self, *, body_required: bool) -> None:
        app = self.server.app
        try:
            body = read_body(self.rfile, self.headers.get, app.max_body_bytes,
                             required=body_required)
        except BodyProblem as problem:
            self.close_connection = True
            self._send(app.problem(problem.status, problem.reason))
            return
        except TimeoutError:
            self.close_connection = True
            self._send(app.problem(
                408, f"request body not received within {self.server.read_timeout:g} s"))
            return
        if body is None:  # the client went away mid-body
            self.close_connection = True
            return
        host, port = self.server.server_address[:2]
        call = HttpCall(self.command, self.path, Headers(self.headers.items()), body,
                        url_of(str(host), int(port)))
        self._send(app.handle(call))

    def _send(self, answer: HttpAnswer) -> None:
        self.send_response(answer.status)
        self.send_header("Content-Type", answer.content_type)
        self.send_header("Content-Length", str(len(answer.body)))
        for name, value in answer.headers:
            self.send_header(name, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(answer.body)

    def log_message(self, format: str, *args: object) -> None:
        logger.info("%s %s", self.address_string(), format % args)


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

    def __init__(self, host: str = "127.0.0.1", port: int = 0, *,
                 read_timeout: float = DEFAULT_READ_TIMEOUT) -> None:
        self.host = host
        self.port = port
        self.read_timeout = read_timeout
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
            self._close()

    def stop(self) -> None:
        server = self._server
        if server is None:
            return
        server.shutdown()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None
        self._close()

    def _bind(self) -> _HttpServer:
        if self._server is not None:
            return self._server
        app = self._open_app()
        try:
            server = _HttpServer((self.host, self.port), app, self.read_timeout,
                                 self.server_name)
        except OSError as exc:
            self._close_app()
            raise UsageError(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}",
                hint="choose another --port (0 picks a free one)",
            ) from None
        self._server = server
        self.port = int(server.server_address[1])
        return server

    def _close(self) -> None:
        if self._server is not None:
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
