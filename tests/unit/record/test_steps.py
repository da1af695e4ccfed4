"""Steps build the messages their ``with`` describes (through the shared message builders)."""

from __future__ import annotations

import base64
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from lxml import etree

from ihe_test_util import safexml
from ihe_test_util.ihe.catalogue import spec_for
from ihe_test_util.ihe.namespaces import HL7V3, PREFIXES, RIM, SOAP12, XDSB
from ihe_test_util.model import Request
from ihe_test_util.record import steps
from ihe_test_util.record.fields import FieldError
from ihe_test_util.record.steps import STEP_KINDS, ReadContext
from ihe_test_util.record.variables import MissingVariable, Value
from ihe_test_util.transport.mtom import parse_multipart
from ihe_test_util.transport.soap import parse_envelope

URL = "http://127.0.0.1:9/endpoint"
PATIENT = {"id": "P-1^^^&1.3.6.1.4.1.21367.13.20.1000&ISO", "family": "O'Brien",
           "given": ["Ann", "Mary"], "gender": "F", "birth_date": 19800101}


def request(transaction: str, params: Mapping[str, Any], base: Path,
            values: Mapping[str, Value] | None = None) -> tuple[Request, Any]:
    known = dict(values or {})

    def lookup(name: str) -> Value:
        if name not in known:
            raise MissingVariable(name)
        return known[name]

    message = STEP_KINDS[transaction].read(params, ReadContext(base, lookup))()
    return message.to_request(URL), message


def xpath(req: Request, expression: str) -> list[Any]:
    envelope = parse_envelope(req.body, req.content_type).envelope
    return envelope.xpath(expression, namespaces=PREFIXES)  # type: ignore[return-value]


def test_iti41_sends_documents_as_mtom_attachments_by_default(tmp_path: Path) -> None:
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4 binary \x00\xff")
    req, message = request("ITI-41", {"patient": PATIENT["id"], "documents": [
        {"file": "report.pdf", "codes": {"classCode": {"code": "X1", "scheme": "1.2",
                                                       "display": "Report"}},
         "slots": {"languageCode": "de-CH"}}]}, tmp_path)
    assert req.content_type is not None and req.content_type.startswith("multipart/related")
    parts = parse_multipart(req.body, req.content_type)
    assert [p.content for p in parts.attachments] == [b"%PDF-1.4 binary \x00\xff"]
    entry = "//rim:ExtrinsicObject"
    assert xpath(req, f"{entry}/@mimeType") == ["application/pdf"]
    assert xpath(req, f"{entry}/rim:Name/rim:LocalizedString/@value") == ["report.pdf"]
    assert xpath(req, f"{entry}/rim:Classification[@nodeRepresentation='X1']/@id")
    assert xpath(req, f"{entry}/rim:Slot[@name='languageCode']/rim:ValueList/rim:Value/text()") \
        == ["de-CH"]
    assert xpath(req, "//xdsb:Document/xop:Include/@href")
    assert set(message.values) >= {"documentUniqueId", "documentUniqueId:Document01",
                                   "submissionSetUniqueId", "patientId"}


def test_iti41_inline_base64_with_mtom_false_and_a_ccd_per_patient(tmp_path: Path) -> None:
    req, message = request("ITI-41", {"patient": PATIENT, "mtom": False, "documents": [
        {"ccd": {"title": "Summary", "problems": "Asthma & <hay fever>"}}]}, tmp_path)
    assert req.content_type is not None and req.content_type.startswith("application/soap+xml")
    [document] = xpath(req, "//xdsb:Document")
    ccd = etree.fromstring(base64.b64decode(document.text))
    hl7 = {"hl7": HL7V3}
    assert ccd.xpath("//hl7:patient/hl7:name/hl7:family/text()", namespaces=hl7) == ["O'Brien"]
    assert "Asthma & <hay fever>" in "".join(ccd.itertext())
    unique_id = message.values["documentUniqueId"]
    assert ccd.xpath("/hl7:ClinicalDocument/hl7:id/@root", namespaces=hl7) == [unique_id]
    scheme = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
    assert xpath(req, f"//rim:ExternalIdentifier[@identificationScheme='{scheme}']/@value") \
        == [unique_id]


