"""HttpTransport against real servers on 127.0.0.1: plain HTTP, TLS, mutual TLS, failures."""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ihe_test_util.errors import (
    ConfigError,
    EndpointTimeout,
    EndpointUnreachable,
    TlsError,
    TransportError,
    UsageError,
)
from ihe_test_util.model import Headers, Request
from ihe_test_util.transport.http import (
    HttpTransport,
    InsecureTransportWarning,
    TransportOptions,
    decoded_body,
)

from .transport_servers import Pki, base_url, free_port, make_pki, serve, tls_context


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def http_url() -> Iterator[str]:
    with serve() as server:
        yield base_url(server)


def _post(url: str, body: bytes = b"<a/>", **headers: str) -> Request:
    return Request("POST", url, Headers({"Content-Type": "application/soap+xml", **headers}),
                   body)


# -- plain HTTP ------------------------------------------------------------------------------


def test_body_and_headers_come_back_exactly(http_url: str) -> None:
    payload = os.urandom(3000) + b"\r\n\r\n--boundary--\r\n"
    with HttpTransport(TransportOptions(timeout=5)) as transport:
        response, elapsed_ms = transport.send(_post(f"{http_url}/echo?x=1", payload))
    assert response.status == 200
    assert response.reason == "OK"
    assert response.body == payload
    assert response.headers.get_all("Set-Cookie") == ["a=1", "b=2"]
    assert elapsed_ms > 0
    seen = json.loads(response.headers.get("X-Seen") or "{}")
    assert seen["path"] == "/echo?x=1"
    sent = {k.lower(): v for k, v in seen["headers"]}
    assert sent["content-type"] == "application/soap+xml"
    assert sent["accept-encoding"] == "identity"
    assert sent["content-length"] == str(len(payload))


def test_recorded_host_and_length_are_not_replayed(http_url: str) -> None:
    request = _post(f"{http_url}/echo", b"<b/>", Host="registry.example:8443",
                    **{"Content-Length": "999", "X-Custom": "kept"})
    with HttpTransport(TransportOptions(timeout=5, headers={"X-Default": "d"})) as transport:
        response, _ = transport.send(request)
    sent = {k.lower(): v for k, v in json.loads(response.headers.get("X-Seen") or "{}")[
        "headers"]}
    assert sent["host"].startswith("127.0.0.1:")
    assert sent["content-length"] == "4"
    assert sent["x-custom"] == "kept"
    assert sent["x-default"] == "d"


def test_chunked_response_is_reassembled(http_url: str) -> None:
    with HttpTransport(TransportOptions(timeout=5)) as transport:
        response, _ = transport.send(_post(f"{http_url}/chunked", b"0123456789abcdef"))
    assert response.body == b"0123456789abcdef"


def test_content_encoding_is_kept_and_decodable(http_url: str) -> None:
    with HttpTransport(TransportOptions(timeout=5)) as transport:
        response, _ = transport.send(_post(f"{http_url}/gzip", b"<soap/>" * 50))
    assert response.headers.get("Content-Encoding") == "gzip"
    assert response.body[:2] == b"\x1f\x8b"  # the octets as sent
    assert decoded_body(response) == b"<soap/>" * 50


def test_http_error_status_is_a_response_not_an_exception(http_url: str) -> None:
    with HttpTransport(TransportOptions(timeout=5)) as transport:
        response, _ = transport.send(_post(f"{http_url}/fault", b"<Fault/>"))
    assert (response.status, response.body) == (500, b"<Fault/>")


def test_unreachable_port() -> None:
    url = f"http://127.0.0.1:{free_port()}/services/registry"
    with HttpTransport(TransportOptions(timeout=5)) as transport, \
            pytest.raises(EndpointUnreachable) as caught:
        transport.send(_post(url))
    assert caught.value.url == url
    assert url in str(caught.value)
    assert "hint:" in str(caught.value)
    assert caught.value.exit_code == 3


def test_sleeping_server_times_out_within_the_timeout() -> None:
    """The server answers after 10 s: only the client's own timeout can end the call with an
    error (how close to 0.5 s it fires is measured in benchmarks/bench_deadlines.py)."""
    with serve() as server, HttpTransport(TransportOptions(timeout=0.5)) as transport:
        with pytest.raises(EndpointTimeout, match=r"within 0\.5 s") as caught:
            transport.send(_post(f"{base_url(server)}/sleep?s=10"))
    assert "--timeout" in (caught.value.hint or "")


def test_trickling_server_hits_the_total_deadline() -> None:
    """Each byte comes in time, the whole response (5 s) does not: still a timeout."""
    with serve() as server, HttpTransport(TransportOptions(timeout=0.6)) as transport, \
            pytest.raises(EndpointTimeout):
        transport.send(_post(f"{base_url(server)}/trickle"))


def test_connection_closed_without_response(http_url: str) -> None:
    with HttpTransport(TransportOptions(timeout=5)) as transport, \
            pytest.raises(TransportError, match="closed"):
        transport.send(_post(f"{http_url}/close"))


def test_bad_url_is_a_usage_error() -> None:
    with HttpTransport() as transport, pytest.raises(UsageError, match="URL"):
        transport.send(_post("registry.example/no-scheme"))


