"""Helpers for the simulator's FHIR tests: a small FHIR client over ``requests`` (JSON or XML),
MHD ITI-65 bundles, and the SOAP side through the project's builders."""

from __future__ import annotations

import base64
import hashlib
import uuid
from dataclasses import dataclass
from typing import Any

import requests
from lxml import etree

from ihe_test_util.ihe.builders import BuiltMessage
from ihe_test_util.ihe.jsonxml import fhir_json
from ihe_test_util.ihe.vocabulary import (
    MHD_DESIGNATION_TYPE_EXTENSION,
    MHD_LIST_TYPES,
    MHD_SOURCE_ID_EXTENSION,
)
from ihe_test_util.safexml import parse_xml
from ihe_test_util.transport.mtom import is_multipart, parse_multipart

FHIR_JSON = "application/fhir+json"
FHIR_XML = "application/fhir+xml"
LOINC = "http://loinc.org"


@dataclass
class FhirAnswer:
    status: int
    headers: Any
    body: bytes

    @property
    def resource(self) -> dict[str, Any]:
        """The body as FHIR JSON (XML answers are read back with the FHIR XML reader)."""
        content_type = self.headers.get("Content-Type", "")
        if "xml" in content_type:
            return fhir_json(parse_xml(self.body, source="answer"))
        import json

        value = json.loads(self.body)
        assert isinstance(value, dict)
        return value

    @property
    def entries(self) -> list[dict[str, Any]]:
        return [e["resource"] for e in self.resource.get("entry", [])]

    def outcome(self) -> tuple[str, str, str]:
        """(issue.code, details.text, diagnostics) of the first issue."""
        first = self.resource["issue"][0]
        return first["code"], first.get("details", {}).get("text", ""), first["diagnostics"]


class FhirClient:
    """Just enough of a FHIR client: JSON by default, XML when asked."""

    def __init__(self, base: str, *, xml: bool = False) -> None:
        self.base = base.rstrip("/")
        self.session = requests.Session()
        self.xml = xml

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        media = FHIR_XML if self.xml else FHIR_JSON
        return {"Accept": media, "Content-Type": media, **(extra or {})}

    def _body(self, resource: dict[str, Any]) -> bytes:
        if self.xml:
            from ihe_test_util.ihe.jsonxml import fhir_xml

            return etree.tostring(fhir_xml(resource), xml_declaration=True, encoding="UTF-8")
        import json

        return json.dumps(resource).encode()

    def request(self, method: str, path: str, resource: dict[str, Any] | None = None, *,
                params: Any = None, headers: dict[str, str] | None = None) -> FhirAnswer:
        url = path if path.startswith("http") else f"{self.base}/{path}".rstrip("/")
        response = self.session.request(
            method, url, params=params, timeout=30, headers=self._headers(headers),
            data=self._body(resource) if resource is not None else None)
        return FhirAnswer(response.status_code, response.headers, response.content)

    def get(self, path: str, **params: Any) -> FhirAnswer:
        return self.request("GET", path, params=params)


# -- resources ----------------------------------------------------------------------------------


def patient(root: str, value: str, family: str, given: str, *, gender: str = "female",
            birth: str = "1980-02-03", others: tuple[tuple[str, str], ...] = ()
            ) -> dict[str, Any]:
    return {"resourceType": "Patient",
            "identifier": [{"system": f"urn:oid:{r}", "value": v}
                           for r, v in ((root, value), *others)],
            "name": [{"family": family, "given": [given]}], "gender": gender,
            "birthDate": birth,
            "address": [{"line": ["1 Main St"], "city": "Springfield", "postalCode": "12345"}]}


def fresh_oid() -> str:
    return f"2.25.{uuid.uuid4().int}"


def _subject(subject: str) -> dict[str, Any]:
    """``Patient/<id>`` as a reference, ``system|value`` as a logical (identifier) reference."""
    if "|" in subject:
        system, _, value = subject.partition("|")
        return {"identifier": {"system": system, "value": value}}
    return {"reference": subject}


