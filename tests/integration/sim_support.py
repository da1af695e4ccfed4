"""Helpers for the simulator tests: real corpus requests in SOAP 1.2 envelopes, sent over HTTP,
and the verdict fields read back from the answers."""

from __future__ import annotations

import re
import uuid
from copy import deepcopy
from dataclasses import dataclass, field
from pathlib import Path

import requests
from lxml import etree

from ihe_test_util.ihe.namespaces import HL7V3, PREFIXES, QUERY, RIM, RS, SOAP12, WSA, XDSB, XOP
from ihe_test_util.safexml import parse_xml
from ihe_test_util.transport.mtom import Attachment, build_mtom, is_multipart, parse_multipart

from ..conftest import corpus_file

NS = {**PREFIXES, "s": SOAP12}
PIX_ADD = "urn:hl7-org:v3:PRPA_IN201301UV02"
PIX_REVISE = "urn:hl7-org:v3:PRPA_IN201302UV02"
PIX_MERGE = "urn:hl7-org:v3:PRPA_IN201304UV02"
PIX_QUERY = "urn:hl7-org:v3:PRPA_IN201309UV02"
PDQ_QUERY = "urn:hl7-org:v3:PRPA_IN201305UV02"
XCPD_QUERY = "urn:hl7-org:v3:PRPA_IN201305UV02:CrossGatewayPatientDiscovery"
PNR = "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"
REGISTER = "urn:ihe:iti:2007:RegisterDocumentSet-b"
STORED_QUERY = "urn:ihe:iti:2007:RegistryStoredQuery"
RETRIEVE = "urn:ihe:iti:2007:RetrieveDocumentSet"

FIND_DOCUMENTS = "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d"
FIND_SUBMISSION_SETS = "urn:uuid:f26abbcb-ac74-4422-8a30-edb644bbc1a9"
GET_DOCUMENTS = "urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4"
GET_ASSOCIATIONS = "urn:uuid:a7ae438b-4bc2-4642-93e9-be891f7bb155"
GET_SS_AND_CONTENTS = "urn:uuid:e8e3cb2c-e39c-46b9-99e4-c12f57260b83"
APPROVED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
DEPRECATED = "urn:oasis:names:tc:ebxml-regrep:StatusType:Deprecated"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
PARTIAL = "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"
DE_UNIQUE_ID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
DE_PATIENT_ID = "urn:uuid:58a6f841-87b3-4a3e-92fd-a8ffeff98427"
SS_UNIQUE_ID = "urn:uuid:96fdda7c-d067-4183-912e-bf5ee74998a8"
SS_PATIENT_ID = "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446"


def h(local: str) -> str:
    return f"{{{HL7V3}}}{local}"


# -- corpus -------------------------------------------------------------------------------


def corpus_text(relative: str, **placeholders: str) -> str:
    """A corpus file with NIST-style ``$name$`` placeholders filled."""
    text = corpus_file(relative).read_text(encoding="utf-8")
    for name, value in placeholders.items():
        text = text.replace(f"${name}$", value)
    left = re.findall(r"'\$(\w+)\$'|\(\$(\w+)\$\)", text)
    assert not left, f"unfilled placeholders in {relative}: {left}"
    return text


def corpus_body(relative: str, **placeholders: str) -> etree._Element:
    """The payload of a corpus request (the Body child when the file is an envelope)."""
    root = parse_xml(corpus_text(relative, **placeholders).strip().encode(), source=relative)
    body = root.find(f"{{{SOAP12}}}Body")
    return root if body is None else next(iter(body))


def crlf(data: bytes) -> bytes:
    """MIME framing with CRLF line ends (corpus files were saved with LF)."""
    return re.sub(rb"\r?\n", b"\r\n", data)


def corpus_mtom_envelope(relative: str) -> tuple[etree._Element, dict[str, bytes]]:
    """Envelope and attachments (by Content-ID) of a corpus MTOM body file."""
    raw = crlf(corpus_file(relative).read_bytes())
    boundary = raw.split(b"\r\n", 1)[0][2:].decode()
    message = parse_multipart(raw, f'multipart/related; boundary="{boundary}"')
    parts = {p.content_id or "": p.content for p in message.attachments}
    return parse_xml(message.root.content, source=relative), parts


