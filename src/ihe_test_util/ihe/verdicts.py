"""Verdict readers: extract the fields whose change makes an exchange a regression.

Each reader looks at a few known places of one body (never the whole document) and returns a
:class:`Reading`: the value shown in reports, the key actually compared (acknowledgement *class*,
not spelling; status short name, not URN spelling), where the field lives (for the difference
path) and which structural differences it accounts for (``covers``), so that, say, a
RegistryError that appeared is reported as part of the regression and not as mere drift.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from lxml import etree

from ihe_test_util.ihe import er7, vocabulary
from ihe_test_util.ihe.message import Message
from ihe_test_util.ihe.namespaces import FHIR, HL7V3, RS, SOAP11, SOAP12
from ihe_test_util.ihe.patterns import (
    NAMESPACES,
    Pattern,
    compile_patterns,
    local_name,
    split_tag,
    translate,
)
from ihe_test_util.ihe.specs import Verdict
from ihe_test_util.ihe.xpath import PerThread

Covers = Callable[[etree._Element, "str | None", bool], bool]


def _covers_nothing(element: etree._Element, attribute: str | None, membership: bool) -> bool:
    return False


@dataclass(frozen=True)
class Reading:
    """One verdict field of one body.

    ``covers(element, attribute, membership)`` says whether a structural difference at that
    element (``attribute`` None = the element or its text; ``membership`` True = the element
    was added or removed) is part of this field. ``exact`` says the field *is* that one
    location (a status attribute), so the verdict difference replaces the structural one.
    """

    value: Any
    key: Any = None
    element: etree._Element | None = None
    attribute: str | None = None
    covers: Covers = field(default=_covers_nothing)
    exact: bool = False
    badness: tuple[int, ...] | None = None

    def worse_than(self, other: Reading) -> bool:
        """Whether this reading is a regression against ``other`` (the recorded one)."""
        if self.badness is None or other.badness is None:
            return True
        return any(now > before for now, before in zip(self.badness, other.badness,
                                                       strict=True))

    @property
    def compared(self) -> Any:
        return self.value if self.key is None else self.key


Reader = Callable[[Message, Verdict], Reading]


def _exact(target: etree._Element | None, name: str | None) -> Covers:
    def covers(element: etree._Element, attribute: str | None, membership: bool) -> bool:
        return target is not None and element is target and attribute == name
    return covers


def _subtree(target: etree._Element | None) -> Covers:
    def covers(element: etree._Element, attribute: str | None, membership: bool) -> bool:
        node: etree._Element | None = element
        while node is not None:
            if node is target:
                return True
            node = node.getparent()
        return False
    return covers


def _members(container: etree._Element | None) -> Covers:
    def covers(element: etree._Element, attribute: str | None, membership: bool) -> bool:
        return membership and container is not None and (
            element is container or element.getparent() is container)
    return covers


def read_soap_fault(body: Message, verdict: Verdict) -> Reading:
    """None without a Fault; else its codes' local names joined by '/' (Sender/InvalidSecurity)."""
    payload = body.payload
    if payload is None or local_name(payload.tag) != "Fault":
        return Reading(None)
    namespace = split_tag(payload.tag)[0]
    codes: list[str] = []
    if namespace == SOAP12:
        node = payload.find(f"{{{SOAP12}}}Code")
        while node is not None:
            value = node.findtext(f"{{{SOAP12}}}Value")
            if value:
                codes.append(_qname_local(value))
            node = node.find(f"{{{SOAP12}}}Subcode")
    elif namespace == SOAP11 or namespace is None:
        value = payload.findtext("faultcode")
        if value:
            codes.append(_qname_local(value))
    code = "/".join(codes) or "Fault"
    return Reading(code, element=payload, covers=_subtree(payload))


def _qname_local(value: str) -> str:
    return value.strip().rsplit(":", 1)[-1]


def _status_element(payload: etree._Element | None) -> etree._Element | None:
    if payload is None:
        return None
    if local_name(payload.tag) in ("AdhocQueryResponse", "RegistryResponse"):
        return payload
    return payload.find(f"{{{RS}}}RegistryResponse")


