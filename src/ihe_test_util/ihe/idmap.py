"""The recorded -> fresh value map of one cassette's replay.

Replacements are *consistent across a cassette*: one :class:`IdMap` is shared by all requests of
a cassette, so the DocumentEntry uniqueId regenerated in an ITI-41 is the one the later ITI-43
asks for, and every reference to a client-chosen ``urn:uuid:`` id follows its object. The
comparer reads the same map so a response echoing a new value is not a difference; serve uses
it to make up response values in the recorded spelling.
"""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType

from ihe_test_util.ihe.identifiers import DEFAULT_IDS, IdGenerator, is_oid, is_uuid
from ihe_test_util.ihe.specs import GLOBAL_KINDS, ValueKind
from ihe_test_util.ihe.tokens import Replacer


class IdMap:
    """Recorded value -> fresh value, shared by every request of one cassette.

    Not thread-safe: a cassette is replayed in order, one request after the other; give each
    cassette its own map.
    """

    def __init__(self, ids: IdGenerator = DEFAULT_IDS) -> None:
        self.ids = ids
        self._fresh: dict[tuple[bool, str], str] = {}
        self._recorded: dict[str, str] = {}  # recorded -> fresh, kept as ``_fresh`` grows
        self._view = MappingProxyType(self._recorded)
        self._globals = 0
        self._replacer: Replacer | None = None

    def fresh(self, recorded: str, kind: ValueKind) -> str:
        """The fresh value for ``recorded`` (made on first use, then always the same)."""
        key = (kind in GLOBAL_KINDS, recorded)
        value = self._fresh.get(key)
        if value is None:
            value = self._generate(recorded, kind)
            self._fresh[key] = value
            self._recorded[recorded] = value
            if key[0]:
                self._globals += 1
                self._replacer = None
        return value

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
            oid, sep, extension = value.partition("^")
            return self.ids.oid() + (sep + extension if is_oid(oid) else "")
        if kind is ValueKind.PATIENT_ID:
            return f"{value}-R{self.ids.uuid().replace('-', '')[:8].upper()}"
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