def test_each_build_gets_fresh_identifiers(tmp_path: Path) -> None:
    kind = STEP_KINDS["ITI-41"]
    build = kind.read({"patient": PATIENT, "documents": [{"ccd": True}]},
                      ReadContext(tmp_path, lambda name: "x"))
    first, second = build(), build()
    assert first.values["documentUniqueId"] != second.values["documentUniqueId"]
    assert first.values["submissionSetUniqueId"] != second.values["submissionSetUniqueId"]


def test_iti44_merge_and_revise(tmp_path: Path) -> None:
    merge, values = request("ITI-44", {"action": "merge", "patient": {"id": "1.2.3|A"},
                                       "subsumed": "1.2.3|B"}, tmp_path)
    assert xpath(merge, "//hl7:priorRegisteredRole/hl7:id/@extension") == ["B"]
    assert values.values["subsumedPatientId"] == "B^^^&1.2.3&ISO"
    revise, _ = request("ITI-44", {"action": "revise", "patient": PATIENT}, tmp_path)
    assert xpath(revise, "//hl7:interactionId/@extension") == ["PRPA_IN201302UV02"]
    assert xpath(revise, "//hl7:birthTime/@value") == ["19800101"]


def test_iti43_both_forms(tmp_path: Path) -> None:
    listed, _ = request("ITI-43", {"repository_unique_id": "1.2",
                                   "document_unique_ids": ["1.3", "1.4"]}, tmp_path)
    assert xpath(listed, "//xdsb:DocumentUniqueId/text()") == ["1.3", "1.4"]
    explicit, _ = request("ITI-43", {"documents": [
        {"document_unique_id": "1.5", "repository_unique_id": "1.6",
         "home_community_id": "urn:oid:1.7"}]}, tmp_path)
    assert xpath(explicit, "//xdsb:HomeCommunityId/text()") == ["urn:oid:1.7"]


def test_iti18_values_become_sql_literals(tmp_path: Path) -> None:
    req, _ = request("ITI-18", {"query": "GetDocuments", "parameters": {
        "XDSDocumentEntryEntryUUID": ["urn:uuid:a", "urn:uuid:b"]}}, tmp_path)
    assert xpath(req, "//rim:Slot/rim:ValueList/rim:Value/text()") == \
        ["('urn:uuid:a','urn:uuid:b')"]


def test_raw_envelopes_go_as_they_are_and_bodies_are_wrapped(tmp_path: Path) -> None:
    envelope = (f'<s:Envelope xmlns:s="{SOAP12}"><s:Body><q v="${{value}}"/></s:Body>'
                "</s:Envelope>")
    (tmp_path / "env.xml").write_text(envelope)
    req, _ = request("raw", {"file": "env.xml", "action": "urn:x"}, tmp_path,
                     {"value": 'a"&<b'})
    assert req.body == envelope.replace("${value}", "a&quot;&amp;&lt;b").encode()
    assert req.content_type == 'application/soap+xml; charset=UTF-8; action="urn:x"'
    (tmp_path / "body.xml").write_text(f'<r:Retrieve xmlns:r="{XDSB}"/>')
    wrapped, _ = request("raw", {"file": "body.xml", "action": "urn:y"}, tmp_path)
    assert xpath(wrapped, "/soap:Envelope/soap:Header/wsa:Action/text()") == ["urn:y"]
    assert xpath(wrapped, "/soap:Envelope/soap:Body/xdsb:Retrieve")


