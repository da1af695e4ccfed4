"""``ihe serve`` end to end over HTTP on 127.0.0.1: a cassette recorded from ``ihe sim`` by the
demo flow is served, and the same logical requests, freshly regenerated (new MessageIDs, HL7
ids, queryIds, uniqueIds, MTOM framing, a new SAML assertion), get the recorded responses with
their echo fields made consistent; the project's own comparer finds nothing but noise."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from ihe_test_util.cassette import load_cassette
from ihe_test_util.compare.comparer import compare_responses
from ihe_test_util.ihe.idmap import IdMap
from ihe_test_util.ihe.namespaces import HL7V3, SOAP12, WSA, XDSB
from ihe_test_util.ihe.regenerate import regenerate_request
from ihe_test_util.model import Cassette, Headers, Request, Response
from ihe_test_util.results import Outcome
from ihe_test_util.serve import PlaybackServer
from ihe_test_util.serve.explain import SERVE_NS
from ihe_test_util.transport.soap import SoapMessage, parse_envelope
from ihe_test_util.transport.wssecurity import SamlIssuer, SecurityHeader

from ..unit.transport.saml_keys import signing_pair
from .serve_support import record_flow


@pytest.fixture(scope="module")
def recorded(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return record_flow(tmp_path_factory.mktemp("serve") / "flow.yaml")


@pytest.fixture
def stub(recorded: Path) -> Iterator[PlaybackServer]:
    with PlaybackServer([recorded]) as server:
        yield server


def _send(stub: PlaybackServer, request: Request,
          session: requests.Session | None = None) -> Response:
    """POST to the stub at the recorded path, as a client configured with the stub's URL."""
    post = (session or requests).post  # type: ignore[attr-defined]
    answer = post(stub.url_for(urlsplit(request.uri).path), data=request.body,
                  headers=dict(request.headers.items()), timeout=10)
    return Response(answer.status_code, answer.reason, Headers(answer.headers.items()),
                    answer.content)


def _envelope(message: Request | Response) -> SoapMessage:
    return parse_envelope(message.body, message.content_type)


def test_freshly_built_flow_gets_the_recorded_answers(stub: PlaybackServer,
                                                      recorded: Path) -> None:
    cassette = load_cassette(recorded)
    assert [i.meta.transaction for i in cassette.interactions] == [
        "ITI-44", "ITI-45", "ITI-47", "ITI-41", "ITI-18", "ITI-18", "ITI-43"]
    pair = signing_pair()
    security = SecurityHeader(SamlIssuer(pair.key_pem, pair.cert_pem, issuer="https://sts.test",
                                         subject="7601000000001"))
    ids = IdMap()  # one map for the whole flow, as ihe replay uses it
    with requests.Session() as session:
        for interaction in cassette.interactions:
            fresh = regenerate_request(interaction.request, ids, security=security).request
            sent = _envelope(fresh)
            assert sent.message_id != _envelope(interaction.request).message_id
            answer = _send(stub, fresh, session)
            assert answer.status == interaction.response.status, answer.body[:500]
            served = _envelope(answer)
            assert served.fault is None
            assert served.relates_to == sent.message_id
            assert served.message_id != _envelope(interaction.response).message_id
            comparison = compare_responses(
                interaction.response, answer, recorded_request=interaction.request,
                replayed_request=fresh, value_map=ids.items())
            assert comparison.outcome is Outcome.PASS, comparison.differences
            _check_transaction_echoes(interaction.meta.transaction, fresh, answer,
                                      interaction.response)
    # the submission taught the stub the client's uniqueIds: retrieve asked for those
    learned = stub.app.renames.items()
    assert learned and all(ids.get(recorded_id) == fresh_id
                           for fresh_id, recorded_id in learned.items())


def _check_transaction_echoes(transaction: str | None, request: Request, answer: Response,
                              recorded: Response) -> None:
    sent, served = _envelope(request), _envelope(answer)
    if transaction in ("ITI-44", "ITI-45", "ITI-47"):
        asked_id = sent.payload.find(f"{{{HL7V3}}}id")  # type: ignore[union-attr]
        target = served.payload.find(  # type: ignore[union-attr]
            f"{{{HL7V3}}}acknowledgement/{{{HL7V3}}}targetMessage/{{{HL7V3}}}id")
        assert asked_id is not None and target is not None
        assert dict(target.attrib) == dict(asked_id.attrib)
    if transaction in ("ITI-45", "ITI-47"):
        query = f"{{{HL7V3}}}controlActProcess/{{{HL7V3}}}queryByParameter/{{{HL7V3}}}queryId"
        ack = f"{{{HL7V3}}}controlActProcess/{{{HL7V3}}}queryAck/{{{HL7V3}}}queryId"
        asked = sent.payload.find(query)  # type: ignore[union-attr]
        acked = served.payload.find(ack)  # type: ignore[union-attr]
        assert asked is not None and acked is not None
        assert dict(acked.attrib) == dict(asked.attrib)
    if transaction in ("ITI-41", "ITI-43"):
        assert (answer.content_type or "").startswith("multipart/related")
        boundary = (recorded.content_type or "").split("boundary=")[1].split(";")[0]
        assert boundary not in (answer.content_type or "")
    if transaction == "ITI-43":
        documents = {
            (r.findtext(f"{{{XDSB}}}DocumentUniqueId") or ""): served.content_of(
                r.find(f"{{{XDSB}}}Document"))  # type: ignore[arg-type]
            for r in served.payload.iter(f"{{{XDSB}}}DocumentResponse")}  # type: ignore[union-attr]
        asked_ids = [e.text for e in sent.payload.iter(  # type: ignore[union-attr]
            f"{{{XDSB}}}DocumentUniqueId")]
        assert sorted(documents) == sorted(asked_ids)  # the client's own uniqueIds
        before = _envelope(recorded)
        assert sorted(documents.values()) == sorted(  # attachment bytes unchanged
            before.content_of(r.find(f"{{{XDSB}}}Document"))  # type: ignore[arg-type]
            for r in before.payload.iter(f"{{{XDSB}}}DocumentResponse"))  # type: ignore[union-attr]


