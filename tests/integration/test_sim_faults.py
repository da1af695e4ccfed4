"""Bad input over HTTP gets a SOAP 1.2 fault with the right code, fast, never a traceback."""

from __future__ import annotations

import gzip
import socket
from collections.abc import Iterator

import pytest
import requests
from lxml import etree

from ihe_test_util.ihe.namespaces import HL7V3, SOAP11, SOAP12, WSA
from ihe_test_util.sim import Simulator

from .sim_support import (
    PIX_ADD,
    PIX_QUERY,
    STORED_QUERY,
    Answer,
    Patient,
    corpus_body,
    envelope,
    feed_message,
    post,
    post_raw,
    read_answer,
)

SOAP_CT = "application/soap+xml; charset=UTF-8"


@pytest.fixture
def sim() -> Iterator[Simulator]:
    """The default read timeout: a busy machine must not turn a test's request into a 408."""
    with Simulator(max_body_bytes=200_000) as running:
        yield running


def _fault(answer: Answer, status: int, code: str, subcode: str | None = None) -> None:
    assert answer.status_code == status, answer.raw
    assert answer.content_type.startswith("application/soap+xml")
    value = answer.envelope.find(f".//{{{SOAP12}}}Fault/{{{SOAP12}}}Code/{{{SOAP12}}}Value")
    assert value is not None
    prefix, _, local = (value.text or "").partition(":")
    assert (value.nsmap[prefix], local) == (SOAP12, code)  # a real QName in the SOAP namespace
    if subcode is not None:
        sub = answer.envelope.find(f".//{{{SOAP12}}}Subcode/{{{SOAP12}}}Value")
        assert sub is not None
        sub_prefix, _, sub_local = (sub.text or "").partition(":")
        assert (sub.nsmap[sub_prefix], sub_local) == (WSA, subcode)
    assert b"Traceback" not in answer.raw
    assert answer.envelope.findtext(f".//{{{SOAP12}}}Reason/{{{SOAP12}}}Text")


def test_malformed_xml_is_a_sender_fault(sim: Simulator) -> None:
    answer = post_raw(sim.url_for("pix"), b"<soap:Envelope xmlns:soap='x'><unclosed>", SOAP_CT)
    _fault(answer, 400, "Sender")
    assert "malformed XML" in answer.envelope.findtext(f".//{{{SOAP12}}}Text", "")


def test_a_gzip_request_body_is_decoded(sim: Simulator) -> None:
    patient = Patient("1.2.840.gzip", "GZ-1")
    soap = envelope(PIX_ADD, feed_message(patient), message_id="urn:uuid:gzip-1")
    answer = read_answer(requests.post(sim.url_for("pix"), data=gzip.compress(soap), timeout=10,
                                       headers={"Content-Type": SOAP_CT,
                                                "Content-Encoding": "gzip"}))
    assert answer.status_code == 200, answer.raw
    assert answer.relates_to == "urn:uuid:gzip-1"
    assert answer.body.find(f".//{{{HL7V3}}}typeCode").get("code") == "AA"  # type: ignore[union-attr]


def test_an_unknown_request_coding_is_415_and_a_corrupt_one_400(sim: Simulator) -> None:
    soap = envelope(PIX_ADD, feed_message(Patient("1.2.840.gzip", "GZ-2")))
    for coding, data, status in (("compress", soap, 415), ("gzip", soap, 400)):
        answer = read_answer(requests.post(sim.url_for("pix"), data=data, timeout=10, headers={
            "Content-Type": SOAP_CT, "Content-Encoding": coding}))
        _fault(answer, status, "Sender")
        assert coding in answer.envelope.findtext(f".//{{{SOAP12}}}Text", "")


def test_dtd_and_entity_expansion_are_refused_quickly(sim: Simulator) -> None:
    bomb = (b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
            + b"".join(b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10 if i else b"&lol;"
                                                  * 10) for i in range(1, 9))
            + b"]><soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope'>"
            b"<soap:Body>&lol8;</soap:Body></soap:Envelope>")
    answer = post_raw(sim.url_for("pix"), bomb, SOAP_CT)  # refused unexpanded: see "DTD" below
    _fault(answer, 400, "Sender")
    assert "DTD" in answer.envelope.findtext(f".//{{{SOAP12}}}Text", "")
    xxe = (b'<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>'
           b"<soap:Envelope xmlns:soap='http://www.w3.org/2003/05/soap-envelope'><soap:Body>"
           b"<a>&xxe;</a></soap:Body></soap:Envelope>")
    answer = post_raw(sim.url_for("pix"), xxe, SOAP_CT)
    _fault(answer, 400, "Sender")
    assert b"root:" not in answer.raw


