"""Match keys: the same logical request sent again gets the same key; a different one does not."""

from __future__ import annotations

import base64
import json
from copy import deepcopy

import pytest
from lxml import etree

from ihe_test_util.ihe.builders import (
    DocumentEntrySpec,
    PatientDemographics,
    PatientId,
    PersonName,
    StoredQuery,
    iti18_stored_query,
    iti41_provide_and_register,
    iti44_add,
    iti45_query,
    iti47_query,
)
from ihe_test_util.ihe.idmap import IdMap
from ihe_test_util.ihe.namespaces import QUERY, RIM, SOAP12, WSA, XDSB
from ihe_test_util.ihe.regenerate import regenerate_request
from ihe_test_util.model import Headers, Request
from ihe_test_util.safexml import parse_xml
from ihe_test_util.serve.blanking import BLANK
from ihe_test_util.serve.canonical import canonical_text
from ihe_test_util.serve.renames import Renames
from ihe_test_util.serve.shape import shape_of
from ihe_test_util.transport.soap import soap_content_type

from ...conftest import corpus_file

URL = "http://registry.example:8080/xds/registry"
PATIENT = PatientId("IHEDEMO-0001", "1.3.6.1.4.1.21367.13.20.1000")
DEMOGRAPHICS = PatientDemographics(ids=(PATIENT,), name=PersonName("Mohr", ("Alice",)),
                                   gender="F", birth_date="19770429")


def _find_documents(patient: PatientId = PATIENT) -> Request:
    return iti18_stored_query(StoredQuery("FindDocuments", {
        "XDSDocumentEntryPatientId": patient.cx()}, return_type="ObjectRef")).to_request(URL)


def _xml(request: Request) -> etree._Element:
    return parse_xml(request.body)


def _with_body(request: Request, root: etree._Element) -> Request:
    return request.evolve(body=etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


@pytest.mark.parametrize("build", [
    lambda: iti44_add(DEMOGRAPHICS).to_request(URL),
    lambda: iti45_query(PATIENT, data_sources=("1.2.3",)).to_request(URL),
    lambda: iti47_query(PatientDemographics(name=PersonName("Mohr", ("Alice",)))).to_request(URL),
    _find_documents,
], ids=["ITI-44", "ITI-45", "ITI-47", "ITI-18"])
def test_a_freshly_built_request_has_the_recorded_key(build: object) -> None:
    first, second = build(), build()  # type: ignore[operator]
    assert first.body != second.body  # fresh MessageID, message id, queryId, creationTime
    assert shape_of(first).key == shape_of(second).key


def test_regenerated_submission_matches_and_reports_its_identifiers() -> None:
    built = iti41_provide_and_register(PATIENT, [
        DocumentEntrySpec(content=b"<doc>one</doc>", title="one"),
        DocumentEntrySpec(content=b"<doc>two</doc>", title="two")])
    recorded = built.to_request(URL)
    again = regenerate_request(recorded, IdMap()).request
    assert again.body != recorded.body
    first, second = shape_of(recorded), shape_of(again)
    assert first.transaction == second.transaction == "ITI-41"
    assert first.key == second.key
    unique_ids = {v for k, v in built.values.items() if "niqueId" in k}
    assert set(first.identifiers) == unique_ids
    assert set(second.identifiers).isdisjoint(unique_ids)
    assert len(second.identifiers) == len(first.identifiers) == 3


def test_client_chosen_entry_uuids_and_their_references_are_blanked() -> None:
    built = iti41_provide_and_register(PATIENT, [DocumentEntrySpec(content=b"<doc/>")])
    request = built.to_request(URL)
    text = request.body.decode()
    for symbolic in ("Document01", "SubmissionSet01"):
        text = text.replace(f'"{symbolic}"', f'"urn:uuid:{symbolic.lower()}-0000"')
    uuids = request.evolve(body=text.encode())
    again = regenerate_request(uuids, IdMap()).request
    assert b"urn:uuid:document01-0000" not in again.body
    assert shape_of(uuids).key == shape_of(again).key
    shape = shape_of(uuids)
    assert shape.tree is not None
    registry_objects = shape.tree.iter(f"{{{RIM}}}Classification")
    assert {c.get("classifiedObject") for c in registry_objects} == {BLANK}


def test_a_different_patient_is_a_different_key() -> None:
    other = PatientId("IHEDEMO-0002", PATIENT.root)
    assert shape_of(_find_documents()).key != shape_of(_find_documents(other)).key
    one = iti45_query(PATIENT).to_request(URL)
    two = iti45_query(other).to_request(URL)
    assert shape_of(one).key != shape_of(two).key


def test_prefixes_attribute_order_whitespace_and_headers_do_not_matter() -> None:
    request = _find_documents()
    root = _xml(request)
    payload = root.find(f"{{{SOAP12}}}Body")[0]  # type: ignore[index]
    # the same body spelled by another stack: other prefixes, attributes reversed, indented,
    # SOAP header with other addressing headers and a security block
    rebuilt = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"S": SOAP12, "A": WSA})
    header = etree.SubElement(rebuilt, f"{{{SOAP12}}}Header")
    etree.SubElement(header, f"{{{WSA}}}Action").text = "urn:ihe:iti:2007:RegistryStoredQuery"
    etree.SubElement(header, f"{{{WSA}}}MessageID").text = "urn:uuid:0-0"
    etree.SubElement(header, "{http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-"
                             "wssecurity-secext-1.0.xsd}Security").text = "assertion"
    body = etree.SubElement(rebuilt, f"{{{SOAP12}}}Body")
    body.append(_respelled(payload))
    etree.indent(rebuilt)
    other = request.evolve(body=etree.tostring(rebuilt, encoding="UTF-8"),
                           headers=Headers([("Content-Type", "application/soap+xml")]))
    assert b"<q:AdhocQueryRequest" in other.body and b"\n  " in other.body
    assert shape_of(other).key == shape_of(request).key