def test_a_changed_patient_id_gets_a_fault_naming_the_closest_request(
        stub: PlaybackServer, recorded: Path) -> None:
    pix = load_cassette(recorded).interactions[1].request
    fresh = regenerate_request(pix, IdMap()).request
    wrong = fresh.evolve(body=fresh.body.replace(b"IHEDEMO-0001", b"IHEDEMO-0999"))
    answer = _send(stub, wrong)
    assert answer.status == 500
    fault = _envelope(answer).fault
    assert fault is not None and fault.code.endswith(":Sender")
    assert fault.subcodes and fault.subcodes[0].endswith(":NoRecordedMatch")
    assert "Closest: flow.yaml#1 (ITI-45 'PIX query')" in fault.reason
    assert ".../queryByParameter/parameterList/patientIdentifier/value/@extension: recorded " \
           "'IHEDEMO-0001', received 'IHEDEMO-0999'" in fault.reason
    served = _envelope(answer)
    assert served.relates_to == _envelope(wrong).message_id
    difference = served.envelope.find(f".//{{{SERVE_NS}}}Difference")
    assert difference is not None and difference.get("received") == "IHEDEMO-0999"


def test_wrong_path_and_unreadable_bodies_are_explained(stub: PlaybackServer,
                                                        recorded: Path) -> None:
    query = load_cassette(recorded).interactions[4].request
    fresh = regenerate_request(query, IdMap()).request
    moved = fresh.evolve(uri=fresh.uri.replace("/xds/registry", "/registry"))
    fault = _envelope(_send(stub, moved)).fault
    assert fault is not None
    assert "path: recorded /xds/registry, received /registry" in fault.reason
    assert "'find documents'" in fault.reason
    answer = requests.post(stub.url_for("/xds/registry"), data=b"<not-closed>", timeout=5,
                           headers={"Content-Type": "application/soap+xml"})
    assert answer.status_code == 500
    assert "could not be read as XML" in answer.text
    truncated = requests.post(stub.url_for("/xds/repository"), data=b"--b\r\n\r\n<a/>",
                              timeout=5, headers={"Content-Type": 'multipart/related; '
                                                  'boundary="b"'})
    assert truncated.status_code == 500 and "truncated multipart" in truncated.text


def test_repeated_requests_and_strict_order(recorded: Path) -> None:
    cassette = load_cassette(recorded)
    with PlaybackServer([recorded], strict_order=True) as strict:
        query = regenerate_request(cassette.interactions[1].request, IdMap()).request
        out_of_order = _envelope(_send(strict, query)).fault
        assert out_of_order is not None and "out of order" in out_of_order.reason
        assert "flow.yaml#0 (ITI-44 'register patient')" in out_of_order.reason
        for interaction in cassette.interactions[:2]:
            answer = _send(strict, regenerate_request(interaction.request, IdMap()).request)
            assert answer.status == 200 and _envelope(answer).fault is None
        again = _envelope(_send(strict, query)).fault
        assert again is not None and "already served" in again.reason
        strict.reset()
        assert _send(strict, regenerate_request(cassette.interactions[0].request,
                                                IdMap()).request).status == 200
    with PlaybackServer([recorded]) as relaxed:
        for _ in range(3):  # the last (only) recorded answer again and again
            answer = _send(relaxed, regenerate_request(cassette.interactions[1].request,
                                                       IdMap()).request)
            assert answer.status == 200


def test_index_page_and_several_cassettes(recorded: Path, tmp_path: Path) -> None:
    from ihe_test_util.cassette import save_cassette

    cassette = load_cassette(recorded)
    save_cassette(tmp_path / "nested" / "pix.yaml", Cassette(cassette.interactions[:2]))
    with PlaybackServer([recorded, tmp_path]) as stub:
        assert len(stub.index) == 9 and len(stub.index.cassettes) == 2
        page = requests.get(stub.base_url + "/", timeout=5)
        assert page.status_code == 200
        assert f"{stub.base_url}/pix  4  ITI-44 ITI-45" in page.text
        assert f"{stub.base_url}/xds/repository  2  ITI-41 ITI-43" in page.text
        # the same request recorded in two cassettes: served in cassette order
        fresh = regenerate_request(cassette.interactions[0].request, IdMap()).request
        assert _send(stub, fresh).status == 200


