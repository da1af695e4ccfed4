"""Response fix-ups: echoes follow the request being answered, framing is fresh, bytes stay."""

from __future__ import annotations

import gzip
import re

from lxml import etree

from ihe_test_util.ihe.builders import PatientId, iti45_query
from ihe_test_util.ihe.namespaces import HL7V3, SOAP12, WSA, XOP
from ihe_test_util.model import Headers, Request, Response
from ihe_test_util.safexml import parse_xml
from ihe_test_util.serve.canonical import canonical_text
from ihe_test_util.serve.fixups import fix_response
from ihe_test_util.serve.renames import Renames
from ihe_test_util.serve.shape import shape_of
from ihe_test_util.transport.mtom import Attachment, build_mtom, parse_multipart

from ...conftest import corpus_file

URL = "http://pix.example/pix"
SOAP = 'application/soap+xml; charset=UTF-8; action="urn:hl7-org:v3:PRPA_IN201310UV02"'
RECORDED_PIX_RESPONSE = b"""<?xml version='1.0' encoding='UTF-8'?>
<S:Envelope xmlns:S="http://www.w3.org/2003/05/soap-envelope"
            xmlns:A="http://www.w3.org/2005/08/addressing">
 <S:Header>
  <A:Action>urn:hl7-org:v3:PRPA_IN201310UV02</A:Action>
  <A:MessageID>urn:uuid:aaaaaaaa-0000-0000-0000-000000000001</A:MessageID>
  <A:RelatesTo>urn:uuid:bbbbbbbb-0000-0000-0000-000000000002</A:RelatesTo>
 </S:Header>
 <S:Body>
  <PRPA_IN201310UV02 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0">
   <id root="1.2.3.4" extension="RESP-1"/>
   <creationTime value="20200101120000"/>
   <interactionId root="2.16.840.1.113883.1.6" extension="PRPA_IN201310UV02"/>
   <acknowledgement>
    <typeCode code="AA"/>
    <targetMessage><id root="cccccccc-0000-0000-0000-000000000003"/></targetMessage>
   </acknowledgement>
   <controlActProcess classCode="CACT" moodCode="EVN">
    <subject><registrationEvent><subject1><patient>
     <id root="1.3.6.1.4.1.21367.13.20.2000" extension="LOCAL-0001"/>
    </patient></subject1></registrationEvent></subject>
    <queryAck><queryId root="dddddddd-0000-0000-0000-000000000004"/>
     <queryResponseCode code="OK"/></queryAck>
    <queryByParameter><queryId root="dddddddd-0000-0000-0000-000000000004"/>
     <statusCode code="new"/></queryByParameter>
   </controlActProcess>
  </PRPA_IN201310UV02>
 </S:Body>
</S:Envelope>"""


def _h(path: str) -> str:
    return "/".join(f"{{{HL7V3}}}{step}" for step in path.split("/"))


def _pix_request() -> tuple[Request, etree._Element]:
    request = iti45_query(PatientId("IHEDEMO-0001", "1.3.6.1.4.1.21367.13.20.1000"),
                          data_sources=("1.3.6.1.4.1.21367.13.20.2000",)).to_request(URL)
    return request, parse_xml(request.body)


