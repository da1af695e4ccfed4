"""SOAP 1.2 + WS-Addressing envelopes: built as IHE Appendix V says, parsed from real captures."""

from __future__ import annotations

import re

import pytest
from lxml import etree
from signxml.verifier import XMLVerifier

from ihe_test_util.errors import XmlInputError
from ihe_test_util.ihe.namespaces import SAML2, SOAP12, WSA, WSSE, XDSB, XOP
from ihe_test_util.transport.mtom import Attachment, content_type_params
from ihe_test_util.transport.soap import (
    ANONYMOUS,
    build_envelope,
    parse_envelope,
    soap_request,
)
from ihe_test_util.transport.wssecurity import SamlIssuer, SecurityHeader

from ...conftest import corpus_file
from .saml_keys import signing_pair

NS = {"soap": SOAP12, "wsa": WSA, "wsse": WSSE, "saml2": SAML2, "xdsb": XDSB, "xop": XOP}
PNR = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
UUID_URN = re.compile(r"^urn:uuid:[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[0-9a-f]{4}-[0-9a-f]{12}$")


def _payload() -> etree._Element:
    return etree.fromstring(b'<q:AdhocQueryRequest xmlns:q="urn:oasis:names:tc:ebxml-regrep:'
                            b'xsd:query:3.0"/>')


def test_envelope_has_ws_addressing_per_appendix_v() -> None:
    message = build_envelope(_payload(), "urn:ihe:iti:2007:RegistryStoredQuery",
                             to="http://reg/x")
    envelope = message.envelope
    assert envelope.tag == f"{{{SOAP12}}}Envelope"
    action = envelope.find("soap:Header/wsa:Action", NS)
    assert action is not None
    assert action.text == "urn:ihe:iti:2007:RegistryStoredQuery"
    assert action.get(f"{{{SOAP12}}}mustUnderstand") == "true"
    assert UUID_URN.match(message.message_id or "")
    assert message.to == "http://reg/x"
    assert envelope.findtext("soap:Header/wsa:ReplyTo/wsa:Address", namespaces=NS) == ANONYMOUS
    assert message.payload is not None
    assert etree.QName(message.payload).localname == "AdhocQueryRequest"
    assert message.version == "1.2"
    assert message.fault is None


def test_every_envelope_gets_a_new_message_id() -> None:
    ids = {build_envelope(_payload(), "a").message_id for _ in range(20)}
    assert len(ids) == 20


def test_plain_request_content_type_and_round_trip() -> None:
    request = soap_request("http://127.0.0.1:9/reg", _payload(),
                           "urn:ihe:iti:2007:RegistryStoredQuery")
    assert request.method == "POST"
    media, params = content_type_params(request.content_type or "")
    assert media == "application/soap+xml"
    assert params["action"] == "urn:ihe:iti:2007:RegistryStoredQuery"
    assert params["charset"] == "UTF-8"
    parsed = parse_envelope(request.body, request.content_type)
    assert parsed.action == "urn:ihe:iti:2007:RegistryStoredQuery"
    assert parsed.to == "http://127.0.0.1:9/reg"


def test_mtom_request_with_attachment() -> None:
    document = etree.Element(f"{{{XDSB}}}Document", id="Document01")
    etree.SubElement(document, f"{{{XOP}}}Include", href="cid:doc1@ihe-test-util")
    body = etree.Element(f"{{{XDSB}}}ProvideAndRegisterDocumentSetRequest")
    body.append(document)
    content = b"%PDF-1.4 \x00\xff binary \r\n--not-a-boundary"
    request = soap_request("http://h/rep", body, PNR, mtom_attachments=[
        Attachment("doc1@ihe-test-util", "application/pdf", content)])
    media, params = content_type_params(request.content_type or "")
    assert media == "multipart/related"
    assert params["type"] == "application/xop+xml"
    assert params["start-info"] == "application/soap+xml"
    assert params["action"] == PNR
    message = parse_envelope(request.body, request.content_type)
    assert message.action == PNR
    found = message.envelope.find(".//xdsb:Document", NS)
    assert found is not None
    assert message.content_of(found) == content


def test_inline_base64_document_is_decoded() -> None:
    document = etree.Element(f"{{{XDSB}}}Document", id="d")
    document.text = "SGVsbG8g\nd29ybGQ="
    message = build_envelope(document, PNR)
    assert message.content_of(document) == b"Hello world"
    document.text = "not base64!"
    with pytest.raises(XmlInputError, match="base64"):
        message.content_of(document)


