"""The HTTP side of the simulator: one threaded server, one path per actor, bounded reads.

Nothing a client sends can make it hang or leak a traceback: reads time out, bodies have a size
limit (checked before reading), and every failure becomes a SOAP 1.2 fault.
"""

from __future__ import annotations

import logging
import socket
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from types import TracebackType
from urllib.parse import urlsplit

from lxml import etree

from ihe_test_util import __version__
from ihe_test_util.errors import UsageError
from ihe_test_util.ihe.namespaces import WSA
from ihe_test_util.sim.context import ActorContext, SimIdentity
from ihe_test_util.sim.profiles import Profile, get_profile
from ihe_test_util.sim.soap import (
    HttpAnswer,
    SoapFault,
    SoapReply,
    SoapRequest,
    parse_request,
    render_fault,
    render_reply,
)
from ihe_test_util.sim.store import Store
from ihe_test_util.sim.transactions import (
    ACTORS,
    Actor,
    actor_at,
    actor_named,
    transaction_for,
    transactions_of,
)
from ihe_test_util.sim.volatile import Volatility

logger = logging.getLogger("ihe_test_util.sim")

#: Largest request body accepted (bytes): room for a PnR with a few large documents.
DEFAULT_MAX_BODY_BYTES = 64 * 1024 * 1024
#: Seconds a connection may stay silent while a request is being read.
DEFAULT_READ_TIMEOUT = 10.0


class SimApp:
    """Request bytes in, response bytes out: dispatch, SOAP handling, faults."""

    def __init__(self, ctx: ActorContext, *, max_body_bytes: int) -> None:
        self.ctx = ctx
        self.max_body_bytes = max_body_bytes

    def answer(self, path: str, content_type: str | None, body: bytes) -> HttpAnswer:
        actor = actor_at(urlsplit(path).path)
        if actor is None:
            paths = ", ".join(a.path for a in ACTORS)
            return self.fault(SoapFault(
                "Sender", f"no IHE actor at {urlsplit(path).path!r}; actors are at {paths}",
                http_status=404,
            ))
        request: SoapRequest | None = None
        try:
            request = parse_request(body, content_type, max_bytes=self.max_body_bytes)
            reply = self._dispatch(actor, request)
            return render_reply(reply, request, style=self.ctx.style,
                                volatility=self.ctx.volatility)
        except SoapFault as fault:
            if fault.relates_to is None and request is not None:
                fault.relates_to = request.message_id
            return self.fault(fault)
        except Exception:  # a bug in an actor must still give the client a proper answer
            logger.exception("internal error while answering a request to %s", actor.path)
            return self.fault(SoapFault(
                "Receiver", "internal error in the simulator; see its log",
                relates_to=request.message_id if request is not None else None,
            ))

    def _dispatch(self, actor: Actor, request: SoapRequest) -> SoapReply:
        transaction = transaction_for(actor, request.action)
        if transaction is None:
            elsewhere = [a.path for a in ACTORS if transaction_for(a, request.action)]
            hint = f" (it is served at {elsewhere[0]})" if elsewhere else ""
            raise SoapFault(
                "Sender", f"action {request.action!r} is not supported by the "
                f"{actor.title} at {actor.path}{hint}",
                subcode=(WSA, "ActionNotSupported"), problem_action=request.action,
            )
        root = etree.QName(request.body)
        if (root.namespace, root.localname) != transaction.body:
            namespace, local = transaction.body
            raise SoapFault(
                "Sender", f"action {request.action} expects a {{{namespace}}}{local} body, "
                f"found {root.text}",
            )
        with self.ctx.store.transaction():
            return transaction.handler(request, self.ctx)

    def fault(self, fault: SoapFault) -> HttpAnswer:
        return render_fault(fault, style=self.ctx.style, volatility=self.ctx.volatility)


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], app: SimApp, read_timeout: float) -> None:
        self.app = app
        self.read_timeout = read_timeout
        super().__init__(address, _Handler)


class _BodyError(Exception):
    def __init__(self, fault: SoapFault) -> None:
        super().__init__(fault.reason)
        self.fault = fault