def test_soap_11_envelope_is_a_soap_11_version_mismatch_with_upgrade_header(
        sim: Simulator) -> None:
    """A SOAP 1.1 client (zeep's default) must be able to read the fault: it is a SOAP 1.1
    VersionMismatch whose Upgrade header block names the SOAP 1.2 envelope the sim speaks."""
    body = etree.tostring(feed_message(Patient("1.2.3", "a"))).decode()
    soap11 = (f'<s:Envelope xmlns:s="{SOAP11}"><s:Header/><s:Body>{body}</s:Body></s:Envelope>')
    response = requests.post(sim.url_for("pix"), data=soap11.encode(), timeout=5, headers={
        "Content-Type": "text/xml; charset=utf-8", "SOAPAction": PIX_ADD})
    assert response.status_code == 500
    assert response.headers["Content-Type"].startswith("text/xml")
    answer = etree.fromstring(response.content)
    assert answer.tag == f"{{{SOAP11}}}Envelope"
    assert answer.findtext(f".//{{{SOAP11}}}Fault/faultcode") == "soapenv:VersionMismatch"
    assert "SOAP 1.2" in (answer.findtext(f".//{{{SOAP11}}}Fault/faultstring") or "")
    supported = answer.find(f"{{{SOAP11}}}Header/{{{SOAP12}}}Upgrade/"
                            f"{{{SOAP12}}}SupportedEnvelope")
    assert supported is not None
    prefix, _, local = supported.get("qname", "").partition(":")
    assert (supported.nsmap[prefix], local) == (SOAP12, "Envelope")
    assert b"Traceback" not in response.content


def test_payload_without_envelope_is_a_version_mismatch(sim: Simulator) -> None:
    bare = etree.tostring(corpus_body("ITI-45/PIXv3_QUERY.xml"))
    _fault(post_raw(sim.url_for("pix"), bare, SOAP_CT), 500, "VersionMismatch")


@pytest.mark.parametrize("missing", ["Action", "MessageID"])
def test_missing_addressing_headers(sim: Simulator, missing: str) -> None:
    soap = etree.fromstring(envelope(PIX_ADD, feed_message(Patient("1.2.3", "a"))))
    header = soap.find(f"{{{SOAP12}}}Header")
    assert header is not None
    header.remove(header.find(f"{{{WSA}}}{missing}"))  # type: ignore[arg-type]
    answer = post_raw(sim.url_for("pix"), etree.tostring(soap), SOAP_CT)
    _fault(answer, 400, "Sender", "MessageAddressingHeaderRequired")
    assert answer.envelope.findtext(f".//{{{WSA}}}ProblemHeaderQName") == f"wsa:{missing}"
    assert answer.action == "http://www.w3.org/2005/08/addressing/fault"


def test_unknown_action_and_action_at_the_wrong_path(sim: Simulator) -> None:
    body = feed_message(Patient("1.2.3", "a"))
    answer = post(sim.url_for("pix"), "urn:example:NoSuchAction", body, message_id="urn:uuid:x1")
    _fault(answer, 400, "Sender", "ActionNotSupported")
    assert answer.relates_to == "urn:uuid:x1"
    assert answer.envelope.findtext(f".//{{{WSA}}}ProblemAction/{{{WSA}}}Action") == (
        "urn:example:NoSuchAction")
    wrong_path = post(sim.url_for("registry"), PIX_ADD, body)
    _fault(wrong_path, 400, "Sender", "ActionNotSupported")
    assert "/pix" in wrong_path.envelope.findtext(f".//{{{SOAP12}}}Text", "")


def test_body_that_does_not_match_the_action(sim: Simulator) -> None:
    answer = post(sim.url_for("pix"), PIX_QUERY, feed_message(Patient("1.2.3", "a")))
    _fault(answer, 400, "Sender")
    assert "PRPA_IN201309UV02" in answer.envelope.findtext(f".//{{{SOAP12}}}Text", "")


def test_must_understand_header_not_understood(sim: Simulator) -> None:
    soap = etree.fromstring(envelope(PIX_ADD, feed_message(Patient("1.2.3", "a"))))
    header = soap.find(f"{{{SOAP12}}}Header")
    assert header is not None
    extra = etree.SubElement(header, "{urn:example:ext}Billing")
    extra.set(f"{{{SOAP12}}}mustUnderstand", "true")
    answer = post_raw(sim.url_for("pix"), etree.tostring(soap), SOAP_CT)
    _fault(answer, 500, "MustUnderstand")
    block = answer.envelope.find(f".//{{{SOAP12}}}NotUnderstood")
    assert block is not None
    prefix, _, local = block.get("qname", "").partition(":")
    assert (block.nsmap[prefix], local) == ("urn:example:ext", "Billing")


