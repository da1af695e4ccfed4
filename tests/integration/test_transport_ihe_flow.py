"""Builders + SOAP + WS-Security + HttpTransport + regeneration against a real local endpoint.

A tiny XDS repository on 127.0.0.1 behaves like real ones where it matters here: it rejects a
repeated wsa:MessageID and a repeated uniqueId, checks hash and size against the attachment,
verifies the SAML signature, and serves documents back over MTOM. A recorded ITI-41 -> ITI-43
pair is then replayed verbatim (rejected) and regenerated (accepted, and the retrieve asks for
the regenerated uniqueId).
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field

import pytest
from lxml import etree
from signxml.verifier import XMLVerifier

from ihe_test_util.ihe.builders import (
    DocumentRequest,
    PatientDemographics,
    PatientId,
    PersonName,
    ccd_entry,
    iti41_provide_and_register,
    iti43_retrieve,
)
from ihe_test_util.ihe.idmap import IdMap
from ihe_test_util.ihe.namespaces import PREFIXES, RS, XDSB, XOP, qname
from ihe_test_util.ihe.regenerate import regenerate_request
from ihe_test_util.model import Request, Response
from ihe_test_util.transport.http import HttpTransport, TransportOptions
from ihe_test_util.transport.mtom import Attachment, build_mtom
from ihe_test_util.transport.soap import build_envelope, parse_envelope, soap_content_type
from ihe_test_util.transport.wssecurity import SamlIssuer, SecurityHeader

from ..unit.transport.saml_keys import signing_pair
from .transport_servers import base_url, serve

NS = dict(PREFIXES)
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
UNIQUE_ID_SCHEME = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
PATIENT = PatientDemographics(ids=(PatientId("P-77", "1.3.6.1.4.1.21367.2005.3.7"),),
                              name=PersonName("Muster", ("Maja",)), gender="F",
                              birth_date="19600618")
REPOSITORY = "1.3.6.1.4.1.21367.13.20.4000"


@dataclass
class Repository:
    """Just enough of an XDS.b repository to tell a replay from a regenerated replay."""

    message_ids: set[str] = field(default_factory=set)
    documents: dict[str, bytes] = field(default_factory=dict)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def _reply(self, request_id: str | None, action: str, payload: etree._Element,
               attachments: tuple[Attachment, ...] = ()) -> tuple[int, list[tuple[str, str]],
                                                                  bytes]:
        relates = etree.Element(qname(NS["wsa"], "RelatesTo"))
        relates.text = request_id
        xml = build_envelope(payload, action, extra_headers=[relates]).to_bytes()
        if attachments:
            body, content_type = build_mtom(xml, attachments, soap_action=action)
            return 200, [("Content-Type", content_type)], body
        return 200, [("Content-Type", soap_content_type(action))], xml

    @staticmethod
    def _registry_response(errors: list[str]) -> etree._Element:
        response = etree.Element(qname(RS, "RegistryResponse"), nsmap={"rs": RS},
                                 status=FAILURE if errors else SUCCESS)
        if errors:
            error_list = etree.SubElement(response, qname(RS, "RegistryErrorList"))
            for code in errors:
                etree.SubElement(error_list, qname(RS, "RegistryError"), errorCode=code,
                                 codeContext=code,
                                 severity="urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:"
                                          "Error")
        return response

    def _fault(self, reason: str) -> tuple[int, list[tuple[str, str]], bytes]:
        soap = NS["soap"]
        fault = etree.Element(qname(soap, "Fault"))
        code = etree.SubElement(fault, qname(soap, "Code"))
        etree.SubElement(code, qname(soap, "Value")).text = "soap:Sender"
        text = etree.SubElement(etree.SubElement(fault, qname(soap, "Reason")),
                                qname(soap, "Text"))
        text.text = reason
        xml = build_envelope(fault, "http://www.w3.org/2005/08/addressing/soap/fault").to_bytes()
        return 500, [("Content-Type", soap_content_type(None))], xml

    def provide(self, body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]],
                                                                     bytes]:
        message = parse_envelope(body, headers.get("Content-Type"))
        assertion = message.envelope.find(".//wsse:Security/saml2:Assertion", NS)
        if assertion is None:
            return self._fault("wsse:InvalidSecurity: no SAML assertion")
        XMLVerifier().verify(etree.tostring(assertion), x509_cert=signing_pair().cert_pem.decode(),
                             id_attribute="ID")
        with self.lock:
            if message.message_id in self.message_ids:
                return self._fault(f"duplicate wsa:MessageID {message.message_id}")
            self.message_ids.add(message.message_id or "")
        errors: list[str] = []
        stored: dict[str, bytes] = {}
        for entry in message.envelope.iterfind(".//rim:ExtrinsicObject", NS):
            unique_id = entry.find(
                f"rim:ExternalIdentifier[@identificationScheme='{UNIQUE_ID_SCHEME}']", NS)
            document = message.envelope.find(f".//xdsb:Document[@id='{entry.get('id')}']", NS)
            assert unique_id is not None and document is not None
            content = message.content_of(document)
            slots = {s.get("name"): s.findtext(".//rim:Value", namespaces=NS)
                     for s in entry.iterfind("rim:Slot", NS)}
            if slots.get("hash") != hashlib.sha1(content).hexdigest() or \
                    slots.get("size") != str(len(content)):
                errors.append("XDSNonIdenticalHash")
            stored[unique_id.get("value", "")] = content
        with self.lock:
            if any(key in self.documents for key in stored):
                errors.append("XDSDuplicateUniqueIdInRegistry")
            if not errors:
                self.documents.update(stored)
        return self._reply(message.message_id,
                           "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse",
                           self._registry_response(errors))

    def retrieve(self, body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]],
                                                                      bytes]:
        message = parse_envelope(body, headers.get("Content-Type"))
        response = etree.Element(qname(XDSB, "RetrieveDocumentSetResponse"),
                                 nsmap={"xdsb": XDSB, "rs": RS, "xop": XOP})
        wanted = [e.text or "" for e in message.envelope.iterfind(".//xdsb:DocumentUniqueId",
                                                                   NS)]
        missing = [w for w in wanted if w not in self.documents]
        response.append(self._registry_response(["XDSDocumentUniqueIdError"] * len(missing)))
        attachments = []
        for number, unique_id in enumerate(w for w in wanted if w in self.documents):
            item = etree.SubElement(response, qname(XDSB, "DocumentResponse"))
            etree.SubElement(item, qname(XDSB, "RepositoryUniqueId")).text = REPOSITORY
            etree.SubElement(item, qname(XDSB, "DocumentUniqueId")).text = unique_id
            etree.SubElement(item, qname(XDSB, "mimeType")).text = "text/xml"
            cid = f"doc{number}@repository"
            document = etree.SubElement(item, qname(XDSB, "Document"))
            etree.SubElement(document, qname(XOP, "Include"), href=f"cid:{cid}")
            attachments.append(Attachment(cid, "text/xml", self.documents[unique_id]))
        return self._reply(message.message_id,
                           "urn:ihe:iti:2007:RetrieveDocumentSetResponse", response,
                           tuple(attachments))


@pytest.fixture
def endpoint() -> Iterator[tuple[str, Repository]]:
    repository = Repository()
    with serve(routes={"repository": repository.provide, "retrieve": repository.retrieve}) as s:
        yield base_url(s), repository


def _security() -> SecurityHeader:
    pair = signing_pair()
    return SecurityHeader(SamlIssuer(pair.key_pem, pair.cert_pem, issuer="https://sts.test",
                                     subject="7601000000001"))


def _status(response: Response) -> str:
    message = parse_envelope(response.body, response.content_type)
    fault = message.fault
    if fault is not None:
        return f"Fault: {fault.reason}"
    found = message.envelope.find(".//rs:RegistryResponse", NS)
    assert found is not None
    codes = [e.get("errorCode") for e in found.iterfind(".//rs:RegistryError", NS)]
    return found.get("status", "").rsplit(":", 1)[-1] + ("" if not codes else f" {codes}")


def _retrieved(response: Response) -> list[bytes]:
    message = parse_envelope(response.body, response.content_type)
    return [message.content_of(d) for d in message.envelope.iterfind(
        ".//xdsb:DocumentResponse/xdsb:Document", NS)]


def test_record_then_replay_verbatim_fails_and_regenerated_replay_passes(
    endpoint: tuple[str, Repository],
) -> None:
    url, repository = endpoint
    entry = ccd_entry(PATIENT)
    submission = iti41_provide_and_register(PATIENT, [entry])
    with HttpTransport(TransportOptions(timeout=10)) as transport:
        # "record": the scenario sends its built messages
        recorded_pnr = submission.to_request(f"{url}/repository", security=_security())
        response, _ = transport.send(recorded_pnr)
        assert (response.status, _status(response)) == (200, "Success")
        relates = parse_envelope(response.body, response.content_type).relates_to
        assert relates == parse_envelope(recorded_pnr.body, recorded_pnr.content_type).message_id
        recorded_get = iti43_retrieve([DocumentRequest(submission.values["documentUniqueId"],
                                                       REPOSITORY)]).to_request(
            f"{url}/retrieve")
        response, _ = transport.send(recorded_get)
        assert _retrieved(response) == [entry.read()]

        # replaying the bytes as recorded is rejected, as a real server would
        response, _ = transport.send(recorded_pnr)
        assert _status(response).startswith("Fault: duplicate wsa:MessageID")

        # regenerated: fresh ids everywhere, a freshly signed assertion, same document bytes
        id_map = IdMap()
        replay_pnr = regenerate_request(recorded_pnr, id_map, security=_security())
        response, _ = transport.send(replay_pnr.request)
        assert _status(response) == "Success"
        replay_get = regenerate_request(recorded_get, id_map)
        response, _ = transport.send(replay_get.request)
        assert _retrieved(response) == [entry.read()]
    assert len(repository.documents) == 2
    new_unique = id_map.items()[submission.values["documentUniqueId"]]
    assert repository.documents[new_unique] == entry.read()


def test_same_message_id_different_unique_id_is_what_the_server_checks(
    endpoint: tuple[str, Repository],
) -> None:
    """Regenerating only the MessageID is not enough: the uniqueId must be fresh too."""
    url, _ = endpoint
    submission = iti41_provide_and_register(PATIENT, [ccd_entry(PATIENT)])
    with HttpTransport(TransportOptions(timeout=10)) as transport:
        first, _ = transport.send(submission.to_request(f"{url}/repository",
                                                        security=_security()))
        again, _ = transport.send(submission.to_request(f"{url}/repository",
                                                        security=_security()))
    assert _status(first) == "Success"
    assert _status(again) == "Failure ['XDSDuplicateUniqueIdInRegistry']"


def test_unsigned_request_is_refused(endpoint: tuple[str, Repository]) -> None:
    url, _ = endpoint
    request: Request = iti41_provide_and_register(
        PATIENT, [ccd_entry(PATIENT)], mtom=False).to_request(f"{url}/repository")
    with HttpTransport(TransportOptions(timeout=10)) as transport:
        response, _ = transport.send(request)
    assert response.status == 500
    assert _status(response) == "Fault: wsse:InvalidSecurity: no SAML assertion"
