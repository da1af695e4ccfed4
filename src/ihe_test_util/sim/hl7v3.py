"""HL7v3 pieces shared by the PIX, PDQ and XCPD actors: identifiers, the transmission wrapper,
acknowledgements and the query acknowledgement (NE2008 XML ITS, as IHE uses it).

Acknowledgement codes are child elements (``<typeCode code="AA"/>``), never attributes, and
``acknowledgement/targetMessage/id`` echoes the request's message id (ITI TF-2 3.44-3.47, 3.55).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from copy import deepcopy
from dataclasses import dataclass

from lxml import etree

from ihe_test_util.ihe.cx import PatientId
from ihe_test_util.ihe.namespaces import HL7V3, XSI, qname
from ihe_test_util.sim.volatile import Volatility

INTERACTION_ROOT = "2.16.840.1.113883.1.6"
#: HL7 table 0357 (message error condition codes) used in acknowledgementDetail.
ERROR_CODE_SYSTEM = "2.16.840.1.113883.12.357"
ERROR_CODES = {
    "101": "Required field missing",
    "102": "Data type error",
    "200": "Unsupported message type",
    "204": "Unknown key identifier",
    "205": "Duplicate key identifier",
}


def h(local: str) -> str:
    """Clark name of an element in the HL7v3 namespace."""
    return qname(HL7V3, local)


def path(*steps: str) -> str:
    """An ElementPath through HL7v3 elements: ``path("controlActProcess", "subject")``."""
    return "/".join(h(step) for step in steps)


def hl7_element(local: str, attrib: dict[str, str] | None = None) -> etree._Element:
    """A root element whose default namespace is HL7v3 (so ``xsi:type="INT"`` resolves)."""
    element = etree.Element(h(local), nsmap={None: HL7V3, "xsi": XSI})  # type: ignore[dict-item]
    for name, value in (attrib or {}).items():
        element.set(name, value)
    return element


def sub(parent: etree._Element, local: str, **attrib: str) -> etree._Element:
    return etree.SubElement(parent, h(local), attrib)


def read_id(element: etree._Element | None) -> PatientId | None:
    """An II (``root``, ``extension``) as a :class:`PatientId`; None when incomplete."""
    if element is None:
        return None
    root = (element.get("root") or "").strip()
    extension = (element.get("extension") or "").strip()
    if not root or not extension:
        return None
    return PatientId(extension, root, element.get("assigningAuthorityName"), check=False)


def id_element(parent: etree._Element, local: str, pid: PatientId) -> etree._Element:
    element = sub(parent, local, root=pid.root, extension=pid.extension)
    if pid.assigning_authority_name:
        element.set("assigningAuthorityName", pid.assigning_authority_name)
    return element


@dataclass(frozen=True)
class AckDetail:
    """One acknowledgementDetail: an HL7 0357 code, a text and the XPath it is about."""

    code: str
    text: str
    location: str | None = None
    type_code: str = "E"


@dataclass(frozen=True)
class Endpoint:
    """Who the simulator is in HL7v3 wrappers (device id) and in XCPD (home community)."""

    device_oid: str


def wrapper(
    interaction: str, request: etree._Element, endpoint: Endpoint, volatility: Volatility,
) -> etree._Element:
    """Transmission wrapper of a response: fresh id and creationTime, receiver = requester."""
    message = hl7_element(interaction, {"ITSVersion": "XML_1.0"})
    sub(message, "id", root=volatility.plain_uuid())
    sub(message, "creationTime", value=volatility.hl7_timestamp())
    sub(message, "interactionId", root=INTERACTION_ROOT, extension=interaction)
    processing = request.find(h("processingCode"))
    sub(message, "processingCode", code=(processing.get("code") if processing is not None
                                          else None) or "P")
    sub(message, "processingModeCode", code="T")
    sub(message, "acceptAckCode", code="NE")
    receiver = sub(message, "receiver", typeCode="RCV")
    device = sub(receiver, "device", classCode="DEV", determinerCode="INSTANCE")
    requester = request.find(path("sender", "device", "id"))
    if requester is not None and requester.get("root"):
        sub(device, "id", root=requester.get("root", ""))
    else:
        sub(device, "id", nullFlavor="UNK")
    sender = sub(message, "sender", typeCode="SND")
    device = sub(sender, "device", classCode="DEV", determinerCode="INSTANCE")
    sub(device, "id", root=endpoint.device_oid)
    return message


def acknowledgement(
    message: etree._Element, type_code: str, request: etree._Element,
    details: Sequence[AckDetail] = (),
) -> etree._Element:
    """Append ``acknowledgement`` echoing the request id as targetMessage/id."""
    ack = sub(message, "acknowledgement")
    sub(ack, "typeCode", code=type_code)
    target = sub(ack, "targetMessage")
    request_id = request.find(h("id"))
    if request_id is not None:
        echoed = sub(target, "id")
        for name in ("root", "extension"):
            if request_id.get(name) is not None:
                echoed.set(name, request_id.get(name, ""))
    else:
        sub(target, "id", nullFlavor="NI")
    for detail in details:
        element = sub(ack, "acknowledgementDetail", typeCode=detail.type_code)
        sub(element, "code", code=detail.code, codeSystem=ERROR_CODE_SYSTEM,
            displayName=ERROR_CODES.get(detail.code, ""))
        sub(element, "text").text = detail.text
        if detail.location:
            sub(element, "location").text = detail.location
    return ack


def query_ack(
    control_act: etree._Element, request: etree._Element, response_code: str,
    *, total: int | None = None,
) -> None:
    """Append queryAck (echoing queryId) and the echoed queryByParameter."""
    qbp = request.find(path("controlActProcess", "queryByParameter"))
    ack = sub(control_act, "queryAck")
    query_id = qbp.find(h("queryId")) if qbp is not None else None
    if query_id is not None:
        ack.append(deepcopy(query_id))
    sub(ack, "statusCode", code="deliveredResponse")
    sub(ack, "queryResponseCode", code=response_code)
    if total is not None:
        sub(ack, "resultTotalQuantity", value=str(total))
        sub(ack, "resultCurrentQuantity", value=str(total))
        sub(ack, "resultRemainingQuantity", value="0")
    if qbp is not None:
        control_act.append(deepcopy(qbp))


def control_act(message: etree._Element, trigger_event: str) -> etree._Element:
    act = sub(message, "controlActProcess", classCode="CACT", moodCode="EVN")
    sub(act, "code", code=trigger_event, codeSystem=INTERACTION_ROOT)
    return act


def registration_event(
    parent: etree._Element, custodian_root: str,
) -> tuple[etree._Element, etree._Element]:
    """``subject/registrationEvent`` skeleton; returns (registrationEvent, patient)."""
    subject = sub(parent, "subject", typeCode="SUBJ")
    event = sub(subject, "registrationEvent", classCode="REG", moodCode="EVN")
    sub(event, "id", nullFlavor="NA")
    sub(event, "statusCode", code="active")
    subject1 = sub(event, "subject1", typeCode="SBJ")
    patient = sub(subject1, "patient", classCode="PAT")
    custodian = sub(event, "custodian", typeCode="CST")
    entity = sub(custodian, "assignedEntity", classCode="ASSIGNED")
    sub(entity, "id", root=custodian_root)
    return event, patient


def parameter_values(qbp: etree._Element | None, name: str) -> list[etree._Element]:
    """The ``value`` elements of every ``parameterList/<name>``."""
    if qbp is None:
        return []
    return [
        value for parameter in qbp.findall(path("parameterList", name))
        for value in parameter.findall(h("value"))
    ]


def parameter_location(message: str, name: str) -> str:
    """XPath of a query parameter value, as acknowledgementDetail/location gives it."""
    return f"/{message}/controlActProcess/queryByParameter/parameterList/{name}/value"


def words(values: Iterable[str | None]) -> list[str]:
    return [v.strip().lower() for v in values if v and v.strip()]