def provide_bundle(subject: str, content: bytes = b"hello MHD", *, unique_id: str | None = None,
                   creation: str = "2024-01-01T10:00:00Z", omit: tuple[str, ...] = (),
                   replaces: str | None = None, hash_of: bytes | None = None,
                   set_unique_id: str | None = None) -> tuple[dict[str, Any], str]:
    """An ITI-65 transaction Bundle (SubmissionSet List + DocumentReference + Binary) and the
    document's uniqueId. ``omit`` drops DocumentReference elements (``format``, ``type``...)."""
    unique_id = unique_id or fresh_oid()
    list_url, ref_url, bin_url = (f"urn:uuid:{uuid.uuid4()}" for _ in range(3))
    reference: dict[str, Any] = {
        "resourceType": "DocumentReference", "status": "current",
        "masterIdentifier": {"system": "urn:ietf:rfc:3986", "value": f"urn:oid:{unique_id}"},
        "type": {"coding": [{"system": LOINC, "code": "34133-9", "display": "Summary"}]},
        "category": [{"coding": [{"system": LOINC, "code": "11369-6"}]}],
        "subject": _subject(subject),
        "securityLabel": [{"coding": [{
            "system": "http://terminology.hl7.org/CodeSystem/v3-Confidentiality", "code": "N"}]}],
        "content": [{"attachment": {
            "contentType": "text/plain", "language": "en-US", "url": bin_url,
            "creation": creation,
            "hash": base64.b64encode(hashlib.sha1(hash_of or content).digest()).decode(),
            "size": len(content), "title": "A note"},
            "format": {"system": "urn:oid:1.3.6.1.4.1.19376.1.2.3",
                       "code": "urn:ihe:iti:xds:2017:mimeTypeSufficient"}}],
        "context": {
            "facilityType": {"coding": [{"system": "http://snomed.info/sct", "code": "22232009"}]},
            "practiceSetting": {"coding": [{"system": "http://snomed.info/sct",
                                            "code": "408467006"}]}},
    }
    if replaces:
        reference["relatesTo"] = [{"code": "replaces",
                                   "target": {"reference": f"DocumentReference/{replaces}"}}]
    for name in omit:
        if name == "format":
            del reference["content"][0]["format"]
        else:
            reference.pop(name, None)
    submission = {
        "resourceType": "List",
        "extension": [
            {"url": MHD_SOURCE_ID_EXTENSION, "valueIdentifier": {"value": "urn:oid:1.2.3.99"}},
            {"url": MHD_DESIGNATION_TYPE_EXTENSION, "valueCodeableConcept": {
                "coding": [{"system": LOINC, "code": "34133-9"}]}}],
        "identifier": [{"use": "usual", "system": "urn:ietf:rfc:3986",
                        "value": f"urn:oid:{set_unique_id or fresh_oid()}"}],
        "status": "current", "mode": "working",
        "code": {"coding": [{"system": MHD_LIST_TYPES, "code": "submissionset"}]},
        "subject": _subject(subject), "date": "2024-01-02T03:04:05Z",
        "entry": [{"item": {"reference": ref_url}}],
    }
    binary = {"resourceType": "Binary", "contentType": "text/plain",
              "data": base64.b64encode(content).decode()}
    bundle = {"resourceType": "Bundle", "type": "transaction", "entry": [
        {"fullUrl": list_url, "resource": submission,
         "request": {"method": "POST", "url": "List"}},
        {"fullUrl": ref_url, "resource": reference,
         "request": {"method": "POST", "url": "DocumentReference"}},
        {"fullUrl": bin_url, "resource": binary, "request": {"method": "POST", "url": "Binary"}},
    ]}
    return bundle, unique_id


# -- the SOAP side, through the project's builders ----------------------------------------------


def soap(url: str, built: BuiltMessage) -> tuple[int, etree._Element, dict[str, bytes]]:
    """Send a built SOAP request; (HTTP status, payload root, attachments by Content-ID)."""
    request = built.to_request(url)
    response = requests.post(url, data=request.body, timeout=30,
                             headers={"Content-Type": request.content_type or ""})
    xml, attachments = response.content, {}
    if is_multipart(response.headers.get("Content-Type", "")):
        message = parse_multipart(response.content, response.headers["Content-Type"])
        xml = message.root.content
        attachments = {p.content_id or "": p.content for p in message.attachments}
    envelope = parse_xml(xml, source="answer")
    payload = envelope.find("{http://www.w3.org/2003/05/soap-envelope}Body")
    assert payload is not None
    return response.status_code, next(iter(payload)), attachments


