"""The recording proxy: an existing client (an EHR, SoapUI, zeep) talks through it, and every
exchange is forwarded unchanged and appended to a cassette as it completes.

It is a :class:`~ihe_test_util.transport.endpoint.LocalEndpoint` (a thread per client
connection) whose app forwards through one :class:`~ihe_test_util.transport.http.HttpTransport`
(a requests session per thread), so concurrent clients never share a session, and nothing is
patched process-wide (vcrpy's patching loses recordings under threads). Bodies pass byte for
byte both ways; hop-by-hop headers (:mod:`ihe_test_util.transport.hop_by_hop`) are not
forwarded and ``Content-Length`` is recomputed.

The exchange is appended (redacted, atomically) *before* the response goes back to the client,
so whatever a client has received is in the cassette, even if the proxy is killed right after;
exchanges of concurrent clients that complete together share one write
(:class:`~ihe_test_util.cassette.store.GroupCommit`). An upstream that gives no complete answer
(down, reset, stalled past the timeout, broken framing: every
:class:`~ihe_test_util.errors.TransportError`) gets the client a 502 with a failure in its own
dialect (:func:`fault_answer`) naming the upstream failure, never a made-up success; it is
reported as a failure, counted, and not recorded.

Routing by path prefix is :mod:`.routes`.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from urllib.parse import urlsplit

from ihe_test_util import __version__
from ihe_test_util.cassette.store import CassetteWriter, GroupCommit, now_utc
from ihe_test_util.errors import IheTestError
from ihe_test_util.ihe.message import read_message
from ihe_test_util.ihe.namespaces import SOAP12
from ihe_test_util.model import Interaction, InteractionMeta, Request
from ihe_test_util.record.responses import read_response
from ihe_test_util.record.routes import Routes
from ihe_test_util.transport.content import media_type_of
from ihe_test_util.transport.endpoint import (
    DEFAULT_MAX_BODY_BYTES,
    HttpAnswer,
    HttpApp,
    HttpCall,
    LocalEndpoint,
    relayed,
)
from ihe_test_util.transport.hop_by_hop import end_to_end
from ihe_test_util.transport.http import HttpTransport, TransportOptions
from ihe_test_util.transport.soap_server import FaultReply, client_soap_version, render_fault_for

logger = logging.getLogger("ihe_test_util.record.proxy")

#: Seconds a client connection may stay idle: clients (an EHR's connection pool) keep
#: connections open between exchanges, far longer than a test endpoint's read timeout.
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


class ProxyApp(HttpApp):
    """Forwards each call to its upstream in ``routes`` and commits the exchange to
    ``writer`` before answering; reports every exchange and failure to ``on_event``."""

    def __init__(self, routes: Routes, writer: CassetteWriter, transport: HttpTransport,
                 on_event: Callable[[ProxyEvent], None], max_body_bytes: int) -> None:
        self.routes = routes
        self.writer = writer
        self.transport = transport
        self.on_event = on_event
        self.max_body_bytes = max_body_bytes
        self.failures = 0
        self._lock = threading.Lock()
        self._commits = GroupCommit(writer)

    def handle(self, call: HttpCall) -> HttpAnswer:
        upstream = self.routes.choose(urlsplit(call.path).path)
        if upstream is None:
            known = ", ".join(u.prefix for u in self.routes.upstreams)
            return self.reject(call, None, 404, f"no --upstream for path {call.path} "
                               f"(prefixes: {known})")
        url = upstream.target(call.path)
        request = Request(call.method, url, end_to_end(call.headers), call.body)
        try:
            response, elapsed = self.transport.send(request)
        except IheTestError as exc:
            return self.reject(call, url, 502, exc.message, exc.hint)
        except Exception as exc:  # a bug of ours: the client still gets an answer, not a reset
            logger.debug("forwarding %s %s failed", call.method, url, exc_info=True)
            return self.reject(call, url, 502, f"internal error: {type(exc).__name__}: {exc}",
                               "this is a bug in ihe-test-utility; please report it")
        reading = read_response(request, response, None)
        try:
            number = self._commits.commit(Interaction(request, response, InteractionMeta(
                transaction=reading.transaction, endpoint=upstream.name,
                duration_ms=round(elapsed, 3), recorded_at=now_utc(),
            )))
        except IheTestError as exc:  # the client still gets its answer
            self._count_failure()
            self.on_event(ProxyFailure(call.method, call.path, url, response.status,
                                       f"answered but NOT recorded: {exc.message}", exc.hint,
                                       recorded=False))
        else:
            self.on_event(ProxyExchange(number, call.method, call.path, url, response.status,
                                        elapsed, reading.transaction, reading.status))
        return relayed(response, call.method)

    def problem(self, status: int, reason: str, call: HttpCall) -> HttpAnswer:
        return self.reject(call, None, status, reason)

    def reject(self, call: HttpCall, url: str | None, status: int, message: str,
               hint: str | None = None) -> HttpAnswer:
        """Report a request without an answer from upstream; the client gets a SOAP Fault."""
        self._count_failure()
        self.on_event(ProxyFailure(call.method, call.path, url, status, message, hint))
        return fault_answer(status, message, hint, call)

    def _count_failure(self) -> None:
        with self._lock:  # handler threads count concurrently
            self.failures += 1


def fault_answer(status: int, message: str, hint: str | None,
                 call: HttpCall | None = None) -> HttpAnswer:
    """Why the proxy has no answer, in the dialect of the client's request: a SOAP 1.2 or 1.1
    Fault matching its envelope (Receiver/Server for an upstream without answer,
    Sender/Client for a request the proxy cannot take), a FHIR OperationOutcome for a JSON
    request, plain text otherwise."""
    reason = f"ihe record proxy: {message}" + (f" ({hint})" if hint else "")
    dialect = _dialect(call) if call is not None else SOAP12
    if dialect == "json":
        outcome = {"resourceType": "OperationOutcome", "issue": [{
            "severity": "error", "code": "transient" if status >= 500 else "invalid",
            "diagnostics": reason}]}
        return HttpAnswer(status, json.dumps(outcome).encode("utf-8"),
                          "application/fhir+json; charset=UTF-8")
    if dialect == "text":
        return HttpAnswer(status, (reason + "\n").encode("utf-8"), "text/plain; charset=UTF-8")
    fault = FaultReply("Sender" if status < 500 else "Receiver", reason, http_status=status)
    return render_fault_for(fault, dialect)


def _dialect(call: HttpCall) -> str:
    """What the client speaks: its SOAP version (:func:`client_soap_version`, which decides the
    fault's SOAP version), else json or text."""
    version = client_soap_version(call)
    if version is not None:
        return version
    if call.body and read_message(call.body, call.headers).kind == "json":
        return "json"
    media = media_type_of(call.content_type)[0] if call.content_type else ""
    accept = (call.headers.get("Accept") or "").lower()
    return "json" if "json" in media or "json" in accept else "text"


class RecordingProxy(LocalEndpoint):
    """Forwards to ``routes`` and appends every completed exchange to ``writer``::

        with RecordingProxy(Routes.parse(["http://reg:8080"]), writer) as proxy:
            proxy.url   # point the client here

    :meth:`stop` lets exchanges in flight finish (and be recorded) for up to the transport
    timeout, then closes the connections that are left.
    """

    server_name = f"ihe-record-proxy/{__version__}"
    methods = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"})
    length_required: frozenset[str] = frozenset()  # no length and no chunks: no body
    port_hint = "choose another --proxy port (0 picks a free one)"

    def __init__(
        self, routes: Routes, writer: CassetteWriter, *, options: TransportOptions | None = None,
        host: str = "127.0.0.1", port: int = 0, on_event: Callable[[ProxyEvent], None] | None
        = None, max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
    ) -> None:
        transport = HttpTransport(replace(options or TransportOptions(), url_source="--upstream"))
        super().__init__(host, port, read_timeout=idle_timeout,
                         drain_timeout=transport.options.timeout)
        self.app = ProxyApp(routes, writer, transport, on_event or (lambda event: None),
                            max_body_bytes)

    def _open_app(self) -> ProxyApp:
        return self.app

    def _close_app(self) -> None:
        self.app.transport.close()
        self.app.writer.close()  # its spare copy: nothing is appended once stopped

    @property
    def routes(self) -> Routes:
        return self.app.routes

    @property
    def failures(self) -> int:
        """Requests the proxy could not forward or record."""
        return self.app.failures

    @property
    def recorded(self) -> int:
        return self.app.writer.count

    @property
    def address(self) -> tuple[str, int]:
        return self.host, self.port

    @property
    def url(self) -> str:
        """Where clients point (:attr:`base_url`)."""
        return self.base_url