def test_ws_security_header_is_accepted(sim: Simulator) -> None:
    """A SAML-carrying wsse:Security header (corpus capture) does not stop processing."""
    raw = corpus_body("ITI-18/iti18-iti40-request-getassociations.xml")
    answer = post(sim.url_for("registry"), STORED_QUERY, raw)
    assert answer.status_code == 200 and answer.status.endswith(":Success")


def test_oversized_body_is_refused_before_reading(sim: Simulator) -> None:
    answer = post_raw(sim.url_for("pix"), b"<a>" + b"x" * 300_000 + b"</a>", SOAP_CT)
    _fault(answer, 413, "Sender")


def test_unsupported_media_type(sim: Simulator) -> None:
    _fault(post_raw(sim.url_for("pix"), b"{}", "application/json"), 415, "Sender")


def test_truncated_multipart_is_a_sender_fault(sim: Simulator) -> None:
    body = b'--b1\r\nContent-Type: application/xop+xml\r\n\r\n<a/>\r\n'
    _fault(post_raw(sim.url_for("repository"), body, 'multipart/related; boundary="b1"'),
           400, "Sender")


def test_unknown_path_and_get(sim: Simulator) -> None:
    answer = post_raw(sim.base_url + "/nowhere", b"<a/>", SOAP_CT)
    _fault(answer, 404, "Sender")
    index = requests.get(sim.base_url + "/", timeout=5)
    assert index.status_code == 200
    for actor in ("pix", "pdq", "registry", "repository", "xcpd"):
        assert sim.url_for(actor) in index.text
    assert requests.get(sim.url_for("pix"), timeout=5).status_code == 405


def test_slow_body_times_out_without_blocking_others() -> None:
    """The stalled client is answered 408 by the server's read timeout (the client itself
    would wait 30 s); how soon after 0.5 s is measured in benchmarks/bench_deadlines.py."""
    with Simulator(max_body_bytes=200_000, read_timeout=0.5) as sim, \
            socket.create_connection(("127.0.0.1", sim.port), timeout=30) as slow:
        slow.sendall(b"POST /pix HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml\r\n"
                     b"Content-Length: 1000\r\n\r\n<soap:Envelope")
        # the server keeps answering other clients meanwhile
        answer = post(sim.url_for("pix"), PIX_ADD, feed_message(Patient("1.2.3", "a")))
        assert answer.ack_code == "AA"
        reply = b""
        while chunk := slow.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 408")
    assert b"Fault" in reply


def test_chunked_request_body(sim: Simulator) -> None:
    data = envelope(PIX_ADD, feed_message(Patient("1.2.3", "a")))

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), 700):
            yield data[start:start + 700]

    response = requests.post(sim.url_for("pix"), data=chunks(), timeout=5,
                             headers={"Content-Type": SOAP_CT})
    assert read_answer(response).ack_code == "AA"


def test_internal_error_is_a_receiver_fault(
        sim: Simulator, monkeypatch: pytest.MonkeyPatch) -> None:
    from ihe_test_util.sim import pix

    def explode(*args: object) -> None:
        raise RuntimeError("boom with a secret path /etc/secret")

    monkeypatch.setattr(pix, "_apply_feed", explode)
    answer = post(sim.url_for("pix"), PIX_ADD, feed_message(Patient("1.2.3", "a")))
    _fault(answer, 500, "Receiver")
    assert b"secret" not in answer.raw


def test_keep_alive_connection_serves_several_requests(sim: Simulator) -> None:
    with requests.Session() as session:
        for n in range(3):
            data = envelope(PIX_ADD, feed_message(Patient("1.2.3", f"k{n}")))
            response = session.post(sim.url_for("pix"), data=data, timeout=5,
                                    headers={"Content-Type": SOAP_CT})
            assert read_answer(response).ack_code == "AA"


def test_missing_content_length_is_411(sim: Simulator) -> None:
    with socket.create_connection(("127.0.0.1", sim.port), timeout=5) as client:
        client.sendall(b"POST /pix HTTP/1.1\r\nHost: x\r\nContent-Type: application/soap+xml"
                       b"\r\n\r\n")
        reply = b""
        while chunk := client.recv(65536):
            reply += chunk
    assert reply.startswith(b"HTTP/1.1 411")
    assert b"Content-Length header required" in reply