def _respelled(element: etree._Element) -> etree._Element:
    """A copy with other prefixes (``q`` for the query namespace, ``n0``, ``n1``, ... for the
    others) and attributes in reverse order."""
    namespaces = sorted({etree.QName(e).namespace or "" for e in element.iter()})
    prefixes = {ns: "q" if ns == QUERY else f"n{i}" for i, ns in enumerate(namespaces)}

    def copy(source: etree._Element) -> etree._Element:
        ns = etree.QName(source).namespace or ""
        target = etree.Element(source.tag, nsmap={prefixes[ns]: ns})
        for name, value in reversed(source.attrib.items()):
            target.set(name, value)
        target.text = source.text
        target.extend(copy(child) for child in source)
        return target

    return copy(element)


def test_slots_and_values_in_another_order_match_but_hl7_order_matters() -> None:
    request = iti18_stored_query(StoredQuery("FindDocuments", {
        "XDSDocumentEntryPatientId": PATIENT.cx(),
        "XDSDocumentEntryClassCode": ["a^^1", "b^^1"]})).to_request(URL)
    root = _xml(request)
    query = root.find(f".//{{{RIM}}}AdhocQuery")
    assert query is not None
    query[:] = list(reversed(list(query)))
    assert shape_of(_with_body(request, root)).key == shape_of(request).key

    pdq = iti47_query(PatientDemographics(name=PersonName("Mohr", ("Alice", "Beth"))))
    asked = pdq.to_request(URL)
    pdq_root = _xml(asked)
    givens = list(pdq_root.iter("{urn:hl7-org:v3}given"))
    assert [g.text for g in givens] == ["Alice", "Beth"]
    givens[0].text, givens[1].text = "Beth", "Alice"
    assert shape_of(_with_body(asked, pdq_root)).key != shape_of(asked).key


def test_attachments_count_by_their_bytes_not_their_packaging() -> None:
    built = iti41_provide_and_register(PATIENT, [DocumentEntrySpec(content=b"<doc>x</doc>")])
    mtom = built.to_request(URL)
    inline_root = parse_xml(_root_part(mtom))
    for document in inline_root.iter(f"{{{XDSB}}}Document"):
        document[:] = []
        document.text = base64.b64encode(b"<doc>x</doc>").decode()
    inline = Request("POST", URL, Headers([("Content-Type", soap_content_type(built.action))]),
                     etree.tostring(inline_root, encoding="UTF-8"))
    assert shape_of(inline).key == shape_of(mtom).key
    tampered = mtom.evolve(body=mtom.body.replace(b"<doc>x</doc>", b"<doc>y</doc>"))
    assert shape_of(tampered).key != shape_of(mtom).key


def _root_part(request: Request) -> bytes:
    from ihe_test_util.transport.mtom import parse_multipart

    return parse_multipart(request.body, request.content_type or "").root.content


def test_renames_put_the_recorded_values_back_before_hashing() -> None:
    recorded = _find_documents()
    client = PatientId("CLIENT-7", PATIENT.root)
    asked = _find_documents(client)
    renames = Renames()
    renames.learn([client.cx()], [PATIENT.cx()])
    assert shape_of(asked, renames=renames).key == shape_of(recorded).key
    assert shape_of(asked).key != shape_of(recorded).key


def test_echo_values_are_read_before_blanking() -> None:
    built = iti45_query(PATIENT)
    request = built.to_request(URL)
    shape = shape_of(request)
    values = {echo.echo.label: echo.value for echo in shape.echoes}
    assert shape.message_id == values["RelatesTo"]
    assert shape.message_id and shape.message_id in request.body.decode()
    query_id = values["queryAck queryId"]
    assert isinstance(query_id, etree._Element)
    assert query_id.get("root") == built.values["queryId"]
    root = _xml(request)
    hl7_id = root.find(".//{urn:hl7-org:v3}PRPA_IN201309UV02/{urn:hl7-org:v3}id")
    assert hl7_id is not None
    echoed = values["acknowledgement targetMessage id"]
    assert isinstance(echoed, etree._Element)
    assert dict(echoed.attrib) == dict(hl7_id.attrib)


