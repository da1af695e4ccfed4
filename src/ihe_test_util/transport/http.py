"""Sending one :class:`~ihe_test_util.model.Request` over HTTP(S) and getting the exact response.

Record and replay both go through :class:`HttpTransport`, so what is written to a cassette and
what is compared on replay are the same octets the server sent. Every way of not getting a
response becomes one of the :mod:`ihe_test_util.errors` transport errors, with the URL and a
hint saying what to change; nothing from requests or urllib3 leaks out.

Bodies are returned as they came off the wire (after HTTP chunked framing is removed): a
``Content-Encoding`` is *not* undone, so body and headers stay consistent in a cassette. Unless
the request says otherwise, we ask for ``Accept-Encoding: identity`` so servers rarely
compress; :func:`decoded_body` undoes gzip/deflate for readers that need the payload.
"""

from __future__ import annotations

import ssl
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import requests
import urllib3
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection
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
from ihe_test_util.transport.hop_by_hop import end_to_end

_READ_CHUNK = 64 * 1024


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

    ``timeout``: seconds for the whole response (connect + send + read, checked while reading).
    ``connect_timeout``: seconds to establish the connection (default: ``timeout``).
    ``verify``: True (system CAs), False (no verification: warns loudly) or a CA bundle path.
    ``cert`` / ``key``: client certificate and key (PEM files) for mutual TLS.
    ``headers``: sent with every request unless the request has its own value.
    """

    timeout: float = 30.0
    connect_timeout: float | None = None
    verify: bool | str = True
    cert: str | None = None
    key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)

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
        deadline_s = opts.timeout
        started = time.perf_counter()
        try:
            with session.request(
                request.method, request.uri, data=request.body or None,
                headers=_outgoing_headers(request.headers), stream=True,
                timeout=(opts.connect_timeout or opts.timeout, opts.timeout),
                allow_redirects=False,
            ) as raw:
                body = _read_within(raw, started, deadline_s, request.uri)
                response = Response(
                    status=raw.status_code, reason=raw.reason or "",
                    headers=Headers(raw.raw.headers.items()), body=body,
                )
        except requests.RequestException as exc:
            raise _translate(exc, request.uri, opts) from None
        return response, (time.perf_counter() - started) * 1000.0

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


class _UnverifiedHTTPSConnectionPool(HTTPSConnectionPool):
    """An HTTPS pool for ``verify=False`` that does not warn per request.

    Mirrors urllib3's ``_validate_conn`` minus the warning; changing global warning filters
    instead would not be thread-safe and would leak into the caller's process.
    """

    def _validate_conn(self, conn: HTTPConnection) -> None:  # type: ignore[override]
        HTTPConnectionPool._validate_conn(self, conn)
        if conn.is_closed:
            conn.connect()


class _Adapter(HTTPAdapter):
    """No retries (a retried POST could submit a document twice); quiet pool when unverified."""

    def __init__(self, *, unverified: bool) -> None:
        self._unverified = unverified
        super().__init__(pool_connections=4, pool_maxsize=4, max_retries=0)

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        if self._unverified:
            self.poolmanager.pool_classes_by_scheme = {
                "http": HTTPConnectionPool, "https": _UnverifiedHTTPSConnectionPool,
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


def _read_within(raw: requests.Response, started: float, timeout: float, url: str) -> bytes:
    """Read the body exactly as sent, giving up once ``timeout`` seconds have passed in total.

    requests' read timeout bounds each socket read only; a server trickling a byte a second
    would never time out. ``read1`` returns after one socket read, so the deadline is checked
    at least once per read timeout.
    """
    stream: urllib3.response.BaseHTTPResponse = raw.raw
    chunks: list[bytes] = []
    while True:
        chunk = stream.read1(_READ_CHUNK, decode_content=False)
        if not chunk:
            break
        chunks.append(chunk)
        if time.perf_counter() - started > timeout:
            raise EndpointTimeout(
                f"the response did not complete within {timeout:g} s", url=url,
                hint="the server answers too slowly; raise --timeout if that is expected",
            )
    return b"".join(chunks)


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
                 "Check the URL (scheme, host, port) in --target or ihe.toml",
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
