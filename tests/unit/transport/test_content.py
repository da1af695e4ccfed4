"""Reading a body as XML, shared by the message reader and the SOAP client and server: the
Content-Type charset and the MTOM root part are honoured the same way everywhere."""

from __future__ import annotations

import pytest

from ihe_test_util.errors import XmlInputError
from ihe_test_util.ihe.message import read_message
from ihe_test_util.ihe.namespaces import SOAP12, WSA
from ihe_test_util.transport.content import looks_like_xml, read_xml, root_part
from ihe_test_util.transport.mtom import Attachment, build_mtom
from ihe_test_util.transport.soap import parse_envelope
from ihe_test_util.transport.soap_server import FaultReply, parse_request

LATIN1 = "application/soap+xml; charset=ISO-8859-1"
ENVELOPE = (f"<s:Envelope xmlns:s='{SOAP12}' xmlns:a='{WSA}'><s:Header>"
            "<a:Action>urn:act</a:Action><a:MessageID>urn:uuid:1</a:MessageID></s:Header>"
            "<s:Body><q>Zoë Müller</q></s:Body></s:Envelope>")


def test_a_declared_charset_is_read_alike_by_client_server_and_reader() -> None:
    body = ENVELOPE.encode("latin-1")  # no XML declaration: the HTTP charset decides
    assert read_xml(body, LATIN1)[0].findtext("*/q") == "Zoë Müller"
    assert parse_envelope(body, LATIN1).payload.text == "Zoë Müller"  # type: ignore[union-attr]
    assert parse_request(body, LATIN1, max_bytes=10_000).body.text == "Zoë Müller"
    assert read_message(body, content_type=LATIN1).payload.text == "Zoë Müller"  # type: ignore[union-attr]


def test_an_unknown_charset_is_a_fault_not_a_traceback() -> None:
    with pytest.raises(FaultReply) as caught:
        parse_request(ENVELOPE.encode("latin-1"), "application/soap+xml; charset=x-nonesuch",
                      max_bytes=10_000)
    assert caught.value.code == "Sender" and "x-nonesuch" in caught.value.reason


def test_the_mtom_root_part_and_its_package() -> None:
    body, content_type = build_mtom(ENVELOPE.encode(), [Attachment("doc@x", "text/plain", b"hi")])
    root, mime = read_xml(body, content_type)
    assert root.findtext("*/q") == "Zoë Müller"
    assert mime is not None and [a.content for a in mime.attachments] == [b"hi"]
    part = root_part(body, content_type)
    assert part.media_type == "application/xop+xml" and part.charset == "UTF-8"
    with pytest.raises(XmlInputError, match="truncated"):
        root_part(body[:-40], content_type)


@pytest.mark.parametrize(("data", "xml"), [
    (b"<a/>", True), (b"\xef\xbb\xbf \r\n<a/>", True), (b"  <?xml version='1.0'?><a/>", True),
    (b"MSH|^~\\&|", False), (b'{"a": "<b/>"}', False), (b"", False), (b"\xef\xbb\xbf", False),
])
def test_the_xml_sniff(data: bytes, xml: bool) -> None:
    assert looks_like_xml(data) is xml


@pytest.mark.parametrize(("recorded", "sent"), [
    ("gzip, deflate, br", "gzip, deflate, br"),
    ("gzip;q=1.0, zstd;q=0.9, *;q=0.1", "gzip;q=1.0"),
    ("zstd", "identity"),
    (None, "identity"),
    ("identity", "identity"),
    ("X-GZIP, compress", "X-GZIP"),
])
def test_replay_asks_only_for_codings_it_can_decode(recorded: str | None, sent: str) -> None:
    from ihe_test_util.transport.content import decodable_accept_encoding

    assert decodable_accept_encoding(recorded) == sent