def read_registry_status(body: Message, verdict: Verdict) -> Reading:
    element = _status_element(body.payload)
    if element is None:
        return Reading(None)
    value = vocabulary.registry_status(element.get("status"))
    return Reading(value, element=element, attribute="status",
                   covers=_exact(element, "status"), exact=True)


def read_registry_errors(body: Message, verdict: Verdict) -> Reading:
    """The set of ``errorCode:Severity`` pairs (severity spelled as URN or bare word)."""
    element = _status_element(body.payload)
    if element is None:
        return Reading([])
    error_list = element.find(f"{{{RS}}}RegistryErrorList")
    if error_list is None:
        return Reading([], element=element, covers=_members(element))
    pairs = sorted({
        f"{error.get('errorCode', '')}:{vocabulary.error_severity(error.get('severity'))}"
        for error in error_list.iter(f"{{{RS}}}RegistryError")
    })
    return Reading(pairs, element=error_list, covers=_subtree(error_list))


def read_count(body: Message, verdict: Verdict) -> Reading:
    """How many results: children of ``location`` (payload-relative; '.' = the payload)."""
    payload = body.payload
    if payload is None:
        return Reading(None)
    container = payload if verdict.location in ("", ".") else _first_element(
        payload, verdict.location)
    if container is None:
        return Reading(0, element=payload, covers=_members(None))
    items = verdict.items
    if items == "*":
        count = sum(1 for child in container if isinstance(child.tag, str))
    else:
        test = _patterns(items)[0].steps[-1]
        count = sum(1 for child in container if isinstance(child.tag, str)
                    and test.accepts(child, *split_tag(child.tag)))
    return Reading(count, element=container, covers=_members(container))


def _compile_location(expression: str) -> etree.XPath:
    return etree.XPath(translate(expression), namespaces=NAMESPACES)


#: Verdict locations and item tests come from the catalogue, a few dozen texts read on every
#: exchange: compiled once per thread (compiled lxml evaluators are not shared across threads).
_locations: PerThread[etree.XPath] = PerThread(_compile_location)
_patterns: PerThread[tuple[Pattern, ...]] = PerThread(compile_patterns)


def _first_element(context: etree._Element, expression: str) -> etree._Element | None:
    found = _locations(expression)(context)
    if isinstance(found, list):
        for node in found:
            if isinstance(node, etree._Element):
                return node
    return None


def read_ack(body: Message, verdict: Verdict) -> Reading:
    """HL7v3 ``acknowledgement/typeCode/@code`` (a child element in the IHE ITS; an attribute in
    older senders), compared by class: AA/CA accept, AE/CE error, AR/CR reject."""
    payload = body.payload
    if payload is None:
        return Reading(None)
    ack = payload.find(f"{{{HL7V3}}}acknowledgement")
    if ack is None:
        return Reading(None)
    type_code = ack.find(f"{{{HL7V3}}}typeCode")
    if type_code is not None:
        code = type_code.get("code")
        return Reading(code, _ack_class(code), type_code, "code", _exact(type_code, "code"),
                       exact=True)
    code = ack.get("typeCode")
    return Reading(code, _ack_class(code), ack, "typeCode", _exact(ack, "typeCode"), exact=True)


def _ack_class(code: str | None) -> str | None:
    if code is None:
        return None
    return vocabulary.ACK_CLASS.get(code.strip(), code.strip())


def read_query_response_code(body: Message, verdict: Verdict) -> Reading:
    payload = body.payload
    if payload is None:
        return Reading(None)
    element = payload.find(
        f"{{{HL7V3}}}controlActProcess/{{{HL7V3}}}queryAck/{{{HL7V3}}}queryResponseCode")
    if element is None:
        return Reading(None)
    code = element.get("code")
    return Reading(code, element=element, attribute="code", covers=_exact(element, "code"),
                   exact=True)


def _er7_field(body: Message, segment: str, name: str) -> tuple[str | None, etree._Element | None]:
    root = body.root
    if root is None or body.kind != "hl7v2":
        return None, None
    seg = root.find(segment)
    element = seg.find(name) if seg is not None else None
    return er7.field_value(root, segment, name), element


