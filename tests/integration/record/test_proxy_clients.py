"""The recording proxy with independent clients (zeep, plain requests): every exchange is
forwarded unchanged and recorded byte for byte."""

from __future__ import annotations

import http.client
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from ihe_test_util.cassette import CassetteWriter, Redactor, load_cassette
from ihe_test_util.ihe.builders import (
    PatientDemographics,
    PatientId,
    PersonName,
    ccd_entry,
    iti41_provide_and_register,
    iti44_add,
)
from ihe_test_util.model import Interaction
from ihe_test_util.record.proxy import ProxyEvent, ProxyExchange, RecordingProxy
from ihe_test_util.record.routes import Routes
from ihe_test_util.sim import Simulator
from ihe_test_util.transport.http import TransportOptions

from ..transport_servers import base_url, make_pki, serve, tls_context

PATIENT = PatientDemographics(ids=(PatientId("PX-1", "1.2.260"),), name=PersonName("Proxy"),
                              gender="F")
WSDL = Path(__file__).parents[1] / "data" / "registry-iti18.wsdl"


class CapturingSession(requests.Session):
    """A requests session that keeps the exact bytes it sent and received."""

    def __init__(self) -> None:
        super().__init__()
        self.exchanges: list[tuple[bytes, bytes, int]] = []

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:
        response = super().send(request, **kwargs)
        if request.body is None or isinstance(request.body, (bytes, str)):
            body = request.body.encode() if isinstance(request.body, str) else \
                request.body or b""
        else:
            body = b"<streamed>"  # a generator: the test fills in what it streamed
        self.exchanges.append((body, response.content, response.status_code))
        return response


@pytest.fixture
def recorded(tmp_path: Path) -> Iterator[tuple[Path, list[ProxyEvent]]]:
    yield tmp_path / "proxy.yaml", []


def start(routes: list[str], path: Path, events: list[ProxyEvent],
          options: TransportOptions | None = None) -> RecordingProxy:
    writer = CassetteWriter(path, redactor=Redactor())
    return RecordingProxy(Routes.parse(routes), writer, options=options,
                          on_event=events.append).start()


def assert_recorded_exactly(path: Path, exchanges: list[tuple[bytes, bytes, int]]) -> (
        list[Interaction]):
    interactions = list(load_cassette(path).interactions)
    assert [(i.request.body, i.response.body, i.response.status) for i in interactions] == \
        exchanges
    return interactions


def test_zeep_through_the_proxy_is_recorded_byte_for_byte(
        recorded: tuple[Path, list[ProxyEvent]]) -> None:
    zeep = pytest.importorskip("zeep")
    path, events = recorded
    with Simulator() as sim:
        proxy = start([f"/xds={sim.url_for('registry').removesuffix('/registry')}"], path,
                      events)
        try:
            session = CapturingSession()
            client = zeep.Client(str(WSDL), transport=zeep.Transport(session=session))
            service = client.create_service(
                "{urn:ihe:iti:xds-b:2007}DocumentRegistry_Binding_Soap12",
                proxy.url + "/xds/registry")
            for return_type in ("LeafClass", "ObjectRef"):
                answer = service.DocumentRegistry_RegistryStoredQuery(
                    ResponseOption={"returnType": return_type, "returnComposedObjects": True},
                    AdhocQuery={"id": "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d", "Slot": [
                        {"name": "$XDSDocumentEntryPatientId",
                         "ValueList": {"Value": ["'PX-1^^^&1.2.260&ISO'"]}},
                        {"name": "$XDSDocumentEntryStatus", "ValueList": {"Value": [
                            "('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"]}}]})
                assert answer.status.endswith(":Success")
        finally:
            proxy.stop()
    interactions = assert_recorded_exactly(path, session.exchanges)
    assert [i.meta.transaction for i in interactions] == ["ITI-18", "ITI-18"]
    assert [i.request.uri for i in interactions] == [sim.url_for("registry")] * 2
    assert [e.ihe_status for e in events if isinstance(e, ProxyExchange)] == [
        "Success, 0 result(s)", "Success, 0 result(s)"]