def test_many_threads_share_one_transport(http_url: str) -> None:
    transport = HttpTransport(TransportOptions(timeout=10))
    failures: list[str] = []

    def worker(n: int) -> None:
        for i in range(20):
            body = f"<m thread='{n}' i='{i}'/>".encode()
            response, _ = transport.send(_post(f"{http_url}/echo", body))
            if response.body != body:
                failures.append(f"{n}/{i}: {response.body!r}")

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert failures == []
    assert len(transport._sessions) == 8  # one session per thread
    transport.close()
    assert transport._sessions == {}


def test_sessions_of_finished_threads_are_closed(http_url: str) -> None:
    """A proxy serves each connection in a new thread: sessions must not pile up."""
    with HttpTransport(TransportOptions(timeout=10)) as transport:
        for n in range(30):
            thread = threading.Thread(target=transport.send, args=(_post(f"{http_url}/echo"),))
            thread.start()
            thread.join()
            assert len(transport._sessions) <= 2, n


# -- options validation ----------------------------------------------------------------------


def test_missing_ca_bundle_is_a_config_error(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"tls\.verify"):
        TransportOptions(verify=str(tmp_path / "nope.pem"))


def test_key_without_cert_is_a_config_error(pki: Pki) -> None:
    with pytest.raises(ConfigError, match=r"tls\.cert"):
        TransportOptions(key=str(pki.client_key))


def test_nonpositive_timeout_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="timeout"):
        TransportOptions(timeout=0)


# -- TLS ------------------------------------------------------------------------------------


def test_unknown_ca_fails_verification_by_default(pki: Pki) -> None:
    with serve(tls_context(pki)) as server, HttpTransport(TransportOptions(timeout=5)) as t, \
            pytest.raises(TlsError) as caught:
        t.send(_post(f"{base_url(server, 'https')}/echo"))
    message = str(caught.value)
    assert "certificate verify failed" in message
    assert "tls.verify" in message  # the hint says what to set


def test_wrong_ca_bundle_fails(pki: Pki) -> None:
    options = TransportOptions(timeout=5, verify=str(pki.other_ca))
    with serve(tls_context(pki)) as server, HttpTransport(options) as t, \
            pytest.raises(TlsError, match=r"other-ca\.pem"):
        t.send(_post(f"{base_url(server, 'https')}/echo"))


def test_ca_bundle_makes_it_work(pki: Pki) -> None:
    options = TransportOptions(timeout=5, verify=str(pki.ca))
    with serve(tls_context(pki)) as server, HttpTransport(options) as t:
        for host in ("127.0.0.1", "localhost"):
            response, _ = t.send(_post(f"{base_url(server, 'https', host)}/echo", b"<tls/>"))
            assert response.body == b"<tls/>"


def test_plain_http_to_tls_port_is_reported(pki: Pki) -> None:
    options = TransportOptions(timeout=5, verify=str(pki.ca))
    with serve() as server, HttpTransport(options) as t, pytest.raises(TransportError) as caught:
        t.send(_post(f"{base_url(server, 'https')}/echo"))
    assert isinstance(caught.value, TlsError)
    assert "http://" in (caught.value.hint or "")


def test_mutual_tls_with_client_certificate(pki: Pki) -> None:
    options = TransportOptions(timeout=5, verify=str(pki.ca), cert=str(pki.client_cert),
                               key=str(pki.client_key))
    with serve(tls_context(pki, require_client_cert=True)) as server, HttpTransport(options) as t:
        response, _ = t.send(_post(f"{base_url(server, 'https')}/echo", b"<mtls/>"))
    assert response.body == b"<mtls/>"


def test_mutual_tls_without_client_certificate_says_so(pki: Pki) -> None:
    options = TransportOptions(timeout=5, verify=str(pki.ca))
    with serve(tls_context(pki, require_client_cert=True)) as server, HttpTransport(options) as t, \
            pytest.raises(TransportError) as caught:
        t.send(_post(f"{base_url(server, 'https')}/echo"))
    assert isinstance(caught.value, TlsError), caught.value
    assert "client certificate" in (caught.value.hint or "")
    assert "tls.cert" in (caught.value.hint or "")


def test_mutual_tls_with_untrusted_client_certificate(pki: Pki) -> None:
    options = TransportOptions(timeout=5, verify=str(pki.ca), cert=str(pki.stranger_cert),
                               key=str(pki.stranger_key))
    with serve(tls_context(pki, require_client_cert=True)) as server, HttpTransport(options) as t, \
            pytest.raises(TlsError) as caught:
        t.send(_post(f"{base_url(server, 'https')}/echo"))
    assert "client certificate" in (caught.value.hint or "")


def test_insecure_warns_loudly_and_connects(pki: Pki) -> None:
    with pytest.warns(InsecureTransportWarning, match="verification is OFF"):
        transport = HttpTransport(TransportOptions(timeout=5, verify=False))
    with serve(tls_context(pki)) as server, transport:
        # no per-request urllib3 InsecureRequestWarning (pytest turns warnings into errors)
        response, _ = transport.send(_post(f"{base_url(server, 'https')}/echo", b"<i/>"))
    assert response.body == b"<i/>"
