"""The one message reader: codings, BOM and charset, MTOM, payload, actions, read-only trees."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest
from lxml import etree

from ihe_test_util.ihe.message import (
    MessageCache,
    attachment_sha256,
    decode_content,
    header_actions,
    message_of,
    payload_of,
    read_message,
)
from ihe_test_util.model import Headers, Request, Response
from ihe_test_util.transport.mtom import Attachment, build_mtom

ENVELOPE = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
            b'xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>'
            b"<a:Action>urn:wsa-action</a:Action></s:Header><s:Body><!-- c --><q>x</q>"
            b"</s:Body></s:Envelope>")
SOAP = "application/soap+xml; charset=utf-8"


def _headers(**values: str) -> Headers:
    return Headers([(name.replace("_", "-"), value) for name, value in values.items()])


@pytest.mark.parametrize("coding, encode", [
    ("gzip", gzip.compress),
    ("x-gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
    ("br", brotli.compress),
    ("identity", lambda data: data),
    ("gzip, br", lambda data: brotli.compress(gzip.compress(data))),  # stacked: br applied last
])
def test_content_codings_are_undone(coding: str, encode: object) -> None:
    assert callable(encode)
    message = read_message(encode(ENVELOPE), _headers(Content_Type=SOAP,
                                                      Content_Encoding=coding))
    assert message.kind == "xml" and message.raw == ENVELOPE
    assert message.payload is not None and message.payload.tag == "q"


def test_a_decompression_bomb_is_a_finding_not_an_explosion() -> None:
    bomb = gzip.compress(b"<a>" + b" " * 5_000_000 + b"</a>")
    message = read_message(bomb, _headers(Content_Type="text/xml", Content_Encoding="gzip"),
                           max_bytes=1_000_000)
    assert message.kind == "unparseable" and message.root is None
    assert message.error == "decoded body exceeds 1,000,000 bytes"
    with pytest.raises(ValueError, match="exceeds"):
        decode_content(brotli.compress(b"x" * 2_000_000), "br", 1_000_000)


@pytest.mark.parametrize("coding, data, expected", [
    ("compress", b"xx", "unsupported Content-Encoding 'compress'"),
    ("gzip", b"not gzip", "not valid gzip"),
    ("gzip", gzip.compress(ENVELOPE)[:-12], "not valid gzip: truncated"),
    ("br", b"\xff\xff\xff", "not valid br"),
])
def test_bad_codings_say_why(coding: str, data: bytes, expected: str) -> None:
    message = read_message(data, _headers(Content_Type=SOAP, Content_Encoding=coding))
    assert message.kind == "unparseable" and expected in (message.error or "")


def test_bom_and_declared_charset() -> None:
    bom = read_message(b"\xef\xbb\xbf" + ENVELOPE, content_type=SOAP)
    assert bom.kind == "xml" and bom.action == "urn:wsa-action"
    latin = "<p>Müller</p>".encode("latin-1")
    message = read_message(latin, content_type="text/xml; charset=ISO-8859-1")
    assert message.root is not None and message.root.text == "Müller"
    # The document's own declaration wins over the HTTP charset (RFC 7303).
    declared = b'<?xml version="1.0" encoding="UTF-8"?><p>M\xc3\xbcller</p>'
    assert read_message(declared, content_type="text/xml; charset=ISO-8859-1").root.text == \
        "Müller"  # type: ignore[union-attr]
    er7 = read_message(b"\xef\xbb\xbfMSH|^~\\&|A|B\rMSA|AA|1\r", content_type="x-application/hl7")
    assert er7.kind == "hl7v2"
    json_view = read_message('{"resourceType": "Patient", "id": "ä"}'.encode("latin-1"),
                             content_type="application/fhir+json; charset=latin-1")
    assert json_view.kind == "json"


def test_kinds() -> None:
    assert read_message(b"  \r\n", content_type="text/xml").kind == "empty"
    pdf = read_message(b"%PDF-1.4 ...", content_type="application/pdf")
    assert pdf.kind == "binary" and pdf.root is None and "application/pdf" in (pdf.error or "")
    broken = read_message(b"<a><b></a>", content_type="text/xml")
    assert broken.kind == "unparseable" and "malformed XML" in (broken.error or "")


def test_mtom_root_part_attachments_and_actions() -> None:
    body, content_type = build_mtom(ENVELOPE, [Attachment("doc1@x", "text/plain", b"hello")],
                                    soap_action="urn:ct-action")
    message = read_message(body, content_type=content_type)
    assert message.multipart and message.kind == "xml" and message.media_type == \
        "multipart/related"
    (part,) = message.attachments
    assert part.content_id == "doc1@x" and part.content == b"hello"
    assert attachment_sha256(part) == \
        "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
    assert message.actions == ("urn:wsa-action", "urn:ct-action")
    truncated = read_message(body[:-20], content_type=content_type)
    assert truncated.kind == "unparseable" and truncated.multipart


def test_one_action_reader_for_every_header() -> None:
    assert header_actions(_headers(
        Content_Type='multipart/related; start-info-action="urn:si"; action="urn:a"',
        SOAPAction='"urn:soap11"')) == ("urn:a", "urn:si", "urn:soap11")
    assert header_actions(_headers(SOAPAction='""')) == ()
    plain = read_message(b"<q/>", _headers(Content_Type="text/xml", SOAPAction="urn:b"))
    assert plain.action == "urn:b" and plain.envelope is None


def test_payload_is_the_first_element_of_the_soap_body() -> None:
    root = etree.fromstring(ENVELOPE)
    assert payload_of(root) is root[1][1]
    empty = etree.fromstring(b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
                             b"<s:Body/></s:Envelope>")
    assert payload_of(empty) is None
    bare = etree.fromstring(b"<q/>")
    assert payload_of(bare) is bare and payload_of(None) is None


def test_private_copies_leave_the_shared_tree_alone() -> None:
    message = read_message(ENVELOPE, content_type=SOAP)
    private = message.private()
    assert private.payload is not None and message.payload is not None
    private.payload.text = "edited"
    assert message.payload.text == "x" and private.root is not message.root
    assert private.kind == message.kind and private.actions == message.actions


def test_the_cache_reads_each_message_once_by_identity() -> None:
    cache = MessageCache()
    response = Response(200, "OK", _headers(Content_Type=SOAP), ENVELOPE)
    twin = Response(200, "OK", _headers(Content_Type=SOAP), ENVELOPE)
    first = cache.read(response)
    assert cache.read(response) is first
    assert cache.read(twin) is not first  # equal but another message: read on its own
    cache.forget(response, None)
    assert cache.read(response) is not first and len(cache) == 2
    request = Request("POST", "http://x/", _headers(Content_Type=SOAP), ENVELOPE)
    assert message_of(request).action == "urn:wsa-action"


def test_the_comparer_reads_encoded_responses_through_the_reader() -> None:
    from ihe_test_util.compare import compare_responses
    from ihe_test_util.results import Outcome

    plain = Response(200, "OK", _headers(Content_Type=SOAP), ENVELOPE)
    gzipped = Response(200, "OK", _headers(Content_Type=SOAP, Content_Encoding="gzip"),
                       gzip.compress(ENVELOPE))
    assert compare_responses(plain, gzipped).outcome is Outcome.PASS
    broken = gzipped.evolve(body=b"\x1f\x8b not gzip at all")
    comparison = compare_responses(plain, broken)
    assert comparison.outcome is Outcome.REGRESSION
    assert "not valid gzip" in comparison.differences[0].replayed
