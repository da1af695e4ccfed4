"""The recorded -> fresh value map of one cassette's replay, and the identity space of a run.

Replacements are *consistent across a cassette*: one :class:`IdMap` is shared by all requests of
a cassette, so the DocumentEntry uniqueId regenerated in an ITI-41 is the one the later ITI-43
asks for, and every reference to a client-chosen ``urn:uuid:`` id follows its object. The
comparer reads the same map so a response echoing a new value is not a difference; serve uses
it to make up response values in the recorded spelling.

A :class:`RunSpace` is one replay run's *identity space*, shared by the maps of all its
cassettes: a run marker that every id the harness generates carries (UUIDs and ``2.25`` OIDs
of UUID version 8 with the harness's signature, patient ids ending ``-R<marker>``), and the
patients the run's cassettes create (ITI-44 add), whose ids, family names and birth dates are
varied the same way wherever any cassette of the run uses them. A replay then never meets the
patients and documents of an earlier replay, or of the recording, on a stateful target, and
objects of earlier replays are recognised by their marker (:func:`marker_of`).
"""

from __future__ import annotations

import re
import secrets
import threading
import uuid
from collections.abc import Mapping
from types import MappingProxyType

from ihe_test_util.ihe.identifiers import (
    DEFAULT_IDS,
    UUID_OID_ROOT,
    Clock,
    IdGenerator,
    is_oid,
    is_uuid,
    strip_uuid_prefix,
    utc_now,
)
from ihe_test_util.ihe.specs import GLOBAL_KINDS, SPACE_KINDS, ValueKind
from ihe_test_util.ihe.tokens import Replacer
from ihe_test_util.ihe.vocabulary import OID_URN_PREFIX

#: The harness's mark in the node field of every UUID it generates (UUID version 8, RFC 9562):
#: 16 bits of signature, then the 32-bit run marker.
HARNESS_SIGNATURE = 0x1E7E
_PATIENT_SUFFIX = re.compile(r"-R([0-9A-F]{8})$")
_NAME_PREFIX = re.compile(r"^[A-Z]{5}-(?=.)")
_LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def marker_of(value: str) -> str | None:
    """The run marker (8 hex digits) of a value the harness generated, or None.

    Recognised: a UUID (any spelling) or ``2.25.<integer>`` OID of UUID version 8 with the
    harness's signature, a patient id ending ``-R<marker>`` (alone or as a CX's id).
    """
    value = value.strip()
    if not value:
        return None
    head = value.split("^", 1)[0]
    match = _PATIENT_SUFFIX.search(head)
    if match is not None:
        return match.group(1)
    number: int | None = None
    if is_uuid(value):
        number = uuid.UUID(strip_uuid_prefix(value)).int
    else:
        oid = value[8:] if value.lower().startswith("urn:oid:") else value
        oid = oid.split("^", 1)[0]
        prefix = UUID_OID_ROOT + "."
        if oid.startswith(prefix) and oid[len(prefix):].isdigit() and len(oid) <= 64:
            number = int(oid[len(prefix):])
    if number is None or number >= 1 << 128:
        return None
    if (number >> 76) & 0xF != 8 or (number >> 32) & 0xFFFF != HARNESS_SIGNATURE:
        return None
    return f"{number & 0xFFFFFFFF:08X}"


