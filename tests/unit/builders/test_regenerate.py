"""Replay regeneration on real corpus requests: listed fields change, nothing else does,
references stay consistent, and values chain across a cassette."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from lxml import etree
from signxml.verifier import XMLVerifier

from ihe_test_util.errors import XmlInputError
from ihe_test_util.ihe.catalogue import CATALOGUE, regeneration_rules
from ihe_test_util.ihe.identifiers import IdGenerator, is_oid
from ihe_test_util.ihe.idmap import IdMap
from ihe_test_util.ihe.namespaces import HL7V3, PREFIXES, WSSE, XDSB
from ihe_test_util.ihe.regenerate import Regenerated, apply_id_map, regenerate_request
from ihe_test_util.ihe.specs import ValueKind
from ihe_test_util.model import Headers, Request
from ihe_test_util.transport.mtom import content_type_params, parse_multipart
from ihe_test_util.transport.soap import parse_envelope, soap_request
from ihe_test_util.transport.wssecurity import SamlIssuer, SecurityHeader

from ..transport.saml_keys import signing_pair
from .corpus_requests import envelope, epr_iti41_mtom, soap

NS = {**PREFIXES, "hl7": HL7V3}
PNR = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
REFERENCE_ATTRIBUTES = ("classifiedObject", "registryObject", "sourceObject", "targetObject")


def _xml(request: Request) -> etree._Element:
    return parse_envelope(request.body, request.content_type).envelope


def _differences(before: etree._Element, after: etree._Element) -> Iterator[tuple[str, str]]:
    """(old, new) for every text or attribute value that differs; the structure must not."""
    assert before.tag == after.tag
    if before.tag == f"{{{WSSE}}}Security":
        return
    if (before.text or "").strip() != (after.text or "").strip():
        yield (before.text or "").strip(), (after.text or "").strip()
    assert set(before.attrib) == set(after.attrib), before.tag
    for name, value in before.attrib.items():
        if after.get(name) != value:
            yield str(value), after.get(name, "")
    old_children = [c for c in before.iterchildren("*") if c.tag != f"{{{WSSE}}}Security"]
    new_children = [c for c in after.iterchildren("*") if c.tag != f"{{{WSSE}}}Security"]
    assert [c.tag for c in old_children] == [c.tag for c in new_children]
    for old, new in zip(old_children, new_children, strict=True):
        yield from _differences(old, new)


def _outside_security(root: etree._Element) -> list[etree._Element]:
    security = f"{{{WSSE}}}Security"
    return [e for e in root.iter("*") if e.tag != security
            and not any(a.tag == security for a in e.iterancestors())]


def _check(request: Request, result: Regenerated, id_map: IdMap, expected: set[str]) -> None:
    """Every listed field changed, every other difference is a consistent remap, no more."""
    assert {change.what for change in result.changes} == expected
    for change in result.changes:
        assert change.old != change.new, change
    changed = {(c.old, c.new) for c in result.changes}
    differences = set(_differences(_xml(request), _xml(result.request)))
    assert changed <= differences  # each listed field really differs in the message
    for old, new in differences:
        assert (old, new) in changed or id_map.remap(old) == new, (old, new)


# -- ITI-41 ---------------------------------------------------------------------------------


def test_iti41_symbolic_ids_stay_unique_ids_and_time_change() -> None:
    request = soap("ITI-41/ProvideAndRegisterDocumentSet-bRequest.xml", PNR)
    id_map = IdMap()
    result = regenerate_request(request, id_map)
    assert result.transaction == "ITI-41"
    # this sample uses urn:uuid ids for the SubmissionSet and DocumentEntry: renamed as well
    _check(request, result, id_map, {"wsa:MessageID", "DocumentEntry.uniqueId",
                                     "SubmissionSet.uniqueId", "SubmissionSet.submissionTime",
                                     "client-chosen entryUUID"})
    after = _xml(result.request)
    unique = {e.get("identificationScheme"): e.get("value")
              for e in after.iterfind(".//rim:ExternalIdentifier", NS)}
    assert is_oid(unique["urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"] or "")
    # standard scheme ids referenced by ObjectRef are never touched
    refs = [e.get("id") for e in after.iterfind(".//rim:ObjectRef", NS)]
    assert "urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1" in refs
    # symbolic ids ("cs1260...", "i1260...") are left to the registry
    assert after.find(".//rim:Classification[@id='cs1260801019451-15640912194842322291']",
                      NS) is not None
    # hash/size do not exist here, the inline document bytes are untouched
    before_doc = _xml(request).find(".//xdsb:Document", NS)
    after_doc = after.find(".//xdsb:Document", NS)
    assert before_doc is not None and after_doc is not None
    assert before_doc.text == after_doc.text


def test_iti41_client_uuids_are_remapped_consistently_and_mtom_repackaged() -> None:
    request = epr_iti41_mtom()
    id_map = IdMap()
    result = regenerate_request(request, id_map)
    _check(request, result, id_map, {"wsa:MessageID", "DocumentEntry.uniqueId",
                                     "SubmissionSet.uniqueId", "SubmissionSet.submissionTime",
                                     "client-chosen entryUUID", "MTOM Content-ID"})
    before, after = _xml(request), _xml(result.request)
    old_ids = [e.get("id") for e in before.iterfind(".//rim:RegistryObjectList//*[@id]", NS)]
    new_ids = [e.get("id") for e in after.iterfind(".//rim:RegistryObjectList//*[@id]", NS)]
    assert len(old_ids) == 18  # 2 objects, 1 association, 9 classifications, 5 identifiers
    assert not set(old_ids) & set(new_ids)  # every client-chosen id is new
    assert len(set(new_ids)) == len(new_ids)
    entry_uuid_changes = [c for c in result.changes if c.what == "client-chosen entryUUID"]
    assert len(entry_uuid_changes) == 18
    # every reference points at the regenerated object it pointed at before
    for old_el, new_el in zip(_outside_security(before), _outside_security(after), strict=True):
        for name in REFERENCE_ATTRIBUTES:
            if old_el.get(name) in old_ids:
                assert new_el.get(name) == new_ids[old_ids.index(old_el.get(name))]
    old_doc, new_doc = before.find(".//xdsb:Document", NS), after.find(".//xdsb:Document", NS)
    assert old_doc is not None and new_doc is not None
    assert new_doc.get("id") == new_ids[old_ids.index(old_doc.get("id"))]
    # MTOM: fresh boundary and Content-IDs, the href follows, the bytes do not move
    old_mime = parse_multipart(request.body, request.content_type or "")
    new_mime = parse_multipart(result.request.body, result.request.content_type or "")
    assert new_mime.boundary != old_mime.boundary
    assert [p.content for p in new_mime.attachments] == [p.content for p in old_mime.attachments]
    assert [p.content_type for p in new_mime.attachments] == ["application/fhir+json"]
    assert new_mime.attachments[0].content_id != old_mime.attachments[0].content_id
    message = parse_envelope(result.request.body, result.request.content_type)
    assert message.content_of(new_doc) == old_mime.attachments[0].content
    _, params = content_type_params(result.request.content_type or "")
    assert params["action"] == PNR
    assert result.request.headers.get("Content-Length") == str(len(result.request.body))


def test_iti41_then_iti43_asks_for_the_regenerated_document() -> None:
    """The corpus pair: the retrieve asks for the uniqueId the submission registered."""
    id_map = IdMap()
    submission = regenerate_request(soap("ITI-41/ProvideAndRegisterDocumentSet-bRequest.xml",
                                         PNR), id_map)
    new_unique = next(c.new for c in submission.changes if c.what == "DocumentEntry.uniqueId")
    retrieve = soap("ITI-43/RetrieveDocumentSetRequest.xml",
                    "urn:ihe:iti:2007:RetrieveDocumentSet")
    result = regenerate_request(retrieve, id_map)
    assert result.transaction == "ITI-43"
    after = _xml(result.request)
    assert after.findtext(".//xdsb:DocumentUniqueId", namespaces=NS) == new_unique
    assert after.findtext(".//xdsb:RepositoryUniqueId", namespaces=NS) == \
        "1.3.6.1.4.1.21367.2010.1.2.1125"
    _check(retrieve, result, id_map, {"wsa:MessageID"})
    # a later stored query naming the document in an SQL list literal follows too
    query = soap_request("http://r/q", (
        b'<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"'
        b' xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><rim:AdhocQuery id="urn:uuid'
        b':5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"><rim:Slot name="$XDSDocumentEntryUniqueId">'
        b"<rim:ValueList><rim:Value>('1.3.6.1.4.1.21367.2010.1.2.110.1260801017357.8',"
        b"'1.3.6.1.4.1.21367.2010.1.2.110.1260801017357.80')</rim:Value></rim:ValueList>"
        b"</rim:Slot></rim:AdhocQuery></query:AdhocQueryRequest>"),
        "urn:ihe:iti:2007:RegistryStoredQuery")
    value = _xml(apply_id_map(query, id_map)).findtext(".//rim:Value", namespaces=NS)
    assert value == f"('{new_unique}','1.3.6.1.4.1.21367.2010.1.2.110.1260801017357.80')"


def test_the_same_recorded_value_maps_to_the_same_fresh_value() -> None:
    id_map = IdMap()
    first = regenerate_request(epr_iti41_mtom(), id_map)
    second = regenerate_request(epr_iti41_mtom(), id_map)
    mapped = {"DocumentEntry.uniqueId", "SubmissionSet.uniqueId", "client-chosen entryUUID",
              "wsa:MessageID"}  # (a resent MessageID stays the same resent MessageID)
    assert {(c.old, c.new) for c in first.changes if c.what in mapped} == {
        (c.old, c.new) for c in second.changes if c.what in mapped}
    assert IdMap().fresh("1.2.3", ValueKind.UNIQUE_ID) != IdMap().fresh("1.2.3",
                                                                       ValueKind.UNIQUE_ID)


# -- HL7 v3 ---------------------------------------------------------------------------------


@pytest.mark.parametrize(("request_", "transaction", "expected"), [
    (lambda: soap("ITI-44/PIX_FEED_REG_Maximal_Request.xml", "urn:hl7-org:v3:PRPA_IN201301UV02"),
     "ITI-44", {"wsa:MessageID", "HL7 v3 message id", "HL7 v3 creationTime"}),
    (lambda: soap("ITI-44/ITI-44_request.xml", "urn:hl7-org:v3:PRPA_IN201301UV02"),
     "ITI-44", {"wsa:MessageID", "HL7 v3 message id", "HL7 v3 creationTime"}),
    (lambda: soap("ITI-44/PIX_FEED_MERGE_Maximal_Request.xml",
                  "urn:hl7-org:v3:PRPA_IN201304UV02"),
     "ITI-44", {"wsa:MessageID", "HL7 v3 message id", "HL7 v3 creationTime"}),
    (lambda: envelope("ITI-45/ITI-45_request.xml", "urn:hl7-org:v3:PRPA_IN201309UV02"),
     "ITI-45", {"wsa:MessageID", "HL7 v3 message id", "HL7 v3 creationTime", "HL7 v3 queryId"}),
    (lambda: envelope("ITI-47/ITI-47_request.xml", "urn:hl7-org:v3:PRPA_IN201305UV02"),
     "ITI-47", {"wsa:MessageID", "HL7 v3 message id", "HL7 v3 creationTime", "HL7 v3 queryId"}),
    (lambda: soap("ITI-55/iti55-sample-request.xml",
                  "urn:hl7-org:v3:PRPA_IN201305UV02:CrossGatewayPatientDiscovery"),
     "ITI-55", {"wsa:MessageID", "HL7 v3 message id", "HL7 v3 creationTime", "HL7 v3 queryId"}),
])
def test_hl7v3_message_id_creation_time_and_query_id(
    request_: object, transaction: str, expected: set[str],
) -> None:
    request: Request = request_()  # type: ignore[operator]
    id_map = IdMap()
    result = regenerate_request(request, id_map)
    assert result.transaction == transaction
    _check(request, result, id_map, expected)
    after = _xml(result.request)
    created = after.find(".//hl7:creationTime", NS)
    assert created is not None and re.fullmatch(r"\d{14}", created.get("value", ""))
    if transaction == "ITI-44":  # a patient feed keeps its patient ids (idempotent revise)
        before = _xml(request)
        assert [e.get("extension") for e in before.iterfind(".//hl7:patient/hl7:id", NS)] == \
            [e.get("extension") for e in after.iterfind(".//hl7:patient/hl7:id", NS)]


def test_hl7_extension_keeps_root_and_digits() -> None:
    request = envelope("ITI-45/ITI-45_request.xml", "urn:hl7-org:v3:PRPA_IN201309UV02")
    result = regenerate_request(request, IdMap())
    message_id = _xml(result.request).find("*/hl7:PRPA_IN201309UV02/hl7:id", NS)
    assert message_id is not None
    assert message_id.get("root") == "1.3.6.1.4.1.21367.2017.2.7.141"
    assert message_id.get("extension", "").isdigit()
    assert message_id.get("extension") != "1694523036420"


def test_pdq_continuation_uses_the_regenerated_query_id() -> None:
    id_map = IdMap()
    query = envelope("ITI-47/ITI-47_request.xml", "urn:hl7-org:v3:PRPA_IN201305UV02")
    first = regenerate_request(query, id_map)
    query_id = _xml(query).find(".//hl7:queryByParameter/hl7:queryId", NS)
    assert query_id is not None
    continuation = soap_request("http://pdq", (
        f'<QUQI_IN000003UV01 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0"><id root="1.2.3" '
        f'extension="99"/><creationTime value="20230912131951"/><controlActProcess '
        f'classCode="CACT" moodCode="EVN"><queryContinuation><queryId root="'
        f'{query_id.get("root")}" extension="{query_id.get("extension")}"/><statusCode '
        f'code="waitContinuedQueryResponse"/></queryContinuation></controlActProcess>'
        f'</QUQI_IN000003UV01>').encode(), "urn:hl7-org:v3:QUQI_IN000003UV01_Continue")
    second = regenerate_request(continuation, id_map)
    assert second.transaction == "ITI-47"
    fresh = _xml(first.request).find(".//hl7:queryByParameter/hl7:queryId", NS)
    echoed = _xml(second.request).find(".//hl7:queryContinuation/hl7:queryId", NS)
    assert fresh is not None and echoed is not None
    assert echoed.attrib == fresh.attrib


# -- ITI-18, WS-Security, other --------------------------------------------------------------


def test_iti18_query_id_and_parameters_stay() -> None:
    request = soap("ITI-18/sq-req.xml", "urn:ihe:iti:2007:RegistryStoredQuery")
    id_map = IdMap()
    result = regenerate_request(request, id_map)
    assert result.transaction == "ITI-18"
    _check(request, result, id_map, {"wsa:MessageID"})
    after = _xml(result.request)
    assert after.find(".//rim:AdhocQuery", NS).get("id") == (  # type: ignore[union-attr]
        "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d")


def test_recorded_assertion_is_dropped_and_a_fresh_one_issued() -> None:
    request = envelope("ITI-18/ITI-18_request_raw.xml", "urn:ihe:iti:2007:RegistryStoredQuery")
    old = _xml(request).find(".//saml2:Assertion", NS)
    assert old is not None
    stripped = regenerate_request(request, IdMap())
    assert _xml(stripped.request).find(".//wsse:Security", NS) is None
    pair = signing_pair()
    issuer = SamlIssuer(pair.key_pem, pair.cert_pem, issuer="https://sts", subject="user")
    reissued = regenerate_request(request, IdMap(), security=SecurityHeader(issuer))
    _check(request, reissued, IdMap(), {"wsa:MessageID"})
    assertion = _xml(reissued.request).find(".//wsse:Security/saml2:Assertion", NS)
    assert assertion is not None
    assert assertion.get("ID") != old.get("ID")
    XMLVerifier().verify(etree.tostring(assertion), x509_cert=pair.cert_pem.decode(),
                         id_attribute="ID")


def test_message_id_spelling_is_kept() -> None:
    request = envelope("ITI-18/ITI-18_request_raw.xml", "urn:ihe:iti:2007:RegistryStoredQuery")
    new = parse_envelope(regenerate_request(request, IdMap()).request.body).message_id or ""
    assert re.fullmatch(r"urn:uuid:[0-9A-F-]{36}", new)
    assert new != "urn:uuid:31D7E4B5-C117-481E-9EE1-F32849E81BF8"


def test_to_is_rewritten_for_a_new_target() -> None:
    request = envelope("ITI-45/ITI-45_request.xml", "urn:hl7-org:v3:PRPA_IN201309UV02")
    result = regenerate_request(request, IdMap(), to="http://127.0.0.1:9000/pix")
    assert parse_envelope(result.request.body).to == "http://127.0.0.1:9000/pix"


def test_non_xml_bodies_pass_through() -> None:
    request = Request("POST", "http://x", Headers({"Content-Type": "application/hl7-v2"}),
                      b"MSH|^~\\&|A|B\r")
    assert regenerate_request(request, IdMap()).request is request


def test_malformed_recorded_xml_is_a_clear_error() -> None:
    request = Request("POST", "http://x", Headers({"Content-Type": "application/soap+xml"}),
                      b"<Envelope><Body>")
    with pytest.raises(XmlInputError, match=r"cassette\.yaml#3"):
        regenerate_request(request, IdMap(), source="cassette.yaml#3")


def test_dangling_xop_reference_is_a_clear_error() -> None:
    request = epr_iti41_mtom()
    broken = request.evolve(body=request.body.replace(b"href=\"cid:8ba22b9e", b"href=\"cid:0ba2"))
    with pytest.raises(XmlInputError, match="not among the MIME parts"):
        regenerate_request(broken, IdMap())


def _bare(body: bytes) -> Request:
    return Request("POST", "http://x", Headers({"Content-Type": "application/xml"}), body)


def test_detection_by_body_root_and_table_sanity() -> None:
    retrieve = _bare(b"<x:RetrieveDocumentSetRequest xmlns:x='" + XDSB.encode() + b"'/>")
    assert regenerate_request(retrieve, IdMap()).transaction == "ITI-43"
    assert regenerate_request(_bare(b"<unknown/>"), IdMap()).transaction is None
    # Without an action a request is known by its root alone: transactions that share a
    # request root (ITI-18/38, ITI-43/39, ITI-47/55) must then regenerate the same values.
    by_root: dict[str, set[tuple[object, ...]]] = {}
    for spec in CATALOGUE:
        for root in spec.request_roots:
            by_root.setdefault(root, set()).add(spec.regeneration)
    assert by_root and all(len(rules) == 1 for rules in by_root.values())


def test_xcpd_request_is_regenerated_as_iti55_not_iti47() -> None:
    """Same body root as a PDQ query: the XCPD action makes it ITI-55, with ITI-55's rules."""
    request = soap("ITI-55/iti55-sample-request.xml",
                   "urn:hl7-org:v3:PRPA_IN201305UV02:CrossGatewayPatientDiscovery")
    result = regenerate_request(request, IdMap())
    assert result.transaction == "ITI-55"
    assert {change.what for change in result.changes} == {
        "wsa:MessageID", "HL7 v3 message id", "HL7 v3 creationTime", "HL7 v3 queryId"}
    assert "HL7 v3 queryId" in {rule.what for rule in regeneration_rules("ITI-55")}
    pdq = envelope("ITI-47/ITI-47_request.xml", "urn:hl7-org:v3:PRPA_IN201305UV02")
    assert regenerate_request(pdq, IdMap()).transaction == "ITI-47"


def test_remap_matches_whole_tokens_only() -> None:
    id_map = IdMap(IdGenerator(oid_root="1.2.999"))
    new = id_map.fresh("1.2.3", ValueKind.UNIQUE_ID)
    assert id_map.remap("1.2.3") == new
    assert id_map.remap("('1.2.3','1.2.34')") == f"('{new}','1.2.34')"
    assert id_map.remap("1.2.3.4") == "1.2.3.4"
    assert id_map.remap("urn:oid:1.2.3") == f"urn:oid:{new}"
    assert id_map.items() == {"1.2.3": new}
    hl7 = id_map.fresh("345", ValueKind.HL7_ID)
    assert id_map.remap("345") == "345"  # short HL7 extensions only at their rule paths
    assert hl7.isdigit() and hl7 != "345"
    assert id_map.items()["345"] == hl7  # ... but the comparer still learns the pair


def test_xml_with_byte_order_mark_is_still_regenerated() -> None:
    request = soap("ITI-18/sq-req.xml", "urn:ihe:iti:2007:RegistryStoredQuery")
    with_bom = request.evolve(body=b"\xef\xbb\xbf" + request.body)
    result = regenerate_request(with_bom, IdMap())
    assert [c.what for c in result.changes] == ["wsa:MessageID"]