# -- sending ------------------------------------------------------------------------------


def envelope(action: str, body: etree._Element, *, message_id: str | None = None) -> bytes:
    env = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12, "wsa": WSA})
    header = etree.SubElement(env, f"{{{SOAP12}}}Header")
    action_el = etree.SubElement(header, f"{{{WSA}}}Action")
    action_el.set(f"{{{SOAP12}}}mustUnderstand", "1")
    action_el.text = action
    etree.SubElement(header, f"{{{WSA}}}MessageID").text = message_id or f"urn:uuid:{uuid.uuid4()}"
    reply = etree.SubElement(header, f"{{{WSA}}}ReplyTo")
    etree.SubElement(reply, f"{{{WSA}}}Address").text = (
        "http://www.w3.org/2005/08/addressing/anonymous")
    etree.SubElement(env, f"{{{SOAP12}}}Body").append(deepcopy(body))
    return etree.tostring(env, xml_declaration=True, encoding="UTF-8")


@dataclass
class Answer:
    status_code: int
    content_type: str
    raw: bytes
    envelope: etree._Element
    attachments: dict[str, bytes] = field(default_factory=dict)
    root_part: bytes = b""

    @property
    def body(self) -> etree._Element:
        found = self.envelope.find(f"{{{SOAP12}}}Body")
        assert found is not None
        return next(iter(found))

    @property
    def relates_to(self) -> str:
        return self.envelope.findtext(f".//{{{WSA}}}RelatesTo") or ""

    @property
    def message_id(self) -> str:
        return self.envelope.findtext(f".//{{{WSA}}}MessageID") or ""

    @property
    def action(self) -> str:
        return (self.envelope.findtext(f".//{{{WSA}}}Action") or "").strip()

    def xpath(self, path: str) -> list[etree._Element]:
        return self.envelope.xpath(path, namespaces=NS)  # type: ignore[return-value]

    # verdict fields -------------------------------------------------------------------

    @property
    def ack_code(self) -> str:
        return self.body.find(f"{h('acknowledgement')}/{h('typeCode')}").get("code")  # type: ignore[union-attr]

    @property
    def query_code(self) -> str:
        found = self.body.find(f"{h('controlActProcess')}/{h('queryAck')}/{h('queryResponseCode')}")
        return found.get("code") if found is not None else ""  # type: ignore[return-value]

    @property
    def ack_detail_codes(self) -> list[str]:
        return [c.get("code", "") for c in self.body.iterfind(
            f"{h('acknowledgement')}/{h('acknowledgementDetail')}/{h('code')}")]

    @property
    def subjects(self) -> list[etree._Element]:
        return self.body.findall(f"{h('controlActProcess')}/{h('subject')}")

    @property
    def status(self) -> str:
        body = self.body
        if body.get("status"):
            return body.get("status", "")
        response = body.find(f"{{{RS}}}RegistryResponse")
        assert response is not None
        return response.get("status", "")

    @property
    def error_codes(self) -> list[str]:
        return [e.get("errorCode", "") for e in self.body.iter(f"{{{RS}}}RegistryError")]

    @property
    def registry_objects(self) -> list[etree._Element]:
        listing = self.body.find(f"{{{RIM}}}RegistryObjectList")
        return [] if listing is None else [c for c in listing if isinstance(c.tag, str)]

    @property
    def documents(self) -> dict[str, bytes]:
        """DocumentUniqueId -> bytes, resolving xop:Include or inline base64."""
        import base64

        found = {}
        for item in self.body.iter(f"{{{XDSB}}}DocumentResponse"):
            uid = item.findtext(f"{{{XDSB}}}DocumentUniqueId") or ""
            doc = item.find(f"{{{XDSB}}}Document")
            assert doc is not None
            include = doc.find(f"{{{XOP}}}Include")
            if include is not None:
                found[uid] = self.attachments[include.get("href", "")[4:]]
            else:
                found[uid] = base64.b64decode("".join((doc.text or "").split()))
        return found

    @property
    def fault_code(self) -> str:
        return (self.envelope.findtext(f".//{{{SOAP12}}}Fault/{{{SOAP12}}}Code/"
                                       f"{{{SOAP12}}}Value") or "").strip()

    @property
    def fault_subcode(self) -> str:
        return (self.envelope.findtext(f".//{{{SOAP12}}}Subcode/{{{SOAP12}}}Value") or "").strip()


