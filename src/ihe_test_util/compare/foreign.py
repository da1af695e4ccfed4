"""Query results judged against this run's objects: what earlier replays and the recording left.

On a stateful target a query may also return objects an earlier replay created (their ids
carry another run's marker: :func:`ihe_test_util.ihe.idmap.marker_of`) or that the recording
created (they carry a recorded value this run replaced by its own). Those are set aside before
the comparison and named in a note; objects of unknown origin still count. Where a query
cannot be isolated (it asks by demographics or a patient id no cassette of the run created),
:func:`isolation_note` says so in words, with the fix.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ihe_test_util.ihe.er7 import ROOT_TAG as ER7_ROOT
from ihe_test_util.ihe.idmap import marker_of
from ihe_test_util.ihe.namespaces import HL7V3, RIM
from ihe_test_util.ihe.xpath import compiled_xpath, values_of

_OBJECT_LIST = f"{{{RIM}}}RegistryObjectList"
_CONTROL_ACT = f"{{{HL7V3}}}controlActProcess"
_SUBJECT = f"{{{HL7V3}}}subject"
_QUANTITIES = tuple(f"{{{HL7V3}}}{local}" for local in
                    ("resultTotalQuantity", "resultCurrentQuantity"))


@dataclass(frozen=True)
class SetAside:
    """One result object not compared: its element name and where it came from."""

    what: str
    origin: str  # "run <marker>" or "the recording"


def has_foreign(root: etree._Element, marker: str | None, replaced: Collection[str]) -> bool:
    """Whether :func:`set_aside` would remove anything (read only: no private copy needed
    when not)."""
    if marker is None:
        return False
    return any(_origin(item, marker, replaced) is not None for item in _items(root))


def _items(root: etree._Element) -> list[etree._Element]:
    if root.tag == ER7_ROOT:  # HL7 v2 query results: the PID groups (RSP^K22, RSP^K23)
        return list(root.iterchildren("PID")) if root.find("QAK") is not None else []
    return [item for container in root.iter(_OBJECT_LIST, _CONTROL_ACT) for item in container
            if isinstance(item.tag, str)
            and (container.tag != _CONTROL_ACT or item.tag == _SUBJECT)]


def set_aside(root: etree._Element, marker: str | None,
              replaced: Collection[str]) -> list[SetAside]:
    """Remove (in place: give a private tree) the result objects of ``root`` that belong to
    another replay run or to the recording, and lower HL7 v3 result quantities to match.

    ``marker`` is this run's marker; ``replaced`` the recorded values this run replaced
    everywhere (uniqueIds, entryUUIDs, patient ids). An object carrying this run's marker is
    this run's; one carrying only other runs' markers is an earlier replay's; one carrying a
    replaced recorded value and no marker is the recording's.
    """
    if marker is None:
        return []
    found: list[SetAside] = []
    subjects = 0
    for item in _items(root):
        origin = _origin(item, marker, replaced)
        parent = item.getparent()
        if origin is None or parent is None:
            continue
        parent.remove(item)
        found.append(SetAside(etree.QName(item).localname, origin))
        subjects += item.tag == _SUBJECT
    if subjects:
        for quantity in root.iter(*_QUANTITIES):
            value = quantity.get("value") or ""
            if value.isdigit():
                quantity.set("value", str(max(0, int(value) - subjects)))
    groups = sum(1 for item in found if item.what == "PID")
    if groups:  # QAK-4 hit count total, QAK-5 this payload
        for quantity in root.iterfind("QAK/QAK.4") if root.tag == ER7_ROOT else ():
            _lower(quantity, groups)
        for quantity in root.iterfind("QAK/QAK.5") if root.tag == ER7_ROOT else ():
            _lower(quantity, groups)
    return found


def _lower(element: etree._Element, by: int) -> None:
    text = (element.text or "").strip()
    if text.isdigit():
        element.text = str(max(0, int(text) - by))


def _origin(item: etree._Element, marker: str, replaced: Collection[str]) -> str | None:
    others: set[str] = set()
    recorded = False
    for element in item.iter(etree.Element):
        values = [str(v) for v in element.attrib.values()]
        if element.text and len(element) == 0:
            values.append(element.text.strip().strip("()'\""))
        for value in values:
            if len(value) < 11:
                continue
            found = marker_of(value)
            if found == marker:
                return None
            if found is not None:
                others.add(found)
            elif value in replaced:
                recorded = True
    if others:
        return "run " + ", ".join(sorted(others))
    return "the recording" if recorded else None


def aside_note(aside: list[SetAside]) -> str | None:
    """The note for the objects set aside, or None."""
    if not aside:
        return None
    runs = sorted({item.origin[4:] for item in aside if item.origin.startswith("run ")})
    parts = []
    for label, chosen in (("of earlier replays (run " + ", ".join(runs) + ")", True),
                          ("left by the recording", False)):
        counts: dict[str, int] = {}
        for item in aside:
            if item.origin.startswith("run ") is chosen:
                counts[item.what] = counts.get(item.what, 0) + 1
        if counts:
            parts.append(", ".join(f"{n} {what}" for what, n in counts.items()) + f" {label}")
    return ("not compared, the target still holds objects " + "; ".join(parts)
            + ": this run's results were judged without them")


#: Query parameters that choose whose results come back: HL7 v3 (PDQ, XCPD, PIX) and
#: XDS stored-query slots. Each is (label, XPath on the request payload).
_PARAMETERS = (
    ("family name", ".//hl7:livingSubjectName/hl7:value/hl7:family"),
    ("birth date", ".//hl7:livingSubjectBirthTime/hl7:value/@value"),
    ("patient id", ".//hl7:livingSubjectId/hl7:value/@extension"),
    ("patient id", ".//hl7:patientIdentifier/hl7:value/@extension"),
    ("patient id", ".//rim:Slot[@name='$XDSDocumentEntryPatientId']/rim:ValueList/rim:Value"),
    ("patient id", ".//rim:Slot[@name='$XDSSubmissionSetPatientId']/rim:ValueList/rim:Value"),
    ("patient id", ".//rim:Slot[@name='$XDSFolderPatientId']/rim:ValueList/rim:Value"),
    # HL7 v2 ITI-21: the values of the QPD-3 parameters (@PID.5.1^Meyer~@PID.7^19700101)
    ("QPD-3 parameters", "/HL7v2/QPD/QPD.3/QPD.3.2"),
)


def isolation_note(recorded_request: etree._Element | None,
                   replayed_request: etree._Element | None,
                   readings: Mapping[str, Any], replayed: Mapping[str, Any]) -> str | None:
    """Words for a query whose result count grew while it asked by values this run did not
    vary (demographics or a patient id no cassette of the run created): the target's other
    objects with them are found too, and only a cleanup or a feed in the run isolates it."""
    before, after = readings.get("result_count"), replayed.get("result_count")
    if not (isinstance(before, int) and isinstance(after, int) and after > before):
        return None
    if recorded_request is None or replayed_request is None:
        return None
    fixed = []
    for label, path in _PARAMETERS:
        old = _values(recorded_request, path)
        if old and old == _values(replayed_request, path):
            fixed.append(f"{label} {', '.join(old)}")
    if not fixed:
        return None
    return (f"result count {before} -> {after}: this query asks by "
            + "; ".join(dict.fromkeys(fixed))
            + ", which no cassette of this run creates, so it cannot be isolated from what "
            "earlier replays or other clients left on the target with the same values. Fix: "
            "give the cassette that feeds this patient (ITI-44 add, ITI-8 A01/A04/A05) before "
            "this one so the "
            "run creates it with its own values, or remove the leftovers with a [hooks] "
            "before_replay cleanup command in ihe.toml")


def _values(root: etree._Element, path: str) -> list[str]:
    return values_of(compiled_xpath(path)(root))