def test_corpus_request_with_ws_security_matches_its_regenerated_self() -> None:
    raw = corpus_file("ITI-18/iti18-iti40-request.xml").read_bytes()
    recorded = Request("POST", URL, Headers([("Content-Type", "application/soap+xml")]), raw)
    again = regenerate_request(recorded, IdMap()).request
    assert b"Security" in raw and b"Security" not in again.body
    first, second = shape_of(recorded), shape_of(again)
    assert first.transaction == "ITI-18"
    assert first.key == second.key


def test_corpus_hl7v3_payload_without_envelope() -> None:
    raw = corpus_file("ITI-47/test1_findpatient_dob_gender_name.xml").read_bytes()
    recorded = Request("POST", URL, Headers([
        ("Content-Type", 'application/soap+xml; action="urn:hl7-org:v3:PRPA_IN201305UV02"')]), raw)
    root = parse_xml(raw)
    query_id = root.find(".//{urn:hl7-org:v3}queryId")
    assert query_id is not None
    changed = deepcopy(root)
    for element in changed.iter("{urn:hl7-org:v3}queryId", "{urn:hl7-org:v3}id"):
        parent = element.getparent()
        if parent is not None and etree.QName(parent).localname in (
                "PRPA_IN201305UV02", "queryByParameter"):  # what a client sends anew
            element.set("extension", element.get("extension", "") + "9")
    again = recorded.evolve(body=etree.tostring(changed))
    assert again.body != raw
    assert shape_of(again).action == "urn:hl7-org:v3:PRPA_IN201305UV02"
    assert shape_of(again).key == shape_of(recorded).key


def test_bodies_that_are_not_xml() -> None:
    def json_request(body: object, query: str = "") -> Request:
        return Request("POST", f"http://fhir.example/Patient{query}",
                       Headers([("Content-Type", "application/fhir+json")]),
                       json.dumps(body).encode())

    assert shape_of(json_request({"a": 1, "b": [1, 2]})).key == \
        shape_of(json_request({"b": [1, 2], "a": 1})).key
    assert shape_of(json_request({"a": 1})).key != shape_of(json_request({"a": 2})).key
    assert shape_of(json_request({}, "?family=Mohr&given=Alice")).key == \
        shape_of(json_request({}, "?given=Alice&family=Mohr")).key
    assert shape_of(json_request({"a": 1})).facts() == ("/a = 1",)
    broken = Request("POST", URL, Headers([("Content-Type", "application/soap+xml")]), b"<a><b>")
    shape = shape_of(broken)
    assert shape.opaque and "malformed" in shape.opaque
    assert shape.key == shape_of(broken).key
    truncated = Request("POST", URL, Headers([("Content-Type", 'multipart/related; boundary="b"')]),
                        b"--b\r\n\r\n<a/>")
    assert shape_of(truncated).opaque


def test_canonical_text_reads_xsi_type_by_meaning() -> None:
    xsi = b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    one = parse_xml(b"<a " + xsi + b' xmlns:h="urn:hl7-org:v3" xsi:type="h:II"/>')
    two = parse_xml(b"<a " + xsi + b' xmlns:v3="urn:hl7-org:v3" xsi:type="v3:II"/>')
    assert canonical_text(one) == canonical_text(two)


def test_canonical_text_reads_an_unprefixed_xsi_type_in_the_default_namespace() -> None:
    """The comparer's rule (ihe.patterns.qname_value): ``II`` under a default namespace is that
    namespace's II, the same type as ``h:II``; in another namespace it is another type."""
    xsi = b'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
    prefixed = parse_xml(b"<h:a " + xsi + b' xmlns:h="urn:hl7-org:v3" xsi:type="h:II"/>')
    default = parse_xml(b"<a " + xsi + b' xmlns="urn:hl7-org:v3" xsi:type=" II "/>')
    other = parse_xml(b"<h:a " + xsi + b' xmlns:h="urn:hl7-org:v3" xmlns="urn:other" '
                      b'xsi:type="II"/>')
    assert canonical_text(prefixed) == canonical_text(default)
    assert canonical_text(other) != canonical_text(default)


def test_hostile_nesting_is_keyed_without_recursion() -> None:
    deep = b"<a>" * 2000 + b"x" + b"</a>" * 2000
    shape = shape_of(Request("POST", URL, Headers([("Content-Type", "text/xml")]), deep))
    assert shape.opaque is None and shape.facts()[0].endswith(" = x")
    assert shape.key != shape_of(Request("POST", URL, body=deep.replace(b"x", b"y"))).key
    nested = b"[" * 100_000 + b"]" * 100_000
    json_shape = shape_of(Request("POST", URL, Headers([("Content-Type", "application/json")]),
                                  nested))
    assert json_shape.facts()[0].startswith("body = '[[[")
