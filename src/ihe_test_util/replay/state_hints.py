"""Why a replayed exchange failed for want of state, and which cassette would have made it.

A submission for a patient the target does not know (``XDSUnknownPatientId``), a retrieve of a
document it does not hold (``XDSDocumentUniqueIdError``), an HL7 v3 query, revise or merge of an
unknown patient (acknowledgement detail ``204``): on a fresh system these fail because the
cassette that creates the patient or document was not replayed first, or because none does.
:class:`StateIndex` knows the run's cassettes (and the other cassettes in their folders, read
only when a hint is needed) and what each creates; :func:`missing_state_hint` words the hint.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from ihe_test_util.errors import IheTestError
from ihe_test_util.ihe.message import read_uncached
from ihe_test_util.ihe.namespaces import HL7V3, RIM, XDSB
from ihe_test_util.ihe.vocabulary import (
    DOCUMENT_ENTRY_PATIENT_ID,
    DOCUMENT_ENTRY_UNIQUE_ID,
    FOLDER_PATIENT_ID,
    FOLDER_UNIQUE_ID,
    SUBMISSION_SET_PATIENT_ID,
)
from ihe_test_util.model import Cassette, Request

#: Registry / repository error codes that mean "the target lacks this state".
MISSING_PATIENT_CODES = frozenset({"XDSUnknownPatientId"})
MISSING_DOCUMENT_CODES = frozenset({"XDSDocumentUniqueIdError", "XDSMissingDocument"})
#: HL7 table 0357 "Unknown key identifier" (acknowledgementDetail code).
UNKNOWN_KEY = "204"

_PATIENT_SCHEMES = frozenset({DOCUMENT_ENTRY_PATIENT_ID, SUBMISSION_SET_PATIENT_ID,
                              FOLDER_PATIENT_ID})
_ADD = f"{{{HL7V3}}}PRPA_IN201301UV02"


@dataclass(frozen=True)
class Creator:
    """An exchange that creates a patient or a document: where, and its place in the run."""

    cassette: str
    index: int
    step: str | None
    position: int | None  # the cassette's position in the run; None: not in this run


def _patient_key(value: str) -> str:
    """The id part of a CX (``id^^^&oid&ISO``), quotes of a query parameter removed."""
    return value.strip().strip("()'\" ").split("^", 1)[0]


def patients_created(root: etree._Element) -> set[str]:
    """Ids (extensions) of the patients an ITI-44 add creates."""
    found: set[str] = set()
    for add in root.iter(_ADD):
        for patient in add.iter(f"{{{HL7V3}}}patient"):
            for pid in patient.findall(f"{{{HL7V3}}}id"):
                if pid.get("extension"):
                    found.add(pid.get("extension") or "")
    return found


def documents_created(root: etree._Element) -> set[str]:
    """DocumentEntry (and Folder) uniqueIds a submission registers."""
    return {element.get("value") or "" for element in root.iter(f"{{{RIM}}}ExternalIdentifier")
            if element.get("identificationScheme") in (DOCUMENT_ENTRY_UNIQUE_ID,
                                                       FOLDER_UNIQUE_ID)} - {""}


def patients_needed(root: etree._Element) -> list[str]:
    """The patient ids a request names (submission metadata, query parameters, HL7 v3 ids)."""
    found: dict[str, None] = {}
    for element in root.iter(f"{{{RIM}}}ExternalIdentifier"):
        if element.get("identificationScheme") in _PATIENT_SCHEMES and element.get("value"):
            found[_patient_key(element.get("value") or "")] = None
    for slot in root.iter(f"{{{RIM}}}Slot"):
        if (slot.get("name") or "").endswith("PatientId"):
            for value in slot.iter(f"{{{RIM}}}Value"):
                if value.text:
                    found[_patient_key(value.text)] = None
    for local in ("patientIdentifier", "livingSubjectId"):
        for parameter in root.iter(f"{{{HL7V3}}}{local}"):
            for value in parameter.iter(f"{{{HL7V3}}}value"):
                if value.get("extension"):
                    found[value.get("extension") or ""] = None
    for local in ("patient", "priorRegisteredRole"):
        for holder in root.iter(f"{{{HL7V3}}}{local}"):
            for pid in holder.findall(f"{{{HL7V3}}}id"):
                if pid.get("extension"):
                    found[pid.get("extension") or ""] = None
    return [key for key in found if key]


def documents_needed(root: etree._Element) -> list[str]:
    return [element.text.strip() for element in root.iter(f"{{{XDSB}}}DocumentUniqueId")
            if element.text and element.text.strip()]


def missing_kind(error_codes: Iterable[str], response: etree._Element | None) -> str | None:
    """"patient" or "document" when the answer says the target lacks it, else None."""
    codes = {code.split(":", 1)[0] for code in error_codes}  # "code:severity" as read
    if codes & MISSING_PATIENT_CODES:
        return "patient"
    if codes & MISSING_DOCUMENT_CODES:
        return "document"
    if response is not None:
        for detail in response.iter(f"{{{HL7V3}}}acknowledgementDetail"):
            code = detail.find(f"{{{HL7V3}}}code")
            if code is not None and code.get("code") == UNKNOWN_KEY:
                return "patient"
    return None


class StateIndex:
    """What the cassettes of a run (and those beside them) create, read on first need."""

    def __init__(self, cassettes: Sequence[tuple[str, Path]],
                 load: Callable[[Path], Cassette]) -> None:
        self._run = list(cassettes)
        self._load = load
        self._lock = threading.Lock()
        self._index: dict[tuple[str, str], list[Creator]] | None = None

    def creators(self, kind: str, key: str) -> list[Creator]:
        with self._lock:
            if self._index is None:
                self._index = self._build()
            return self._index.get((kind, key), [])

    def _build(self) -> dict[tuple[str, str], list[Creator]]:
        index: dict[tuple[str, str], list[Creator]] = {}
        seen: set[Path] = set()
        files: list[tuple[str, Path, int | None]] = []
        for number, (ident, path) in enumerate(self._run):
            files.append((ident, path, number))
            seen.add(path.resolve())
        for folder in dict.fromkeys(path.parent for _, path in self._run):
            for sibling in sorted([*folder.glob("*.yaml"), *folder.glob("*.yml")]):
                if sibling.resolve() not in seen:
                    seen.add(sibling.resolve())
                    files.append((str(sibling), sibling, None))
        for ident, path, place in files:
            try:
                cassette = self._load(path)
            except (IheTestError, OSError):
                continue  # not a cassette (an ihe.toml beside them, a broken file): no creator
            for number, interaction in enumerate(cassette.interactions):
                root = _root_of(interaction.request)
                if root is None:
                    continue
                creator = Creator(ident, number, interaction.meta.step, place)
                for key in patients_created(root):
                    index.setdefault(("patient", key), []).append(creator)
                for key in documents_created(root):
                    index.setdefault(("document", key), []).append(creator)
        return index


def _root_of(request: Request) -> etree._Element | None:
    try:
        return read_uncached(request, "recorded request").root
    except IheTestError:
        return None


def missing_state_hint(kind: str, keys: Sequence[str], index: StateIndex | None, *,
                       cassette: str, position: int | None, exchange: int) -> str | None:
    """The hint for a failure for want of ``kind`` (recorded ``keys``), or None."""
    if not keys:
        return None
    parts: list[str] = []
    for key in keys[:3]:
        creators = index.creators(kind, key) if index is not None else []
        what = f"{kind} {key}"
        earlier = [c for c in creators if c.position is not None and position is not None
                   and (c.position < position
                        or (c.position == position and c.index < exchange))]
        if earlier:
            c = earlier[0]
            parts.append(f"{what} is created by {c.cassette}#{c.index}"
                         f"{_step(c)}, replayed earlier in this run: that exchange failed, or the "
                         "target lost it")
        elif creators:
            c = creators[0]
            parts.append(f"the target does not know {what}: it is created by {c.cassette}#"
                         f"{c.index}{_step(c)}; give that cassette before this one "
                         f"(ihe replay {c.cassette} {cassette})")
        else:
            feed = "its patient feed (ITI-44 add)" if kind == "patient" else \
                "its submission (ITI-41)"
            parts.append(f"the target does not know {what}, and no cassette of this run (nor "
                         f"beside it) creates it: on a fresh system record {feed} into a "
                         "cassette given before this one, or create it in a [hooks] "
                         "before_replay command")
    return "; ".join(parts)


def _step(creator: Creator) -> str:
    return f" ({creator.step})" if creator.step else ""
