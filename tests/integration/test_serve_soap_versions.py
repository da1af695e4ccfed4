"""``ihe serve`` answers a client in the SOAP version it spoke, as a real endpoint would: a
SOAP 1.1 request to a SOAP 1.2 recording gets a SOAP 1.1 VersionMismatch fault, never the
recorded SOAP 1.2 envelope; a SOAP 1.1 recording answers SOAP 1.1 and refuses SOAP 1.2; serve's
own faults reach a SOAP 1.1 client (zeep) as SOAP 1.1."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from ihe_test_util.cassette import load_cassette, save_cassette
from ihe_test_util.ihe.idmap import IdMap
from ihe_test_util.ihe.namespaces import SOAP11, SOAP12
from ihe_test_util.ihe.regenerate import regenerate_request
from ihe_test_util.model import Cassette, Request
from ihe_test_util.safexml import parse_xml
from ihe_test_util.serve import Mismatch, PlaybackServer

from .serve_support import record_flow

zeep = pytest.importorskip("zeep")

WSDL = Path(__file__).parent / "data" / "registry-iti18.wsdl"
BINDING = "{urn:ihe:iti:xds-b:2007}DocumentRegistry_Binding_Soap12"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_flow(tmp_path_factory.mktemp("serve-soap11") / "flow.yaml")


@pytest.fixture
def stub(recorded: Path) -> Iterator[tuple[PlaybackServer, list[Mismatch]]]:
    misses: list[Mismatch] = []
    with PlaybackServer([recorded], on_miss=misses.append) as server:
        yield server, misses


def _as_soap11(request: Request) -> Request:
    """The same request in a SOAP 1.1 envelope, sent as a SOAP 1.1 client sends it."""
    action = request.content_type.split('action="', 1)[1].split('"', 1)[0] \
        if request.content_type and 'action="' in request.content_type else ""
    body = request.body.replace(SOAP12.encode(), SOAP11.encode())
    headers = request.headers.with_value("Content-Type", "text/xml; charset=UTF-8")
    return request.evolve(body=body, headers=headers.with_value("SOAPAction", f'"{action}"'))


def _post(stub: PlaybackServer, request: Request) -> requests.Response:
    return requests.post(stub.url_for(urlsplit(request.uri).path), data=request.body,
                         headers=dict(request.headers.items()), timeout=10)


def test_soap11_request_to_a_soap12_recording_gets_a_soap11_version_mismatch(
        stub: tuple[PlaybackServer, list[Mismatch]], recorded: Path) -> None:
    server, misses = stub
    query = load_cassette(recorded).interactions[4].request
    fresh = regenerate_request(query, IdMap()).request
    answer = _post(server, _as_soap11(fresh))
    assert answer.status_code == 500
    assert answer.headers["Content-Type"].startswith("text/xml")
    envelope = parse_xml(answer.content)
    assert envelope.tag == f"{{{SOAP11}}}Envelope"
    assert envelope.findtext(f".//{{{SOAP11}}}Fault/faultcode") == "soapenv:VersionMismatch"
    assert "SOAP 1.2" in (envelope.findtext(f".//{{{SOAP11}}}Fault/faultstring") or "")
    upgrade = envelope.find(f"{{{SOAP11}}}Header/{{{SOAP12}}}Upgrade/{{{SOAP12}}}"
                            "SupportedEnvelope")
    assert upgrade is not None and upgrade.get("qname") == "soap:Envelope"
    assert b"RegistryStoredQueryResponse" not in answer.content
    [miss] = misses
    assert miss.request.transaction == "ITI-18" and miss.closest is not None
    # the same request in SOAP 1.2 is still answered from the recording
    assert _post(server, fresh).status_code == 200


def test_serve_faults_to_a_soap11_client_are_soap11(
        stub: tuple[PlaybackServer, list[Mismatch]], recorded: Path) -> None:
    server, _ = stub
    query = load_cassette(recorded).interactions[4].request
    fresh = regenerate_request(query, IdMap()).request
    wrong = _as_soap11(fresh.evolve(body=fresh.body.replace(b"IHEDEMO-0001", b"IHEDEMO-0002")))
    answer = _post(server, wrong)
    envelope = parse_xml(answer.content)
    assert envelope.tag == f"{{{SOAP11}}}Envelope"
    assert envelope.findtext(f".//{{{SOAP11}}}Fault/faultcode") == "soapenv:Client"
    assert "IHEDEMO-0002" in (envelope.findtext(f".//{{{SOAP11}}}Fault/faultstring") or "")


def test_zeep_as_a_soap11_client_gets_a_fault_it_can_parse(
        stub: tuple[PlaybackServer, list[Mismatch]], tmp_path: Path) -> None:
    server, misses = stub
    soap11_wsdl = tmp_path / "registry-iti18-soap11.wsdl"
    soap11_wsdl.write_text(WSDL.read_text(encoding="utf-8").replace(
        "http://schemas.xmlsoap.org/wsdl/soap12/", "http://schemas.xmlsoap.org/wsdl/soap/"),
        encoding="utf-8")
    client = zeep.Client(str(soap11_wsdl))
    assert type(client.wsdl.bindings[BINDING]).__name__ == "Soap11Binding"
    service = client.create_service(BINDING, server.url_for("/xds/registry"))
    for _ in range(5):
        with pytest.raises(zeep.exceptions.Fault) as caught:
            service.DocumentRegistry_RegistryStoredQuery(
                ResponseOption={"returnType": "LeafClass", "returnComposedObjects": True},
                AdhocQuery={"id": "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d", "Slot": [
                    {"name": "$XDSDocumentEntryPatientId",
                     "ValueList": {"Value": ["'IHEDEMO-0001^^^&1.2.3&ISO'"]}}]})
        assert caught.value.code in ("soapenv:Client", "soapenv:VersionMismatch")
        assert "ITI-18" in caught.value.message
    assert len(misses) == 5


def test_a_soap11_recording_answers_soap11_and_refuses_soap12(recorded: Path,
                                                              tmp_path: Path) -> None:
    query = load_cassette(recorded).interactions[4]
    soap11 = tmp_path / "soap11.yaml"
    save_cassette(soap11, Cassette((replace(query, request=_as_soap11(query.request)),)))
    fresh = regenerate_request(query.request, IdMap()).request
    with PlaybackServer([soap11]) as server:
        answered = _post(server, _as_soap11(fresh))
        refused = _post(server, fresh)
    assert answered.status_code == 200 and b"RegistryStoredQueryResponse" in answered.content
    envelope = parse_xml(refused.content)
    assert refused.status_code == 500 and envelope.tag == f"{{{SOAP12}}}Envelope"
    code = envelope.findtext(f".//{{{SOAP12}}}Fault/{{{SOAP12}}}Code/{{{SOAP12}}}Value")
    assert code == "soap:VersionMismatch"
    assert envelope.find(f".//{{{SOAP12}}}Upgrade") is None  # this endpoint speaks SOAP 1.1
    assert "SOAP 1.1" in (envelope.findtext(f".//{{{SOAP12}}}Text") or "")