class RunSpace:
    """The identity space of one replay run (see the module docstring). Thread-safe: the
    cassettes of a run may replay in parallel."""

    def __init__(self, marker: int | None = None, *, clock: Clock = utc_now) -> None:
        self.marker = secrets.randbits(32) if marker is None else marker & 0xFFFFFFFF
        self.label = f"{self.marker:08X}"
        self.ids = IdGenerator(clock=clock, uuid_factory=self._uuid)
        self._lock = threading.Lock()
        self._varied: dict[ValueKind, dict[str, str]] = {kind: {} for kind in SPACE_KINDS}
        self._size = 0
        prefix = ""
        number = self.marker
        for _ in range(5):
            number, digit = divmod(number, 26)
            prefix += _LETTERS[digit]
        self._prefix = prefix
        self._years = 4 * (1 + self.marker % 12)  # keeps leap years (and weekdays, mostly)

    def _uuid(self) -> uuid.UUID:
        bits = secrets.randbits(74)
        value = ((bits >> 26) << 80 | 8 << 76 | ((bits >> 14) & 0xFFF) << 64 | 0b10 << 62
                 | (bits & 0x3FFF) << 48 | HARNESS_SIGNATURE << 32 | self.marker)
        return uuid.UUID(int=value)

    def owns(self, value: str) -> bool:
        """Whether ``value`` is an id this run generated."""
        return marker_of(value) == self.label

    def vary(self, kind: ValueKind, recorded: str, *, creates: bool = False) -> str | None:
        """This run's value for ``recorded`` of ``kind`` (a patient's id, family name, birth
        date): made and learnt when the request ``creates`` the patient, else the one learnt
        before (a query, a later submission), or None when the run did not create it."""
        value = recorded.strip()
        if not value:
            return None
        with self._lock:
            known = self._varied[kind]
            fresh = known.get(value)
            if fresh is not None or not creates:
                return fresh if fresh is not None else self._derived(kind, value)
            fresh = self._make(kind, value)
            if fresh is not None:
                known[value] = fresh
                self._size += 1
            return fresh

    def varied(self, kind: ValueKind) -> dict[str, str]:
        """Every value of ``kind`` the run created so far: recorded -> this run's."""
        with self._lock:
            return dict(self._varied[kind])

    def __len__(self) -> int:
        return self._size

    def _make(self, kind: ValueKind, value: str) -> str | None:
        if kind is ValueKind.PATIENT_ID:
            return _PATIENT_SUFFIX.sub("", value) + f"-R{self.label}"
        if kind is ValueKind.FAMILY_NAME:
            if "*" in value or "%" in value:
                return None
            return f"{self._prefix}-{_NAME_PREFIX.sub('', value)}"
        return self._shift(value)

    def _derived(self, kind: ValueKind, value: str) -> str | None:
        """A query's value that is not a created one but selects one: a wildcard family
        (``Hopp*``) or a shorter birth date (``1906``)."""
        if kind is ValueKind.FAMILY_NAME and value.endswith("*") and not value.startswith("*"):
            stem = value.rstrip("*").lower()
            if stem and any(name.lower().startswith(stem)
                            for name in self._varied[ValueKind.FAMILY_NAME]):
                return f"{self._prefix}-{value}"
        if kind is ValueKind.BIRTH_DATE and len(value) >= 4 and value[:4].isdigit() and any(
                date.startswith(value) for date in self._varied[ValueKind.BIRTH_DATE]):
            return self._shift(value)
        return None

    def _shift(self, value: str) -> str | None:
        """A birth date (HL7 TS, at least the year) moved by whole leap cycles of years."""
        if len(value) < 4 or not value[:4].isdigit():
            return None
        year = int(value[:4])
        shifted = year - self._years if year - self._years >= 1900 else year + self._years
        if value[4:8] == "0229" and not _leap(shifted):
            shifted -= 4
        return f"{shifted:04d}{value[4:]}"


def _leap(year: int) -> bool:
    return year % 4 == 0 and (year % 100 != 0 or year % 400 == 0)


#: HL7 v3 interaction roots (``PRPA_IN201305UV02``) count as one name in a path family: a
#: request and its response are different interactions with the same wrapper.
_INTERACTION = re.compile(r"^[A-Z]{4}_[A-Z]{2}\d{6}(?:[A-Z]{2}\d{2})?$")


def path_family(element: object, attribute: str | None) -> str:
    """Where a value sits, as the comparer and regeneration agree to name it: the local names
    of its element's parent and of the element, then ``@attribute`` (local name) or
    ``text()``; HL7 v3 interaction roots read ``*``. The message id ``PRPA_IN201305UV02/id/@root``
    and the echoed device ``device/id/@root`` are different families."""
    names: list[str] = []
    node = element
    for _ in range(2):
        tag = getattr(node, "tag", None)
        if not isinstance(tag, str):
            break
        local = tag.rpartition("}")[2]
        names.append("*" if _INTERACTION.match(local) else local)
        node = node.getparent()  # type: ignore[attr-defined]
    where = "/".join(reversed(names))
    if attribute is None:
        return f"{where}/text()"
    return f"{where}/@{attribute.rpartition('}')[2]}"