def test_requests_with_mtom_chunked_and_get_are_recorded_byte_for_byte(
        recorded: tuple[Path, list[ProxyEvent]]) -> None:
    path, events = recorded
    with Simulator() as sim:
        proxy = start([sim.base_url], path, events)
        session = CapturingSession()
        try:
            feed = iti44_add(PATIENT).to_request(proxy.url + "/pix")
            session.post(feed.uri, data=feed.body, headers=dict(feed.headers.items()))
            entry = ccd_entry(PATIENT)
            binary = bytes(range(256)) * 40
            pnr = iti41_provide_and_register(PATIENT, [entry, entry.__class__(
                content=binary, mime_type="application/octet-stream", title="binary")])
            request = pnr.to_request(proxy.url + "/xds/repository")
            assert request.content_type is not None
            session.post(request.uri, data=request.body,
                         headers={"Content-Type": request.content_type})
            chunks = [feed.body[:100], feed.body[100:]]
            session.post(feed.uri, data=iter(chunks), headers=dict(feed.headers.items()))
            session.exchanges[-1] = (feed.body, *session.exchanges[-1][1:])
            index = session.get(proxy.url + "/")
            assert b"ihe-test-utility simulator" in index.content
        finally:
            proxy.stop()
    interactions = assert_recorded_exactly(path, session.exchanges)
    assert binary in interactions[1].request.body
    assert interactions[1].request.headers.get("Content-Type") == request.content_type
    assert [i.request.method for i in interactions] == ["POST", "POST", "POST", "GET"]
    assert [i.meta.transaction for i in interactions[:3]] == ["ITI-44", "ITI-41", "ITI-44"]
    assert "Transfer-Encoding" not in interactions[2].request.headers
    assert "Host" not in interactions[0].request.headers
    assert [e.number for e in events if isinstance(e, ProxyExchange)] == [1, 2, 3, 4]


def _echo_cookie(body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]],
                                                                  bytes]:
    return 200, [("Content-Type", "application/octet-stream"),
                 ("Set-Cookie", "session=server-secret")], body[::-1]


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # the test server's TLS sockets
def test_https_upstream_with_the_configured_ca(tmp_path: Path,
                                               recorded: tuple[Path, list[ProxyEvent]]) -> None:
    path, events = recorded
    pki = make_pki(tmp_path)
    with serve(tls_context(pki), routes={"echo": _echo_cookie}) as server:
        proxy = start([f"/secure={base_url(server, 'https', 'localhost')}"], path, events,
                      TransportOptions(verify=str(pki.ca)))
        try:
            body = b"\x00binary\xffpayload"
            answer = requests.post(proxy.url + "/secure/echo", data=body,
                                   headers={"Authorization": "Basic dXNlcjpwYXNz"})
        finally:
            proxy.stop()
    assert answer.status_code == 200 and answer.content == body[::-1]
    assert answer.headers["Set-Cookie"] == "session=server-secret"  # the client gets it
    [interaction] = load_cassette(path).interactions
    assert interaction.request.uri == base_url(server, "https", "localhost") + "/echo"
    assert interaction.request.body == body and interaction.response.body == body[::-1]
    assert interaction.request.headers.get("Authorization") == "[[ihe-secret:authorization]]"
    assert interaction.response.headers.get("Set-Cookie") == "[[ihe-secret:set_cookie]]"
    assert b"dXNlcjpwYXNz" not in path.read_bytes() and b"server-secret" not in path.read_bytes()


def test_several_upstreams_by_prefix_and_unknown_paths(
        recorded: tuple[Path, list[ProxyEvent]]) -> None:
    path, events = recorded
    with Simulator() as pix_sim, Simulator() as xds_sim:
        proxy = start([f"/pix={pix_sim.url_for('pix')}",
                       f"/xds={xds_sim.base_url}/xds"], path, events)
        try:
            feed = iti44_add(PATIENT)
            first = requests.post(proxy.url + "/pix", data=feed.to_request("x").body,
                                  headers={"Content-Type": "application/soap+xml"})
            second = requests.post(proxy.url + "/xds/registry", data=b"<not-soap/>",
                                   headers={"Content-Type": "application/soap+xml"})
            nowhere = requests.post(proxy.url + "/other", data=b"x")
        finally:
            proxy.stop()
    assert first.status_code == 200 and second.status_code >= 400  # a Fault is an answer
    assert nowhere.status_code == 404 and b"no --upstream for path /other" in nowhere.content
    interactions = load_cassette(path).interactions
    assert [i.request.uri for i in interactions] == [pix_sim.url_for("pix"),
                                                     xds_sim.url_for("registry")]
    assert [i.meta.endpoint for i in interactions] == ["pix", "xds"]
    assert proxy.failures == 1




def test_a_client_using_it_as_an_http_proxy_sends_absolute_uris(
        recorded: tuple[Path, list[ProxyEvent]]) -> None:
    path, events = recorded
    with Simulator() as sim:
        proxy = start([sim.base_url], path, events)
        try:
            feed = iti44_add(PATIENT).to_request("http://registry.example/pix")
            connection = http.client.HTTPConnection(*proxy.address, timeout=10)
            connection.request("POST", "http://registry.example/pix?x=1", body=feed.body,
                               headers={"Content-Type": "application/soap+xml"})
            answer = connection.getresponse()
            body = answer.read()
            connection.close()
        finally:
            proxy.stop()
    assert answer.status == 200 and b"MCCI_IN000002UV01" in body
    [interaction] = load_cassette(path).interactions
    assert interaction.request.uri == sim.base_url + "/pix?x=1"
    assert interaction.response.body == body
