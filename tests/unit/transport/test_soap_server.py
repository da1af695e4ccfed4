"""SOAP 1.2 request parsing and fault rendering, without HTTP."""

from __future__ import annotations

import gzip
import zlib

import pytest
from lxml import etree

from ihe_test_util.ihe.namespaces import SOAP11, SOAP12, WSA
from ihe_test_util.model import Headers
from ihe_test_util.safexml import parse_xml
from ihe_test_util.transport.endpoint import HttpCall
from ihe_test_util.transport.mtom import Attachment, build_mtom
from ihe_test_util.transport.soap_server import (
    FaultReply,
    client_soap_version,
    parse_request,
    render_fault,
    render_fault_for,
)

CT = "application/soap+xml"


def _envelope(headers: str, body: str = "<x:Q xmlns:x='urn:q'/>") -> bytes:
    return (f"<s:Envelope xmlns:s='{SOAP12}' xmlns:a='{WSA}'><s:Header>{headers}</s:Header>"
            f"<s:Body>{body}</s:Body></s:Envelope>").encode()


OK_HEADERS = "<a:Action>urn:act</a:Action><a:MessageID>urn:uuid:1</a:MessageID>"


def test_parses_action_message_id_and_body() -> None:
    request = parse_request(_envelope(OK_HEADERS + "<a:ReplyTo><a:Address>urn:r</a:Address>"
                                      "</a:ReplyTo>"), CT, max_bytes=10_000)
    assert (request.action, request.message_id, request.reply_to) == (
        "urn:act", "urn:uuid:1", "urn:r")
    assert request.body.tag == "{urn:q}Q"


@pytest.mark.parametrize(("data", "content_type", "code", "subcode"), [
    (b"<broken", CT, "Sender", None),
    (b"<!DOCTYPE x [<!ENTITY e 'x'>]><x>&e;</x>", CT, "Sender", None),
    (b"<x/>", CT, "VersionMismatch", None),
    (b"<e:Envelope xmlns:e='http://schemas.xmlsoap.org/soap/envelope/'><e:Body/></e:Envelope>",
     "text/xml", "VersionMismatch", None),
    (_envelope("<a:MessageID>urn:uuid:1</a:MessageID>"), CT, "Sender",
     "MessageAddressingHeaderRequired"),
    (_envelope(OK_HEADERS + "<a:MessageID>urn:uuid:2</a:MessageID>"), CT, "Sender",
     "InvalidAddressingHeader"),
    (_envelope(OK_HEADERS, "<x:A xmlns:x='urn:q'/><x:B xmlns:x='urn:q'/>"), CT, "Sender", None),
    (_envelope(OK_HEADERS + "<h:H xmlns:h='urn:h' s:mustUnderstand='1'/>"), CT,
     "MustUnderstand", None),
    (_envelope(OK_HEADERS), "application/json", "Sender", None),
    (b"x" * 20_000, CT, "Sender", None),
])
def test_bad_requests_raise_faults(data: bytes, content_type: str, code: str,
                                   subcode: str | None) -> None:
    with pytest.raises(FaultReply) as caught:
        parse_request(data, content_type, max_bytes=10_000)
    assert caught.value.code == code
    assert (caught.value.subcode[1] if caught.value.subcode else None) == subcode


def test_must_understand_false_and_ws_security_are_fine() -> None:
    headers = (OK_HEADERS + "<h:H xmlns:h='urn:h' s:mustUnderstand='false'/>"
               "<w:Security xmlns:w='http://docs.oasis-open.org/wss/2004/01/"
               "oasis-200401-wss-wssecurity-secext-1.0.xsd' s:mustUnderstand='true'/>")
    assert parse_request(_envelope(headers), CT, max_bytes=10_000).action == "urn:act"


def test_mtom_request_and_xop_resolution() -> None:
    soap = _envelope(OK_HEADERS, "<x:D xmlns:x='urn:q'><xop:Include xmlns:xop="
                     "'http://www.w3.org/2004/08/xop/include' href='cid:doc%401'/></x:D>")
    body, content_type = build_mtom(soap, [Attachment("doc@1", "text/plain", b"\x00\r\nbytes")])
    request = parse_request(body, content_type, max_bytes=100_000)
    assert request.binary_content(request.body) == b"\x00\r\nbytes"
    dangling = _envelope(OK_HEADERS, "<x:D xmlns:x='urn:q'><xop:Include xmlns:xop="
                         "'http://www.w3.org/2004/08/xop/include' href='cid:missing'/></x:D>")
    body, content_type = build_mtom(dangling)
    request = parse_request(body, content_type, max_bytes=100_000)
    with pytest.raises(FaultReply):
        request.binary_content(request.body)
    inline = parse_request(_envelope(OK_HEADERS, "<x:D xmlns:x='urn:q'>aGk=\n</x:D>"), CT,
                           max_bytes=10_000)
    assert inline.binary_content(inline.body) == b"hi"
    bad = parse_request(_envelope(OK_HEADERS, "<x:D xmlns:x='urn:q'>not base64!</x:D>"), CT,
                        max_bytes=10_000)
    with pytest.raises(FaultReply):
        bad.binary_content(bad.body)


