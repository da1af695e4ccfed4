"""A patient's PID segment <-> the HL7 v3 ``patientPerson`` the simulator's store keeps.

The store holds every patient in one form, whichever protocol fed it (ITI-8, ITI-44, ITI-104):
identifiers in the identifier index plus an HL7 v3 ``patientPerson`` and its matching facets
(:mod:`ihe_test_util.sim.demographics`). This module translates PID-5 (names), PID-7 (birth),
PID-8 (gender), PID-11 (addresses) and PID-13 (phone, e-mail) to that form and back, so a
patient fed over MLLP is found by PDQ v3 and PDQm, and one fed by ITI-44 or ITI-104 by PDQ v2.
"""

from __future__ import annotations

from lxml import etree

from ihe_test_util.ihe.cx import PatientId, escape, format_cx, parse_cx, unescape
from ihe_test_util.ihe.vocabulary import V2_GENDER_TO_V3, V3_GENDER_TO_V2
from ihe_test_util.safexml import parse_xml
from ihe_test_util.sim.hl7v2.wire import Received
from ihe_test_util.sim.hl7v3 import h, hl7_element, sub

#: XPN-7 name type -> v3 EntityNameUse (L legal, A alias, S pseudonym -> P).
_NAME_USE = {"L": "L", "A": "A", "S": "P"}
_NAME_TYPE = {v: k for k, v in _NAME_USE.items()}
#: XTN-2 telecommunication use -> v3 TelecomAddressUse, and back.
_TELECOM_USE = {"PRN": "HP", "WPN": "WP", "ORN": "MC", "VHN": "HV"}
_TELECOM_TYPE = {v: k for k, v in _TELECOM_USE.items()}
#: XAD components (1-based) -> v3 address parts.
_ADDRESS_PARTS = ((3, "city"), (4, "state"), (5, "postalCode"), (6, "country"))


def pid_ids(received: Received, occurrence: int = 1) -> list[PatientId]:
    """PID-3 repetitions that are identifiers with an ISO assigning authority (HL7's null
    ``""`` and local-namespace-only ids are left out)."""
    found: list[PatientId] = []
    for repetition in received.repetitions("PID", 3, occurrence):
        pid = parse_cx(repetition)
        if pid is not None and pid not in found:
            found.append(pid)
    return found


def person_of_pid(received: Received) -> etree._Element:
    """The PID segment's demographics as a ``patientPerson``."""
    person = hl7_element("patientPerson", {"classCode": "PSN", "determinerCode": "INSTANCE"})
    separators = received.er7.separators
    for xpn in received.repetitions("PID", 5):
        parts = [unescape(p.split(separators.subcomponent)[0]).strip()
                 for p in xpn.split(separators.component)]
        parts += [""] * (7 - len(parts))
        family, given, middle, suffix, prefix, _, kind = parts[:7]
        if not (family or given or middle):
            continue
        name = sub(person, "name")
        if kind.upper() in _NAME_USE:
            name.set("use", _NAME_USE[kind.upper()])
        for local, value in (("prefix", prefix), ("given", given), ("given", middle),
                             ("family", family), ("suffix", suffix)):
            if value:
                sub(name, local).text = value
    for xtn in received.repetitions("PID", 13):
        parts = [unescape(p).strip() for p in xtn.split(separators.component)] + [""] * 7
        number = parts[0] or " ".join(p for p in (parts[5], parts[6]) if p)
        value = f"mailto:{parts[3]}" if parts[3] else (f"tel:{number}" if number else "")
        if value:
            telecom = sub(person, "telecom", value=value)
            if parts[1].upper() in _TELECOM_USE:
                telecom.set("use", _TELECOM_USE[parts[1].upper()])
    gender = V2_GENDER_TO_V3.get(received.value("PID-8").upper())
    if gender:
        sub(person, "administrativeGenderCode", code=gender)
    birth = received.value("PID-7.1")
    if birth:
        sub(person, "birthTime", value=birth)
    for xad in received.repetitions("PID", 11):
        parts = [unescape(p.split(separators.subcomponent)[0]).strip()
                 for p in xad.split(separators.component)] + [""] * 6
        if not any(parts[:6]):
            continue
        addr = sub(person, "addr")
        for line in (parts[0], parts[1]):
            if line:
                sub(addr, "streetAddressLine").text = line
        for index, local in _ADDRESS_PARTS:
            if parts[index - 1]:
                sub(addr, local).text = parts[index - 1]
    return person


def pid_segment(set_id: int, ids: list[PatientId], person_xml: bytes, *,
                with_birth_date: bool = True) -> str:
    """A stored patient as a PID: PID-3 ``ids``, PID-5, -7, -8, -11, -13 from the person."""
    person = parse_xml(person_xml, source="simulator state")
    fields = [""] * 14
    fields[1] = str(set_id)
    fields[3] = pid3(ids)
    fields[5] = "~".join(_xpn(name) for name in person.findall(h("name")))
    birth = person.find(h("birthTime"))
    if with_birth_date and birth is not None:
        fields[7] = escape((birth.get("value") or "").strip())
    gender = person.find(h("administrativeGenderCode"))
    if gender is not None:
        fields[8] = V3_GENDER_TO_V2.get((gender.get("code") or "").upper(), "")
    fields[11] = "~".join(_xad(addr) for addr in person.findall(h("addr")))
    fields[13] = "~".join(t for t in (_xtn(e) for e in person.findall(h("telecom"))) if t)
    return "|".join(["PID", *fields[1:]]).rstrip("|")


def pid3(ids: list[PatientId]) -> str:
    """PID-3: each id as ``id^^^NS&OID&ISO^PI``, repetitions joined."""
    return "~".join(format_cx(pid, namespace=True) + "^PI" for pid in ids)


def _texts(element: etree._Element, local: str) -> list[str]:
    return [(e.text or "").strip() for e in element.findall(h(local)) if (e.text or "").strip()]


def _xpn(name: etree._Element) -> str:
    given = [*_texts(name, "given"), "", ""]
    parts = [" ".join(_texts(name, "family")), given[0], " ".join(given[1:]).strip(),
             " ".join(_texts(name, "suffix")), " ".join(_texts(name, "prefix")), "",
             _NAME_TYPE.get(name.get("use") or "", "")]
    return "^".join(escape(p) for p in parts).rstrip("^")


def _xad(addr: etree._Element) -> str:
    lines = [*_texts(addr, "streetAddressLine"), "", ""]
    parts = [lines[0], lines[1]]
    for _, local in _ADDRESS_PARTS:
        parts.append(next(iter(_texts(addr, local)), ""))
    return "^".join(escape(p) for p in parts).rstrip("^")


def _xtn(telecom: etree._Element) -> str:
    value = (telecom.get("value") or "").strip()
    use = _TELECOM_TYPE.get((telecom.get("use") or "").split(" ")[0], "")
    scheme, colon, rest = value.partition(":")
    if colon and scheme.lower() == "mailto":
        return f"^{use or 'NET'}^Internet^{escape(rest)}"
    number = rest if colon and scheme.lower() in ("tel", "fax") else value
    if not number:
        return ""
    return f"{escape(number)}^{use}".rstrip("^")


__all__ = ["person_of_pid", "pid3", "pid_ids", "pid_segment"]