def read_msa(body: Message, verdict: Verdict) -> Reading:
    """HL7 v2 MSA-1, by class (AA/CA, AE/CE, AR/CR)."""
    code, element = _er7_field(body, "MSA", "MSA.1")
    covers = _subtree(element) if element is not None else _covers_nothing
    return Reading(code, _ack_class(code), element, None, covers, exact=True)


def read_qak(body: Message, verdict: Verdict) -> Reading:
    """HL7 v2 QAK-2 query response status (OK / NF / AE / AR)."""
    code, element = _er7_field(body, "QAK", "QAK.2")
    covers = _subtree(element) if element is not None else _covers_nothing
    return Reading(code, element=element, covers=covers, exact=True)


def read_segment_count(body: Message, verdict: Verdict) -> Reading:
    """How many ``location`` segments (PID) an ER7 response returned."""
    root = body.root
    if root is None or body.kind != "hl7v2":
        return Reading(None)
    count = sum(1 for child in root if child.tag == verdict.location)
    return Reading(count, element=root, covers=_segment_members(root, verdict.location))


def _segment_members(root: etree._Element, segment: str) -> Covers:
    def covers(element: etree._Element, attribute: str | None, membership: bool) -> bool:
        return membership and element.getparent() is root and element.tag == segment
    return covers


def read_fhir_total(body: Message, verdict: Verdict) -> Reading:
    root = body.root
    if root is None or root.tag != f"{{{FHIR}}}Bundle":
        return Reading(None)
    total = root.find(f"{{{FHIR}}}total")
    if total is None:
        return Reading(None)
    raw = total.get("value")
    value: Any = int(raw) if raw is not None and raw.isdigit() else raw
    return Reading(value, element=total, attribute="value", covers=_exact(total, "value"),
                   exact=True)


#: FHIR issue severities by how bad they are: information is no worse than no issue at all
#: (servers such as medplum add informational outcomes to every transaction entry).
_FHIR_BADNESS = {"information": 0, "warning": 1, "error": 2, "fatal": 3}
_OUTCOME = f"{{{FHIR}}}OperationOutcome"
_SEVERITY = f"{{{FHIR}}}severity"


def read_fhir_severity(body: Message, verdict: Verdict) -> Reading:
    """The most severe OperationOutcome issue anywhere in the response (None without one),
    with how many error / fatal issues there are when more than one.

    Directed: worse (information < warning < error < fatal) or a new error / fatal issue is a
    regression; better or gone is a change. The field accounts for the OperationOutcomes and
    their issues appearing or going, and for their severities."""
    root = body.root
    if root is None:
        return Reading(None)
    worst: str | None = None
    worst_element: etree._Element | None = None
    order = vocabulary.FHIR_SEVERITY_ORDER
    serious = 0
    for outcome in root.iter(_OUTCOME):
        for severity in outcome.iter(_SEVERITY):
            value = severity.get("value")
            if _FHIR_BADNESS.get(value or "", 0) >= _FHIR_BADNESS["error"]:
                serious += 1
            rank = order.index(value) if value in order else -1
            if worst is None or rank > (order.index(worst) if worst in order else -1):
                worst, worst_element = value, severity
    if worst_element is None:
        return Reading(None, badness=(0, 0), covers=_outcomes)
    shown = worst if serious < 2 else f"{worst} ({serious} error/fatal issues)"
    return Reading(shown, element=worst_element, attribute="value", covers=_outcomes,
                   exact=True, badness=(_FHIR_BADNESS.get(worst or "", 0), serious))


def _outcomes(element: etree._Element, attribute: str | None, membership: bool) -> bool:
    """An issue severity, or an OperationOutcome / issue added or removed as a whole."""
    if attribute is not None:
        return attribute == "value" and element.tag == _SEVERITY and _in_outcome(element)
    if not membership:
        return False
    if element.tag == _OUTCOME or any(child.tag == _OUTCOME for child in element):
        return True  # the outcome, or its property (entry.response.outcome)
    if element.find(f"{{{FHIR}}}resource/{_OUTCOME}") is not None:
        return True  # a searchset entry of mode outcome
    return element.tag == f"{{{FHIR}}}issue" and _in_outcome(element)