def test_forced_mtom_without_attachments_and_the_contradiction() -> None:
    request = soap_request("http://h/rep", _payload(), PNR, mtom=True)
    assert (request.content_type or "").startswith("multipart/related")
    with pytest.raises(ValueError, match="MTOM"):
        soap_request("http://h/rep", _payload(), PNR, mtom=False,
                     mtom_attachments=[Attachment("a@b", "text/plain", b"x")])


def test_security_header_is_signed_and_verifiable_on_the_wire() -> None:
    pair = signing_pair()
    security = SecurityHeader(SamlIssuer(pair.key_pem, pair.cert_pem, issuer="https://sts",
                                         subject="user"))
    request = soap_request("http://h/reg", _payload(), "urn:ihe:iti:2007:RegistryStoredQuery",
                           security=security)
    envelope = etree.fromstring(request.body)
    assertion = envelope.find("soap:Header/wsse:Security/saml2:Assertion", NS)
    assert assertion is not None
    XMLVerifier().verify(etree.tostring(assertion), x509_cert=pair.cert_pem.decode(),
                         id_attribute="ID")


def test_raw_envelope_passes_through_and_security_is_replaced() -> None:
    path = corpus_file("ITI-18/ITI-18_request_raw.xml")
    original = parse_envelope(path.read_bytes())
    old_id = original.envelope.find(".//saml2:Assertion", NS)
    assert old_id is not None
    message = build_envelope(path.read_bytes(), "ignored",
                             security=SecurityHeader(None))
    # the file is sent as it is: its own MessageID, read independently of the code under test
    assert message.message_id == original.message_id == \
        "urn:uuid:31D7E4B5-C117-481E-9EE1-F32849E81BF8"
    blocks = message.envelope.findall("soap:Header/wsse:Security", NS)
    assert len(blocks) == 1
    assert blocks[0].find("saml2:Assertion", NS) is None  # the recorded one is gone
    header = message.header
    assert header is not None
    # same position: after To, MessageID, Action
    assert [etree.QName(c).localname for c in header] == ["To", "MessageID", "Action", "Security"]


def test_parse_real_epr_capture_with_saml() -> None:
    message = parse_envelope(corpus_file("ITI-18/ITI-18_request_raw.xml").read_bytes())
    assert message.action == "urn:ihe:iti:2007:RegistryStoredQuery"
    assert message.message_id == "urn:uuid:31D7E4B5-C117-481E-9EE1-F32849E81BF8"
    assert message.payload is not None
    assert etree.QName(message.payload).localname == "AdhocQueryRequest"


def test_parse_real_axis2_mtom_request() -> None:
    headers = corpus_file("ITI-41/multipart.header.txt").read_text()
    content_type = next(line.split(":", 1)[1].strip() for line in headers.splitlines()
                        if line.lower().startswith("content-type:"))
    body = corpus_file("ITI-41/multipart.body.txt").read_bytes().replace(b"\n", b"\r\n")
    message = parse_envelope(body, content_type)
    assert message.action == PNR
    document = message.envelope.find(".//xdsb:Document", NS)
    assert document is not None
    assert message.content_of(document).startswith(b"This is my document.")


def test_fault_is_read() -> None:
    data = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body><s:Fault>'
            b'<s:Code><s:Value>s:Sender</s:Value><s:Subcode><s:Value>wsse:InvalidSecurity'
            b'</s:Value></s:Subcode></s:Code><s:Reason><s:Text xml:lang="en">expired'
            b'</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>')
    fault = parse_envelope(data).fault
    assert fault is not None
    assert (fault.code, fault.subcodes, fault.reason) == (
        "s:Sender", ("wsse:InvalidSecurity",), "expired")


def test_soap11_fault_is_read() -> None:
    data = (b'<e:Envelope xmlns:e="http://schemas.xmlsoap.org/soap/envelope/"><e:Body>'
            b'<e:Fault><faultcode>e:Client</faultcode><faultstring>bad</faultstring></e:Fault>'
            b'</e:Body></e:Envelope>')
    message = parse_envelope(data)
    assert message.version == "1.1"
    assert message.fault is not None
    assert (message.fault.code, message.fault.reason) == ("e:Client", "bad")


def test_not_an_envelope_is_a_clear_error() -> None:
    with pytest.raises(XmlInputError, match="not a SOAP envelope"):
        parse_envelope(b"<PRPA_IN201301UV02 xmlns='urn:hl7-org:v3'/>", source="request 3")


def test_missing_attachment_is_a_clear_error() -> None:
    document = etree.Element(f"{{{XDSB}}}Document")
    etree.SubElement(document, f"{{{XOP}}}Include", href="cid:gone@x")
    message = build_envelope(document, PNR)
    with pytest.raises(XmlInputError, match="not among the MIME parts"):
        message.content_of(document)
