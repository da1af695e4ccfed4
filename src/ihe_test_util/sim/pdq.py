"""Demographic queries: PDQ Supplier (ITI-47) and, with a few rule changes, the XCPD Responding
Gateway (ITI-55). Both receive PRPA_IN201305UV02 and answer PRPA_IN201306UV02.

Matching is on name, birth date, gender, identifier and address; every given criterion must hold.
Every match scores 100 (queryMatchObservation). The Continuation Option is not supported:
initialQuantity is ignored and all matches come back at once.
"""

from __future__ import annotations

from dataclasses import dataclass

from lxml import etree

from ihe_test_util.ihe.catalogue import spec_for
from ihe_test_util.ihe.cx import PatientId
from ihe_test_util.sim.context import ActorContext
from ihe_test_util.sim.demographics import (
    Criteria,
    address_facets,
    matches,
    name_facets,
    person_for_answer,
)
from ihe_test_util.sim.hl7v3 import (
    AckDetail,
    acknowledgement,
    control_act,
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
from ihe_test_util.sim.store import PatientRecord
from ihe_test_util.transport.soap_server import SoapReply, SoapRequest


@dataclass(frozen=True)
class QueryRules:
    """How PDQ and XCPD differ in reading the same query."""

    #: unknown identifier domains are an error (PDQ) or simply match nothing (XCPD)
    strict_domains: bool
    #: parameters that must be present
    required: tuple[str, ...] = ()
    #: custodian of each match: (id root, code) - XCPD names the responding community
    custodian_code: tuple[str, str] | None = None


PDQ_RULES = QueryRules(strict_domains=True)


class QueryError(Exception):
    def __init__(self, detail: AckDetail, response_code: str = "AE") -> None:
        super().__init__(detail.text)
        self.detail = detail
        self.response_code = response_code


@dataclass(frozen=True)
class _Query:
    criteria: Criteria
    ids: tuple[PatientId, ...]
    scoping: tuple[str, ...]


def query(request: SoapRequest, ctx: ActorContext) -> SoapReply:
    """ITI-47 Patient Demographics Query."""
    return SoapReply(spec_for("ITI-47").response_action(), answer(request.body, ctx, PDQ_RULES,
                                                 custodian_root=ctx.identity.device_oid))


def answer(
    message: etree._Element, ctx: ActorContext, rules: QueryRules, *, custodian_root: str,
) -> etree._Element:
    """The PRPA_IN201306UV02 answering ``message`` under ``rules``."""
    name = etree.QName(message).localname
    qbp = message.find(path("controlActProcess", "queryByParameter"))
    response = wrapper("PRPA_IN201306UV02", message, ctx.identity.endpoint, ctx.volatility)
    try:
        parsed = _read_query(qbp, name, ctx, rules)
    except QueryError as error:
        acknowledgement(response, "AE", message, [error.detail])
        query_ack(control_act(response, "PRPA_TE201306UV02"), message, error.response_code)
        return response
    found = _search(parsed, ctx)
    if ctx.has(Deviation.REORDERED_RESULTS):
        found.reverse()
    acknowledgement(response, "AA", message)
    act = control_act(response, "PRPA_TE201306UV02")
    for patient, ids in found:
        event, element = registration_event(act, custodian_root)
        for pid in ids:
            id_element(element, "id", pid)
        sub(element, "statusCode", code="active")
        element.append(person_for_answer(patient.person_xml))
        observation = sub(sub(element, "subjectOf1"), "queryMatchObservation",
                          classCode="COND", moodCode="EVN")
        sub(observation, "code", code="IHE_PDQ")
        value = sub(observation, "value", value="100")
        value.set("{http://www.w3.org/2001/XMLSchema-instance}type", "INT")
        if rules.custodian_code is not None:
            entity = event.find(path("custodian", "assignedEntity"))
            assert entity is not None
            code, system = rules.custodian_code
            sub(entity, "code", code=code, codeSystem=system)
    query_ack(act, message, "OK" if found else "NF", total=len(found))
    return response


def _read_query(
    qbp: etree._Element | None, name: str, ctx: ActorContext, rules: QueryRules,
) -> _Query:
    for required in rules.required:
        if not parameter_values(qbp, required):
            raise QueryError(AckDetail(
                "101", f"required parameter {required} is missing",
                parameter_location(name, required),
            ))
    domains = ctx.store.known_domains()
    ids: list[PatientId] = []
    for value in parameter_values(qbp, "livingSubjectId"):
        pid = read_id(value)
        if pid is None:
            raise QueryError(AckDetail(
                "101", "livingSubjectId needs root and extension",
                parameter_location(name, "livingSubjectId"),
            ), "QE")
        if pid.root not in domains and rules.strict_domains:
            raise QueryError(AckDetail(
                "204", f"unknown identifier domain {pid.root}",
                parameter_location(name, "livingSubjectId"),
            ))
        ids.append(pid)
    scoping = tuple(v.get("root", "").strip()
                    for v in parameter_values(qbp, "otherIDsScopingOrganization"))
    unknown = [root for root in scoping if root not in domains]
    if unknown and rules.strict_domains:
        raise QueryError(AckDetail(
            "204", f"unknown domain {unknown[0]}",
            parameter_location(name, "otherIDsScopingOrganization"),
        ))
    criteria = _criteria(qbp)
    if criteria.is_empty() and not ids:
        raise QueryError(AckDetail(
            "101", "the query has no parameter to match on",
            f"/{name}/controlActProcess/queryByParameter/parameterList",
        ), "QE")
    return _Query(criteria, tuple(ids), scoping)


def _criteria(qbp: etree._Element | None) -> Criteria:
    names = tuple(name_facets(v) for v in parameter_values(qbp, "livingSubjectName"))
    genders = parameter_values(qbp, "livingSubjectAdministrativeGender")
    births = parameter_values(qbp, "livingSubjectBirthTime")
    addresses = parameter_values(qbp, "patientAddress")
    address = None
    if addresses:
        address = {k: v for k, v in address_facets(addresses[0]).items() if v}
    return Criteria(
        names=tuple(n for n in names if n["family"] or n["given"]),
        gender=(genders[0].get("code") or "").upper() if genders else "",
        birth_time=(births[0].get("value") or "").strip() if births else "",
        address=address or None,
    )


def _search(parsed: _Query, ctx: ActorContext) -> list[tuple[PatientRecord, list[PatientId]]]:
    use_birth_time = not ctx.has(Deviation.PDQ_IGNORES_BIRTH_TIME)
    found: list[tuple[PatientRecord, list[PatientId]]] = []
    for patient in ctx.store.patients():
        if parsed.ids and not set(parsed.ids) & set(patient.ids):
            continue
        if not matches(dict(patient.facets), parsed.criteria, use_birth_time=use_birth_time):
            continue
        ids = [pid for pid in patient.ids if not parsed.scoping or pid.root in parsed.scoping]
        if ids:
            found.append((patient, ids))
    return found
