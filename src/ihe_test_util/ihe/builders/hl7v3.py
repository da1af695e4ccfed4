"""HL7 v3 messages for PIXv3 (ITI-44 feed, ITI-45 query), PDQv3 (ITI-47) and XCPD (ITI-55).

All share the transmission wrapper (message id, creationTime, interactionId, sender and
receiver devices) and the controlActProcess; the interaction-specific part is small.
Element order follows the HL7 v3 NE2008 schemas IHE uses (see the corpus samples).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from lxml import etree

from ihe_test_util.errors import UsageError
from ihe_test_util.ihe.builders.common import BuiltMessage
from ihe_test_util.ihe.builders.patients import Address, PatientDemographics, PatientId
from ihe_test_util.ihe.identifiers import DEFAULT_IDS, IdGenerator
from ihe_test_util.ihe.namespaces import HL7V3, XSI, qname
from ihe_test_util.ihe.vocabulary import OID_URN_PREFIX

INTERACTION_ID_ROOT = "2.16.840.1.113883.1.6"
ADMINISTRATIVE_GENDER = "2.16.840.1.113883.5.1"


@dataclass(frozen=True)
class Device:
    """A sending or receiving application: its id (OID) and optionally its organization.

    For XCPD the organization id is the homeCommunityId and ``telecom`` the gateway URL.
    """

    id_root: str
    organization_root: str | None = None
    telecom: str | None = None


DEFAULT_SENDER = Device("1.3.6.1.4.1.21367.13.20.1000", "1.3.6.1.4.1.21367.13.20.1001")
DEFAULT_RECEIVER = Device("1.3.6.1.4.1.21367.13.20.2000", "1.3.6.1.4.1.21367.13.20.2001")


@dataclass(frozen=True)
class Wrapper:
    """Transmission wrapper settings shared by every HL7 v3 request."""

    sender: Device = DEFAULT_SENDER
    receiver: Device = DEFAULT_RECEIVER
    processing_code: str = "P"  # P production, D debugging, T training
    accept_ack_code: str = "AL"


class _Hl7:
    """Tiny element factory for the HL7 v3 namespace (default prefix)."""

    def __init__(self, root_name: str) -> None:
        # HL7 v3 is written with a default namespace; lxml takes None for it, its stubs do not
        self.root = etree.Element(qname(HL7V3, root_name), {"ITSVersion": "XML_1.0"},
                                  nsmap={None: HL7V3, "xsi": XSI})  # type: ignore[dict-item]

    @staticmethod
    def sub(parent: etree._Element, local: str, text: str | None = None,
            **attributes: str | None) -> etree._Element:
        element = etree.SubElement(parent, qname(HL7V3, local))
        for key, value in attributes.items():
            if value is not None:
                element.set(key, value)
        if text is not None:
            element.text = text
        return element


def _wrapper(interaction: str, wrapper: Wrapper, ids: IdGenerator) -> tuple[_Hl7, dict[str,
                                                                                      str]]:
    h = _Hl7(interaction)
    message_id = ids.uuid()
    h.sub(h.root, "id", root=message_id)
    h.sub(h.root, "creationTime", value=ids.timestamp())
    h.sub(h.root, "interactionId", root=INTERACTION_ID_ROOT, extension=interaction)
    h.sub(h.root, "processingCode", code=wrapper.processing_code)
    h.sub(h.root, "processingModeCode", code="T")
    h.sub(h.root, "acceptAckCode", code=wrapper.accept_ack_code)
    for role, type_code, device in (("receiver", "RCV", wrapper.receiver),
                                    ("sender", "SND", wrapper.sender)):
        node = h.sub(h.sub(h.root, role, typeCode=type_code), "device", classCode="DEV",
                     determinerCode="INSTANCE")
        h.sub(node, "id", root=device.id_root)
        if device.telecom:
            h.sub(node, "telecom", value=device.telecom)
        if device.organization_root:
            agent = h.sub(node, "asAgent", classCode="AGNT")
            org = h.sub(agent, "representedOrganization", classCode="ORG",
                        determinerCode="INSTANCE")
            h.sub(org, "id", root=device.organization_root)
    return h, {"messageId": message_id}


def _control_act(h: _Hl7, trigger: str) -> etree._Element:
    act = h.sub(h.root, "controlActProcess", classCode="CACT", moodCode="EVN")
    h.sub(act, "code", code=trigger, codeSystem=INTERACTION_ID_ROOT)
    return act


def _ii(h: _Hl7, parent: etree._Element, local: str, pid: PatientId) -> etree._Element:
    return h.sub(parent, local, root=pid.root, extension=pid.extension,
                 assigningAuthorityName=pid.assigning_authority_name)


def _name(h: _Hl7, parent: etree._Element, patient: PatientDemographics,
          local: str = "name") -> None:
    if patient.name is None:
        return
    name = h.sub(parent, local)
    if patient.name.prefix:
        h.sub(name, "prefix", patient.name.prefix)
    for given in patient.name.given:
        h.sub(name, "given", given)
    h.sub(name, "family", patient.name.family)
    if patient.name.suffix:
        h.sub(name, "suffix", patient.name.suffix)


def _address(h: _Hl7, parent: etree._Element, address: Address, local: str = "addr") -> None:
    """An HL7 v3 AD (``addr``, or the ``value`` of a patientAddress query parameter)."""
    addr = h.sub(parent, local)
    for part, value in (("streetAddressLine", address.street), ("city", address.city),
                        ("state", address.state), ("postalCode", address.postal_code),
                        ("country", address.country)):
        if value:
            h.sub(addr, part, value)


def _registration(
    interaction: str, patient: PatientDemographics, wrapper: Wrapper, ids: IdGenerator,
    custodian: str | None, *, full: bool = True,
) -> tuple[_Hl7, etree._Element, dict[str, str]]:
    """The registration event; ``full=False`` (merge) sends the surviving ids and name only."""
    h, values = _wrapper(interaction, wrapper, ids)
    act = _control_act(h, interaction.replace("_IN", "_TE"))
    event = h.sub(h.sub(act, "subject", typeCode="SUBJ"), "registrationEvent", classCode="REG",
                  moodCode="EVN")
    h.sub(event, "id", nullFlavor="NA")
    h.sub(event, "statusCode", code="active")
    record = h.sub(h.sub(event, "subject1", typeCode="SBJ"), "patient", classCode="PAT")
    primary = patient.primary_id
    for pid in patient.ids:
        _ii(h, record, "id", pid)
    h.sub(record, "statusCode", code="active")
    person = h.sub(record, "patientPerson", classCode="PSN", determinerCode="INSTANCE")
    _name(h, person, patient)
    if full:
        _person_details(h, record, person, patient, primary)
    entity = h.sub(h.sub(event, "custodian", typeCode="CST"), "assignedEntity",
                   classCode="ASSIGNED")
    h.sub(entity, "id", root=custodian or primary.root)
    values["patientId"] = primary.cx()
    return h, event, values


def _person_details(h: _Hl7, record: etree._Element, person: etree._Element,
                    patient: PatientDemographics, primary: PatientId) -> None:
    for telecom in patient.telecom:
        h.sub(person, "telecom", value=telecom)
    if patient.gender:
        h.sub(person, "administrativeGenderCode", code=patient.gender,
              codeSystem=ADMINISTRATIVE_GENDER)
    if patient.birth_date:
        h.sub(person, "birthTime", value=patient.birth_date)
    if patient.address is not None:
        _address(h, person, patient.address)
    provider = h.sub(record, "providerOrganization", classCode="ORG", determinerCode="INSTANCE")
    h.sub(provider, "id", root=primary.root)
    h.sub(provider, "contactParty", classCode="CON")


def iti44_add(
    patient: PatientDemographics, *, wrapper: Wrapper = Wrapper(), custodian: str | None = None,
    ids: IdGenerator = DEFAULT_IDS,
) -> BuiltMessage:
    """PIXv3 Patient Identity Feed, add (PRPA_IN201301UV02)."""
    h, _, values = _registration("PRPA_IN201301UV02", patient, wrapper, ids, custodian)
    return BuiltMessage("ITI-44", h.root, values=values)


def iti44_revise(
    patient: PatientDemographics, *, wrapper: Wrapper = Wrapper(), custodian: str | None = None,
    ids: IdGenerator = DEFAULT_IDS,
) -> BuiltMessage:
    """PIXv3 Patient Identity Feed, revise (PRPA_IN201302UV02): the full new demographics."""
    h, _, values = _registration("PRPA_IN201302UV02", patient, wrapper, ids, custodian)
    return BuiltMessage("ITI-44", h.root, values=values)


def iti44_merge(
    surviving: PatientDemographics, subsumed: PatientId, *, wrapper: Wrapper = Wrapper(),
    custodian: str | None = None, ids: IdGenerator = DEFAULT_IDS,
) -> BuiltMessage:
    """PIXv3 Patient Identity Feed, merge (PRPA_IN201304UV02): ``subsumed`` into ``surviving``.

    Not idempotent: after the first run the subsumed id no longer exists.
    """
    h, event, values = _registration("PRPA_IN201304UV02", surviving, wrapper, ids, custodian,
                                     full=False)
    prior = h.sub(h.sub(event, "replacementOf", typeCode="RPLC"), "priorRegistration",
                  classCode="REG", moodCode="EVN")
    h.sub(prior, "statusCode", code="obsolete")
    role = h.sub(h.sub(prior, "subject1", typeCode="SBJ"), "priorRegisteredRole",
                 classCode="PAT")
    _ii(h, role, "id", subsumed)
    values["subsumedPatientId"] = subsumed.cx()
    return BuiltMessage("ITI-44", h.root, values=values)


def _query(h: _Hl7, act: etree._Element, ids: IdGenerator, values: dict[str, str],
           *, modality: bool) -> etree._Element:
    query = h.sub(act, "queryByParameter")
    query_id = ids.uuid()
    h.sub(query, "queryId", root=query_id)
    h.sub(query, "statusCode", code="new")
    if modality:
        h.sub(query, "responseModalityCode", code="R")
    h.sub(query, "responsePriorityCode", code="I")
    values["queryId"] = query_id
    return query


def _parameter(h: _Hl7, parent: etree._Element, local: str, semantics: str,
               **value: str | None) -> etree._Element:
    param = h.sub(parent, local)
    element = h.sub(param, "value", **value)
    h.sub(param, "semanticsText", semantics)
    return element


def iti45_query(
    patient_id: PatientId, *, data_sources: Sequence[str] = (), wrapper: Wrapper = Wrapper(),
    ids: IdGenerator = DEFAULT_IDS,
) -> BuiltMessage:
    """PIXv3 query (PRPA_IN201309UV02): the ids of ``patient_id`` in the ``data_sources``
    domains (OIDs; all domains when empty)."""
    h, values = _wrapper("PRPA_IN201309UV02", wrapper, ids)
    act = _control_act(h, "PRPA_TE201309UV02")
    params = h.sub(_query(h, act, ids, values, modality=False), "parameterList")
    for source in data_sources:
        _parameter(h, params, "dataSource", "DataSource.id", root=source)
    _parameter(h, params, "patientIdentifier", "Patient.id", root=patient_id.root,
               extension=patient_id.extension)
    return BuiltMessage("ITI-45", h.root, values=values)


def _demographics_query(
    traits: PatientDemographics, *, wrapper: Wrapper, ids: IdGenerator,
    other_ids_domains: Sequence[str], initial_quantity: int | None,
    minimum_degree_match: int | None, require_xcpd_traits: bool,
) -> tuple[_Hl7, dict[str, str]]:
    if require_xcpd_traits:
        missing = [label for label, present in (
            ("gender", traits.gender), ("birth_date", traits.birth_date),
            ("name", traits.name)) if not present]
        if missing:
            raise UsageError(
                "an XCPD query needs the patient's " + ", ".join(missing),
                hint="ITI-55 requires LivingSubjectAdministrativeGender, BirthTime and Name",
            )
    elif not (traits.ids or traits.name or traits.gender or traits.birth_date
              or traits.address):
        raise UsageError("a PDQ query needs at least one trait (id, name, gender, birth date, "
                         "address)")
    h, values = _wrapper("PRPA_IN201305UV02", wrapper, ids)
    act = _control_act(h, "PRPA_TE201305UV02")
    query = _query(h, act, ids, values, modality=True)
    if initial_quantity is not None:
        h.sub(query, "initialQuantity", value=str(initial_quantity))
    if minimum_degree_match is not None:
        match = h.sub(h.sub(query, "matchCriterionList"), "minimumDegreeMatch")
        value = h.sub(match, "value", value=str(minimum_degree_match))
        value.set(qname(XSI, "type"), "INT")
        h.sub(match, "semanticsText", "Degree of match requested")
    params = h.sub(query, "parameterList")
    if traits.gender:
        _parameter(h, params, "livingSubjectAdministrativeGender",
                   "LivingSubject.administrativeGender", code=traits.gender)
    if traits.birth_date:
        _parameter(h, params, "livingSubjectBirthTime", "LivingSubject.birthTime",
                   value=traits.birth_date)
    for pid in traits.ids:
        _parameter(h, params, "livingSubjectId", "LivingSubject.id", root=pid.root,
                   extension=pid.extension)
    if traits.name is not None:
        param = h.sub(params, "livingSubjectName")
        _name(h, param, traits, local="value")
        h.sub(param, "semanticsText", "LivingSubject.name")
    if traits.mothers_maiden_name:
        param = h.sub(params, "mothersMaidenName")
        h.sub(h.sub(param, "value"), "family", traits.mothers_maiden_name)
        h.sub(param, "semanticsText", "Person.MothersMaidenName")
    for domain in other_ids_domains:
        _parameter(h, params, "otherIDsScopingOrganization", "OtherIDs.scopingOrganization.id",
                   root=domain)
    if traits.address is not None:
        param = h.sub(params, "patientAddress")
        _address(h, param, traits.address, local="value")
        h.sub(param, "semanticsText", "Patient.addr")
    for telecom in traits.telecom:
        _parameter(h, params, "patientTelecom", "Patient.telecom", value=telecom)
    return h, values


def iti47_query(
    traits: PatientDemographics, *, other_ids_domains: Sequence[str] = (),
    initial_quantity: int | None = None, minimum_degree_match: int | None = None,
    wrapper: Wrapper = Wrapper(), ids: IdGenerator = DEFAULT_IDS,
) -> BuiltMessage:
    """PDQv3 query (PRPA_IN201305UV02) on the given traits; only fields that are set are sent."""
    h, values = _demographics_query(
        traits, wrapper=wrapper, ids=ids, other_ids_domains=other_ids_domains,
        initial_quantity=initial_quantity, minimum_degree_match=minimum_degree_match,
        require_xcpd_traits=False,
    )
    return BuiltMessage("ITI-47", h.root, values=values)


def iti55_discovery(
    traits: PatientDemographics, *, home_community_id: str, responding_gateway: str | None =
    None, wrapper: Wrapper = Wrapper(), ids: IdGenerator = DEFAULT_IDS,
) -> BuiltMessage:
    """XCPD Cross Gateway Patient Discovery, synchronous (PRPA_IN201305UV02).

    ``home_community_id`` (OID, no ``urn:oid:``) identifies the initiating community: it is
    the sender's represented organization. ``responding_gateway`` is the receiver's URL.
    """
    community = home_community_id.removeprefix(OID_URN_PREFIX)
    sender = Device(wrapper.sender.id_root, community, wrapper.sender.telecom)
    receiver = Device(wrapper.receiver.id_root, wrapper.receiver.organization_root,
                      responding_gateway or wrapper.receiver.telecom)
    h, values = _demographics_query(
        traits, wrapper=Wrapper(sender, receiver, wrapper.processing_code,
                                wrapper.accept_ack_code),
        ids=ids, other_ids_domains=(), initial_quantity=None, minimum_degree_match=None,
        require_xcpd_traits=True,
    )
    values["homeCommunityId"] = f"{OID_URN_PREFIX}{community}"
    return BuiltMessage("ITI-55", h.root, values=values)