# -- a small FHIR client session (MHD + PDQm + PIXm), as a user would write one ---------------

SESSION_DOMAIN, SESSION_OTHER = "1.3.6.1.4.1.21367.2005.3.7", "1.3.6.1.4.1.21367.2005.3.8"


def fhir_session(base: str, *, reuse_ids: bool = True) -> list[FhirAnswer]:
    """ITI-104 x2, ITI-78 search/read, ITI-83, ITI-65 (two documents, the second replacing the
    first), ITI-67 (chained, sorted, status-filtered), ITI-66, ITI-68, ITI-119, an invalid
    ITI-65 and a 404 read, sent to ``base`` (a FHIR base URL; every request goes there, so a
    recording proxy in front sees them all). ``reuse_ids=False`` leaves out every request that
    carries an id the server assigned (reads by id, ``relatesTo``, Binary retrieves): they
    replay only where replay carries those ids forward."""
    fhir = FhirClient(base)
    answers = []
    ids = []
    for value, given in (("REC-1", "Rita"), ("REC-2", "Remy")):
        body = patient(SESSION_DOMAIN, value, "Recorder", given,
                       others=((SESSION_OTHER, f"{value}-x"), (SESSION_OTHER, f"{value}-y")))
        answer = fhir.request("PUT", "Patient", body,
                              params={"identifier": f"urn:oid:{SESSION_DOMAIN}|{value}"})
        answers.append(answer)
        ids.append(str(answer.resource["id"]))
    answers.append(fhir.get("Patient", family="recorder", _sort="given"))
    if reuse_ids:
        answers.append(fhir.get(f"Patient/{ids[1]}"))
    answers.append(fhir.get("Patient/$ihe-pix",
                            sourceIdentifier=f"urn:oid:{SESSION_DOMAIN}|REC-1"))
    subjects = [f"Patient/{i}" for i in ids] if reuse_ids else [
        f"urn:oid:{SESSION_DOMAIN}|REC-1", f"urn:oid:{SESSION_DOMAIN}|REC-2"]
    bundle, _ = provide_bundle(subjects[0], b"first version",
                               unique_id="2.25.987654321.1", set_unique_id="2.25.987654321.2")
    first = fhir.request("POST", "", bundle)
    answers.append(first)
    old = first.resource["entry"][1]["response"]["location"].split("/")[1]
    bundle, _ = provide_bundle(subjects[0], b"second version",
                               replaces=old if reuse_ids else None,
                               creation="2024-05-01T00:00:00Z", unique_id="2.25.987654321.3",
                               set_unique_id="2.25.987654321.4")
    second = fhir.request("POST", "", bundle)
    answers.append(second)
    bundle, _ = provide_bundle(subjects[1], b"other", unique_id="2.25.987654321.5",
                               set_unique_id="2.25.987654321.6")
    answers.append(fhir.request("POST", "", bundle))
    chained = {"patient.identifier": f"urn:oid:{SESSION_DOMAIN}|REC-1"}
    answers.append(fhir.get("DocumentReference", status="current", **chained))
    answers.append(fhir.get("DocumentReference", status="current,superseded", _sort="-date",
                            **chained))
    answers.append(fhir.get("List", code="submissionset", **chained))
    if reuse_ids:
        binary = second.resource["entry"][2]["response"]["location"]
        answers.append(fhir.request("GET", binary, headers={"Accept": "*/*"}))
    answers.append(fhir.request("POST", "Patient/$match", {
        "resourceType": "Parameters", "parameter": [{"name": "resource", "resource": {
            "resourceType": "Patient", "name": [{"family": "Recorder", "given": ["Remy"]}],
            "gender": "female", "birthDate": "1980-02-03"}}]}))
    bundle, _ = provide_bundle(subjects[1], omit=("format",),
                               unique_id="2.25.987654321.7", set_unique_id="2.25.987654321.8")
    answers.append(fhir.request("POST", "", bundle))
    answers.append(fhir.get("Patient", identifier=f"urn:oid:{SESSION_DOMAIN}|NOBODY"))
    answers.append(fhir.get("Patient/999999"))
    return answers
