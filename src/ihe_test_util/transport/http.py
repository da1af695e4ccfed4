"""Sending one :class:`~ihe_test_util.model.Request` over HTTP(S) and getting the exact response.

Record and replay both go through :class:`HttpTransport`, so what is written to a cassette and
what is compared on replay are the same octets the server sent. Every way of not getting a
response becomes one of the :mod:`ihe_test_util.errors` transport errors, with the URL and a
hint saying what to change; nothing from requests or urllib3 leaks out.

Bodies are returned as they came off the wire (after HTTP chunked framing is removed): a
``Content-Encoding`` is *not* undone, so body and headers stay consistent in a cassette. Unless
the request says otherwise, we ask for ``Accept-Encoding: identity`` so servers rarely
compress; :func:`decoded_body` undoes gzip/deflate for readers that need the payload.

A broken server is a :class:`~ihe_test_util.errors.TransportError` of that exchange, whatever
the phase: ``timeout`` is a deadline for the whole exchange (a watchdog thread shuts the socket
of an exchange that overruns it, so a server trickling its headers a byte at a time cannot hold
a run), a header block cut off by the connection closing is not a response, and a body that is
cut short, longer than its ``Content-Length``, badly chunked, larger than ``max_body_bytes`` or
not decodable in its declared gzip/deflate coding is an error, never a truncated answer.
"""

from __future__ import annotations

import contextlib
import heapq
import http.client
import itertools
import socket
import ssl
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urljoin

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

from ihe_test_util import __version__
from ihe_test_util.errors import (
    ConfigError,
    EndpointTimeout,
    EndpointUnreachable,
    TlsError,
    TransportError,
    UsageError,
)
from ihe_test_util.model import Headers, Request, Response
from ihe_test_util.transport.content import decode_content
from ihe_test_util.transport.endpoint import DEFAULT_MAX_BODY_BYTES
from ihe_test_util.transport.hop_by_hop import end_to_end

_READ_CHUNK = 64 * 1024
#: Largest response body accepted (bytes): what the local servers accept as a request body, so
#: whatever a system answers can be recorded, served and replayed.
DEFAULT_MAX_RESPONSE_BYTES = DEFAULT_MAX_BODY_BYTES


#: The one wording of what ``verify=False`` (``--insecure``) means: warned by the transport, and
#: shown by the CLI where a person sees it first.
INSECURE_WARNING = (
    "TLS certificate verification is OFF (--insecure): any server, including an attacker in "
    "the middle, is accepted and may read IHE messages with patient data. Use only against "
    "test systems, or give a CA bundle (tls.verify = \"ca.pem\") instead."
)


class InsecureTransportWarning(UserWarning):
    """TLS certificate verification is switched off for an endpoint (``--insecure``)."""


@dataclass(frozen=True)
class TransportOptions:
    """How to reach endpoints.

    ``timeout``: seconds for the whole exchange (connect + send + headers + body): a deadline.
    ``connect_timeout``: seconds to establish the connection (default: ``timeout``).
    ``verify``: True (system CAs), False (no verification: warns loudly) or a CA bundle path.
    ``cert`` / ``key``: client certificate and key (PEM files) for mutual TLS.
    ``headers``: sent with every request unless the request has its own value.
    ``max_body_bytes``: a larger response body is an error (default
    :data:`DEFAULT_MAX_RESPONSE_BYTES`).
    ``url_source``: where the endpoint URL was given, named in hints (``--upstream`` for the
    recording proxy).
    """

    timeout: float = 30.0
    connect_timeout: float | None = None
    verify: bool | str = True
    cert: str | None = None
    key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    max_body_bytes: int | None = None
    url_source: str = "--target or ihe.toml"

    def __post_init__(self) -> None:
        if not self.timeout > 0:
            raise ConfigError(f"timeout must be a positive number of seconds, got {self.timeout}",
                              key="timeout")
        if self.connect_timeout is not None and not self.connect_timeout > 0:
            raise ConfigError(
                f"connect timeout must be a positive number of seconds, got "
                f"{self.connect_timeout}", key="connect_timeout",
            )
        if isinstance(self.verify, str) and not Path(self.verify).exists():
            raise ConfigError(
                f"CA bundle {self.verify!r} does not exist", key="tls.verify",
                hint="give the path of a PEM file (or directory) holding the CA certificates "
                     "that signed the server's certificate",
            )
        if self.key is not None and self.cert is None:
            raise ConfigError("a client key was given without a client certificate",
                              key="tls.cert", hint="set tls.cert to the PEM certificate file")
        for name, path in (("tls.cert", self.cert), ("tls.key", self.key)):
            if path is not None and not Path(path).is_file():
                raise ConfigError(f"file {path!r} does not exist", key=name,
                                  hint="give the path of a PEM file")


