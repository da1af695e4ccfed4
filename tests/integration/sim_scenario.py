"""One end-to-end scenario over every transaction, and the lenses the profile and volatility
tests look through: verdict fields, volatile-field masking, noise normalisation."""

from __future__ import annotations

import base64
from collections.abc import Callable
from copy import deepcopy
from dataclasses import dataclass

from lxml import etree

from ihe_test_util.ihe.namespaces import HL7V3, RIM, RS, SOAP12, WSA, XDSB, XOP, XSI
from ihe_test_util.sim import Simulator

from .sim_support import (
    GET_DOCUMENTS,
    GET_SS_AND_CONTENTS,
    PDQ_QUERY,
    PIX_ADD,
    PIX_QUERY,
    PIX_REVISE,
    PNR,
    RETRIEVE,
    SS_UNIQUE_ID,
    STORED_QUERY,
    XCPD_QUERY,
    Answer,
    Patient,
    corpus_body,
    feed_message,
    find_documents,
    pix_query,
    pnr_request,
    post,
    retrieve_request,
    stored_query,
    unique_id_of,
)

SR7 = Patient("1.2.260", "SR7", family="Doe", given="John", gender="M", birth="19560527")
SR7_TWIN = Patient("1.2.260", "SR8", family="Doe", given="John", gender="M", birth="19570101")
JIMMY = Patient("2.16.840.1.113883.4.1", "58910", family="Jones", given="Jimmy", gender="M",
                birth="19630805")


@dataclass(frozen=True)
class Verdict:
    """What an IHE-aware comparer must flag when it changes (cli.md verdict fields)."""

    http_status: int
    fault: str
    ack: str
    query: str
    status: str
    errors: tuple[str, ...]
    count: int


def verdict(answer: Answer) -> Verdict:
    body = answer.body
    fault = answer.fault_code
    ack = query = status = ""
    errors: tuple[str, ...] = ()
    count = 0
    if etree.QName(body).namespace == HL7V3:
        ack = answer.ack_code
        query = answer.query_code
        count = len(answer.subjects)
    elif not fault:
        status = answer.status
        errors = tuple(sorted(answer.error_codes))
        count = len(answer.registry_objects) + len(body.findall(f"{{{XDSB}}}DocumentResponse"))
    return Verdict(answer.status_code, fault, ack, query, status, errors, count)


def run_scenario(sim: Simulator) -> dict[str, Answer]:
    """Every listed transaction once (plus its error cases); later steps use earlier answers."""
    pix, pdq, registry, repository = (sim.url_for(a) for a in ("pix", "pdq", "registry",
                                                                "repository"))
    out: dict[str, Answer] = {}
    steps: list[tuple[str, Callable[[], Answer]]] = [
        ("ITI-44 add", lambda: post(pix, PIX_ADD, feed_message(SR7))),
        ("ITI-44 add twin", lambda: post(pix, PIX_ADD, feed_message(SR7_TWIN))),
        ("ITI-44 add jimmy", lambda: post(pix, PIX_ADD, feed_message(JIMMY, ("1.2.260", "J1")))),
        ("ITI-44 revise", lambda: post(pix, PIX_REVISE, feed_message(
            SR7, ("1.2.999", "S-7"), template="ITI-44/PIX_FEED_REV_Maximal_Request.xml"))),
        ("ITI-45 ok", lambda: post(pix, PIX_QUERY, pix_query(("2.16.840.1.113883.4.1",
                                                               "58910")))),
        ("ITI-45 unknown", lambda: post(pix, PIX_QUERY, pix_query(("1.2.260", "nobody")))),
        ("ITI-47", lambda: post(pdq, PDQ_QUERY, _pdq_query())),
        ("ITI-55", lambda: post(sim.url_for("xcpd"), XCPD_QUERY,
                                corpus_body("ITI-55/iti55-sample-request.xml"))),
    ]
    for name, step in steps:
        out[name] = step()
    first, attachments = pnr_request(SR7, document_uid="1.42.1.1", submission_uid="1.42.2.1",
                                     content=b"first version")
    out["ITI-41 submit"] = post(repository, PNR, first, attachments=attachments)
    again, attachments = pnr_request(SR7, document_uid="1.42.1.1", submission_uid="1.42.2.9")
    out["ITI-41 duplicate"] = post(repository, PNR, again, attachments=attachments)
    found = post(registry, STORED_QUERY, find_documents(SR7, return_type="ObjectRef"))
    original = found.registry_objects[0].get("id", "")
    second, attachments = pnr_request(SR7, document_uid="1.42.1.2", submission_uid="1.42.2.2",
                                      content=b"second version")
    listing = second.find(f".//{{{RIM}}}RegistryObjectList")
    assert listing is not None
    etree.SubElement(listing, f"{{{RIM}}}Association", id="rplc", sourceObject="Document01",
                     targetObject=original,
                     associationType="urn:ihe:iti:2007:AssociationType:RPLC")
    out["ITI-41 replace"] = post(repository, PNR, second, attachments=attachments)
    out["ITI-18 FindDocuments"] = post(registry, STORED_QUERY, find_documents(SR7))
    out["ITI-18 FindDocuments ObjectRef"] = post(registry, STORED_QUERY, find_documents(
        SR7, return_type="ObjectRef"))
    out["ITI-18 GetDocuments"] = post(registry, STORED_QUERY, stored_query(GET_DOCUMENTS, {
        "$XDSDocumentEntryUniqueId": ["('1.42.1.1','1.42.1.2')"]}))
    out["ITI-18 GetSubmissionSetAndContents"] = post(registry, STORED_QUERY, stored_query(
        GET_SS_AND_CONTENTS, {"$XDSSubmissionSetUniqueId": [
            f"'{unique_id_of(second, SS_UNIQUE_ID)}'"]}))
    out["ITI-18 unknown query"] = post(registry, STORED_QUERY, stored_query(
        "urn:uuid:00000000-1111-2222-3333-444444444444", {}))
    repo = sim.identity.repository_unique_id
    out["ITI-43 both"] = post(repository, RETRIEVE, retrieve_request(repo, "1.42.1.1",
                                                                      "1.42.1.2"))
    out["ITI-43 partial"] = post(repository, RETRIEVE, retrieve_request(repo, "1.42.1.2",
                                                                         "9.9.9"))
    out["fault"] = post(pix, "urn:example:unknown", feed_message(SR7))
    return out