@pytest.mark.parametrize(("code", "status"), [("Sender", 400), ("Receiver", 500),
                                              ("VersionMismatch", 500), ("MustUnderstand", 500)])
def test_fault_http_status_follows_the_soap_http_binding(code: str, status: int) -> None:
    answer = render_fault(FaultReply(code, "why"))
    assert answer.status == status
    envelope = etree.fromstring(answer.body)
    value = envelope.find(f".//{{{SOAP12}}}Code/{{{SOAP12}}}Value")
    assert value is not None and value.text == f"soap:{code}"
    assert value.nsmap["soap"] == SOAP12


@pytest.mark.parametrize(("coding", "encode"), [
    ("gzip", gzip.compress), ("deflate", zlib.compress), ("gzip, identity", gzip.compress)])
def test_a_request_content_coding_is_decoded(coding: str, encode: object) -> None:
    body = encode(_envelope(OK_HEADERS))  # type: ignore[operator]
    request = parse_request(body, CT, max_bytes=10_000, content_encoding=coding)
    assert (request.action, request.body.tag) == ("urn:act", "{urn:q}Q")


@pytest.mark.parametrize(("coding", "data", "status"), [
    ("compress", b"whatever", 415),  # a coding this server does not know
    ("gzip", b"not gzip at all", 400),
    # mtime=0: the same bytes (and test id) in every process, as pytest-xdist requires
    ("gzip", gzip.compress(b"x" * 20_000, mtime=0), 413),  # decodes beyond the size limit
])
def test_an_undecodable_request_coding_is_a_sender_fault(coding: str, data: bytes,
                                                        status: int) -> None:
    with pytest.raises(FaultReply) as caught:
        parse_request(data, CT, max_bytes=10_000, content_encoding=coding)
    assert caught.value.code == "Sender" and caught.value.http_status == status
    assert coding.split(",")[0] in caught.value.reason


def test_faults_are_rendered_in_the_clients_soap_version() -> None:
    fault = FaultReply("VersionMismatch", "speak SOAP 1.2", upgrade=True)
    soap11 = render_fault_for(fault, SOAP11)
    envelope = parse_xml(soap11.body)
    assert soap11.content_type.startswith("text/xml") and soap11.status == 500
    assert envelope.findtext(f".//{{{SOAP11}}}Fault/faultcode") == "soapenv:VersionMismatch"
    supported = envelope.find(f"{{{SOAP11}}}Header/{{{SOAP12}}}Upgrade/"
                              f"{{{SOAP12}}}SupportedEnvelope")
    assert supported is not None and supported.get("qname") == "soap:Envelope"
    for version in (SOAP12, None):
        answer = render_fault_for(FaultReply("Sender", "no"), version)
        assert answer.content_type.startswith("application/soap+xml")
        assert parse_xml(answer.body).tag == f"{{{SOAP12}}}Envelope"


@pytest.mark.parametrize(("body", "headers", "expected"), [
    (b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/"><s:Body/></s:Envelope>',
     [("Content-Type", "text/xml")], SOAP11),
    (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>',
     [("Content-Type", "application/soap+xml")], SOAP12),
    (gzip.compress(b'<s:Envelope xmlns:s="http://schemas.xmlsoap.org/soap/envelope/">'
                   b'<s:Body/></s:Envelope>'),
     [("Content-Type", "text/xml"), ("Content-Encoding", "gzip")], SOAP11),
    (b"", [("Content-Type", "application/soap+xml; charset=UTF-8")], SOAP12),
    (b"", [("Content-Type", "text/xml")], SOAP11),
    (b"<not-closed", [("Content-Type", "application/soap+xml")], SOAP12),
    (b"<not-closed", [("Content-Type", "text/xml")], None),
    (b'{"resourceType": "Patient"}', [("Content-Type", "application/fhir+json")], None),
    (b"", [], None),
])
def test_client_soap_version_by_envelope_then_media_type(
        body: bytes, headers: list[tuple[str, str]], expected: str | None) -> None:
    call = HttpCall("POST", "/x", Headers(headers), body)
    assert client_soap_version(call) == expected
