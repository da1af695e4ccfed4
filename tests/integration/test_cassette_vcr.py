"""Both directions of vcrpy compatibility, proven with real vcrpy, requests and an HTTP server.

1. What vcrpy records (its own persister and serializer) loads in our store, every field intact.
2. What our store writes plays back in plain vcrpy (``record_mode="none"``, no network) with
   identical status, headers and body bytes, MTOM with a binary attachment included.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest
import requests
import vcr
from click.testing import CliRunner
from vcr.serialize import deserialize
from vcr.serializers import yamlserializer

from ihe_test_util.cassette import Redactor, load_cassette, save_cassette
from ihe_test_util.cassette._vcr import record_with_vcr
from ihe_test_util.cli.main import cli
from ihe_test_util.model import (
    Cassette,
    CassetteMeta,
    Headers,
    Interaction,
    InteractionMeta,
    Request,
    Response,
)
from ihe_test_util.transport.mtom import Attachment, build_mtom

SAML_SECRET = "_assertion-id-0815-secret"
SIGNATURE_SECRET = "c2lnbmF0dXJlLXZhbHVlLXNlY3JldA=="
SOAP_WITH_SAML = f"""<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">
  <s:Header>
    <wsse:Security xmlns:wsse="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
      <saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="{SAML_SECRET}">
        <ds:Signature xmlns:ds="http://www.w3.org/2000/09/xmldsig#"><ds:SignatureValue>{SIGNATURE_SECRET}</ds:SignatureValue></ds:Signature>
      </saml2:Assertion>
    </wsse:Security>
  </s:Header>
  <s:Body><xdsb:ProvideAndRegisterDocumentSetRequest xmlns:xdsb="urn:ihe:iti:xds-b:2007"/></s:Body>
