"""The crashes the fuzzing pass found, each pinned as a plain test (issue 17)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ihe_test_util.cassette import load_cassette, save_cassette
from ihe_test_util.errors import CassetteError, XmlInputError
from ihe_test_util.model import Cassette, Interaction, Request, Response
from ihe_test_util.transport.mtom import parse_multipart


@pytest.mark.parametrize("uri", ["http://127.0.0.1:8080/pix\x1f", "http://a/\r\nX: y"])
def test_a_uri_with_a_control_character_is_refused_by_cassette_check(
        tmp_path: Path, uri: str) -> None:
    # found: such a cassette loaded, then replay crashed writing wsa:To (lxml ValueError)
    path = tmp_path / "c.yaml"
    save_cassette(path, Cassette((Interaction(Request("POST", uri, body=b"<a/>"),
                                              Response(200, "OK", body=b"<b/>")),)))
    with pytest.raises(CassetteError, match=r"c\.yaml:\d+: .*uri .* control character"):
        load_cassette(path)


def test_a_reason_phrase_with_a_control_character_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    save_cassette(path, Cassette((Interaction(Request("POST", "http://a/", body=b"<a/>"),
                                              Response(200, "O\nK", body=b"<b/>")),)))
    with pytest.raises(CassetteError, match=r"status\.message .* control character"):
        load_cassette(path)


def test_a_multipart_part_header_that_is_not_utf8_is_read_as_latin1() -> None:
    # found: a part header byte 0xc3 not followed by a continuation byte: UnicodeDecodeError
    content_type = 'multipart/related; boundary="b"; type="application/xop+xml"'
    body = (b"--b\r\nContent-Type: text/xml\r\nX-Name: \xc3(\r\n\r\n<a/>\r\n--b--\r\n")
    message = parse_multipart(body, content_type)
    assert message.root.headers.get("X-Name") == "\xc3("
    assert message.root.content == b"<a/>"


def test_a_multipart_body_that_cannot_be_split_is_an_input_error() -> None:
    with pytest.raises(XmlInputError, match="multipart"):
        parse_multipart(b"--b\r\n\r\n--b--", 'multipart/related; boundary="b"')


def test_a_request_with_a_control_character_in_its_action_gets_a_serve_fault() -> None:
    # found: ihe serve answered 'internal error' (lxml ValueError writing serve:NoMatch) for a
    # SOAPAction holding a control character
    from ihe_test_util.model import Headers
    from ihe_test_util.serve import PlaybackServer
    from ihe_test_util.transport.endpoint import HttpCall

    from .seeds import CASSETTES

    app = PlaybackServer(CASSETTES).app
    answer = app.handle(HttpCall("POST", "/pix\x08", Headers([
        ("Content-Type", "application/soap+xml"), ("SOAPAction", "urn:x\x08")]), b"<a/>"))
    assert answer.status in (400, 404, 500)
    assert b"internal error" not in answer.body
    assert b"\\u0008" in answer.body  # shown, not dropped: the client sees what it sent


def test_a_fault_reason_with_characters_xml_cannot_carry_is_rendered() -> None:
    from ihe_test_util.transport.soap_server import FaultReply, render_fault, render_soap11_fault

    fault = FaultReply("Sender", "action 'a\x00b' unknown", problem_action="a\x1bb")
    assert b"a\\u0000b" in render_fault(fault).body
    assert b"a\\u0000b" in render_soap11_fault(fault).body