def test_a_raw_file_is_parsed_once_however_often_it_is_sent(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    parsers: list[object] = []
    real = safexml._parser

    def counting() -> object:
        parsers.append(real())
        return parsers[-1]

    monkeypatch.setattr(safexml, "_parser", counting)
    (tmp_path / "body.xml").write_text(f'<r:Retrieve xmlns:r="{XDSB}"/>')
    message = STEP_KINDS["raw"].read({"file": "body.xml", "action": "urn:y"},
                                     ReadContext(tmp_path, lambda name: ""))()
    first, second = message.to_request(URL), message.to_request(URL)
    assert len(parsers) == 1  # checked when the scenario is read; each send wraps a copy
    assert first.body.count(b"Retrieve") == second.body.count(b"Retrieve") == 1


def test_raw_other_bytes_need_a_content_type(tmp_path: Path) -> None:
    (tmp_path / "msg.hl7").write_bytes(b"MSH|^~\\&|A|B\rPID|||${pid}\r")
    req, _ = request("raw", {"file": "msg.hl7", "content_type": "x-application/hl7-v2+er7"},
                     tmp_path, {"pid": "123"})
    assert req.body == b"MSH|^~\\&|A|B\rPID|||123\r"
    assert req.content_type == "x-application/hl7-v2+er7"
    (tmp_path / "body.xml").write_text("<q/>")
    with pytest.raises(FieldError, match="not a SOAP envelope: give action"):
        request("raw", {"file": "body.xml", "content_type": "application/soap+xml"}, tmp_path)
    (tmp_path / "broken.xml").write_text("<q>")
    with pytest.raises(FieldError, match=r"broken\.xml is not well-formed XML"):
        request("raw", {"file": "broken.xml", "action": "urn:z"}, tmp_path)


@pytest.mark.parametrize(("transaction", "params", "path", "message"), [
    ("ITI-45", {"patient_id": ["a", "b"]}, ("patient_id",), "expected one text value"),
    ("ITI-45", {"patient_id": "1.2|A", "data_sources": ["not-an-oid"]}, ("data_sources",),
     "'not-an-oid' is not an OID"),
    ("ITI-47", {"patient": {}}, ("patient",), "a query needs at least one trait"),
    ("ITI-55", {"patient": {"family": "X"}, "home_community_id": "1.2"}, ("patient",),
     "an XCPD query needs the patient's gender, birth_date"),
    ("ITI-47", {"patient": {"birth_date": "1980-01"}}, ("patient", "birth_date"),
     "'1980-01' is not a date YYYY[MM[DD]]"),
    ("ITI-47", {"patient": {"given": "Ann"}}, ("patient", "given"),
     "a given name needs a family name too"),
    ("ITI-44", {"patient": {"family": "X"}}, ("patient",), "the patient needs an id"),
    ("ITI-47", {"patient": {"family": "X"}, "initial_quantity": "many"}, ("initial_quantity",),
     "expected a whole number"),
])
def test_bad_values_name_their_field(tmp_path: Path, transaction: str, params: dict[str, Any],
                                     path: tuple[str, ...], message: str) -> None:
    with pytest.raises(FieldError) as caught:
        request(transaction, params, tmp_path)
    assert caught.value.path == path
    assert message in caught.value.message


def test_xml_namespaces_in_requests(tmp_path: Path) -> None:
    req, _ = request("ITI-18", {"query": "FindDocuments", "parameters": {
        "XDSDocumentEntryPatientId": "P^^^&1.2&ISO"}}, tmp_path)
    assert xpath(req, "//rim:AdhocQuery/@id") == ["urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"]
    assert RIM in req.body.decode()


def test_step_kinds_are_the_catalogues_transactions() -> None:
    """Scenario step names are the catalogue's transaction ids (plus raw and http, whose
    transaction is detected), checked on import."""
    for name, kind in STEP_KINDS.items():
        assert kind.transaction == name
        assert kind.detected == (name in ("raw", "http"))
        if not kind.detected:
            assert spec_for(name).id == name
    with pytest.raises(KeyError):
        steps._step("ITI-999", steps._iti18, ())
