"""Builders produce the structure real IHE messages have (checked against corpus counterparts)."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import itertools
import re
import uuid
from collections.abc import Callable

import pytest
from lxml import etree

from ihe_test_util.errors import UsageError
from ihe_test_util.ihe.builders import (
    STORED_QUERIES,
    Address,
    BuiltMessage,
    Code,
    Device,
    DocumentEntrySpec,
    DocumentRequest,
    PatientDemographics,
    PatientId,
    PersonName,
    StoredQuery,
    SubmissionSetSpec,
    Wrapper,
    ccd_document,
    ccd_entry,
    iti18_stored_query,
    iti41_provide_and_register,
    iti43_retrieve,
    iti44_add,
    iti44_merge,
    iti44_revise,
    iti45_query,
    iti47_query,
    iti55_discovery,
)
from ihe_test_util.ihe.builders.query import sql_literal
from ihe_test_util.ihe.identifiers import IdGenerator
from ihe_test_util.ihe.namespaces import HL7V3, PREFIXES, SOAP12, WSA
from ihe_test_util.safexml import parse_xml
from ihe_test_util.transport.soap import parse_envelope

from ...conftest import corpus_file

NS = {**PREFIXES, "hl7": HL7V3}
AUTHORITY = "1.3.6.1.4.1.21367.2005.1.1"
MARY = PatientDemographics(
    ids=(PatientId("PIX10515W3", AUTHORITY, "HIMSS2005"),),
    name=PersonName("WASHINGTON", ("MARY", "ROSE")), gender="F", birth_date="19771208",
    address=Address("100 JORIE BLVD", "CHICAGO", "IL", "60523", "US"),
    telecom=("tel:012-0001",),
)


def _fixed_ids() -> IdGenerator:
    counter = itertools.count(1)
    return IdGenerator(clock=lambda: dt.datetime(2026, 3, 1, 10, 0, tzinfo=dt.timezone.utc),
                       uuid_factory=lambda: uuid.UUID(int=next(counter)))


def _paths(root: etree._Element) -> set[str]:
    """Every element path by local name (prefixes and namespaces spellings never matter)."""
    found: set[str] = set()

    def walk(element: etree._Element, prefix: str) -> None:
        path = f"{prefix}/{etree.QName(element).localname}"
        found.add(path)
        for child in element.iterchildren("*"):
            walk(child, path)

    walk(root, "")
    return found


def _corpus_root(relative: str) -> etree._Element:
    data = corpus_file(relative).read_bytes()
    if re.match(rb"\s*1 ", data):  # EPR captures carry line numbers
        data = b"\n".join(re.sub(rb"^\s*\d+ ?", b"", line) for line in data.splitlines())
    return parse_xml(data, source=relative)


def _same_shape(built: BuiltMessage, relative: str, extra: frozenset[str] = frozenset()) -> None:
    """Same root element, and every element path we write also occurs in the real message
    (``extra``: path endings we write that this sample happens not to have)."""
    theirs = _corpus_root(relative)
    assert etree.QName(built.body) == etree.QName(theirs)
    assert {p for p in _paths(built.body) - _paths(theirs) if not p.endswith(tuple(extra))} \
        == set()
    parse_xml(built.to_bytes())  # serialises to well-formed XML


# -- HL7 v3 ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("build", "relative", "action"), [
    (lambda: iti44_add(MARY), "ITI-44/PIX_FEED_REG_Maximal_Request.xml",
     "urn:hl7-org:v3:PRPA_IN201301UV02"),
    (lambda: iti44_revise(MARY), "ITI-44/PIX_FEED_REV_Maximal_Request.xml",
     "urn:hl7-org:v3:PRPA_IN201302UV02"),
    (lambda: iti44_merge(PatientDemographics(ids=(PatientId("120-01", "1.2.3.4.5.1000"),),
                                             name=PersonName("Unknown")),
                         PatientId("120-02", "1.2.3.4.666", "domain1")),
     "ITI-44/PIX_FEED_MERGE_Maximal_Request.xml", "urn:hl7-org:v3:PRPA_IN201304UV02"),
    (lambda: iti45_query(MARY.ids[0], data_sources=["1.3.6.1.4.1.21367.2005.1.2"]),
     "ITI-45/PIXv3_QUERY.xml", "urn:hl7-org:v3:PRPA_IN201309UV02"),
    (lambda: iti47_query(PatientDemographics(name=MARY.name, gender="F", birth_date="19400101",
                                             address=Address("3443 North Arctic", "City")),
                         other_ids_domains=["1.3.6.1.4.1.21367.2005.1.2"], initial_quantity=2,
                         minimum_degree_match=75),
     "ITI-47/PDQ_Maximal_Query.xml", "urn:hl7-org:v3:PRPA_IN201305UV02"),
    (lambda: iti55_discovery(
        PatientDemographics(ids=(PatientId("1234", "1.2.840.114350.1.13.99997.2.3412"),),
                            name=PersonName("Jones", ("Jimmy",)), gender="M",
                            birth_date="19630805"),
        home_community_id="urn:oid:1.2.3.928.955", responding_gateway="http://gw/QDQuery",
        wrapper=Wrapper(receiver=Device("1.2.840.114350.1.13.999.234"))),
     "ITI-55/iti55-sample-request.xml",
     "urn:hl7-org:v3:PRPA_IN201305UV02:CrossGatewayPatientDiscovery"),
])
def test_hl7v3_messages_have_the_shape_of_real_ones(
    build: Callable[[], BuiltMessage], relative: str, action: str,
) -> None:
    built = build()
    assert built.action == action
    # the merge sample writes the name as bare text
    _same_shape(built, relative, frozenset({"/name/family"}))
    interaction = etree.QName(built.body).localname
    assert built.body.find("hl7:interactionId", NS).get("extension") == interaction  # type: ignore[union-attr]
    assert re.fullmatch(r"\d{14}", built.body.find("hl7:creationTime", NS).get("value", ""))  # type: ignore[union-attr]


def test_every_message_gets_fresh_ids() -> None:
    first, second = iti47_query(MARY), iti47_query(MARY)
    assert first.values["messageId"] != second.values["messageId"]
    assert first.values["queryId"] != second.values["queryId"]
    assert first.body.find("hl7:id", NS).get("root") == first.values["messageId"]  # type: ignore[union-attr]
    assert first.body.find(".//hl7:queryId", NS).get("root") == first.values["queryId"]  # type: ignore[union-attr]


def test_feed_content() -> None:
    built = iti44_add(MARY, ids=_fixed_ids())
    patient = built.body.find(".//hl7:registrationEvent/hl7:subject1/hl7:patient", NS)
    assert patient is not None
    pid = patient.find("hl7:id", NS)
    assert pid is not None
    assert (pid.get("root"), pid.get("extension")) == (AUTHORITY, "PIX10515W3")
    assert patient.findtext("hl7:patientPerson/hl7:name/hl7:family", namespaces=NS) == \
        "WASHINGTON"
    assert [g.text for g in patient.findall("hl7:patientPerson/hl7:name/hl7:given", NS)] == [
        "MARY", "ROSE"]
    assert built.body.find("hl7:creationTime", NS).get("value") == "20260301100000"  # type: ignore[union-attr]
    assert built.values["patientId"] == f"PIX10515W3^^^&{AUTHORITY}&ISO"


def test_merge_names_the_subsumed_id() -> None:
    built = iti44_merge(MARY, PatientId("OLD-1", "1.2.3"))
    prior = built.body.find(".//hl7:replacementOf/hl7:priorRegistration/hl7:subject1/"
                            "hl7:priorRegisteredRole/hl7:id", NS)
    assert prior is not None
    assert (prior.get("root"), prior.get("extension")) == ("1.2.3", "OLD-1")


def test_xcpd_carries_home_community_and_requires_traits() -> None:
    built = iti55_discovery(MARY, home_community_id="1.2.3.928.955")
    org = built.body.find("hl7:sender/hl7:device/hl7:asAgent/hl7:representedOrganization/"
                          "hl7:id", NS)
    assert org is not None and org.get("root") == "1.2.3.928.955"
    assert built.values["homeCommunityId"] == "urn:oid:1.2.3.928.955"
    with pytest.raises(UsageError, match="birth_date"):
        iti55_discovery(PatientDemographics(name=MARY.name, gender="F"),
                        home_community_id="1.2.3")


def test_pdq_needs_a_trait_and_values_are_validated() -> None:
    with pytest.raises(UsageError, match="at least one trait"):
        iti47_query(PatientDemographics())
    with pytest.raises(UsageError, match="gender"):
        PatientDemographics(gender="female")
    with pytest.raises(UsageError, match="YYYY"):
        PatientDemographics(birth_date="1977-12-08")
    with pytest.raises(UsageError, match="not an OID"):
        PatientId("1", "ACME")


def test_patient_id_forms() -> None:
    assert PatientId.parse("123^^^&1.2.3&ISO") == PatientId("123", "1.2.3")
    assert PatientId.parse("1.2.3|123") == PatientId("123", "1.2.3")
    with pytest.raises(UsageError, match="CX"):
        PatientId.parse("just-an-id")


# -- ITI-18 / ITI-43 ------------------------------------------------------------------------


def test_stored_query_matches_the_nist_template() -> None:
    built = iti18_stored_query(StoredQuery("FindDocuments", {
        "XDSDocumentEntryPatientId": "c4d77e21d0dd487^^^&1.3.6.1.4.1.21367.2005.3.7&ISO",
        "$XDSDocumentEntryClassCode": "value^^scheme",
    }))
    _same_shape(built, "ITI-18/sq-req.xml")
    assert built.action == "urn:ihe:iti:2007:RegistryStoredQuery"
    theirs = _corpus_root("ITI-18/sq-req.xml")

    def slots(root: etree._Element) -> dict[str, list[str]]:
        return {s.get("name", ""): [v.text or "" for v in s.iterfind(".//rim:Value", NS)]
                for s in root.iterfind(".//rim:Slot", NS)}

    assert slots(built.body) == slots(theirs)  # same literals, status defaulted to Approved
    adhoc = built.body.find("rim:AdhocQuery", NS)
    assert adhoc is not None
    assert adhoc.get("id") == STORED_QUERIES["FindDocuments"]


@pytest.mark.parametrize(("name", "query_id"), list(STORED_QUERIES.items()))
def test_query_ids_follow_the_table(name: str, query_id: str) -> None:
    assert StoredQuery(name, {"$XDSDocumentEntryPatientId": "'x'",
                              "$XDSSubmissionSetPatientId": "'x'", "$XDSFolderPatientId": "'x'",
                              "$patientId": "'x'",
                              "$XDSDocumentEntryReferenceIdList": "('r')"}).query_id == query_id


def test_return_type_and_home() -> None:
    built = iti18_stored_query(StoredQuery("GetDocuments", {"$XDSDocumentEntryUniqueId": [
        "1.2.3", "1.2.4"]}, return_type="ObjectRef", home_community_id="urn:oid:1.2.3"))
    option = built.body.find("query:ResponseOption", NS)
    assert option is not None and option.get("returnType") == "ObjectRef"
    assert built.body.find("rim:AdhocQuery", NS).get("home") == "urn:oid:1.2.3"  # type: ignore[union-attr]
    assert built.body.findtext(".//rim:Value", namespaces=NS) == "('1.2.3','1.2.4')"


def test_sql_literals() -> None:
    assert sql_literal("$XDSDocumentEntryPatientId", "O'Brien^^^&1.2&ISO") == \
        "'O''Brien^^^&1.2&ISO'"
    assert sql_literal("$XDSDocumentEntryStatus", "urn:x") == "('urn:x')"
    assert sql_literal("$XDSDocumentEntryClassCode", ["a^^s", "b^^s"]) == "('a^^s','b^^s')"
    assert sql_literal("$XDSDocumentEntryCreationTimeFrom", "20040101") == "20040101"
    assert sql_literal("$XDSDocumentEntryPatientId", "'already'") == "'already'"
    with pytest.raises(UsageError, match="timestamp"):
        sql_literal("$XDSDocumentEntryCreationTimeTo", "yesterday")


def test_stored_query_errors() -> None:
    with pytest.raises(UsageError, match="unknown stored query"):
        StoredQuery("FindEverything")
    with pytest.raises(UsageError, match=r"\$XDSDocumentEntryPatientId"):
        iti18_stored_query(StoredQuery("FindDocuments"))
    with pytest.raises(UsageError, match="returnType"):
        StoredQuery("GetAll", return_type="Full")


def test_retrieve_matches_the_corpus() -> None:
    built = iti43_retrieve([DocumentRequest("1.3.6.1.4.1.21367.2010.1.2.110.1260801017357.8",
                                            "1.3.6.1.4.1.21367.2010.1.2.1125",
                                            "1.3.6.1.4.1.21367.2010.1.2.2045")])
    _same_shape(built, "ITI-43/RetrieveDocumentSetRequest.xml")

    def content(root: etree._Element) -> list[tuple[str, str]]:
        return [(etree.QName(e).text, (e.text or "").strip()) for e in root.iter("*")]

    assert content(built.body) == content(_corpus_root("ITI-43/RetrieveDocumentSetRequest.xml"))


# -- ITI-41 ---------------------------------------------------------------------------------


def _slot(entry: etree._Element, name: str) -> list[str]:
    return [v.text or "" for v in entry.iterfind(f"rim:Slot[@name='{name}']//rim:Value", NS)]


def test_provide_and_register_inline_has_the_shape_of_the_corpus() -> None:
    built = iti41_provide_and_register(MARY, [DocumentEntrySpec(content=b"<doc/>")], mtom=False)
    _same_shape(built, "ITI-41/ProvideAndRegisterDocumentSet-bRequest.xml")
    document = built.body.find("xdsb:Document", NS)
    assert document is not None
    assert base64.b64decode(document.text or "") == b"<doc/>"
    assert built.attachments == ()


def test_provide_and_register_metadata() -> None:
    content = b"%PDF-1.7 binary \x00\xff"
    built = iti41_provide_and_register(
        MARY, [DocumentEntrySpec(content=content, mime_type="application/pdf", title="Report",
                                 codes={"classCode": Code("REPORTS", "1.3.6.1.4.1.21367.100.1",
                                                          "Reports")},
                                 slots={"languageCode": "de-CH"})],
        submission=SubmissionSetSpec(source_id="1.2.3.4.5"), ids=_fixed_ids(),
    )
    entry = built.body.find(".//rim:ExtrinsicObject", NS)
    assert entry is not None
    assert entry.get("id") == "Document01"  # symbolic: the registry assigns the entryUUID
    assert entry.get("mimeType") == "application/pdf"
    assert _slot(entry, "hash") == [hashlib.sha1(content).hexdigest()]
    assert _slot(entry, "size") == [str(len(content))]
    assert _slot(entry, "creationTime") == ["20260301100000"]
    assert _slot(entry, "languageCode") == ["de-CH"]
    assert _slot(entry, "sourcePatientId") == [f"PIX10515W3^^^&{AUTHORITY}&ISO"]
    assert "PID-8|F" in _slot(entry, "sourcePatientInfo")
    schemes = {c.get("classificationScheme"): c.get("nodeRepresentation")
               for c in entry.iterfind("rim:Classification", NS)}
    assert schemes["urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"] == "REPORTS"  # override
    assert schemes["urn:uuid:f4f85eac-e6cb-4883-b524-f2705394840f"] == "N"  # default
    assert len(schemes) == 7  # author + six codes
    identifiers = {e.get("identificationScheme"): e.get("value")
                   for e in built.body.iterfind(".//rim:ExternalIdentifier", NS)}
    assert identifiers["urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"] == \
        built.values["documentUniqueId"]
    assert identifiers["urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"] == \
        built.values["submissionSetUniqueId"]
    assert identifiers["urn:uuid:554ac39e-e3fe-47fe-b233-965d2a147832"] == "1.2.3.4.5"
    assert identifiers["urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"] == \
        f"PIX10515W3^^^&{AUTHORITY}&ISO"
    package = built.body.find(".//rim:RegistryPackage", NS)
    assert package is not None
    assert _slot(package, "submissionTime") == ["20260301100000"]
    association = built.body.find(".//rim:Association", NS)
    assert association is not None
    assert (association.get("sourceObject"), association.get("targetObject")) == (
        "SubmissionSet01", "Document01")
    assert _slot(association, "SubmissionSetStatus") == ["Original"]
    node = built.body.find("lcm:SubmitObjectsRequest/rim:RegistryObjectList/rim:Classification",
                           NS)
    assert node is not None
    assert node.get("classificationNode") == "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd"
    ids = [e.get("id") for e in built.body.iterfind(".//rim:*[@id]", NS)]
    assert len(ids) == len(set(ids))  # symbolic ids unique within the submission


def test_provide_and_register_mtom_round_trip_and_corpus_shape() -> None:
    entries = [DocumentEntrySpec(content=b"first"), DocumentEntrySpec(content=b"\x00second")]
    built = iti41_provide_and_register(MARY.ids[0], entries)
    request = built.to_request("http://127.0.0.1:1/repository")
    assert (request.content_type or "").startswith("multipart/related")
    message = parse_envelope(request.body, request.content_type)
    assert message.action == "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
    documents = message.envelope.findall(".//xdsb:Document", NS)
    assert [message.content_of(d) for d in documents] == [b"first", b"\x00second"]
    real = corpus_file("ITI-41/multipart.body.txt").read_bytes().replace(b"\n", b"\r\n")
    header = corpus_file("ITI-41/multipart.header.txt").read_text()
    content_type = next(line.split(":", 1)[1].strip() for line in header.splitlines()
                        if line.lower().startswith("content-type:"))
    theirs = parse_envelope(real, content_type)
    assert {etree.QName(e).localname for e in message.envelope.find(  # type: ignore[union-attr]
        f"{{{SOAP12}}}Header")} >= {etree.QName(e).localname for e in theirs.header}  # type: ignore[union-attr]
    ours_payload, their_payload = message.payload, theirs.payload
    assert ours_payload is not None and their_payload is not None
    assert etree.QName(ours_payload) == etree.QName(their_payload)
    assert "/ProvideAndRegisterDocumentSetRequest/Document/Include" in _paths(their_payload)
    assert _paths(ours_payload) - _paths(their_payload) <= {
        # the Axis2 sample has no author and a reduced code set; all of these are in TF-3
        p for p in _paths(ours_payload) if "/Classification" in p or "/Name" in p
        or "/Description" in p or "/ExternalIdentifier" in p}


def test_document_from_file_and_errors(tmp_path: pytest.TempPathFactory) -> None:
    path = tmp_path / "doc.txt"  # type: ignore[operator]
    path.write_bytes(b"file content")
    built = iti41_provide_and_register(MARY, [DocumentEntrySpec(path=path)])
    assert built.attachments[0].content == b"file content"
    with pytest.raises(UsageError, match="cannot read document"):
        iti41_provide_and_register(MARY, [DocumentEntrySpec(path=tmp_path / "missing")])  # type: ignore[operator]
    with pytest.raises(UsageError, match="exactly one"):
        DocumentEntrySpec()
    with pytest.raises(UsageError, match="unknown DocumentEntry code"):
        DocumentEntrySpec(content=b"x", codes={"clasCode": Code("a", "b", "c")})
    with pytest.raises(UsageError, match="at least one document"):
        iti41_provide_and_register(MARY, [])


# -- CCD template ----------------------------------------------------------------------------


def test_ccd_is_filled_per_patient_and_escaped() -> None:
    patient = PatientDemographics(ids=(PatientId("X-1", "1.2.3"),),
                                  name=PersonName("O'Brien & <Sons>", ("Zoë",)), gender="M")
    root = parse_xml(ccd_document(patient, document_id="1.2.3.4.5", problems="a < b"))
    hl7 = {"h": HL7V3}
    assert root.findtext(".//h:patient/h:name/h:family", namespaces=hl7) == "O'Brien & <Sons>"
    assert root.findtext(".//h:patient/h:name/h:given", namespaces=hl7) == "Zoë"
    assert root.find("h:id", hl7).get("root") == "1.2.3.4.5"  # type: ignore[union-attr]
    assert root.find(".//h:birthTime", hl7) is None  # unknown: optional element dropped
    assert root.find(".//h:patientRole/h:addr", hl7) is None
    assert root.find(".//h:administrativeGenderCode", hl7).get("code") == "M"  # type: ignore[union-attr]
    assert "a < b" in "".join(root.itertext())
    assert not any("urn:ihe-test-utility:template" in (e.nsmap.values()) for e in root.iter())
    assert "${" not in etree.tostring(root).decode()


def test_ccd_entry_keeps_unique_id_and_document_id_in_step() -> None:
    entry = ccd_entry(MARY)
    root = parse_xml(entry.read())
    assert root.find(f"{{{HL7V3}}}id").get("root") == entry.unique_id  # type: ignore[union-attr]
    assert root.findtext(f".//{{{HL7V3}}}city") == "CHICAGO"
    with pytest.raises(UsageError, match="name"):
        ccd_document(PatientDemographics(ids=MARY.ids))


def test_to_request_can_be_called_twice() -> None:
    built = iti45_query(MARY.ids[0])
    first, second = built.to_request("http://h/pix"), built.to_request("http://h/pix")
    one, two = parse_envelope(first.body), parse_envelope(second.body)
    assert one.message_id != two.message_id
    assert one.envelope.find(f".//{{{WSA}}}To").text == "http://h/pix"  # type: ignore[union-attr]
    assert built.body.getparent() is None