def _pdq_query() -> etree._Element:
    query = corpus_body("ITI-47/PDQ_Maximal_Query.xml")
    parameters = query.find(f".//{{{HL7V3}}}parameterList")
    assert parameters is not None
    for name in ("otherIDsScopingOrganization", "patientAddress"):
        for element in parameters.findall(f"{{{HL7V3}}}{name}"):
            parameters.remove(element)
    query.find(f".//{{{HL7V3}}}livingSubjectBirthTime/{{{HL7V3}}}value").set(  # type: ignore[union-attr]
        "value", SR7.birth)
    query.find(f".//{{{HL7V3}}}livingSubjectAdministrativeGender/{{{HL7V3}}}value").set(  # type: ignore[union-attr]
        "code", "M")
    name = query.find(f".//{{{HL7V3}}}livingSubjectName/{{{HL7V3}}}value")
    assert name is not None
    for part in list(name):
        name.remove(part)
    etree.SubElement(name, f"{{{HL7V3}}}family").text = "Doe"
    return query


# -- lenses ------------------------------------------------------------------------------

#: attributes holding registry-assigned entryUUIDs (compared up to consistent renaming)
_ID_ATTRIBUTES = ("id", "lid", "classifiedObject", "registryObject", "sourceObject",
                  "targetObject")


def mask_volatile(answer: Answer) -> bytes:
    """The answer with exactly the documented volatile fields replaced by placeholders."""
    envelope = deepcopy(answer.envelope)
    for local in ("MessageID", "RelatesTo"):
        for element in envelope.iter(f"{{{WSA}}}{local}"):
            element.text = f"<{local}>"
    body = envelope.find(f"{{{SOAP12}}}Body")
    assert body is not None
    payload = next(iter(body))
    if etree.QName(payload).namespace == HL7V3:
        payload.find(f"{{{HL7V3}}}id").attrib.clear()  # type: ignore[union-attr]
        payload.find(f"{{{HL7V3}}}creationTime").set("value", "<now>")  # type: ignore[union-attr]
    labels: dict[str, str] = {}
    for element in envelope.iter():
        for name in _ID_ATTRIBUTES:
            value = element.get(name)
            if value and value.startswith("urn:uuid:"):
                element.set(name, labels.setdefault(value, f"<uuid-{len(labels)}>"))
    for include in envelope.iter(f"{{{XOP}}}Include"):
        content = answer.attachments[include.get("href", "")[4:]]
        include.set("href", f"<cid of {len(content)} bytes>")
    return etree.tostring(envelope, method="c14n")


def normalise(answer: Answer) -> object:
    """A prefix-free, order-free view that forgets what a good comparer ignores:
    volatile fields, namespace spelling, whitespace, list order, inline-vs-XOP documents,
    error texts and the benign documentAvailability slot."""
    envelope = etree.fromstring(mask_volatile(answer))
    for element in envelope.iter():  # labels by first appearance depend on order: forget them
        for name in _ID_ATTRIBUTES:
            if (element.get(name) or "").startswith("<uuid-"):
                element.set(name, "<uuid>")
    for include in envelope.iter(f"{{{XOP}}}Include"):
        include.getparent().text = "<document>"  # type: ignore[union-attr]
        include.getparent().remove(include)  # type: ignore[union-attr]
    for document in envelope.iter(f"{{{XDSB}}}Document"):
        document.text = "<document>"
    for error in envelope.iter(f"{{{RS}}}RegistryError"):
        error.set("codeContext", "<text>")
    for slot in list(envelope.iter(f"{{{RIM}}}Slot")):
        if slot.get("name") == "documentAvailability":
            slot.getparent().remove(slot)  # type: ignore[union-attr]
    return _shape(envelope)


_UNORDERED = {f"{{{RIM}}}RegistryObjectList", f"{{{XDSB}}}RetrieveDocumentSetResponse",
              f"{{{HL7V3}}}controlActProcess"}


def _shape(element: etree._Element) -> object:
    attributes = []
    for name, value in sorted(element.attrib.items()):
        if name == f"{{{XSI}}}type":
            prefix, _, local = value.rpartition(":")
            value = f"{{{element.nsmap.get(prefix or None)}}}{local}"
        attributes.append((name, value))
    children = [_shape(c) for c in element if isinstance(c.tag, str)]
    if element.tag in _UNORDERED:
        children.sort(key=repr)
    return (element.tag, tuple(attributes), (element.text or "").strip(), tuple(children))


def documents_of(answer: Answer) -> list[bytes]:
    """Decoded document bytes, whatever the framing."""
    found = []
    for document in answer.body.iter(f"{{{XDSB}}}Document"):
        include = document.find(f"{{{XOP}}}Include")
        if include is not None:
            found.append(answer.attachments[include.get("href", "")[4:]])
        else:
            found.append(base64.b64decode("".join((document.text or "").split())))
    return sorted(found)

