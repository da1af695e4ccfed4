"""Precision of correlation and of the value map on real captures (issue 11), end to end:
the real CLI replays a cassette of corpus messages against a server on 127.0.0.1.

* A FindDocuments filtered by confidentiality codes of ``2.16.840.1.113883.5.25`` (the
  corpus's real request) after an answer that listed a DocumentEntry coded in that system:
  the code-system OID is no server-assigned value, so the query is sent, never skipped.
* A real PDQ client (the corpus's captured ITI-47 pair) whose message id root equals its own
  device OID: replay regenerates the message id, the server's answer echoes the unchanged
  device as its receiver, and that echo is no "stale value".
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from ihe_test_util import __version__
from ihe_test_util.cassette import CassetteWriter
from ihe_test_util.model import (
    CassetteMeta,
    Headers,
    Interaction,
    InteractionMeta,
    Request,
    Response,
)
from tests.conftest import corpus_file

from ..transport_servers import base_url, serve
from .test_replay_cli import ihe, validate

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

SOAP = Headers([("Content-Type", "application/soap+xml; charset=utf-8")])
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
ANSWER = ("<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope' "
          "xmlns:a='http://www.w3.org/2005/08/addressing'><s:Header>"
          "<a:Action>urn:ihe:iti:2007:RegistryStoredQueryResponse</a:Action></s:Header><s:Body>"
          f"<AdhocQueryResponse xmlns='{QUERY}' "
          "status='urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success'>"
          f"<RegistryObjectList xmlns='{RIM}'>{{objects}}</RegistryObjectList>"
          "</AdhocQueryResponse></s:Body></s:Envelope>")
GET_DOCUMENTS = ("<s:Envelope xmlns:s='http://www.w3.org/2003/05/soap-envelope' "
                 "xmlns:a='http://www.w3.org/2005/08/addressing'><s:Header>"
                 "<a:Action>urn:ihe:iti:2007:RegistryStoredQuery</a:Action>"
                 "<a:MessageID>urn:uuid:5d0c7e8a-1111-4a4a-8b8b-0c0c0c0c0c0c</a:MessageID>"
                 f"</s:Header><s:Body><AdhocQueryRequest xmlns='{QUERY}'>"
                 "<ResponseOption returnType='LeafClass' returnComposedObjects='true'/>"
                 f"<AdhocQuery xmlns='{RIM}' id='urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4'>"
                 "<Slot name='$XDSDocumentEntryUniqueId'><ValueList>"
                 "<Value>('1.1.4567332.1.42.1')</Value></ValueList></Slot></AdhocQuery>"
                 "</AdhocQueryRequest></s:Body></s:Envelope>")


def _corpus_entry() -> str:
    """The DocumentEntry of NIST's registry submission (real metadata, confidentialityCode in
    2.16.840.1.113883.5.25), as a registry lists it."""
    text = corpus_file("ITI-42/simple.body.txt").read_text(encoding="utf-8")
    start = text.index("<rim:ExtrinsicObject")
    end = text.index("</rim:ExtrinsicObject>") + len("</rim:ExtrinsicObject>")
    entry = text[start:end].replace('id="Document01"',
                                    'id="urn:uuid:0a0b8f1e-3c9d-4f51-9d7b-3f6a2c1e5d42"')
    return entry.replace("<rim:ExtrinsicObject ",
                         f'<rim:ExtrinsicObject xmlns:rim="{RIM}" ', 1)


def _write(folder: Path, name: str, exchanges: list[tuple[str, bytes, bytes]]) -> Path:
    path = folder / name
    with CassetteWriter(path, CassetteMeta(__version__)) as writer:
        for transaction, request, response in exchanges:
            writer.append(Interaction(
                Request("POST", "http://recorded.example/service", SOAP, request),
                Response(200, "OK", SOAP, response),
                InteractionMeta(transaction=transaction, step=f"{transaction} exchange"),
            ))
    return path


def test_a_query_by_a_code_an_earlier_answer_listed_is_sent(tmp_path: Path) -> None:
    find_documents = corpus_file("ITI-18/iti18-iti40-request.xml").read_bytes()
    cassette = _write(tmp_path, "codes.yaml", [
        ("ITI-18", GET_DOCUMENTS.encode(), ANSWER.format(objects=_corpus_entry()).encode()),
        ("ITI-18", find_documents, ANSWER.format(objects="").encode()),
    ])
    received: list[bytes] = []

    def registry(body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]],
                                                                 bytes]:
        received.append(body)  # an empty registry: the DocumentEntry is no longer there
        return 200, [("Content-Type", "application/soap+xml")], ANSWER.format(
            objects="").encode()

    with serve(routes={"service": registry}) as server:
        report = tmp_path / "run.json"
        result = ihe("replay", str(cassette), "--target", base_url(server),
                     "--report-json", str(report))
    outcomes = [e["outcome"] for e in validate(report)["exchanges"]]  # type: ignore[index]
    assert outcomes[1] != "skipped", result.stdout
    assert "DependencyNotReplayed" not in result.stdout
    assert len(received) == 2 and b"N^^2.16.840.1.113883.5.25" in received[1]


def test_an_echo_of_the_sender_device_equal_to_the_old_message_id_root_is_no_change(
        tmp_path: Path) -> None:
    request = corpus_file("ITI-47/ITI-47_request_raw.xml").read_bytes()
    response = corpus_file("ITI-47/ITI-47_response_raw.xml").read_bytes()
    assert b'<id root="1.2.3.4"/>' in request  # the message id root: the device's OID
    cassette = _write(tmp_path, "pdq.yaml", [("ITI-47", request, response)])
    sent: list[bytes] = []

    def supplier(body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]],
                                                                 bytes]:
        # answers as captured (the receiver is the unchanged sender device), echoing this
        # request's MessageID and queryId as a real supplier does
        sent.append(body)
        message_id = re.search(rb"<MessageID[^>]*>([^<]+)<", body)
        query_id = re.search(rb'<queryId extension="([^"]+)"', body)
        assert message_id is not None and query_id is not None
        answer = response.replace(b"urn:uuid:9fe7246b-8fab-4dd7-976e-c81bc1955575",
                                  message_id.group(1))
        return 200, [("Content-Type", "application/soap+xml")], answer.replace(
            b"16944356511831", query_id.group(1))

    with serve(routes={"service": supplier}) as server:
        report = tmp_path / "run.json"
        result = ihe("replay", str(cassette), "--target", base_url(server),
                     "--report-json", str(report))
    assert request.count(b'<id root="1.2.3.4"/>') == 2  # message id, sender device
    assert sent and sent[0].count(b'<id root="1.2.3.4"/>') == 1  # the message id is fresh
    assert b'<device classCode="DEV" determinerCode="INSTANCE">\n     <id root="1.2.3.4"/>' \
        in sent[0]  # the sender device is not
    data = validate(report)
    assert result.returncode == 0, result.stdout + json.dumps(data["exchanges"])
    assert "still says" not in result.stdout


def test_an_id_a_server_assigned_in_a_bom_answer_is_carried_forward(tmp_path: Path) -> None:
    """The captured EPR flow: a PIX query (ITI-45) answers the patient's XAD-PID, a PDQ query
    (ITI-47) then asks by it. The server answers with a UTF-8 BOM (as some .NET stacks do) and
    assigns a new XAD-PID on this system; the later query must carry the new one."""
    recorded_pid = "7f2e05e6-673e-44b6-8b76-e17ac58ea80f"
    new_pid = "0d9b4b7e-5f1c-4d39-9a51-2f0e1c6b7a88"
    pix_request = corpus_file("ITI-45/ITI-45_request_raw.xml").read_bytes()
    pix_response = corpus_file("ITI-45/ITI-45_response_raw.xml").read_bytes()
    assert recorded_pid.encode() in pix_response and recorded_pid.encode() not in pix_request
    pdq_request = corpus_file("ITI-47/ITI-47_request_raw.xml").read_bytes().replace(
        b"08242eb8-dd47-4298-8d2f-25d60114f137", recorded_pid.encode())
    pdq_response = corpus_file("ITI-47/ITI-47_response_raw.xml").read_bytes()
    cassette = _write(tmp_path, "epr.yaml", [("ITI-45", pix_request, pix_response),
                                             ("ITI-47", pdq_request, pdq_response)])
    received: list[bytes] = []

    def manager(body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]],
                                                                bytes]:
        received.append(body)
        answer = pix_response if b"PRPA_IN201309UV02" in body else pdq_response
        return 200, [("Content-Type", "application/soap+xml; charset=utf-8")], \
            b"\xef\xbb\xbf" + answer.replace(recorded_pid.encode(), new_pid.encode())

    with serve(routes={"service": manager}) as server:
        result = ihe("replay", str(cassette), "--target", base_url(server),
                     "--report-json", str(tmp_path / "run.json"))
    assert len(received) == 2, result.stdout
    assert new_pid.encode() in received[1] and recorded_pid.encode() not in received[1]