def read_answer(response: requests.Response) -> Answer:
    content_type = response.headers.get("Content-Type", "")
    attachments: dict[str, bytes] = {}
    xml = response.content
    if is_multipart(content_type):
        message = parse_multipart(response.content, content_type)
        xml = message.root.content
        attachments = {p.content_id or "": p.content for p in message.attachments}
    return Answer(response.status_code, content_type, response.content,
                  parse_xml(xml, source="simulator answer"), attachments, xml)


def post(url: str, action: str, body: etree._Element, *, message_id: str | None = None,
         attachments: dict[str, bytes] | None = None, timeout: float = 10) -> Answer:
    """POST one SOAP 1.2 request (MTOM when attachments are given) and read the answer."""
    soap = envelope(action, body, message_id=message_id)
    if attachments is None:
        response = requests.post(url, data=soap, timeout=timeout, headers={
            "Content-Type": f'application/soap+xml; charset=UTF-8; action="{action}"'})
    else:
        parts = [Attachment(cid, "application/octet-stream", data)
                 for cid, data in attachments.items()]
        data, content_type = build_mtom(soap, parts, soap_action=action)
        response = requests.post(url, data=data, timeout=timeout,
                                 headers={"Content-Type": content_type})
    return read_answer(response)


def post_raw(url: str, data: bytes, content_type: str) -> Answer:
    return read_answer(requests.post(url, data=data, timeout=10,
                                     headers={"Content-Type": content_type}))


# -- scenario builders from corpus requests ----------------------------------------------


@dataclass(frozen=True)
class Patient:
    root: str
    extension: str
    family: str = "WASHINGTON"
    given: str = "MARY"
    gender: str = "F"
    birth: str = "19771208"
    street: str = "100 JORIE BLVD"
    city: str = "CHICAGO"

    @property
    def cx(self) -> str:
        return f"{self.extension}^^^&{self.root}&ISO"


def feed_message(patient: Patient, *others: tuple[str, str],
                 template: str = "ITI-44/PIX_FEED_REG_Maximal_Request.xml") -> etree._Element:
    """The corpus feed with its identifiers and demographics replaced by ``patient``'s."""
    message = corpus_body(template)
    person_path = f"{h('controlActProcess')}/{h('subject')}/{h('registrationEvent')}/" \
                  f"{h('subject1')}/{h('patient')}"
    element = message.find(person_path)
    assert element is not None
    for old in element.findall(h("id")):
        element.remove(old)
    for index, (root, extension) in enumerate(((patient.root, patient.extension), *others)):
        new = etree.Element(h("id"), root=root, extension=extension)
        element.insert(index, new)
    person = element.find(h("patientPerson"))
    if person is not None:
        name = person.find(h("name"))
        if name is not None and name.find(h("family")) is not None:
            name.find(h("family")).text = patient.family  # type: ignore[union-attr]
            for given in name.findall(h("given")):
                name.remove(given)
            given = etree.Element(h("given"))
            given.text = patient.given
            name.find(h("family")).addprevious(given)  # type: ignore[union-attr]
        gender = person.find(h("administrativeGenderCode"))
        if gender is not None:
            gender.set("code", patient.gender)
        birth = person.find(h("birthTime"))
        if birth is not None:
            birth.set("value", patient.birth)
        address = person.find(h("addr"))
        if address is not None:
            address.find(h("streetAddressLine")).text = patient.street  # type: ignore[union-attr]
            address.find(h("city")).text = patient.city  # type: ignore[union-attr]
    return message


def pix_query(patient_id: tuple[str, str], *data_sources: str) -> etree._Element:
    message = corpus_body("ITI-45/PIXv3_QUERY.xml")
    value = message.find(f".//{h('patientIdentifier')}/{h('value')}")
    assert value is not None
    value.set("root", patient_id[0])
    value.set("extension", patient_id[1])
    value.attrib.pop("assigningAuthorityName", None)
    source = message.find(f".//{h('dataSource')}")
    assert source is not None
    parent = source.getparent()
    assert parent is not None
    parent.remove(source)
    for root in reversed(data_sources):
        new = deepcopy(source)
        new.find(h("value")).set("root", root)  # type: ignore[union-attr]
        parent.insert(0, new)
    return message