class ValueRoles(dict[str, str]):
    """Recorded -> fresh values with the path families (:func:`path_family`) each was
    replaced in (``roles``); a value without an entry there was replaced wherever it occurred
    (uniqueIds, entryUUIDs, patient ids). What the comparer needs to tell a response that
    still carries a replaced value from one that echoes an equal, unchanged one."""

    def __init__(self, values: Mapping[str, str] = (),  # type: ignore[assignment]
                 roles: Mapping[str, frozenset[str]] | None = None,
                 marker: str | None = None) -> None:
        super().__init__(values)
        self.roles: Mapping[str, frozenset[str]] = roles or {}
        #: The run's marker (:attr:`RunSpace.label`): results of other runs are set aside.
        self.marker = marker


class IdMap:
    """Recorded value -> fresh value, shared by every request of one cassette.

    Not thread-safe: a cassette is replayed in order, one request after the other; give each
    cassette its own map. With a :class:`RunSpace`, fresh ids carry the run's marker, and the
    ids and demographics of patients the run creates are varied the same way in every
    cassette's map (:meth:`sync` takes those other cassettes learnt).
    """

    def __init__(self, ids: IdGenerator | None = None, space: RunSpace | None = None) -> None:
        self.ids = ids or (space.ids if space is not None else DEFAULT_IDS)
        self.space = space
        self._fresh: dict[tuple[bool, str], str] = {}
        self._recorded: dict[str, str] = {}  # recorded -> fresh, kept as ``_fresh`` grows
        self._view = MappingProxyType(self._recorded)
        self._globals = 0
        self._replacer: Replacer | None = None
        self._roles: dict[str, set[str]] = {}
        self._synced = 0

    def fresh(self, recorded: str, kind: ValueKind, *, creates: bool = False,
              role: str | None = None) -> str:
        """The fresh value for ``recorded`` (made on first use, then always the same).

        Values of the identity space (patient ids, family names, birth dates) come from the
        :class:`RunSpace`: varied when the run creates the patient (``creates``: a feed's add)
        or created it before, else ``recorded`` itself (unchanged, nothing remembered).
        ``role`` is the :func:`path_family` of the replaced value (the comparer looks for a
        stale value only there, for kinds not replaced everywhere).
        """
        key = (kind in GLOBAL_KINDS, recorded)
        value = self._fresh.get(key)
        if value is None:
            if kind in SPACE_KINDS:
                varied = self.space.vary(kind, recorded, creates=creates) \
                    if self.space is not None else None
                if varied is None:
                    return recorded
                value = varied
            else:
                value = self._generate(recorded, kind)
            self._remember(key, value)
        if role is not None and not key[0]:
            self._roles.setdefault(recorded, set()).add(role)
        return value

    def learn(self, recorded: str, fresh: str, role: str) -> None:
        """Remember a value the replay changed as a consequence (a document's hash and size
        after its patient id was varied): the comparer maps it back where ``role`` says."""
        if recorded == fresh:
            return
        self._remember((False, recorded), fresh)
        self._roles.setdefault(recorded, set()).add(role)

    def _remember(self, key: tuple[bool, str], value: str) -> None:
        self._fresh[key] = value
        self._recorded[key[1]] = value
        if key[0]:
            self._globals += 1
            if self._replacer is not None:  # grown in place: one value per message, no rebuild
                self._replacer.add(key[1], value)

    def sync(self) -> None:
        """Take the patients other cassettes of the run created (their ids are replaced
        everywhere, their demographics where queried, and the comparer maps them back)."""
        space = self.space
        if space is None or len(space) == self._synced:
            return
        self._synced = len(space)
        for kind in SPACE_KINDS:
            key_global = kind in GLOBAL_KINDS
            for recorded, value in space.varied(kind).items():
                if (key_global, recorded) not in self._fresh:
                    self._remember((key_global, recorded), value)

    def roles(self) -> Mapping[str, frozenset[str]]:
        """Recorded value -> path families it was replaced in (values of kinds replaced only
        at their rule paths; the others were replaced everywhere)."""
        return {value: frozenset(families) for value, families in self._roles.items()
                if value not in self._recorded or (True, value) not in self._fresh}

    def get(self, recorded: str) -> str | None:
        return self._fresh.get((True, recorded)) or self._fresh.get((False, recorded))

    def items(self) -> Mapping[str, str]:
        """Every recorded -> fresh pair (what the comparer needs to accept echoed values): a
        live read-only view, in the order values were first seen, never copied (a replay asks
        on every exchange while the map grows). A value seen under both a global and a local
        kind maps to the fresh value made last."""
        return self._view

    def __len__(self) -> int:
        return len(self._fresh)

    def has_global(self) -> bool:
        """Whether any value may need substituting outside the rule paths."""
        return self._globals > 0

    def remap(self, text: str) -> str:
        """``text`` with every recorded value of a global kind replaced by its fresh value.

        Matches whole tokens only (:mod:`ihe_test_util.ihe.tokens`): ``1.2.3`` is not replaced
        inside ``1.2.34``.
        """
        replacer = self.replacer()
        return text if replacer is None else replacer.sub(text)

    def replacer(self) -> Replacer | None:
        """Replaces any recorded value of a global kind (None when there is none)."""
        if self._globals == 0:
            return None
        if self._replacer is None:
            self._replacer = Replacer(
                {recorded: fresh for (glob, recorded), fresh in self._fresh.items() if glob})
        return self._replacer

    def _generate(self, recorded: str, kind: ValueKind) -> str:
        value = recorded.strip()
        if kind in (ValueKind.MESSAGE_ID, ValueKind.ENTRY_UUID) or (
                kind is not ValueKind.TIMESTAMP and is_uuid(value)):
            return _uuid_like(value, self.ids.uuid())
        if kind is ValueKind.UNIQUE_ID:
            # FHIR spells OIDs as URNs (urn:oid:1.2.3): the prefix stays
            urn = value[:len(OID_URN_PREFIX)]
            urn = urn if urn.lower() == OID_URN_PREFIX else ""
            oid, sep, extension = value[len(urn):].partition("^")
            return urn + self.ids.oid() + (sep + extension if is_oid(oid) else "")
        if kind is ValueKind.HL7V2_ID:
            return hl7v2_id_like(value, self.ids)
        if kind is ValueKind.HL7_ID:
            if value.isdigit():
                return str(int(self.ids.uuid().replace("-", ""), 16))[:max(len(value), 13)]
            return self.ids.oid() if is_oid(value) else self.ids.uuid()
        return self.ids.timestamp_like(value)


