"""Reading what was saved or received: HTTP captures, ER7 and JSON element views."""

from __future__ import annotations

import pytest
from lxml import etree

from ihe_test_util.compare.files import parse_capture
from ihe_test_util.ihe.er7 import Er7Error, message_type, parse_er7
from ihe_test_util.ihe.jsonxml import JsonViewError, parse_json_view
from ihe_test_util.ihe.message import read_message
from ihe_test_util.ihe.namespaces import FHIR
from tests.conftest import corpus_file


def test_capture_with_a_banner_line_and_multipart_body() -> None:
    response = parse_capture(corpus_file("ITI-41/ITI-41_response_raw.xml").read_bytes())
    assert response.status == 200 and response.reason == "OK"
    assert (response.content_type or "").startswith("multipart/related")
    body = read_message(response.body, content_type=response.content_type)
    assert body.kind == "xml" and body.multipart
    assert body.payload is not None and body.payload.tag.endswith("}RegistryResponse")


def test_capture_without_head_is_the_body_with_unknown_status() -> None:
    data = corpus_file("ITI-18/sq-resp-lc.xml").read_bytes()
    response = parse_capture(data)
    assert response.status == 0 and response.body == data and response.content_type is None


def test_chunked_capture_is_dechunked() -> None:
    capture = (b"HTTP/1.1 500 Server Error\r\nTransfer-Encoding: chunked\r\n"
               b"Content-Type: application/soap+xml\r\n\r\n5\r\n<a>x<\r\n3\r\n/a>\r\n0\r\n\r\n")
    response = parse_capture(capture)
    assert response.status == 500 and response.body == b"<a>x</a>"


def test_bare_multipart_gets_its_boundary_from_the_first_line() -> None:
    response = parse_capture(corpus_file("ITI-41/nist-PnrXop-Xop-body.txt").read_bytes())
    body = read_message(response.body, content_type=response.content_type)
    assert body.kind == "xml" and len(body.attachments) == 1


def test_er7_view_names_fields_by_position_and_keeps_repetitions() -> None:
    root = parse_er7(corpus_file("ITI-9/ok-2_Response.hl7").read_bytes())
    assert message_type(root) == "RSP^K23"
    pid3 = root.findall("PID/PID.3")
    assert [r.findtext("PID.3.1") for r in pid3] == ["79471", "78912"]
    assert root.findtext("PID/PID.3/PID.3.4/PID.3.4.2") == "2.16.840.1.113883.3.37.4.1.1.2.411.1"
    assert root.findtext("MSH/MSH.1") == "|" and root.findtext("MSH/MSH.2") == "^~\\&"


def test_er7_accepts_mllp_framing_and_line_ends() -> None:
    framed = b"\x0bMSH|^~\\&|A|B|C|D|20240101||ACK^A01|1|P|2.5\nMSA|AA|9\r\n\x1c\r"
    root = parse_er7(framed)
    assert root.findtext("MSA/MSA.1") == "AA"
    with pytest.raises(Er7Error):
        parse_er7(b"MSH|^")


def test_fhir_json_maps_onto_fhir_xml_shape() -> None:
    root = parse_json_view(corpus_file("ITI-67/Bundle-FindDocumentReferences.json").read_bytes())
    assert root.tag == f"{{{FHIR}}}Bundle"
    total = root.find(f"{{{FHIR}}}total")
    assert total is not None and total.get("value") == "1"
    resource = root.find(f"{{{FHIR}}}entry/{{{FHIR}}}resource/{{{FHIR}}}DocumentReference")
    assert resource is not None


def test_plain_json_keeps_types_and_odd_keys_and_refuses_garbage() -> None:
    root = parse_json_view(b'{"n": 1, "b": true, "z": null, "odd key": "v", "list": [[1]]}')
    assert etree.tostring(root) == (
        b'<json><b value="true" type="boolean"/><list><item value="1" type="number"/></list>'
        b'<n value="1" type="number"/><_ key="odd key" value="v"/>'
        b'<z value="null" type="null"/></json>')
    with pytest.raises(JsonViewError):
        parse_json_view(b'{"a": ')


def test_unreadable_bodies_are_values_not_exceptions() -> None:
    assert read_message(b"", content_type="text/xml").kind == "empty"
    hostile = b'<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>'
    body = read_message(hostile, content_type="text/xml")
    assert body.kind == "unparseable" and body.error and "DTD" in body.error


def test_json_elements_lead_back_to_their_json_path_and_value() -> None:
    from ihe_test_util.ihe.jsonxml import JsonDocument

    data = b'{"a": null, "b": [[1, 2], [3]], "odd key": {"d": [true]}}'
    root = parse_json_view(data)
    document = JsonDocument(data, root)
    shown = {document.path(e): document.render(e) for e in root.iter() if e is not root}
    assert shown == {"$.a": "null", "$.b[0]": "[1, 2]", "$.b[0][0]": "1", "$.b[0][1]": "2",
                     "$.b[1]": "[3]", "$.b[1][0]": "3", '$["odd key"]': '{"d": [true]}',
                     '$["odd key"].d[0]': "true"}
    bundle = corpus_file("ITI-67/Bundle-FindDocumentReferences.json").read_bytes()
    root = parse_json_view(bundle)
    document = JsonDocument(bundle, root)
    total = root.find(f"{{{FHIR}}}total")
    assert total is not None and (document.path(total), document.render(total)) == (
        "Bundle.total", "1")
    status = root.find(f"{{{FHIR}}}entry/{{{FHIR}}}resource/{{{FHIR}}}DocumentReference/"
                       f"{{{FHIR}}}status")
    assert status is not None
    assert document.path(status) == "Bundle.entry[0].resource.status"
    assert document.render(status) == '"current"'