class _Handler(BaseHTTPRequestHandler):
    server: _HttpServer
    protocol_version = "HTTP/1.1"
    server_version = f"ihe-sim/{__version__}"

    def setup(self) -> None:
        super().setup()
        self.connection.settimeout(self.server.read_timeout)
        # headers and body leave in two writes: without TCP_NODELAY, Nagle's algorithm and
        # the client's delayed ACK add ~40 ms to every keep-alive exchange
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)

    def do_POST(self) -> None:
        app = self.server.app
        try:
            body = self._read_body(app.max_body_bytes)
        except _BodyError as error:
            self.close_connection = True
            self._send(app.fault(error.fault))
            return
        except TimeoutError:
            self.close_connection = True
            self._send(app.fault(SoapFault(
                "Sender", f"request body not received within {self.server.read_timeout:g} s",
                http_status=408,
            )))
            return
        if body is None:  # the client went away mid-body
            self.close_connection = True
            return
        self._send(app.answer(self.path, self.headers.get("Content-Type"), body))

    def do_GET(self) -> None:
        if urlsplit(self.path).path.rstrip("/") == "":
            text = index_text(self.server.app.ctx.profile, self._base_url())
            self._send(HttpAnswer(200, text.encode(), "text/plain; charset=utf-8"))
            return
        status = 405 if actor_at(urlsplit(self.path).path) else 404
        message = "use POST with a SOAP 1.2 request" if status == 405 else "no such path"
        self._send(HttpAnswer(status, message.encode(), "text/plain; charset=utf-8",
                              (("Allow", "POST"),) if status == 405 else ()))

    def _base_url(self) -> str:
        host, port = self.server.server_address[:2]
        return _url(str(host), int(port))

    def _read_body(self, limit: int) -> bytes | None:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked(limit)
        raw = self.headers.get("Content-Length")
        if raw is None:
            raise _BodyError(SoapFault(
                "Sender", "Content-Length header required", http_status=411,
            ))
        try:
            length = int(raw)
            if length < 0:
                raise ValueError(raw)
        except ValueError:
            raise _BodyError(SoapFault(
                "Sender", f"invalid Content-Length {raw!r}", http_status=400,
            )) from None
        if length > limit:
            raise _BodyError(_too_large(length, limit))
        body = self.rfile.read(length)
        return body if len(body) == length else None

    def _read_chunked(self, limit: int) -> bytes | None:
        parts: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            if not line:
                return None
            try:
                size = int(line.split(b";", 1)[0].strip(), 16)
            except ValueError:
                raise _BodyError(SoapFault(
                    "Sender", "malformed chunked transfer encoding", http_status=400,
                )) from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(parts)
            total += size
            if total > limit:
                raise _BodyError(_too_large(total, limit))
            chunk = self.rfile.read(size)
            if len(chunk) != size:
                return None
            parts.append(chunk)
            self.rfile.readline(1024)

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


def _too_large(size: int, limit: int) -> SoapFault:
    return SoapFault(
        "Sender", f"request body of {size:,} bytes exceeds the limit of {limit:,} bytes",
        http_status=413,
    )


def _url(host: str, port: int) -> str:
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def index_text(profile: Profile, base_url: str) -> str:
    """What ``GET /`` shows: the actors, their URLs and transactions."""
    lines = [f"ihe-test-utility simulator {__version__}, profile {profile.name}", ""]
    for actor in ACTORS:
        lines.append(f"{actor.title:28} {base_url}{actor.path}  "
                     f"{' '.join(transactions_of(actor))}")
    return "\n".join(lines) + "\n"


class Simulator:
    """An IHE endpoint on localhost: PIX Manager, PDQ Supplier, XDS.b Registry and Repository,
    XCPD Responding Gateway, behaving as ``profile`` says. A context manager::

        with Simulator(profile="baseline") as sim:
            requests.post(sim.url_for("registry"), ...)
    """

    def __init__(
        self, profile: str | Profile = "baseline", state_path: Path | str | None = None,
        host: str = "127.0.0.1", port: int = 0, *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        identity: SimIdentity | None = None, volatility: Volatility | None = None,
    ) -> None:
        self.profile = get_profile(profile)
        self.state_path = Path(state_path) if state_path is not None else None
        self.host = host
        self.port = port
        self.max_body_bytes = max_body_bytes
        self.read_timeout = read_timeout
        self.identity = identity or SimIdentity()
        self._volatility = volatility or Volatility()
        self._store: Store | None = None
        self._server: _HttpServer | None = None
        self._thread: threading.Thread | None = None

    # -- lifecycle --------------------------------------------------------------------------

    def start(self) -> Simulator:
        """Bind the port and serve in a background thread; returns once requests are accepted."""
        if self._server is not None:
            return self
        server = self._bind()
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.05},
            name=f"ihe-sim:{self.port}", daemon=True,
        )
        self._thread.start()
        return self

    def serve_forever(self, *, on_ready: Callable[[Simulator], None] | None = None) -> None:
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
        store = Store(self.state_path)
        ctx = ActorContext(store, self.profile, self.identity, self._volatility)
        try:
            server = _HttpServer((self.host, self.port), SimApp(
                ctx, max_body_bytes=self.max_body_bytes), self.read_timeout)
        except OSError as exc:
            store.close()
            raise UsageError(
                f"cannot listen on {self.host}:{self.port}: {exc.strerror or exc}",
                hint="choose another --port (0 picks a free one)",
            ) from None
        self._store = store
        self._server = server
        self.port = int(server.server_address[1])
        return server

    def _close(self) -> None:
        if self._server is not None:
            self._server.server_close()
            self._server = None
        if self._store is not None:
            self._store.close()
            self._store = None

    def __enter__(self) -> Simulator:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    # -- addresses --------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return _url(self.host, self.port)

    def url_for(self, actor: str) -> str:
        """URL of an actor by name (``pix``, ``pdq``, ``registry``, ``repository``, ``xcpd``)
        or by a transaction it serves (``ITI-41``)."""
        found = actor_named(actor)
        if found is None:
            names = ", ".join(a.name for a in ACTORS)
            raise UsageError(f"unknown actor {actor!r}", hint=f"actors are: {names}")
        return f"{self.base_url}{found.path}"

    def urls(self) -> dict[str, str]:
        """Actor name -> URL, for every actor."""
        return {actor.name: self.url_for(actor.name) for actor in ACTORS}

    @property
    def transactions(self) -> dict[str, list[str]]:
        """Actor name -> transaction ids it serves."""
        return {actor.name: transactions_of(actor) for actor in ACTORS}

    @property
    def store(self) -> Store:
        """The live state (tests inspect it); only while the simulator runs."""
        if self._store is None:
            raise UsageError("the simulator is not running")
        return self._store

