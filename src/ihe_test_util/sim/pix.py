"""PIX Manager: Patient Identity Feed HL7v3 (ITI-44) and PIXV3 Query (ITI-45).

Feeds are answered with MCCI_IN000002UV01: AA when applied (with typeCode W details for parts
it ignored), AE with acknowledgementDetail for invalid input, AR for a message it will not
process. Queries follow ITI TF-2 3.45.4.2.3: OK with one registrationEvent, NF when the
patient has no id in the requested domains, AE/AE with detail 204 for an unknown patient id or
domain.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from lxml import etree

from ihe_test_util.ihe.catalogue import spec_for
from ihe_test_util.ihe.cx import PatientId
from ihe_test_util.sim.context import ActorContext
from ihe_test_util.sim.demographics import person_facets, stored_person
from ihe_test_util.sim.hl7v3 import (
    AckDetail,
    acknowledgement,
    control_act,
    h,
    id_element,
    parameter_location,
    parameter_values,
    path,
    query_ack,
    read_id,
    registration_event,
    sub,
    wrapper,
)
from ihe_test_util.sim.profiles import Deviation
from ihe_test_util.transport.soap_server import SoapReply, SoapRequest

ADD, REVISE, MERGE = "PRPA_IN201301UV02", "PRPA_IN201302UV02", "PRPA_IN201304UV02"
_PATIENT = ("controlActProcess", "subject", "registrationEvent", "subject1", "patient")
_PRIOR_ID = ("controlActProcess", "subject", "registrationEvent", "replacementOf",
             "priorRegistration", "subject1", "priorRegisteredRole", "id")


@dataclass
class FeedRejected(Exception):
    type_code: str
    details: list[AckDetail] = field(default_factory=list)


def feed(request: SoapRequest, ctx: ActorContext) -> SoapReply:
    """ITI-44 add, revise or merge (the body root says which)."""
    message = request.body
    try:
        warnings = _apply_feed(message, ctx)
        type_code, details = "AA", warnings
    except FeedRejected as rejected:
        type_code, details = rejected.type_code, rejected.details
    response = wrapper("MCCI_IN000002UV01", message, ctx.identity.endpoint, ctx.volatility)
    acknowledgement(response, type_code, message, details)
    return SoapReply(spec_for("ITI-44").response_action(), response)


def _apply_feed(message: etree._Element, ctx: ActorContext) -> list[AckDetail]:
    name = etree.QName(message).localname
    interaction = message.find(h("interactionId"))
    declared = interaction.get("extension") if interaction is not None else None
    if declared and declared.strip() != name:
        raise FeedRejected("AR", [AckDetail(
            "200", f"interactionId {declared!r} does not match the message {name}",
            f"/{name}/interactionId",
        )])
    if name == REVISE and ctx.has(Deviation.REVISE_FEED_REJECTED):
        raise FeedRejected("AE", [AckDetail(
            "200", "revise (PRPA_IN201302UV02) is not supported", f"/{name}/interactionId",
        )])
    location = "/" + "/".join((name, *_PATIENT))
    patient = message.find(path(*_PATIENT))
    if patient is None:
        raise FeedRejected("AE", [AckDetail("101", "the message has no patient", location)])
    ids, warnings = _patient_ids(patient, f"{location}/id")
    person = patient.find(h("patientPerson"))
    if person is None:
        raise FeedRejected("AE", [AckDetail(
            "101", "patient has no patientPerson", f"{location}/patientPerson",
        )])
    owners = {n for n in (ctx.store.patient_for(pid) for pid in ids) if n is not None}
    if len(owners) > 1:
        raise FeedRejected("AE", [AckDetail(
            "205", "the identifiers belong to different patients; merge them first",
            f"{location}/id",
        )])
    owner = owners.pop() if owners else None
    if name == ADD:
        _store_patient(ctx, owner, ids, person)
    elif name == REVISE:
        if owner is None:
            raise FeedRejected("AE", [AckDetail(
                "204", "no patient with these identifiers to revise", f"{location}/id",
            )])
        _store_patient(ctx, owner, ids, person)
    else:
        _merge(message, name, owner, ctx, location)
    return warnings


def _patient_ids(patient: etree._Element, location: str) -> tuple[list[PatientId], list[AckDetail]]:
    ids: list[PatientId] = []
    warnings: list[AckDetail] = []
    for element in patient.findall(h("id")):
        pid = read_id(element)
        if pid is None:
            if element.get("nullFlavor") is None:
                warnings.append(AckDetail(
                    "101", "identifier without root or extension ignored", location,
                    type_code="W",
                ))
            continue
        ids.append(pid)
    if not ids:
        raise FeedRejected("AE", [AckDetail(
            "101", "patient has no identifier with root and extension", location,
        )])
    return ids, warnings


def _store_patient(
    ctx: ActorContext, owner: int | None, ids: list[PatientId], person: etree._Element,
) -> None:
    facets = person_facets(person)
    xml = stored_person(person)
    if owner is None:
        ctx.store.add_patient(ids, xml, facets)
        return
    ctx.store.update_patient(owner, xml, facets)
    for pid in ids:
        ctx.store.link_id(pid, owner)


def _merge(
    message: etree._Element, name: str, survivor: int | None, ctx: ActorContext, location: str,
) -> None:
    prior_location = "/" + "/".join((name, *_PRIOR_ID))
    if survivor is None:
        raise FeedRejected("AE", [AckDetail(
            "204", "the surviving patient identifier is unknown", f"{location}/id",
        )])
    prior = read_id(message.find(path(*_PRIOR_ID)))
    if prior is None:
        raise FeedRejected("AE", [AckDetail(
            "101", "merge without priorRegisteredRole/id (root and extension)", prior_location,
        )])
    subsumed = ctx.store.patient_for(prior)
    if subsumed is None:
        raise FeedRejected("AE", [AckDetail(
            "204", "the identifier to merge is unknown", prior_location,
        )])
    if subsumed == survivor:
        raise FeedRejected("AE", [AckDetail(
            "205", "the identifier to merge already belongs to the surviving patient",
            prior_location,
        )])
    ctx.store.unlink_id(prior)
    for pid in ctx.store.ids_of(subsumed):
        ctx.store.link_id(pid, survivor)
    ctx.store.delete_patient(subsumed)


def query(request: SoapRequest, ctx: ActorContext) -> SoapReply:
    """ITI-45: cross-referenced identifiers of one patient."""
    message = request.body
    name = etree.QName(message).localname
    qbp = message.find(path("controlActProcess", "queryByParameter"))
    found: list[PatientId] = []
    outcome = _resolve_query(qbp, name, ctx, found)
    type_code, response_code, details = outcome
    response = wrapper("PRPA_IN201310UV02", message, ctx.identity.endpoint, ctx.volatility)
    acknowledgement(response, type_code, message, details)
    act = control_act(response, "PRPA_TE201310UV02")
    if response_code == "OK":
        _, patient = registration_event(act, ctx.identity.device_oid)
        for pid in found:
            id_element(patient, "id", pid)
        sub(patient, "statusCode", code="active")
        person = sub(patient, "patientPerson", classCode="PSN", determinerCode="INSTANCE")
        sub(person, "name", nullFlavor="NA")
    query_ack(act, message, response_code)
    return SoapReply(spec_for("ITI-45").response_action(), response)


def _resolve_query(
    qbp: etree._Element | None, name: str, ctx: ActorContext, found: list[PatientId],
) -> tuple[str, str, list[AckDetail]]:
    """(acknowledgement code, queryResponseCode, details); fills ``found`` on OK."""
    values = parameter_values(qbp, "patientIdentifier")
    id_location = parameter_location(name, "patientIdentifier")
    if len(values) != 1 or read_id(values[0]) is None:
        return "AE", "AE", [AckDetail(
            "101", "exactly one patientIdentifier with root and extension is required",
            id_location,
        )]
    wanted = read_id(values[0])
    assert wanted is not None
    domains = ctx.store.known_domains()
    sources = [v.get("root", "").strip() for v in parameter_values(qbp, "dataSource")]
    unknown = [root for root in sources if root not in domains]
    if unknown:
        return "AE", "AE", [AckDetail(
            "204", f"unknown domain {unknown[0]}", parameter_location(name, "dataSource"),
        )]
    owner = ctx.store.patient_for(wanted) if wanted.root in domains else None
    if owner is None:
        if wanted.root in domains and ctx.has(Deviation.PIX_UNKNOWN_PATIENT_NF):
            return "AA", "NF", []
        what = "patient id" if wanted.root in domains else "domain"
        return "AE", "AE", [AckDetail("204", f"unknown {what} {wanted.cx()}", id_location)]
    others = [pid for pid in ctx.store.ids_of(owner) if pid != wanted
              and (not sources or pid.root in sources)]
    if not others:
        return "AA", "NF", []
    found.extend(others)
    return "AA", "OK", []
