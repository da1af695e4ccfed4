"""Identifiers compared up to consistent renaming, and values the replay regenerated.

Registry-assigned entryUUIDs differ on every run, so their *values* are noise; what must hold is
that the renaming is one-to-one across the whole response: if two references pointed at the
same object in the recording, they point at the same object in the replay. :class:`Renaming`
keeps that bijection and reports the first pair that breaks it.

:class:`ValueMap` holds values the replay itself regenerated (uniqueIds, patient ids, message
ids: recorded -> replayed); a replayed value equal to the recorded one under the map, even
inside a longer string (``1.2.3^^^&...``), is not a difference.
"""

from __future__ import annotations

import re
from collections.abc import Mapping

#: Map entries shorter than this are not substituted inside longer strings (too ambiguous).
_MIN_SUBSTRING = 6


class Renaming:
    """A one-to-one map recorded identifier -> replayed identifier, built as pairs are seen."""

    def __init__(self, pins: Mapping[str, str] | None = None) -> None:
        self.forward: dict[str, str] = dict(pins or {})
        self.backward: dict[str, str] = {new: old for old, new in self.forward.items()}

    def pair(self, recorded: str, replayed: str) -> str | None:
        """Record ``recorded <-> replayed``; returns why it is inconsistent, or None."""
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


class ValueMap:
    """Recorded -> replayed values the replay regenerated."""

    def __init__(self, mapping: Mapping[str, str] | None = None) -> None:
        self.mapping = {old: new for old, new in (mapping or {}).items() if old and old != new}
        inner = sorted((key for key in self.mapping if len(key) >= _MIN_SUBSTRING),
                       key=len, reverse=True)
        self._text = re.compile("|".join(map(re.escape, inner))) if inner else None
        self._bytes = (re.compile(b"|".join(re.escape(key.encode()) for key in self.mapping))
                       if self.mapping else None)

    def __bool__(self) -> bool:
        return bool(self.mapping)

    def translate(self, recorded: str) -> str:
        """``recorded`` as the replay would spell it."""
        exact = self.mapping.get(recorded)
        if exact is not None:
            return exact
        if self._text is None:
            return recorded
        return self._text.sub(lambda match: self.mapping[match.group(0)], recorded)

    def equivalent(self, recorded: str, replayed: str) -> bool:
        return bool(self.mapping) and self.translate(recorded) == replayed

    def stale(self, value: str) -> str | None:
        """What ``value`` was regenerated as, if the replayed response should not contain it."""
        return self.mapping.get(value)

    def mentioned_in(self, data: bytes) -> bool:
        """Whether serialised XML contains any recorded value of the map."""
        return self._bytes is not None and self._bytes.search(data) is not None