</s:Envelope>
""".encode()
PDF = b"%PDF-1.7\n\x00\x01\xff\xfe binary \r\n\r\n--not-a-boundary\n" + bytes(range(256))
MTOM_BODY, MTOM_TYPE = build_mtom(
    SOAP_WITH_SAML, [Attachment("doc1@ihe.example", "application/pdf", PDF)],
    soap_action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b",
)
RESPONSE_SOAP = (
    b'<?xml version="1.0" encoding="UTF-8"?>\r\n<s:Envelope xmlns:s="http://www.w3.org/2003/05/'
    b'soap-envelope">\r\n  <s:Body>\r\n    <rs:RegistryResponse xmlns:rs="urn:oasis:names:tc:'
    b'ebxml-regrep:xsd:rs:3.0" status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:'
    b'Success"/>\r\n  </s:Body>\r\n</s:Envelope>\r\n'
)
RETRIEVE_BODY, RETRIEVE_TYPE = build_mtom(
    RESPONSE_SOAP, [Attachment("doc1@ihe.example", "application/pdf", PDF)],
)
HL7 = b"MSH|^~\\&|SUPPLIER|X|||20240101||RSP^K23|7|P|2.5\rMSA|AA|1\rQAK|q1|OK\r"
LATIN1 = '<?xml version="1.0" encoding="ISO-8859-1"?>\n<n>Grønn Ærlig</n>\n'.encode("latin-1")

#: path -> (status, reason, headers, body) the local server answers with
ROUTES: dict[str, tuple[int, str, list[tuple[str, str]], bytes]] = {
    "/xds/repository": (200, "OK", [("Content-Type", RETRIEVE_TYPE), ("Set-Cookie", "JSESSION=s1"),
                                    ("Set-Cookie", "route=r2"), ("X-Trace", "a"),
                                    ("X-Trace", "b")], RETRIEVE_BODY),
    "/hl7": (200, "OK", [("Content-Type", "x-application/hl7-v2+er7")], HL7),
    "/latin1": (200, "OK", [("Content-Type", "text/xml; charset=ISO-8859-1")], LATIN1),
    "/empty": (204, "No Content", [], b""),
    "/missing": (404, "Not Found", [("Content-Type", "text/plain")], b"no such thing\n"),
}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    received: ClassVar[list[tuple[str, str, dict[str, str], bytes]]] = []

    def _answer(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length) if length else b""
        self.received.append((self.command, self.path, dict(self.headers), body))
        status, reason, headers, payload = ROUTES[self.path.split("?")[0]]
        self.send_response(status, reason)
        for name, value in headers:
            self.send_header(name, value)
        if status != 204:
            self.send_header("Content-Length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)

    do_GET = do_POST = _answer

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def server() -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    _Handler.received = []
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()


def _exchanges(base: str) -> list[requests.Response]:
    with requests.Session() as session:
        return [
            session.post(f"{base}/xds/repository?x=1", data=MTOM_BODY, headers={
                "Content-Type": MTOM_TYPE, "Authorization": "Bearer " + SIGNATURE_SECRET}),
            session.get(f"{base}/hl7", headers={"Cookie": "sid=" + SAML_SECRET}),
            session.get(f"{base}/latin1"),
            session.post(f"{base}/empty", data=b""),
            session.get(f"{base}/missing"),
        ]


def test_a_cassette_vcrpy_records_loads_with_every_field_intact(
    server: str, tmp_path: Path,
) -> None:
    path = tmp_path / "vcrpy.yaml"
    with vcr.VCR(record_mode="once").use_cassette(str(path)):
        live = _exchanges(server)
    ours = load_cassette(path)
    vcr_requests, vcr_responses = deserialize(path.read_text(encoding="utf-8"),
                                              yamlserializer)[:2]
    assert len(ours.interactions) == len(vcr_requests) == len(live) == 5
    for interaction, request, response, answer in zip(
        ours.interactions, vcr_requests, vcr_responses, live, strict=True,
    ):
        assert interaction.request.method == request.method
        assert interaction.request.uri == request.uri
        assert interaction.request.body == (request.body or b"")
        assert dict(interaction.request.headers.items()) == dict(request.headers)
        assert interaction.response.status == response["status"]["code"] == answer.status_code
        assert interaction.response.reason == response["status"]["message"] == answer.reason
        assert interaction.response.headers.as_multidict() == response["headers"]
        assert interaction.response.body == response["body"]["string"] == answer.content
    assert ours.interactions[0].request.body == MTOM_BODY == _Handler.received[0][3]
    assert ours.interactions[0].response.headers.get_all("Set-Cookie") == ["JSESSION=s1",
                                                                         "route=r2"]


def _as_vcrpy_presents(values: list[str]) -> str:
    """vcrpy 9 hands every value of a repeated header to requests; 8.x only the first (its own
    cassettes included): a vcrpy limitation, not one of the cassette."""
    major = int(getattr(vcr, "__version__", "8").split(".")[0])
    return ", ".join(values) if major >= 9 else values[0]


def _played_back(path: Path, base: str) -> list[requests.Response]:
    with vcr.VCR(record_mode="none").use_cassette(str(path)):
        return _exchanges(base)


def test_a_cassette_we_write_plays_back_in_plain_vcrpy(tmp_path: Path) -> None:
    base = "http://127.0.0.1:9"  # discard port: nothing listens, playback must not connect
    interactions = []
    for route, (status, reason, headers, body) in ROUTES.items():
        method = "POST" if route in ("/xds/repository", "/empty") else "GET"
        query = "?x=1" if route == "/xds/repository" else ""
        request_body = MTOM_BODY if route == "/xds/repository" else b""
        with_length = [*headers, ("Content-Length", str(len(body)))] if body else headers
        interactions.append(Interaction(
            Request(method, f"{base}{route}{query}", Headers([("Content-Type", MTOM_TYPE)]),
                    request_body),
            Response(status, reason, Headers(with_length), body),
            InteractionMeta(transaction="ITI-41", step=route, duration_ms=1.5),
        ))
    path = tmp_path / "ours.yaml"
    save_cassette(path, Cassette(tuple(interactions), CassetteMeta(tool_version="0.1.0")))
    text = path.read_text(encoding="utf-8")
    assert "request_view:" in text and "response_view:" in text and "\nihe:" in text
    played = _played_back(path, base)
    for interaction, answer in zip(interactions, played, strict=True):
        recorded = interaction.response
        assert answer.status_code == recorded.status
        assert answer.reason == recorded.reason
        assert answer.content == recorded.body
        for name, values in recorded.headers.as_multidict().items():
            assert answer.headers[name] == _as_vcrpy_presents(values)
    assert played[0].content == RETRIEVE_BODY and PDF in played[0].content


def test_record_with_vcr_redacts_and_plain_vcrpy_plays_it_back(
    server: str, tmp_path: Path,
) -> None:
    path = tmp_path / "recorded.yaml"
    with record_with_vcr(path, redactor=Redactor()):
        live = _exchanges(server)
    assert [p.name for p in tmp_path.iterdir()] == ["recorded.yaml"]  # no temporary left over
    written = path.read_bytes()
    for secret in (SAML_SECRET, SIGNATURE_SECRET, "JSESSION=s1", "route=r2", "sid="):
        assert secret.encode() not in written
    cassette = load_cassette(path)
    mtom_request = cassette.interactions[0].request
    for secret in (SAML_SECRET, SIGNATURE_SECRET):  # not even inside the base64 MTOM body
        assert secret.encode() not in mtom_request.body
    assert b"[[ihe-secret:saml_assertion]]" in mtom_request.body and PDF in mtom_request.body
    assert mtom_request.headers.get("Authorization") == "[[ihe-secret:authorization]]"
    assert cassette.meta.tool_version and cassette.meta.recorded_at
    played = _played_back(path, server)
    for answer, replay in zip(live, played, strict=True):
        assert (replay.status_code, replay.reason, replay.content) == (
            answer.status_code, answer.reason, answer.content)
    assert played[0].headers["Set-Cookie"] == _as_vcrpy_presents(["[[ihe-secret:set_cookie]]"] * 2)
    # playing back through our persister keeps our per-interaction metadata on re-save
    with record_with_vcr(path, record_mode="none"):
        assert [r.content for r in _exchanges(server)] == [a.content for a in live]


def test_cassette_check_cli_on_recorded_and_broken_cassettes(server: str, tmp_path: Path) -> None:
    good = tmp_path / "cassettes" / "iti41.yaml"
    with record_with_vcr(good):
        _exchanges(server)
    runner = CliRunner()
    result = runner.invoke(cli, ["--no-color", "cassette", "check", str(good.parent)])
    assert result.exit_code == 0, result.output
    assert "iti41.yaml: 5 interactions; needs secrets: authorization, saml_assertion, cookie" in (
        result.output)
    broken = good.parent / "broken.yml"
    broken.write_text(good.read_text(encoding="utf-8").replace("method: GET", "method: [GET]", 1),
                      encoding="utf-8")
    result = runner.invoke(cli, ["--no-color", "cassette", "check", str(good.parent)])
    assert result.exit_code == 2
    line = next(i for i, row in enumerate(broken.read_text().splitlines(), 1) if "[GET]" in row)
    assert f"broken.yml:{line}: interaction 2: request.method must be a string" in result.output
    assert "2 cassettes checked, 1 invalid" in result.output
    result = runner.invoke(cli, ["cassette", "check", str(tmp_path / "nowhere")])
    # Read as one line: the terminal may wrap a long temporary path anywhere in the message.
    assert result.exit_code == 2
    assert "nowhere: no such cassette file" in " ".join(result.output.split())


def test_rerecording_through_vcrpy_keeps_our_metadata(server: str, tmp_path: Path) -> None:
    path = tmp_path / "episodes.yaml"
    hl7 = Interaction(Request("GET", f"{server}/hl7"), Response(200, "OK", body=HL7),
                      InteractionMeta(transaction="ITI-9", step="pix query", duration_ms=3.0))
    save_cassette(path, Cassette((hl7,), CassetteMeta(name="episodes")))
    with record_with_vcr(path, record_mode="new_episodes"), requests.Session() as session:
        assert session.get(f"{server}/hl7").content == HL7  # played back
        assert session.get(f"{server}/latin1").content == LATIN1  # recorded
    cassette = load_cassette(path)
    assert [i.request.uri for i in cassette.interactions] == [f"{server}/hl7", f"{server}/latin1"]
    assert cassette.interactions[0].meta == hl7.meta
    assert cassette.meta.name == "episodes"
    assert len(_Handler.received) == 1