class HttpTransport:
    """Sends requests with one ``requests.Session`` per thread (sessions are not thread-safe).

    Use from as many threads as needed; :meth:`close` (or ``with``) closes every session.
    """

    def __init__(self, options: TransportOptions | None = None) -> None:
        self.options = options or TransportOptions()
        self._local = threading.local()
        # session per live thread; sessions of finished threads are closed as new ones start
        # (a proxy serving each client connection in its own thread would otherwise leak)
        self._sessions: dict[threading.Thread, requests.Session] = {}
        self._lock = threading.Lock()
        if self.options.verify is False:
            warn_insecure()

    # -- public ----------------------------------------------------------------------------

    def send(self, request: Request) -> tuple[Response, float]:
        """Send ``request``; return the response and the elapsed time in milliseconds.

        Raises :class:`EndpointUnreachable`, :class:`EndpointTimeout`, :class:`TlsError` or
        :class:`TransportError` (all carry the URL and a hint) when no response was obtained.
        An HTTP error status or a SOAP Fault is a response, not an exception.
        """
        session = self._session()
        opts = self.options
        started = time.perf_counter()
        deadline = _Deadline()
        _WATCHDOG.watch(started + opts.timeout, deadline)
        _exchange.deadline = deadline
        try:
            response = self._exchange(session, request)
        except TransportError:
            if deadline.expired:
                raise _overrun(request.uri, opts) from None
            raise
        except requests.RequestException as exc:
            if deadline.expired:
                raise _overrun(request.uri, opts) from None
            raise _translate(exc, request.uri, opts) from None
        except (urllib3.exceptions.HTTPError, http.client.HTTPException, OSError) as exc:
            if deadline.expired:
                raise _overrun(request.uri, opts) from None
            raise _broken(exc, request.uri, opts) from None
        finally:
            deadline.finish()
            _exchange.deadline = None
        if deadline.expired:  # a body read until close ends quietly when the watchdog closes
            raise _overrun(request.uri, opts)
        _check_answer(request, response)
        return response, (time.perf_counter() - started) * 1000.0

    def _exchange(self, session: requests.Session, request: Request) -> Response:
        opts = self.options
        limit = opts.max_body_bytes or DEFAULT_MAX_RESPONSE_BYTES
        with session.request(
            request.method, request.uri, data=request.body or None,
            headers=_outgoing_headers(request.headers), stream=True,
            timeout=(opts.connect_timeout or opts.timeout, opts.timeout),
            allow_redirects=False,
        ) as raw:
            body = _read_body(raw, limit, request.uri)
            return Response(
                status=raw.status_code, reason=raw.reason or "",
                headers=Headers(raw.raw.headers.items()), body=body,
            )

    def close(self) -> None:
        with self._lock:
            sessions, self._sessions = list(self._sessions.values()), {}
        for session in sessions:
            session.close()

    def __enter__(self) -> HttpTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- internals -------------------------------------------------------------------------

    def _session(self) -> requests.Session:
        session: requests.Session | None = getattr(self._local, "session", None)
        if session is None:
            session = self._new_session()
            self._local.session = session
            with self._lock:
                finished = [t for t in self._sessions if not t.is_alive()]
                stale = [self._sessions.pop(t) for t in finished]
                self._sessions[threading.current_thread()] = session
            for old in stale:
                old.close()
        return session

    def _new_session(self) -> requests.Session:
        opts = self.options
        session = requests.Session()
        session.trust_env = False  # no proxies or .netrc from the environment: exact bytes
        session.headers.clear()
        session.headers.update({
            "User-Agent": f"ihe-test-utility/{__version__}",
            "Accept-Encoding": "identity",
        })
        session.headers.update(opts.headers)
        session.verify = opts.verify
        if opts.cert is not None:
            session.cert = (opts.cert, opts.key) if opts.key else opts.cert
        adapter = _Adapter(unverified=opts.verify is False)
        session.mount("http://", adapter)
        session.mount("https://", adapter)
        return session