def test_zeep_client_is_answered_from_the_recording(recorded: Path) -> None:
    zeep = pytest.importorskip("zeep")
    wsdl = Path(__file__).parent / "data" / "registry-iti18.wsdl"
    with PlaybackServer([recorded]) as stub:
        client = zeep.Client(str(wsdl))
        service = client.create_service("{urn:ihe:iti:xds-b:2007}DocumentRegistry_Binding_Soap12",
                                        stub.url_for("/xds/registry"))

        def find(patient: str) -> object:
            return service.DocumentRegistry_RegistryStoredQuery(
                ResponseOption={"returnType": "ObjectRef", "returnComposedObjects": True},
                AdhocQuery={"id": "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d", "Slot": [
                    {"name": "$XDSDocumentEntryStatus", "ValueList": {
                        "Value": ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"]}},
                    {"name": "$XDSDocumentEntryPatientId", "ValueList": {
                        "Value": [f"'{patient}^^^&1.3.6.1.4.1.21367.13.20.1000&ISO'"]}},
                ]})

        result = find("IHEDEMO-0001")
        assert result.status == "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
        [object_list] = result._value_1
        assert len(object_list) == 2  # the two documents the flow submitted
        with pytest.raises(zeep.exceptions.Fault) as caught:
            find("IHEDEMO-0404")
    assert "IHEDEMO-0404" in caught.value.message and "'find documents'" in caught.value.message
    assert caught.value.code is not None and caught.value.code.endswith("Sender")


def test_soap_envelope_prefixes_in_requests_do_not_matter(stub: PlaybackServer,
                                                          recorded: Path) -> None:
    """A SOAP stack that spells the envelope with other prefixes and pretty-prints it."""
    from lxml import etree

    from ihe_test_util.safexml import parse_xml

    interaction = load_cassette(recorded).interactions[2]
    fresh = regenerate_request(interaction.request, IdMap()).request
    root = parse_xml(fresh.body)
    respelled = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"env": SOAP12, "addr": WSA})
    for part in root:
        respelled.append(part)
    etree.indent(respelled, space="    ")
    answer = _send(stub, fresh.evolve(body=etree.tostring(respelled, encoding="UTF-8")))
    assert answer.status == 200
    assert _envelope(answer).relates_to == _envelope(fresh).message_id


def test_concurrent_clients(stub: PlaybackServer, recorded: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    queries = [i.request for i in load_cassette(recorded).interactions[1:3]]

    def ask(number: int) -> bool:
        fresh = regenerate_request(queries[number % 2], IdMap()).request
        answer = _send(stub, fresh)
        return answer.status == 200 and _envelope(answer).relates_to == \
            _envelope(fresh).message_id

    with ThreadPoolExecutor(max_workers=4) as pool:
        assert all(pool.map(ask, range(40)))


def test_fhir_get_and_json_bodies_are_played_back(tmp_path: Path) -> None:
    from ihe_test_util.cassette import save_cassette
    from ihe_test_util.model import Interaction

    bundle = b'{"resourceType":"Bundle","type":"searchset","total":1}'
    search = Request("GET", "http://fhir.example/fhir/Patient?family=Mohr&given=Alice",
                     Headers([("Accept", "application/fhir+json")]))
    create = Request("POST", "http://fhir.example/fhir", Headers([
        ("Content-Type", "application/fhir+json")]), b'{"resourceType": "Bundle", "type": '
        b'"transaction"}')
    save_cassette(tmp_path / "fhir.yaml", Cassette((
        Interaction(search, Response(200, "OK", Headers([
            ("Content-Type", "application/fhir+json")]), bundle)),
        Interaction(create, Response(201, "Created", Headers([
            ("Content-Type", "application/fhir+json"), ("Location", "Bundle/1")]), b"{}")),
    )))
    with PlaybackServer([tmp_path / "fhir.yaml"]) as stub:
        found = requests.get(stub.url_for("/fhir/Patient?given=Alice&family=Mohr"), timeout=5)
        assert (found.status_code, found.content) == (200, bundle)
        assert found.headers["Content-Type"] == "application/fhir+json"
        made = requests.post(stub.url_for("/fhir"), timeout=5, json={
            "type": "transaction", "resourceType": "Bundle"})
        assert made.status_code == 201 and made.headers["Location"] == "Bundle/1"
        missing = requests.get(stub.url_for("/fhir/Patient?family=Other"), timeout=5,
                               headers={"Accept": "application/fhir+json"})
        assert missing.status_code == 404
        [issue] = missing.json()["issue"]
        assert missing.json()["resourceType"] == "OperationOutcome"
        assert "path: recorded /fhir/Patient?family=Mohr&given=Alice, received " \
               "/fhir/Patient?family=Other" in issue["diagnostics"]
        assert "Closest: fhir.yaml#0" in issue["diagnostics"]
