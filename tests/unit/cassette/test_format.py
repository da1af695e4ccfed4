"""Cassette layout: exact round-trips, deterministic output, readable views, what reviewers see."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ihe_test_util.cassette import load_cassette, save_cassette
from ihe_test_util.errors import CassetteError
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

GOLDEN = Path(__file__).resolve().parents[2] / "fixtures" / "cassettes" / "golden.yaml"

SOAP_LF = (
    b'<?xml version="1.0" encoding="UTF-8"?>\n'
    b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">\n'
    b"  <s:Body>\n"
    b'    <query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"/>\n'
    b"  </s:Body>\n"
    b"</s:Envelope>\n"
)
SOAP_CRLF = SOAP_LF.replace(b"\n", b"\r\n")
HL7V2 = b"MSH|^~\\&|PAT_IDENTITY_X_REF_MGR|HOSPITAL|||20240101||ACK^A01|1|P|2.5\rMSA|AA|1\r"
LATIN1 = b'<?xml version="1.0" encoding="ISO-8859-1"?>\n<name>M\xfcller</name>\n'
PDF = b"%PDF-1.4\n" + bytes(range(256)) + b"\n%%EOF"


def mtom() -> tuple[bytes, str]:
    return build_mtom(
        SOAP_LF, [Attachment("doc1@example.org", "application/pdf", PDF)],
        soap_action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b",
        boundary="MIMEBoundary_golden", root_content_id="root.message@example.org",
    )


def sample_cassette() -> Cassette:
    body, content_type = mtom()
    soap = 'application/soap+xml; charset=UTF-8; action="urn:ihe:iti:2007:RegistryStoredQuery"'
    return Cassette(
        meta=CassetteMeta(tool_version="0.1.0", recorded_at="2024-05-01T10:00:00Z",
                          name="golden"),
        interactions=(
            Interaction(
                Request("POST", "http://127.0.0.1:8080/xds/registry",
                        Headers([("Content-Type", soap), ("Authorization",
                                                          "[[ihe-secret:authorization]]")]),
                        SOAP_LF),
                Response(200, "OK", Headers([("Content-Type", "application/soap+xml"),
                                             ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]),
                         SOAP_CRLF),
                InteractionMeta(transaction="ITI-18", step="find documents", endpoint="registry",
                                duration_ms=41.25, recorded_at="2024-05-01T10:00:01Z",
                                captured={"patient_id": "P123^^^&1.2.3&ISO"}),
            ),
            Interaction(
                Request("POST", "http://127.0.0.1:8080/xds/repository",
                        Headers([("Content-Type", content_type),
                                 ("Content-Length", str(len(body)))]), body),
                Response(200, "OK", Headers([("Content-Type", "text/xml; charset=ISO-8859-1")]),
                         LATIN1),
                InteractionMeta(transaction="ITI-41", step="submit"),
            ),
            Interaction(
                Request("GET", "http://127.0.0.1:8080/hl7?q=1"),
                Response(200, "OK", Headers([("Content-Type", "x-application/hl7-v2+er7")]),
                         HL7V2),
            ),
            Interaction(
                Request("POST", "http://127.0.0.1:8080/fhir", Headers([("Content-Type",
                                                                        "application/json")]),
                        b'{\n  "resourceType": "Bundle",\n  "total": 0\n}\n'),
                Response(204, "No Content"),
            ),
        ),
    )


def test_golden_file_shows_what_a_reviewer_sees(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(path, sample_cassette())
    if os.environ.get("UPDATE_GOLDEN"):
        GOLDEN.parent.mkdir(parents=True, exist_ok=True)
        GOLDEN.write_bytes(path.read_bytes())
    assert path.read_bytes() == GOLDEN.read_bytes(), (
        "cassette layout changed; review the diff and rerun with UPDATE_GOLDEN=1"
    )
    text = GOLDEN.read_text(encoding="utf-8")
    # XML with LF is a literal block, line for line:
    assert "      <query:AdhocQueryRequest xmlns:query=" in text
    # CRLF XML: one double-quoted line per line:
    assert '    <s:Body>\\r\\n\\\n' not in text
    assert '\\  <s:Body>\\r\\n\\\n' in text
    # the MTOM root part is readable beside the exact base64 body:
    assert "request_view:" in text and "sha256:" in text
    # ISO-8859-1 body is exact binary plus a decoded view:
    assert "charset: iso-8859-1" in text and "<name>Müller</name>" in text
    assert text.endswith("version: 1\n")


def test_golden_file_loads_to_the_same_model() -> None:
    assert load_cassette(GOLDEN) == sample_cassette()


def test_resaving_an_unchanged_cassette_gives_an_identical_file(tmp_path: Path) -> None:
    first, second = tmp_path / "1.yaml", tmp_path / "2.yaml"
    save_cassette(first, sample_cassette())
    save_cassette(second, load_cassette(first))
    assert first.read_bytes() == second.read_bytes()


@pytest.mark.parametrize(
    "body",
    [b"", b"x", b"\r", b"\n", b"\r\n\r\n", b" ", b"\xef\xbb\xbf<a/>", b"\x00\x01\x02",
     bytes(range(256)), "Zürich — 東京\n".encode(), b"a\x0bb\x1c\r", b"\x85\xa0",
     "line\u2028sep\n".encode(), b"tab\tend\t", b"--\r\n--b--"],
)
def test_bodies_round_trip_byte_for_byte(tmp_path: Path, body: bytes) -> None:
    cassette = Cassette((Interaction(Request("PUT", "http://h/p", body=body),
                                     Response(200, body=body)),))
    path = tmp_path / "c.yaml"
    save_cassette(path, cassette)
    loaded = load_cassette(path).interactions[0]
    assert loaded.request.body == body
    assert loaded.response.body == body


def test_edited_view_is_refused_because_it_would_show_what_does_not_play_back(
    tmp_path: Path,
) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(path, sample_cassette())
    text = path.read_text(encoding="utf-8")
    assert text.count("<name>Müller</name>") == 1
    path.write_text(text.replace("<name>Müller</name>", "<name>Meier</name>"), encoding="utf-8")
    with pytest.raises(CassetteError) as caught:
        load_cassette(path)
    line = next(i for i, row in enumerate(text.splitlines(), 1) if "response_view:" in row) + 1
    assert f"c.yaml:{line}:" in str(caught.value)
    assert "response_view does not match the body" in str(caught.value)


def test_plain_vcrpy_spellings_are_accepted(tmp_path: Path) -> None:
    path = tmp_path / "vcr.yaml"
    path.write_text(
        "interactions:\n"
        "- request:\n"
        "    body: !!python/unicode 'a=1'\n"
        "    headers:\n"
        "      Accept: '*/*'\n"
        "      Content-Length: [3]\n"
        "    method: POST\n"
        "    uri: http://h/p\n"
        "  response:\n"
        "    body: {string: !!binary aGk=}\n"
        "    headers: {X-N: [1, true]}\n"
        "    status: {code: 201, message: null}\n"
        "    url: http://h/p\n"
        "metadata: {anything: [1, 2]}\n"
        "version: 1\n",
        encoding="utf-8",
    )
    interaction = load_cassette(path).interactions[0]
    assert interaction.request.body == b"a=1"
    assert interaction.request.headers.items() == (("Accept", "*/*"), ("Content-Length", "3"))
    assert interaction.response == Response(201, "", Headers([("X-N", "1"), ("X-N", "true")]),
                                            b"hi")