def warn_insecure() -> None:
    """Say loudly, once per transport, that certificates are not checked.

    urllib3's own ``InsecureRequestWarning`` would repeat on *every* request; the transport's
    connection pool deliberately skips it (see :class:`_UnverifiedHTTPSConnectionPool`)
    because this warning already said it once, where a person will see it.
    """
    warnings.warn(INSECURE_WARNING, InsecureTransportWarning, stacklevel=3)


# -- the exchange deadline ----------------------------------------------------------------


class _Deadline:
    """One exchange's deadline: when it passes, the socket in use is shut down, so whatever
    read is waiting returns at once (the exchange then fails as :func:`_overrun`)."""

    __slots__ = ("_finished", "_lock", "_socket", "expired")

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._socket: socket.socket | None = None
        self._finished = False
        self.expired = False

    @property
    def finished(self) -> bool:
        return self._finished

    def attach(self, sock: socket.socket | None) -> None:
        """The socket the exchange uses now (a new or a pooled connection)."""
        with self._lock:
            if self._finished or sock is None:
                return
            self._socket = sock
            if self.expired:
                _shut(sock)

    def expire(self) -> None:
        with self._lock:
            if self._finished:
                return
            self.expired = True
            if self._socket is not None:
                _shut(self._socket)

    def finish(self) -> None:
        with self._lock:
            self._finished = True
            self._socket = None


def _shut(sock: socket.socket) -> None:
    """Shut the TCP connection under ``sock`` (a TLS socket's own ``shutdown`` would tear down
    the TLS state another thread is reading with)."""
    with contextlib.suppress(OSError):
        socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watchdog:
    """One daemon thread expiring the deadlines of every exchange of the process, in order.

    Cheap per exchange: deadlines that finished are dropped from the head of the queue as new
    ones arrive (so the queue holds about as many entries as exchanges are running), and the
    thread is woken only when a new deadline is earlier than the one it is waiting for (with
    one timeout for every exchange, almost never): no thread switch per exchange.
    """

    def __init__(self) -> None:
        self._state = threading.Condition()
        self._queue: list[tuple[float, int, _Deadline]] = []
        self._numbers = itertools.count()
        self._thread: threading.Thread | None = None
        #: When the thread wakes up next by itself (None: it waits to be notified).
        self._wakes_at: float | None = None

    def watch(self, when: float, deadline: _Deadline) -> None:
        with self._state:
            queue = self._queue
            while queue and queue[0][2].finished:
                heapq.heappop(queue)
            heapq.heappush(queue, (when, next(self._numbers), deadline))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="ihe-http-deadlines",
                                                daemon=True)
                self._thread.start()
            if self._wakes_at is None or when < self._wakes_at:
                self._state.notify()

    def _run(self) -> None:
        while True:
            with self._state:
                queue = self._queue
                while queue and queue[0][2].finished:
                    heapq.heappop(queue)
                if not queue:
                    self._wakes_at = None
                    self._state.wait()
                    continue
                when = queue[0][0]
                wait = when - time.perf_counter()
                if wait > 0:
                    self._wakes_at = when
                    self._state.wait(wait)
                    self._wakes_at = None
                    continue
                deadline = heapq.heappop(queue)[2]
            deadline.expire()


_WATCHDOG = _Watchdog()
#: The deadline of the exchange the current thread is running (connections attach to it).
_exchange = threading.local()


def _attach(sock: socket.socket | None) -> None:
    deadline: _Deadline | None = getattr(_exchange, "deadline", None)
    if deadline is not None:
        deadline.attach(sock)


class _HeaderLines:
    """``fp`` as http.client reads a header block from it, remembering the last line: a block
    ended by the connection closing instead of a blank line is cut off, not complete."""

    def __init__(self, fp: Any) -> None:
        self._fp = fp
        self.last = b"\r\n"

    def readline(self, limit: int = -1) -> bytes:
        line: bytes = self._fp.readline(limit)
        self.last = line
        return line

    def __getattr__(self, name: str) -> Any:
        return getattr(self._fp, name)


