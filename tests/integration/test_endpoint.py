"""The one local HTTP server (transport/endpoint.py) that sim, serve and the proxy run on."""

from __future__ import annotations

import http.client
from pathlib import Path

import pytest

from ihe_test_util.cassette import CassetteWriter
from ihe_test_util.ihe.namespaces import SOAP12
from ihe_test_util.record.proxy import ProxyEvent, ProxyFailure, RecordingProxy
from ihe_test_util.record.routes import Routes
from ihe_test_util.safexml import parse_xml
from ihe_test_util.transport.endpoint import HttpAnswer, HttpApp, HttpCall, LocalEndpoint


class _PathApp(HttpApp):
    max_body_bytes = 1_000

    def handle(self, call: HttpCall) -> HttpAnswer:
        return HttpAnswer(200, call.path.encode(), "text/plain")

    def problem(self, status: int, reason: str, call: HttpCall) -> HttpAnswer:
        return HttpAnswer(status, reason.encode(), "text/plain")


class _PathEndpoint(LocalEndpoint):
    def _open_app(self) -> HttpApp:
        return _PathApp()


def test_an_absolute_request_uri_reaches_the_app_as_path_and_query() -> None:
    with _PathEndpoint() as endpoint:
        connection = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=10)
        connection.request("GET", "http://elsewhere.example/pix?x=1")
        answer = connection.getresponse()
        body = answer.read()
        connection.close()
    assert answer.status == 200 and body == b"/pix?x=1"


def test_stop_closes_idle_keep_alive_connections() -> None:
    endpoint = _PathEndpoint().start()
    connection = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=10)
    try:
        connection.request("GET", "/first")
        first = connection.getresponse()
        assert first.read() == b"/first"
        endpoint.stop()
        with pytest.raises((ConnectionError, http.client.HTTPException)):
            connection.request("GET", "/after-stop")
            connection.getresponse().read()
    finally:
        connection.close()
        endpoint.stop()


def test_unsupported_methods_are_501_and_get_needs_no_length() -> None:
    with _PathEndpoint() as endpoint:
        connection = http.client.HTTPConnection(endpoint.host, endpoint.port, timeout=10)
        connection.request("PATCH", "/p", body=b"x")
        patched = connection.getresponse()
        patched.read()
        connection.close()
    assert patched.status == 501


def test_a_body_over_the_proxy_limit_is_a_sender_fault_and_reported(tmp_path: Path) -> None:
    events: list[ProxyEvent] = []
    writer = CassetteWriter(tmp_path / "p.yaml")
    with RecordingProxy(Routes.parse(["http://127.0.0.1:9"]), writer, max_body_bytes=10,
                        on_event=events.append) as proxy:
        connection = http.client.HTTPConnection(*proxy.address, timeout=10)
        connection.request("POST", "/xds", body=b"x" * 100,
                           headers={"Content-Type": "application/soap+xml"})
        answer = connection.getresponse()
        body = answer.read()
        connection.close()
    assert answer.status == 413
    assert parse_xml(body).findtext(f".//{{{SOAP12}}}Code/{{{SOAP12}}}Value") == "soap:Sender"
    [failure] = events
    assert isinstance(failure, ProxyFailure)
    assert (failure.method, failure.path, failure.status) == ("POST", "/xds", 413)
    assert proxy.failures == 1 and not (tmp_path / "p.yaml").exists()