def pnr_request(patient: Patient, *, document_uid: str | None = None,
                submission_uid: str | None = None, content: bytes = b"This is my document.\r\n",
                inline: bool = False) -> tuple[etree._Element, dict[str, bytes] | None]:
    """The NIST PnrXop request (MTOM, symbolic ids) for ``patient`` with fresh uniqueIds."""
    env, _ = corpus_mtom_envelope("ITI-41/nist-PnrXop-Xop-body.txt")
    body = env.find(f"{{{SOAP12}}}Body")
    assert body is not None
    request = next(iter(body))
    for scheme in (DE_PATIENT_ID, SS_PATIENT_ID):
        request.find(f".//{{{RIM}}}ExternalIdentifier[@identificationScheme='{scheme}']").set(  # type: ignore[union-attr]
            "value", patient.cx)
    suffix = uuid.uuid4().int % 10**12
    request.find(f".//{{{RIM}}}ExternalIdentifier[@identificationScheme='{DE_UNIQUE_ID}']").set(  # type: ignore[union-attr]
        "value", document_uid or f"1.42.20160705093311.6.{suffix}")
    request.find(f".//{{{RIM}}}ExternalIdentifier[@identificationScheme='{SS_UNIQUE_ID}']").set(  # type: ignore[union-attr]
        "value", submission_uid or f"1.42.20160705093311.7.{suffix}")
    document = request.find(f"{{{XDSB}}}Document")
    assert document is not None
    for child in list(document):
        document.remove(child)
    if inline:
        import base64

        document.text = base64.b64encode(content).decode()
        return request, None
    cid = f"{uuid.uuid4().hex}@test"
    etree.SubElement(document, f"{{{XOP}}}Include", href=f"cid:{cid}")
    return request, {cid: content}


def unique_id_of(request: etree._Element, scheme: str = DE_UNIQUE_ID) -> str:
    found = request.find(f".//{{{RIM}}}ExternalIdentifier[@identificationScheme='{scheme}']")
    assert found is not None
    return found.get("value", "")


def stored_query(query_id: str, slots: dict[str, list[str]], *,
                 return_type: str = "LeafClass") -> etree._Element:
    """An AdhocQueryRequest shaped like the corpus sq-req.xml."""
    request = corpus_body("ITI-18/sq-req.xml")
    request.find(f"{{{QUERY}}}ResponseOption").set("returnType", return_type)  # type: ignore[union-attr]
    adhoc = request.find(f"{{{RIM}}}AdhocQuery")
    assert adhoc is not None
    adhoc.set("id", query_id)
    for slot in adhoc.findall(f"{{{RIM}}}Slot"):
        adhoc.remove(slot)
    for name, values in slots.items():
        slot = etree.SubElement(adhoc, f"{{{RIM}}}Slot", name=name)
        listing = etree.SubElement(slot, f"{{{RIM}}}ValueList")
        for value in values:
            etree.SubElement(listing, f"{{{RIM}}}Value").text = value
    return request


def find_documents(patient: Patient, *statuses: str, return_type: str = "LeafClass") -> (
        etree._Element):
    listed = ",".join(f"'{s}'" for s in (statuses or (APPROVED,)))
    return stored_query(FIND_DOCUMENTS, {
        "$XDSDocumentEntryPatientId": [f"'{patient.cx}'"],
        "$XDSDocumentEntryStatus": [f"({listed})"],
    }, return_type=return_type)


def retrieve_request(repository: str, *document_uids: str) -> etree._Element:
    request = corpus_body("ITI-43/RetrieveDocumentSetRequest.xml")
    template = request.find(f"{{{XDSB}}}DocumentRequest")
    assert template is not None
    request.remove(template)
    for uid in document_uids:
        item = deepcopy(template)
        item.find(f"{{{XDSB}}}RepositoryUniqueId").text = repository  # type: ignore[union-attr]
        item.find(f"{{{XDSB}}}DocumentUniqueId").text = uid  # type: ignore[union-attr]
        request.append(item)
    return request


def corpus_path(relative: str) -> Path:
    return corpus_file(relative)