class _CheckedResponse(http.client.HTTPResponse):
    """http.client's response, refusing a header block that the connection cut off."""

    def begin(self) -> None:
        fp = self.fp
        lines = _HeaderLines(fp)
        self.fp = lines  # type: ignore[assignment]
        try:
            super().begin()
        finally:
            if self.fp is not None:  # (http.client drops its fp when the status line is bad)
                self.fp = fp
        if lines.last == b"":
            raise _HeaderBlockCut()


class _HeaderBlockCut(http.client.HTTPException):
    def __init__(self) -> None:
        super().__init__("the header block was cut off: the connection closed before the "
                         "blank line that ends it")


class _WatchedHTTPConnection(HTTPConnection):
    """An HTTP connection whose socket the exchange's deadline can shut."""

    response_class = _CheckedResponse

    def connect(self) -> None:
        super().connect()
        _attach(self.sock)

    def request(self, *args: Any, **kwargs: Any) -> None:
        _attach(self.sock)  # a pooled connection (None when new: connect attaches)
        super().request(*args, **kwargs)


class _WatchedHTTPSConnection(_WatchedHTTPConnection, HTTPSConnection):
    """:class:`_WatchedHTTPConnection` over TLS (its ``connect`` wraps the TLS one)."""


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _WatchedHTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _WatchedHTTPSConnection


class _UnverifiedHTTPSConnectionPool(_HTTPSPool):
    """An HTTPS pool for ``verify=False`` that does not warn per request.

    Mirrors urllib3's ``_validate_conn`` minus the warning; changing global warning filters
    instead would not be thread-safe and would leak into the caller's process.
    """

    def _validate_conn(self, conn: HTTPConnection) -> None:  # type: ignore[override]
        HTTPConnectionPool._validate_conn(self, conn)
        if conn.is_closed:
            conn.connect()


