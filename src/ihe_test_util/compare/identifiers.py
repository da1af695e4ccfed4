"""Identifiers compared up to consistent renaming, and values the replay regenerated.

Registry-assigned entryUUIDs differ on every run, so their *values* are noise; what must hold is
that the renaming is one-to-one across the whole response: if two references pointed at the
same object in the recording, they point at the same object in the replay. :class:`Renaming`
keeps that bijection and reports the first pair that breaks it.

:class:`ValueMap` holds values the replay itself regenerated (uniqueIds, patient ids, message
ids: recorded -> replayed); a replayed value equal to the recorded one under the map, even
where the recorded value is one token of a longer string (``1.2.3^^^&...``), is not a
difference. Tokens are :mod:`ihe_test_util.ihe.tokens`' (whole tokens only: a map for ``1.2.3``
says nothing about ``1.2.34``).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from functools import cached_property

from lxml import etree

from ihe_test_util.ihe.fhirrefs import reference_identity
from ihe_test_util.ihe.idmap import ValueRoles
from ihe_test_util.ihe.tokens import Replacer, mentioned

#: What an identifier value stands for, given the element that carries it (FHIR:
#: ``http://host/Patient/11/_history/2`` -> ``Patient/11``); None: not an identifier, compare
#: the value literally.
Identity = Callable[[etree._Element, str], "str | None"]

#: Map entries shorter than this are only matched as a whole value, never as a token inside a
#: longer string (a short value such as ``345`` also appears there by chance).
_MIN_SUBSTRING = 6


class Renaming:
    """A one-to-one map recorded identifier -> replayed identifier, built as pairs are seen."""

    def __init__(self, pins: Mapping[str, str] | None = None,
                 identity: Identity | None = None) -> None:
        # With an identity function the pairs are identities (FHIR ``Type/id``): pins,
        # spelled as the replay regenerated them, are consulted through :meth:`_pinned`.
        self.forward: dict[str, str] = dict(pins or {}) if identity is None else {}
        self.backward: dict[str, str] = {new: old for old, new in self.forward.items()}
        self.identity = identity
        self.pins: Mapping[str, str] = pins or {}

    def key(self, element: etree._Element, value: str) -> str | None:
        """What ``value`` (carried by ``element``) identifies: itself unless an identity
        function says otherwise (None: not an identifier at all)."""
        return value if self.identity is None else self.identity(element, value)

    def pair(self, recorded: str, replayed: str) -> str | None:
        """Record ``recorded <-> replayed``; returns why it is inconsistent, or None."""
        if self.identity is not None and recorded not in self.forward:
            pinned = self._pinned(recorded)
            if pinned is not None and pinned != replayed:
                return (f"the replay carried {recorded} forward as {pinned}, but the response "
                        f"names {replayed}")
        known = self.forward.get(recorded)
        if known is not None:
            if known == replayed:
                return None
            return (f"{recorded} corresponds to {known} elsewhere in the response, "
                    f"but to {replayed} here")
        other = self.backward.get(replayed)
        if other is not None and other != recorded:
            return (f"{replayed} already stands for {other} elsewhere in the response, "
                    f"but for {recorded} here")
        self.forward[recorded] = replayed
        self.backward[replayed] = recorded
        return None

    def mapped(self, recorded: str) -> str | None:
        return self.forward.get(recorded)

    def _pinned(self, identity: str) -> str | None:
        """What the replay made of ``Type/id`` (pinned whole, or by its id alone)."""
        whole = self.pins.get(identity)
        if whole is not None:
            return self.identity_of_pin(identity, whole)
        kind, _, bare = identity.rpartition("/")
        # A bare id names a resource of any type: only one long enough to be unique (a UUID,
        # not the "1" of a server counting per type) says which resource this is.
        value = self.pins.get(bare) if kind and len(bare) >= _MIN_SUBSTRING else None
        return f"{kind}/{value}" if value is not None else None

    @staticmethod
    def identity_of_pin(identity: str, value: str) -> str:
        if "/" in value:
            return reference_identity(value) or value
        kind, _, _ = identity.rpartition("/")
        return f"{kind}/{value}" if kind else value


_ESCAPED = frozenset('&<>"')

#: Up to this many mapped values, ``mentioned_in`` scans for each instead of compiling a regex.
_SCAN_LIMIT = 16


class ValueMap:
    """Recorded -> replayed values the replay regenerated."""

    def __init__(self, mapping: Mapping[str, str] | None = None,
                 roles: Mapping[str, frozenset[str]] | None = None) -> None:
        self.mapping = {old: new for old, new in (mapping or {}).items() if old and old != new}
        #: Where a value replaced only at its rule paths was replaced (path families,
        #: :func:`ihe_test_util.ihe.idmap.path_family`); absent: replaced wherever it occurred.
        self.roles: Mapping[str, frozenset[str]] = (
            roles if roles is not None
            else mapping.roles if isinstance(mapping, ValueRoles) else {})

    @cached_property
    def _tokens(self) -> Replacer:
        """Its expression is compiled on first use: most comparisons never need to translate
        inside a string, and compiling an alternation of every mapped value was the costliest
        step of a replay."""
        return Replacer({key: value for key, value in self.mapping.items()
                         if len(key) >= _MIN_SUBSTRING})

    @cached_property
    def _latin1_keys(self) -> tuple[str, ...]:
        return tuple(key.decode("latin-1") for key in self._encoded_keys)

    def __bool__(self) -> bool:
        return bool(self.mapping)

    def translate(self, recorded: str) -> str:
        """``recorded`` as the replay would spell it."""
        exact = self.mapping.get(recorded)
        if exact is not None:
            return exact
        return self._tokens.sub(recorded)

    def equivalent(self, recorded: str, replayed: str) -> bool:
        return bool(self.mapping) and self.translate(recorded) == replayed

    def stale(self, value: str, where: Callable[[], str] | None = None) -> str | None:
        """What ``value`` was regenerated as, if the replayed response should not contain it
        at ``where`` (its path family, asked only when needed): a value replaced only at
        certain paths (an HL7 message id) is stale only in the same family, never where an
        equal value was sent unchanged (the sender device's OID that the message id root
        happened to equal, echoed as the response's receiver)."""
        fresh = self.mapping.get(value)
        if fresh is None or where is None:
            return fresh
        families = self.roles.get(value)
        if families is not None and where() not in families:
            return None
        return fresh

    def mentioned_in(self, data: bytes) -> bool:
        """Whether serialised XML may contain a recorded value of the map.

        A prefilter (an identical subtree that does not mention any is not walked for stale
        values): substring tests for a few values, whole-token lookups for many; both find
        every whole-token occurrence (what the walk looks for)."""
        if len(self.mapping) <= _SCAN_LIMIT:  # a few substring scans beat compiling a regex
            return any(map(data.__contains__, self._encoded_keys))
        # many values (a run's patients): whole-token lookups, linear, nothing compiled
        return bool(mentioned(self._latin1_keys, (data.decode("latin-1"),)))

    @cached_property
    def _encoded_keys(self) -> tuple[bytes, ...]:
        """Every key as ``etree.tostring`` may write it: in text or attribute values, with
        ``&``, ``<``, ``>`` (and ``"``) escaped and non-ASCII as character references (a CX
        key ``1^^^&1.2&ISO`` is ``1^^^&amp;1.2&amp;ISO`` there)."""
        forms: dict[bytes, None] = {}
        for key in self.mapping:
            if key.isascii() and not _ESCAPED.intersection(key):
                forms[key.encode()] = None
                continue
            text = key.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
            for form in (key, text, text.replace('"', "&quot;")):
                forms[form.encode()] = None
                forms[form.encode("ascii", "xmlcharrefreplace")] = None
        return tuple(forms)
