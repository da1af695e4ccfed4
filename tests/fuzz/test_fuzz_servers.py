"""Fuzzing the request handling of ``ihe sim`` and ``ihe serve``: their HTTP apps in process
(any method, path, headers, content coding and body), and the whole server over a real socket
on 127.0.0.1 (request line, headers and body as raw bytes). Property: every request gets an
HTTP answer (or, for bytes that are no request at all, a closed connection), and the server
never reaches its "internal error" path nor prints a traceback."""

from __future__ import annotations

import gzip
import logging
import socket
import zlib
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ihe_test_util.model import Headers
from ihe_test_util.serve import PlaybackServer
from ihe_test_util.sim import Simulator
from ihe_test_util.transport import endpoint
from ihe_test_util.transport.endpoint import HttpAnswer, HttpApp, HttpCall, LocalEndpoint

from . import seeds
from .conftest import MAX_INPUT, bounded, fuzz_settings, mutated

#: The server's read timeout: a request that promises more body than it sends is answered
#: (408) once it passes, so a fuzzed Content-Length cannot stall the run for long.
READ_TIMEOUT = 2.0


class Problems(logging.Handler):
    """Errors the servers log (``logger.exception``: the internal-error path) and exceptions
    socketserver would print as a traceback."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.seen: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.seen.append(self.format(record))


@pytest.fixture(scope="module")
def problems() -> Iterator[Problems]:
    handler = Problems()
    handler.setFormatter(logging.Formatter("%(name)s: %(message)s"))
    root = logging.getLogger("ihe_test_util")
    root.addHandler(handler)
    original = endpoint._HttpServer.handle_error

    def handle_error(self: Any, request: Any, client_address: Any) -> None:
        import sys
        import traceback

        error = sys.exc_info()[1]
        if not isinstance(error, (ConnectionError, TimeoutError)):
            handler.seen.append("".join(traceback.format_exc()))
        original(self, request, client_address)

    endpoint._HttpServer.handle_error = handle_error  # type: ignore[method-assign]
    try:
        yield handler
    finally:
        endpoint._HttpServer.handle_error = original  # type: ignore[method-assign]
        root.removeHandler(handler)


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(max_body_bytes=200_000, read_timeout=READ_TIMEOUT) as running:
        yield running


@pytest.fixture(scope="module")
def stub() -> Iterator[PlaybackServer]:
    with PlaybackServer(seeds.CASSETTES, read_timeout=READ_TIMEOUT) as running:
        yield running


def app_of(server: LocalEndpoint) -> HttpApp:
    """The app the running server hands each request to (called here in process)."""
    bound = server._server  # the test reaches in: the app is what it fuzzes
    assert bound is not None
    return bound.app


_METHODS = st.sampled_from(["POST", "POST", "POST", "GET", "PUT", "HEAD", "DELETE", "OPTIONS"])
_PATHS = st.one_of(
    st.sampled_from(["/pix", "/pdq", "/xds/registry", "/xds/repository", "/xcpd", "/",
                     "/pix?wsdl", "/nowhere", "//", "/pix/../pdq"]),
    st.text(st.characters(codec="utf-8", exclude_categories=["Cs"]), max_size=30).map(
        lambda t: "/" + t))
_CODINGS = st.sampled_from([None, None, "gzip", "deflate", "br", "compress", "gzip, gzip",
                            "identity", ""])


def _encoded(body: bytes, coding: str | None, corrupt: bool) -> bytes:
    if coding == "gzip":
        body = gzip.compress(body)
    elif coding == "deflate":
        body = zlib.compress(body)
    return body[: len(body) // 2] if corrupt else body


@st.composite
def calls(draw: st.DrawFn) -> HttpCall:
    """A recorded request, its body fuzzed, under a fuzzed method, path, type and coding."""
    seed = draw(st.sampled_from(seeds.requests()))
    body = draw(mutated([seed.body]))
    content_type = draw(st.one_of(st.just(seed.content_type or ""), st.sampled_from(
        ["application/soap+xml", "text/xml", 'multipart/related; boundary="x"',
         "application/json", "", "application/soap+xml; charset=EBCDIC",
         'multipart/related; type="application/xop+xml"; boundary=MIMEBoundary_x'])))
    coding = draw(_CODINGS)
    headers = [("Content-Type", content_type)]
    if coding is not None:
        headers.append(("Content-Encoding", coding))
        body = _encoded(body, coding, draw(st.booleans()))
    if draw(st.booleans()):
        headers.append(("SOAPAction", draw(st.text(max_size=40))))
    path = draw(st.one_of(st.just(seed.uri.split("/", 3)[-1]).map(lambda p: "/" + p), _PATHS))
    return HttpCall(draw(_METHODS), path, Headers(headers), body, "http://127.0.0.1:1")


def _handled(app: HttpApp, call: HttpCall, problems: Problems) -> None:
    before = len(problems.seen)
    answer = app.handle(call)
    assert isinstance(answer, HttpAnswer) and 100 <= answer.status <= 599
    assert problems.seen[before:] == []


@fuzz_settings(short=25)
@given(calls())
def test_fuzz_simulator_request_handling(sim: Simulator, problems: Problems,
                                         call: HttpCall) -> None:
    bounded(lambda: _handled(app_of(sim), call, problems))


@fuzz_settings(short=25)
@given(calls())
def test_fuzz_serve_request_handling(stub: PlaybackServer, problems: Problems,
                                     call: HttpCall) -> None:
    bounded(lambda: _handled(app_of(stub), call, problems))


def raw_request(seed: bytes, body: bytes) -> bytes:
    return seed + b"Content-Length: " + str(len(body)).encode() + b"\r\n\r\n" + body


_RAW_SEEDS = [
    raw_request(b"POST /pix HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml\r\n",
                seeds.requests()[0].body),
    raw_request(b"POST /xds/registry HTTP/1.1\r\nHost: x\r\nContent-Type: text/xml\r\n"
                b"Transfer-Encoding: chunked\r\n", b"5\r\nhello\r\n0\r\n\r\n"),
    b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    b"GET / HTTP/1.0\r\n\r\n",
]


def _exchange_raw(port: int, data: bytes, problems: Problems) -> None:
    before = len(problems.seen)
    with socket.create_connection(("127.0.0.1", port), timeout=30) as sock:
        try:
            sock.sendall(data)
            sock.shutdown(socket.SHUT_WR)  # no more is coming: the server need not wait
        except OSError:
            pass  # the server already answered (an early 4xx) and closed
        answer = b""
        while len(answer) < 4 * MAX_INPUT:
            try:
                chunk = sock.recv(65536)
            except ConnectionError:
                break
            if not chunk:
                break
            answer += chunk
    # whatever the bytes: some answer (HTTP/1.x, or for a malformed request line the
    # standard library's HTTP/0.9-style error page) or a closed connection, and the
    # connection ends (read to its end above) -- never a traceback or an internal error
    if data in _RAW_SEEDS:
        assert answer.startswith(b"HTTP/1."), answer[:200]
    assert problems.seen[before:] == []


@fuzz_settings(short=12)
@given(mutated(_RAW_SEEDS))
def test_fuzz_simulator_over_a_socket(sim: Simulator, problems: Problems, data: bytes) -> None:
    bounded(lambda: _exchange_raw(sim.port, data, problems))


@fuzz_settings(short=12)
@given(mutated(_RAW_SEEDS))
def test_fuzz_serve_over_a_socket(stub: PlaybackServer, problems: Problems, data: bytes) -> None:
    bounded(lambda: _exchange_raw(stub.port, data, problems))