class _Adapter(HTTPAdapter):
    """No retries (a retried POST could submit a document twice); connections the exchange
    deadline can shut; quiet pool when unverified."""

    def __init__(self, *, unverified: bool) -> None:
        self._unverified = unverified
        super().__init__(pool_connections=4, pool_maxsize=4, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {
            "http": _HTTPPool,
            "https": _UnverifiedHTTPSConnectionPool if self._unverified else _HTTPSPool,
        }


def decoded_body(response: Response) -> bytes:
    """The body with its ``Content-Encoding`` undone (gzip, deflate, br, stacked; a size cap
    against decompression bombs): :func:`~ihe_test_util.transport.content.decode_content`."""
    coding = response.headers.get("Content-Encoding")
    try:
        return decode_content(response.body, coding)
    except ValueError as exc:
        raise TransportError(str(exc), hint="ask the server for identity or gzip encoding") \
            from None


def _outgoing_headers(headers: Headers) -> dict[str, str]:
    """The request's headers without hop-by-hop ones (a recorded ``Host`` would name the old
    server; the framing is recomputed for each send); repeated names joined per RFC 9110."""
    clean = end_to_end(headers)
    return {name: ", ".join(values) for name, values in clean.as_multidict().items()}


def _read_body(raw: requests.Response, limit: int, url: str) -> bytes:
    """Read the body exactly as sent (framing removed, coding kept), at most ``limit`` bytes.

    The exchange's deadline is the watchdog's (:class:`_Deadline`); ``read1`` returns after
    one socket read, so a body larger than ``limit`` is refused as it arrives.
    """
    stream: urllib3.response.BaseHTTPResponse = raw.raw
    declared = _content_length(raw.headers.get("Content-Length"))
    if declared is not None and declared > limit:
        raise _oversized(declared, limit, url)
    inner = getattr(stream, "_fp", None)
    chunks: list[bytes] = []
    total = 0
    while True:
        _check_overlong(inner, url)
        chunk = stream.read1(_READ_CHUNK, decode_content=False)
        if not chunk:
            break
        total += len(chunk)
        if total > limit:
            raise _oversized(total, limit, url)
        chunks.append(chunk)
    return b"".join(chunks)


def _content_length(text: str | None) -> int | None:
    try:
        return int(text) if text is not None else None
    except ValueError:
        return None


def _oversized(size: int, limit: int, url: str) -> TransportError:
    return TransportError(
        f"the response body exceeds the limit of {limit:,} bytes (at least {size:,} bytes)",
        url=url, hint="the server sends far more than an IHE answer should hold",
    )


def _check_overlong(inner: Any, url: str) -> None:
    """A ``Content-Length`` body followed by more bytes than it announced: the framing is wrong
    and the body read is only part of what the server meant (http.client would drop the rest).

    Looks at what the connection has already buffered beyond the announced length; ``peek``
    reads the socket only when nothing is buffered (the next read would wait for it anyway).
    """
    if not isinstance(inner, http.client.HTTPResponse) or inner.chunked:
        return
    remaining, buffered = inner.length, inner.fp
    if not remaining or buffered is None:
        return
    ahead = len(buffered.peek(remaining + 1))
    if ahead > remaining:
        raise TransportError(
            "the server sent more bytes than its Content-Length announced",
            url=url, hint="the response framing is broken: the server (or a front end) "
                          "miscomputes Content-Length",
        )


def _check_answer(request: Request, response: Response) -> None:
    """What arrived complete but is no answer: a redirect to the very URL asked for (a loop:
    requests are never redirected, a client following it would go round for ever) or a body
    that is not what its ``Content-Encoding`` says."""
    location = response.headers.get("Location")
    if 300 <= response.status < 400 and location is not None \
            and urljoin(request.uri, location.strip()) == request.uri:
        raise TransportError(
            f"HTTP {response.status} redirects to the URL requested (a redirect loop)",
            url=request.uri, hint="the server's configuration sends this path back to itself",
        )
    coding = response.headers.get("Content-Encoding")
    if coding and response.body:
        try:  # the one table of content codings (transport/content.py)
            decode_content(response.body, coding)
        except ValueError as exc:
            raise TransportError(f"the response {exc}", url=request.uri,
                                 hint="the server declares a Content-Encoding its body does "
                                      "not have") from None



def _overrun(url: str, opts: TransportOptions) -> EndpointTimeout:
    return EndpointTimeout(
        f"no response within {opts.timeout:g} s (the deadline of the whole exchange)", url=url,
        hint="the server accepted the connection but did not finish answering in time (it "
             "stalled, or trickled the response); raise --timeout if it is just slow",
    )


def _broken(exc: BaseException, url: str, opts: TransportOptions) -> TransportError:
    """An error from below requests (urllib3, http.client, the socket) while the response was
    read: the server broke the exchange."""
    text = _reason(exc)
    if isinstance(exc, (urllib3.exceptions.ReadTimeoutError, TimeoutError)):
        return EndpointTimeout(
            f"the response stalled: nothing arrived within {opts.timeout:g} s", url=url,
            hint="the server stopped sending mid-response; raise --timeout if it is just slow",
        )
    if isinstance(exc, (urllib3.exceptions.ProtocolError, OSError)):
        return TransportError(f"the response was cut off ({text})", url=url,
                              hint="the server closed or reset the connection mid-response")
    return TransportError(f"invalid HTTP response ({text})", url=url,
                          hint="the server does not speak HTTP/1.1 correctly here")


def _translate(exc: requests.RequestException, url: str, opts: TransportOptions) -> Exception:
    """Turn a requests exception into the matching error with an actionable hint."""
    text = _reason(exc)
    if isinstance(exc, requests.exceptions.SSLError) or _looks_like_tls(text):
        return TlsError(f"TLS failure: {text}", url=url, hint=_tls_hint(text, opts))
    if isinstance(exc, requests.exceptions.ConnectTimeout):
        limit = opts.connect_timeout or opts.timeout
        return EndpointTimeout(
            f"no connection within {limit:g} s", url=url,
            hint="check that the host and port are right and reachable from here "
                 "(firewall, VPN); raise the connect timeout if the network is slow",
        )
    if isinstance(exc, requests.exceptions.Timeout):
        return EndpointTimeout(
            f"no response within {opts.timeout:g} s", url=url,
            hint="the server accepted the connection but did not answer in time; "
                 "raise --timeout if it is just slow",
        )
    if isinstance(exc, (requests.exceptions.InvalidURL, requests.exceptions.MissingSchema,
                        requests.exceptions.InvalidSchema, requests.exceptions.URLRequired)):
        return UsageError(f"{url}: not a usable http(s) URL ({text})",
                          hint="write the endpoint as http://host:port/path or https://...")
    if isinstance(exc, requests.exceptions.ConnectionError):
        if _is_protocol_error(exc):
            return TransportError(
                f"the connection was closed before a complete response arrived ({text})",
                url=url, hint="the server dropped the request; check its logs",
            )
        return EndpointUnreachable(
            f"cannot connect ({text})", url=url,
            hint="is the server running and listening on that host and port? "
                 f"Check the URL (scheme, host, port) in {opts.url_source}",
        )
    if isinstance(exc, requests.exceptions.ChunkedEncodingError):
        return TransportError(f"the response was cut off ({text})", url=url,
                              hint="the server closed the connection mid-response")
    return TransportError(f"request failed: {text}", url=url)


def _reason(exc: BaseException) -> str:
    """The innermost meaningful message (requests nests urllib3 nests socket/ssl errors)."""
    seen: list[BaseException] = []
    current: BaseException | None = exc
    while current is not None and current not in seen:
        seen.append(current)
        inner = getattr(current, "reason", None)
        if isinstance(inner, BaseException):
            current = inner
            continue
        args = getattr(current, "args", ())
        nested = next((a for a in args if isinstance(a, BaseException)), None)
        current = nested if nested is not None else current.__cause__ or current.__context__
    for candidate in reversed(seen):
        if isinstance(candidate, (ssl.SSLError, OSError)) and str(candidate):
            return _squash(str(candidate))
    return _squash(str(seen[-1]) or type(seen[-1]).__name__)


def _squash(text: str) -> str:
    return " ".join(text.split())


def _is_protocol_error(exc: BaseException) -> bool:
    current: BaseException | None = exc
    for _ in range(8):
        if current is None:
            return False
        if isinstance(current, urllib3.exceptions.ProtocolError):
            return True
        args = getattr(current, "args", ())
        current = next((a for a in args if isinstance(a, BaseException)), None)
    return False


_TLS_MARKERS = ("certificate verify failed", "tlsv1", "tlsv13", "ssl:", "sslv3",
                "wrong version number", "certificate required", "handshake failure",
                "eof occurred in violation of protocol")


def _looks_like_tls(text: str) -> bool:
    lowered = text.lower()
    return any(marker in lowered for marker in _TLS_MARKERS)


def _tls_hint(text: str, opts: TransportOptions) -> str:
    lowered = text.lower()
    if "hostname mismatch" in lowered or "doesn't match" in lowered or "not valid for" in lowered:
        return ("the server's certificate is for another host name: use the host name the "
                "certificate names in the URL")
    if "certificate verify failed" in lowered:
        where = ("the CA bundle " + repr(opts.verify)) if isinstance(opts.verify, str) \
            else "the system CA store"
        return (f"the server's certificate is not trusted by {where}: set tls.verify to the CA "
                "bundle (PEM) that signed it; --insecure skips the check (unsafe)")
    if "certificate required" in lowered or "handshake failure" in lowered or "bad certificate" \
            in lowered or "unknown ca" in lowered:
        if opts.cert is None:
            return ("the server asks for a client certificate (mutual TLS): set tls.cert and "
                    "tls.key to your PEM certificate and key")
        return ("the server rejected the client certificate: check that tls.cert/tls.key are "
                "the pair the server trusts")
    if "eof occurred in violation of protocol" in lowered or "unexpected eof" in lowered:
        if opts.cert is None:
            return ("the server closed the TLS connection during the handshake: it probably "
                    "requires a client certificate (mutual TLS): set tls.cert and tls.key")
        return ("the server closed the TLS connection during the handshake: it probably does "
                "not trust the client certificate in tls.cert (or the TLS version)")
    if "wrong version number" in lowered:
        return "the endpoint does not speak TLS here: use http:// or the TLS port"
    if "key values mismatch" in lowered or "pem lib" in lowered:
        return "tls.cert and tls.key do not form a pair, or one is not a PEM file"
    return "check the TLS settings (tls.verify, tls.cert, tls.key) for this endpoint"