def _in_outcome(element: etree._Element) -> bool:
    node = element.getparent()
    while node is not None:
        if node.tag == _OUTCOME:
            return True
        node = node.getparent()
    return False


def read_fhir_matches(body: Message, verdict: Verdict) -> Reading:
    """How many entries of a searchset are matches (``search.mode`` match, or no mode):
    a searchset that loses a match is a regression even where ``total`` stays or is absent."""
    root = body.root
    if root is None or root.tag != f"{{{FHIR}}}Bundle":
        return Reading(None)
    kind = root.find(f"{{{FHIR}}}type")
    if kind is None or kind.get("value") != "searchset":
        return Reading(None)
    entry_tag = f"{{{FHIR}}}entry"

    def is_match(entry: etree._Element) -> bool:
        mode = entry.find(f"{{{FHIR}}}search/{{{FHIR}}}mode")
        return mode is None or mode.get("value") == "match"

    count = sum(1 for entry in root.iterchildren(entry_tag) if is_match(entry))

    def covers(element: etree._Element, attribute: str | None, membership: bool) -> bool:
        return (membership and element.tag == entry_tag and element.getparent() is root
                and is_match(element))
    return Reading(count, element=root, covers=covers)


def read_fhir_parameters(body: Message, verdict: Verdict) -> Reading:
    """How many ``Parameters.parameter`` are named ``location`` (PIXm ``targetIdentifier``)."""
    root = body.root
    if root is None or root.tag != f"{{{FHIR}}}Parameters":
        return Reading(None)
    parameter_tag = f"{{{FHIR}}}parameter"
    def named(element: etree._Element) -> bool:
        if element.tag != parameter_tag:
            return False
        name = element.find(f"{{{FHIR}}}name")
        return name is not None and name.get("value") == verdict.location
    count = sum(1 for parameter in root.iterchildren(parameter_tag) if named(parameter))
    def covers(element: etree._Element, attribute: str | None, membership: bool) -> bool:
        return membership and element.getparent() is root and named(element)
    return Reading(count, element=root, covers=covers)


def read_values(body: Message, verdict: Verdict) -> Reading:
    """User-defined verdict field: the string values ``location`` selects (a pattern)."""
    root = body.root
    if root is None:
        return Reading(None)
    patterns = _patterns(verdict.location)
    values: list[str] = []
    first: etree._Element | None = None
    first_attribute: str | None = None
    for pattern in patterns:
        for node in pattern.select(root):
            if isinstance(node, etree._Element):
                values.append(" ".join("".join(str(t) for t in node.itertext()).split()))
                first = first if first is not None else node
            else:
                values.append(str(node))
                parent = getattr(node, "getparent", lambda: None)()
                if first is None and isinstance(parent, etree._Element):
                    first = parent
                    first_attribute = pattern.attribute
    def covers(element: etree._Element, attribute: str | None, membership: bool) -> bool:
        for pattern in patterns:
            if pattern.target == "attribute":
                if attribute is not None and pattern.matches_attribute(element, attribute):
                    return True
            elif pattern.matches(element):
                return True
        return False
    return Reading(values, element=first, attribute=first_attribute, covers=covers,
                   exact=len(values) == 1)


READERS: dict[str, Reader] = {
    "soap_fault": read_soap_fault,
    "registry_status": read_registry_status,
    "registry_errors": read_registry_errors,
    "count": read_count,
    "ack": read_ack,
    "query_response_code": read_query_response_code,
    "msa": read_msa,
    "qak": read_qak,
    "segment_count": read_segment_count,
    "fhir_total": read_fhir_total,
    "fhir_severity": read_fhir_severity,
    "fhir_matches": read_fhir_matches,
    "fhir_parameters": read_fhir_parameters,
    "values": read_values,
}


def read_verdict(body: Message, verdict: Verdict) -> Reading:
    return READERS[verdict.reader](body, verdict)