def test_hl7v3_echoes_follow_the_request_and_server_values_are_fresh() -> None:
    request, sent = _pix_request()
    shape = shape_of(request)
    recorded = Response(200, "OK", Headers([("Content-Type", SOAP), ("X-Trace", "t1"),
                                            ("Date", "yesterday"), ("Server", "them"),
                                            ("Content-Length", "1")]), RECORDED_PIX_RESPONSE)
    answer = fix_response(recorded, shape.echoes, Renames())
    root = parse_xml(answer.body)
    message = root.find(f".//{_h('PRPA_IN201310UV02')}")
    assert message is not None
    assert root.findtext(f".//{{{WSA}}}RelatesTo") == shape.message_id
    fresh_id = root.findtext(f".//{{{WSA}}}MessageID") or ""
    assert re.fullmatch(r"urn:uuid:[0-9a-f-]{36}", fresh_id)
    assert fresh_id != "urn:uuid:aaaaaaaa-0000-0000-0000-000000000001"
    request_id = sent.find(f".//{_h('PRPA_IN201309UV02/id')}")
    target = message.find(_h("acknowledgement/targetMessage/id"))
    assert request_id is not None and target is not None
    assert dict(target.attrib) == dict(request_id.attrib)
    asked = sent.find(f".//{_h('controlActProcess/queryByParameter')}")
    assert asked is not None
    query_id = asked.find(_h("queryId"))
    ack_id = message.find(_h("controlActProcess/queryAck/queryId"))
    assert query_id is not None and ack_id is not None
    assert dict(ack_id.attrib) == dict(query_id.attrib)
    echoed = message.find(_h("controlActProcess/queryByParameter"))
    assert echoed is not None and canonical_text(echoed) == canonical_text(asked)
    own_id = message.find(_h("id"))
    assert own_id is not None and own_id.get("root") == "1.2.3.4"
    assert own_id.get("extension") not in (None, "RESP-1")
    created = message.find(_h("creationTime"))
    assert created is not None and re.fullmatch(r"\d{14}", created.get("value", ""))
    assert created.get("value") != "20200101120000"
    # the rest is untouched, prefixes included
    assert b"<S:Envelope" in answer.body and b'extension="LOCAL-0001"' in answer.body
    assert answer.status == 200 and answer.content_type == SOAP
    assert answer.headers == (("X-Trace", "t1"),)


def test_relates_to_is_dropped_when_the_request_has_no_message_id() -> None:
    request, sent = _pix_request()
    header = sent.find(f"{{{SOAP12}}}Header")
    assert header is not None
    header.remove(header.find(f"{{{WSA}}}MessageID"))  # type: ignore[arg-type]
    shape = shape_of(request.evolve(body=etree.tostring(sent)))
    answer = fix_response(Response(200, body=RECORDED_PIX_RESPONSE,
                                   headers=Headers([("Content-Type", SOAP)])),
                          shape.echoes, Renames())
    assert b"RelatesTo" not in answer.body


def test_mtom_response_gets_a_fresh_boundary_and_keeps_attachment_bytes() -> None:
    document = bytes(range(256)) * 40  # binary, with CR LF and boundary-like bytes inside
    xml = (b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
           b'xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header>'
           b"<a:RelatesTo>urn:uuid:old</a:RelatesTo></s:Header><s:Body>"
           b'<x:RetrieveDocumentSetResponse xmlns:x="urn:ihe:iti:xds-b:2007"><x:DocumentResponse>'
           b'<x:Document><xop:Include xmlns:xop="http://www.w3.org/2004/08/xop/include" '
           b'href="cid:doc1@recorded"/></x:Document></x:DocumentResponse>'
           b"</x:RetrieveDocumentSetResponse></s:Body></s:Envelope>")
    body, content_type = build_mtom(xml, [Attachment("doc1@recorded", "text/xml", document)],
                                    soap_action="urn:ihe:iti:2007:RetrieveDocumentSetResponse",
                                    boundary="MIMEBoundary_recorded")
    request, _ = _pix_request()
    shape = shape_of(request)
    answer = fix_response(Response(200, headers=Headers([("Content-Type", content_type)]),
                                   body=body), shape.echoes, Renames())
    assert "MIMEBoundary_recorded" not in answer.content_type
    assert b"MIMEBoundary_recorded" not in answer.body
    message = parse_multipart(answer.body, answer.content_type)
    root = parse_xml(message.root.content)
    include = root.find(f".//{{{XOP}}}Include")
    assert include is not None
    href = include.get("href", "")
    assert href.startswith("cid:") and "recorded" not in href
    attachment = message.attachment(href)
    assert attachment is not None and attachment.content == document
    assert root.findtext(f".//{{{WSA}}}RelatesTo") == shape.message_id
    assert 'action="urn:ihe:iti:2007:RetrieveDocumentSetResponse"' in answer.content_type


