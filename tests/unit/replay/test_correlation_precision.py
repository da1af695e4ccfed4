"""Correlation carries only values a server assigned: never a code, a coding scheme, a
classification node, an object type, a code-system OID or IHE vocabulary (issue 11).

Real corpus messages: the metadata of a registry's answer is the ExtrinsicObject NIST's
registry test submits (``ITI-42/simple.body.txt``, confidentialityCode coded in
``2.16.840.1.113883.5.25``); the later request is a real FindDocuments filtered by
confidentiality codes of that code system (``ITI-18/iti18-iti40-request.xml``).
"""

from __future__ import annotations

import re

from lxml import etree

from ihe_test_util.ihe.namespaces import RIM
from ihe_test_util.replay.correlate import find_captures, server_may_assign
from ihe_test_util.safexml import parse_xml
from tests.conftest import corpus_file

CODE_OID = "2.16.840.1.113883.5.25"
QUERY_NS = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"


def _registry_answer() -> etree._Element:
    """An AdhocQueryResponse listing the corpus submission's DocumentEntry, as a registry
    answers a GetDocuments (the entryUUID and uniqueId it assigned are in there too)."""
    submitted = parse_xml(corpus_file("ITI-42/simple.body.txt").read_bytes())
    entry = submitted.find(f".//{{{RIM}}}ExtrinsicObject")
    assert entry is not None
    entry.set("id", "urn:uuid:0a0b8f1e-3c9d-4f51-9d7b-3f6a2c1e5d42")
    entry.set("status", "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved")
    envelope = parse_xml(
        b'<Envelope xmlns="http://www.w3.org/2003/05/soap-envelope"><Body>'
        b'<AdhocQueryResponse xmlns="' + QUERY_NS.encode() + b'" status="urn:oasis:names:'
        b'tc:ebxml-regrep:ResponseStatusType:Success"><RegistryObjectList xmlns="'
        + RIM.encode() + b'"/></AdhocQueryResponse></Body></Envelope>')
    listing = envelope.find(f".//{{{RIM}}}RegistryObjectList")
    assert listing is not None
    listing.append(entry)
    return envelope


def _get_documents(uuid: str) -> etree._Element:
    return parse_xml(
        f'<AdhocQueryRequest xmlns="{QUERY_NS}"><AdhocQuery xmlns="{RIM}" '
        'id="urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4">'
        '<Slot name="$XDSDocumentEntryEntryUUID">'
        f"<ValueList><Value>('{uuid}')</Value></ValueList></Slot></AdhocQuery>"
        "</AdhocQueryRequest>".encode())


def test_a_code_system_oid_from_an_earlier_answer_is_no_dependency() -> None:
    find_documents = parse_xml(corpus_file("ITI-18/iti18-iti40-request.xml").read_bytes())
    answer = _registry_answer()
    assert CODE_OID in etree.tostring(answer).decode()  # the earlier answer lists it ...
    assert re.search(rf"\^\^{re.escape(CODE_OID)}'", etree.tostring(find_documents).decode())
    captures = find_captures([_get_documents("urn:uuid:x"), find_documents], [answer, None])
    values = {capture.value for capture in captures}
    assert CODE_OID not in values  # ... and the later FindDocuments is sent as recorded
    assert "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved" not in values  # vocabulary


def test_what_the_server_assigned_is_still_carried() -> None:
    answer = _registry_answer()
    later = _get_documents("urn:uuid:0a0b8f1e-3c9d-4f51-9d7b-3f6a2c1e5d42")
    captures = find_captures([_get_documents("urn:uuid:x"), later], [answer, None])
    assert [(c.value, c.source, c.consumers) for c in captures] == [
        ("urn:uuid:0a0b8f1e-3c9d-4f51-9d7b-3f6a2c1e5d42", 0, (1,))]


def test_places_that_hold_codes_are_never_assigned() -> None:
    answer = _registry_answer()
    for element in answer.iter(f"{{{RIM}}}Classification"):
        for name in ("classificationScheme", "classificationNode", "nodeRepresentation"):
            value = element.get(name)
            if value:
                assert not server_may_assign(value, element, name)
    hl7 = parse_xml(b'<code xmlns="urn:hl7-org:v3" code="PRPA_TE201310UV02" '
                           b'codeSystem="2.16.840.1.113883.1.6"/>')
    assert not server_may_assign("PRPA_TE201310UV02", hl7, "code")
    patient_id = parse_xml(b'<id xmlns="urn:hl7-org:v3" root="1.2.3" extension="PX-9"/>')
    assert server_may_assign("PX-000009", patient_id, "extension")


def test_a_time_an_earlier_answer_carried_is_no_dependency() -> None:
    """A recording that crossed a second boundary: the feed's answer was stamped in the
    second the later submission's creationTime was written. A clock reading, not a value the
    server assigned (it made replays flaky: the submission was sent with the new answer's
    time)."""
    answer = parse_xml(b'<MCCI_IN000002UV01 xmlns="urn:hl7-org:v3">'
                       b'<creationTime value="20261202111148"/></MCCI_IN000002UV01>')
    feed = parse_xml(b'<PRPA_IN201301UV02 xmlns="urn:hl7-org:v3">'
                     b'<creationTime value="20261202111147"/></PRPA_IN201301UV02>')
    submission = parse_xml(
        f'<SubmitObjectsRequest><RegistryObjectList xmlns="{RIM}"><ExtrinsicObject id="d">'
        '<Slot name="creationTime"><ValueList><Value>20261202111148</Value></ValueList></Slot>'
        "</ExtrinsicObject></RegistryObjectList></SubmitObjectsRequest>".encode())
    assert find_captures([feed, submission], [answer, None]) == []