#: MSH-10 is an ST of at most 20 characters (v2.5); QPD-2 allows 32: 20 suits both.
HL7V2_ID_LENGTH = 20


def hl7v2_id_like(recorded: str, ids: IdGenerator) -> str:
    """A fresh MSH-10 / QPD-2: the recorded letter prefix (``QRY``, ``MSG``) and fresh digits,
    as long as the recorded value but 12 to :data:`HL7V2_ID_LENGTH` characters."""
    prefix = ""
    for character in recorded:
        if not character.isalpha() or len(prefix) >= 8:
            break
        prefix += character
    length = min(max(len(recorded), 12), HL7V2_ID_LENGTH)
    digits = f"{int(ids.uuid().replace('-', ''), 16):039d}"
    return prefix + digits[-max(length - len(prefix), 8):]


def _uuid_like(recorded: str, fresh: str) -> str:
    """``fresh`` spelled like ``recorded``: same ``urn:uuid:`` / ``uuid:`` prefix and case."""
    lowered = recorded.lower()
    prefix = next((recorded[: len(p)] for p in ("urn:uuid:", "uuid:") if lowered.startswith(p)),
                  "")
    body = recorded[len(prefix):]
    if not is_uuid(body):
        return f"urn:uuid:{fresh}"
    return prefix + (fresh.upper() if body.isupper() else fresh)
