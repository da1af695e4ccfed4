"""The MLLP recording proxy: an HL7 v2 client (an HIS, python-hl7's ``mllp_send``) talks
through it, and each message and its reply become one cassette exchange.

``ihe record --proxy HOST:PORT --upstream mllp://host:port`` runs it (the upstream's scheme
decides; ``mllps://`` reaches the upstream over TLS). It runs on the one MLLP server
(:mod:`ihe_test_util.transport.mllp_server`): a thread per client connection, and each client
connection keeps **one** upstream connection (its own
:class:`~ihe_test_util.transport.mllp.MllpTransport`), so the upstream sees the client's
messages on one connection, in order, as it would without the proxy.

The exchange (``mllp://`` URI of the upstream, message and reply without framing, exact bytes)
is appended (redacted, atomically) *before* the reply goes back to the client. When the
upstream gives no reply (down, reset, timed out, broken framing, out of step: every
:class:`~ihe_test_util.errors.TransportError`) the client gets an ACK with MSA-1 ``AR``
(unreachable: the message was not delivered) or ``AE`` (it may have been processed) whose
MSA-3 and ERR name the failure; that made-up ACK is reported as a failure and **not**
recorded. An AE / AR the upstream itself sent is a reply like any other, recorded. The proxy
keeps serving: the next message opens a new upstream connection.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass, field, replace

from ihe_test_util.cassette.store import CassetteWriter, GroupCommit, now_utc
from ihe_test_util.errors import EndpointUnreachable, IheTestError, TlsError, TransportError
from ihe_test_util.ihe.builders.hl7v2 import ack
from ihe_test_util.ihe.er7 import FieldRef, decode_er7, read_field
from ihe_test_util.model import Interaction, InteractionMeta, Request
from ihe_test_util.record.proxy import ProxyEvent, ProxyExchange, ProxyFailure
from ihe_test_util.record.responses import read_response
from ihe_test_util.transport.http import TransportOptions
from ihe_test_util.transport.mllp import MLLP_METHOD, MllpAddress, MllpTransport
from ihe_test_util.transport.mllp_server import DEFAULT_IDLE_TIMEOUT, MllpServer

logger = logging.getLogger("ihe_test_util.record.mllp_proxy")

#: What :class:`ProxyFailure.status` says for an MLLP failure answer (MLLP has no status):
#: the gateway status the HTTP proxy uses for the same case.
FAILURE_STATUS = 502


@dataclass
class _Shared:
    """What every client connection's session shares."""

    upstream: str
    options: TransportOptions
    commits: GroupCommit
    on_event: Callable[[ProxyEvent], None]
    failures: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def failed(self) -> None:
        with self.lock:
            self.failures += 1


class _ProxySession:
    """One client connection: its own upstream connection, messages forwarded in order."""

    def __init__(self, shared: _Shared) -> None:
        self.shared = shared
        self.transport = MllpTransport(shared.options, warn=False)

    def handle(self, message: bytes) -> bytes:
        shared = self.shared
        request = Request(method=MLLP_METHOD, uri=shared.upstream, body=message)
        kind = _message_type(message)
        try:
            response, elapsed = self.transport.send(request)
        except TransportError as exc:
            code = "AR" if isinstance(exc, EndpointUnreachable | TlsError) else "AE"
            return self._failure(message, kind, code, exc.message, exc.hint)
        except Exception as exc:  # a bug of ours: the client still gets an answer
            logger.debug("forwarding to %s failed", shared.upstream, exc_info=True)
            return self._failure(message, kind, "AE", f"internal error: {type(exc).__name__}: "
                                 f"{exc}", "this is a bug in ihe-test-utility; please report it")
        reading = read_response(request, response, None)
        try:
            number = shared.commits.commit(Interaction(request, response, InteractionMeta(
                transaction=reading.transaction, endpoint=MllpAddress.parse(shared.upstream).host,
                duration_ms=round(elapsed, 3), recorded_at=now_utc())))
        except IheTestError as exc:  # the client still gets the upstream's reply
            shared.failed()
            shared.on_event(ProxyFailure(MLLP_METHOD, kind, shared.upstream, 200,
                                         f"answered but NOT recorded: {exc.message}", exc.hint))
        else:
            shared.on_event(ProxyExchange(number, MLLP_METHOD, kind, shared.upstream, 200,
                                          elapsed, reading.transaction, reading.status))
        return response.body

    def _failure(self, message: bytes, kind: str, code: str, text: str,
                 hint: str | None) -> bytes:
        shared = self.shared
        shared.failed()
        shared.on_event(ProxyFailure(MLLP_METHOD, kind, shared.upstream, FAILURE_STATUS,
                                     f"ACK {code} sent to the client: {text}", hint))
        return ack(message, code, f"ihe record proxy: upstream {shared.upstream}: {text}")

    def close(self) -> None:
        self.transport.close()


def _message_type(message: bytes) -> str:
    """MSH-9 as ``ADT^A01`` for the proxy's lines (``?`` when unreadable)."""
    try:
        text = decode_er7(message)[0]
        return "^".join(filter(None, (read_field(text, FieldRef.parse("MSH-9.1")),
                                      read_field(text, FieldRef.parse("MSH-9.2"))))) or "?"
    except ValueError:
        return "?"


class MllpRecordingProxy(MllpServer):
    """Forwards to ``upstream`` (``mllp(s)://host:port``) and appends every exchange::

        with MllpRecordingProxy("mllp://pix:2575", writer) as proxy:
            proxy.url   # point the HL7 client here
    """

    port_hint = "choose another --proxy port (0 picks a free one)"

    def __init__(self, upstream: str, writer: CassetteWriter, *,
                 options: TransportOptions | None = None, host: str = "127.0.0.1",
                 port: int = 0, on_event: Callable[[ProxyEvent], None] | None = None,
                 idle_timeout: float = DEFAULT_IDLE_TIMEOUT) -> None:
        address = MllpAddress.parse(upstream)  # a UsageError for a bad URL, before binding
        scheme = "mllps" if address.tls else "mllp"
        self.upstream = f"{scheme}://{address.host}:{address.port}"
        self.writer = writer
        options = replace(options or TransportOptions(), url_source="--upstream")
        self.shared = _Shared(self.upstream, options, GroupCommit(writer),
                              on_event or (lambda event: None))
        super().__init__(lambda peer: _ProxySession(self.shared), host=host, port=port,
                         idle_timeout=idle_timeout)

    def stop(self, *, drain_timeout: float | None = None) -> None:
        super().stop(drain_timeout=self.shared.options.timeout if drain_timeout is None
                     else drain_timeout)
        self.writer.close()

    @property
    def failures(self) -> int:
        return self.shared.failures

    @property
    def recorded(self) -> int:
        return self.writer.count


__all__ = ["MllpRecordingProxy"]