def test_corpus_cxf_multipart_response_without_attachments() -> None:
    raw = corpus_file("ITI-41/ITI-41_response_raw.xml").read_bytes()
    head, _, body = re.sub(rb"\r?\n", b"\r\n", raw).partition(b"\r\n\r\n")
    content_type = next(line.split(b":", 1)[1].strip().decode() for line in head.splitlines()
                        if line.lower().startswith(b"content-type:"))
    request, _ = _pix_request()
    shape = shape_of(request)
    answer = fix_response(Response(200, headers=Headers([("Content-Type", content_type)]),
                                   body=body), shape.echoes, Renames())
    assert "uuid:2a1acced-0234-4a54-8dd3-b9f9b753169c" not in answer.content_type
    message = parse_multipart(answer.body, answer.content_type)
    assert message.attachments == ()
    root = parse_xml(message.root.content)
    assert root.findtext(f".//{{{WSA}}}RelatesTo") == shape.message_id
    assert b"ResponseStatusType:Success" in message.root.content


def test_learned_identifiers_are_shown_to_the_client() -> None:
    renames = Renames()
    renames.learn(["2.25.999"], ["2.25.111"])
    recorded = (b'<r:X xmlns:r="urn:x"><r:Id value="2.25.111"/><r:Id value="2.25.1112"/>'
                b'<Document xmlns="urn:ihe:iti:xds-b:2007">2.25.111</Document></r:X>')
    answer = fix_response(Response(200, headers=Headers([("Content-Type", "text/xml")]),
                                   body=recorded), (), renames)
    assert b'value="2.25.999"' in answer.body and b'value="2.25.1112"' in answer.body
    assert b">2.25.111</Document>" in answer.body  # document content is never edited


def test_gzip_recording_is_served_decoded_with_the_requests_echoes() -> None:
    request, _ = _pix_request()
    shape = shape_of(request)
    echoes = shape.echoes
    zipped = gzip.compress(RECORDED_PIX_RESPONSE)
    answer = fix_response(Response(200, headers=Headers([
        ("Content-Type", SOAP), ("Content-Encoding", "gzip"),
        ("Set-Cookie", "[[ihe-secret:cookie]]")]), body=zipped), echoes, Renames())
    assert answer.headers == ()  # Content-Encoding dropped: the body goes out decoded
    root = parse_xml(answer.body)
    assert root.findtext(f".//{{{WSA}}}RelatesTo") == shape.message_id
    assert b"bbbbbbbb-0000-0000-0000-000000000002" not in answer.body


def test_relates_to_carries_the_message_id_value_not_its_attributes() -> None:
    request, sent = _pix_request()
    message_id = sent.find(f".//{{{WSA}}}MessageID")
    assert message_id is not None
    wsu = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
    message_id.set(f"{{{SOAP12}}}mustUnderstand", "true")
    message_id.set(f"{{{wsu}}}Id", "id-1")
    shape = shape_of(request.evolve(body=etree.tostring(sent)))
    answer = fix_response(Response(200, body=RECORDED_PIX_RESPONSE,
                                   headers=Headers([("Content-Type", SOAP)])),
                          shape.echoes, Renames())
    relates_to = parse_xml(answer.body).find(f".//{{{WSA}}}RelatesTo")
    assert relates_to is not None
    assert relates_to.text == (message_id.text or "").strip()
    assert dict(relates_to.attrib) == {}


def test_bodies_served_as_recorded() -> None:
    request, _ = _pix_request()
    echoes = shape_of(request).echoes
    zipped = gzip.compress(b"MSH|^~\\&|A")
    answer = fix_response(Response(200, headers=Headers([
        ("Content-Type", "text/plain"), ("Content-Encoding", "gzip"),
        ("Set-Cookie", "[[ihe-secret:cookie]]")]), body=zipped), echoes, Renames())
    assert answer.body == zipped
    assert answer.headers == (("Content-Encoding", "gzip"),)
    for body in (b"MSH|^~\\&|A", b"{\"resourceType\": \"Bundle\"}", b"<broken><xml>", b""):
        answer = fix_response(Response(404, headers=Headers([("Content-Type", "text/plain")]),
                                       body=body), echoes, Renames())
        assert (answer.status, answer.body) == (404, body)
    untouched = b"<?xml version='1.0'?><plain xmlns:p='urn:p'><p:v>1</p:v></plain>"
    answer = fix_response(Response(200, body=untouched), echoes, Renames())
    assert answer.body == untouched
    assert answer.content_type == "application/octet-stream"
