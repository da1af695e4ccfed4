"""Identifier tokens: what one is, where one occurs, and replacing mapped ones whole.

Every place that carries a value from one message into another (regeneration, correlation,
serve's renames, the comparer's value map) must agree on when ``X`` "occurs" in a text, or a
value is replaced in one place and not recognised in the next. The one rule:

* A **token** is a maximal run of token characters: ASCII letters and digits, ``_``, ``.``,
  ``-``, and any non-ASCII character (a value glued to a letter of any script is part of a
  longer word, and identifiers are ASCII). Every other character (ASCII punctuation, spaces,
  controls) separates tokens: ``:`` so that the OID in ``urn:oid:1.2.3`` and the UUID in
  ``urn:uuid:...`` are tokens of their own, ``^`` and ``&`` so that the id and the OID of an
  HL7 CX ``123^^^&1.2.3&ISO`` are, ``/`` so that the id in ``Patient/123`` is, quotes and
  commas so that the values of an ITI-18 list literal ``('a','b')`` are.
* A value **occurs whole** in a text where it is not part of a longer token: no token character
  directly before it (when it starts with one) nor directly after it (when it ends with one).
  A value may span several tokens (``urn:uuid:x``, a whole CX); ``1.2.3`` never occurs in
  ``1.2.34``, ``1.2.3.4`` or ``0.1.2.3``.
* :class:`Replacer` replaces mapped values where they occur whole, the longest first, in one
  pass (a replacement is never replaced again).

Whether a value is worth carrying at all (long enough, shaped like an identifier) is the
caller's policy; :func:`is_identifier` is the shape correlation uses.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from functools import cached_property, lru_cache

#: One token character. An ASCII class (plus everything beyond ASCII) rather than ``\w``: it
#: is scanned about twice as fast, and tokens are found in every body of a replay.
TOKEN_CHARACTER = r"[A-Za-z0-9_.\-\u0080-\U0010ffff]"
_TOKEN = re.compile(TOKEN_CHARACTER + "+")
#: A value shaped like an identifier (OID, UUID, URN, CX id, path, base64 key): no spaces,
#: starts with a letter or digit.
_IDENTIFIER = re.compile(r"[A-Za-z0-9][A-Za-z0-9:._\-@/+=]*")


_ASCII_TOKEN_CHARACTERS = frozenset(
    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-")


def is_token_character(character: str) -> bool:
    """Whether ``character`` (one) continues a token (:data:`TOKEN_CHARACTER`)."""
    return character in _ASCII_TOKEN_CHARACTERS or character >= "\x80"


def tokens(text: str) -> list[str]:
    """The tokens of ``text``, in order (``urn:oid:1.2.3`` -> ``urn``, ``oid``, ``1.2.3``)."""
    return _TOKEN.findall(text)


def is_identifier(value: str) -> bool:
    """Whether ``value`` is shaped like an identifier (no spaces, starts alphanumeric)."""
    return bool(_IDENTIFIER.fullmatch(value))


def _bounded(value: str) -> tuple[bool, bool]:
    """Whether an occurrence of ``value`` needs a boundary before it / after it."""
    return is_token_character(value[0]), is_token_character(value[-1])


def occurs(value: str, text: str) -> bool:
    """Whether ``value`` occurs whole in ``text`` (not inside a longer token)."""
    return next(positions(value, text), None) is not None


def positions(value: str, text: str) -> Iterator[int]:
    """Where ``value`` occurs whole in ``text`` (start offsets, left to right, may overlap)."""
    if not value:
        return
    before, after = _bounded(value)
    size = len(value)
    start = text.find(value)
    while start >= 0:
        end = start + size
        if not (before and start > 0 and is_token_character(text[start - 1])) and not (
                after and end < len(text) and is_token_character(text[end])):
            yield start
        start = text.find(value, start + 1)


def pattern(values: Iterable[str]) -> re.Pattern[str] | None:
    """One expression matching any of ``values`` where it occurs whole, the longest first
    (``group(0)`` is the value); None for no values."""
    keys = sorted({value for value in values if value}, key=len, reverse=True)
    if not keys:
        return None
    if all(_bounded(key) == (True, True) for key in keys):  # the common case, factored
        return re.compile(rf"(?<!{TOKEN_CHARACTER})(?:"
                          + "|".join(map(re.escape, keys)) + rf")(?!{TOKEN_CHARACTER})")
    alternatives = []
    for key in keys:
        before, after = _bounded(key)
        alternatives.append((rf"(?<!{TOKEN_CHARACTER})" if before else "") + re.escape(key)
                            + (rf"(?!{TOKEN_CHARACTER})" if after else ""))
    return re.compile("|".join(alternatives))


@lru_cache(maxsize=256)
def _pattern_of(keys: frozenset[str]) -> re.Pattern[str] | None:
    return pattern(keys)


#: Up to this many keys, a text is first ruled out by plain substring scans (C speed, no
#: regular expression), the common case: most texts mention no mapped value.
_SCAN_LIMIT = 16


class Replacer:
    """Replaces the keys of ``mapping`` where they occur whole, in one pass.

    The expression is compiled on first use: compiling an alternation of many values is the
    costly step, and most texts are first ruled out by :meth:`search` or never looked at.
    """

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self.mapping = {key: value for key, value in mapping.items() if key}
        self._keys = tuple(self.mapping) if len(self.mapping) <= _SCAN_LIMIT else None
        self._index: tuple[set[str], list[tuple[str, str]]] | None = None

    def add(self, key: str, value: str) -> None:
        """Map one more key (a map that grows by a value per message is not rebuilt)."""
        if not key:
            return
        known = key in self.mapping
        self.mapping[key] = value
        self.__dict__.pop("pattern", None)
        if known:
            return
        self._keys = tuple(self.mapping) if len(self.mapping) <= _SCAN_LIMIT else None
        if self._index is not None:
            self._indexed(key, *self._index)

    @staticmethod
    def _indexed(key: str, single: set[str], multi: list[tuple[str, str]]) -> None:
        anchor = anchor_of(key)
        if anchor == key:
            single.add(key)
        else:
            multi.append((key, anchor))

    def _mentioned(self, text: str) -> set[str]:
        """The keys that occur whole in ``text``: a key of one token by set intersection with
        the text's tokens, a longer one searched for only when its longest token is there
        (as :func:`mentioned`, but with the keys indexed once, not looked at per text)."""
        if self._index is None:
            self._index = (set(), [])
            for key in self.mapping:
                self._indexed(key, *self._index)
        single, multi = self._index
        found = set(_TOKEN.findall(text))
        present = found & single
        for key, anchor in multi:
            if (not anchor or anchor in found) and occurs(key, text):
                present.add(key)
        return present

    @cached_property
    def pattern(self) -> re.Pattern[str] | None:
        return pattern(self.mapping)

    def __bool__(self) -> bool:
        return bool(self.mapping)

    def _pattern_for(self, text: str) -> re.Pattern[str] | None:
        """The expression to run over ``text``. A few keys: ruled out by substring scans,
        else the one compiled expression. Many keys (a run's patients, thousands of them):
        only the keys ``text`` mentions (:func:`mentioned`, linear), whose small expression is
        cached, so a map that grows by one value per message is never compiled whole per
        message (the result is the same: a key that does not occur whole never matches)."""
        keys = self._keys
        if keys is not None:
            return self.pattern if any(key in text for key in keys) else None
        present = self._mentioned(text)
        if not present:
            return None
        if len(present) == len(self.mapping):
            return self.pattern
        return _pattern_of(frozenset(present))

    def search(self, text: str) -> bool:
        """Whether any key occurs whole in ``text``."""
        compiled = self._pattern_for(text)
        return compiled is not None and compiled.search(text) is not None

    def count(self, text: str) -> int:
        """How many whole occurrences of keys ``text`` has (as :meth:`sub` would replace)."""
        compiled = self._pattern_for(text)
        return 0 if compiled is None else sum(1 for _ in compiled.finditer(text))

    def sub(self, text: str, counted: Callable[[], None] | None = None) -> str:
        """``text`` with every whole occurrence of a key replaced by its value; ``counted``
        is called once per replacement."""
        compiled = self._pattern_for(text)
        if compiled is None:
            return text
        mapping = self.mapping
        if counted is None:
            return compiled.sub(lambda match: mapping[match.group(0)], text)

        def swap(match: re.Match[str]) -> str:
            counted()
            return mapping[match.group(0)]

        return compiled.sub(swap, text)


def mentioned(keys: Iterable[str], texts: Iterable[str]) -> set[str]:
    """The ``keys`` that occur whole in any of ``texts``.

    Linear in the texts' size plus the number of keys: the texts' tokens are collected once; a
    key that is one token occurs exactly when it is among them, and a longer key is searched
    for only when its longest token is among them.
    """
    texts = list(texts)
    found_tokens: set[str] = set()
    for text in texts:
        found_tokens.update(_TOKEN.findall(text))
    result = set()
    anchors = _ANCHORS
    for key in keys:
        if key in found_tokens:
            result.add(key)
            continue
        anchor = anchors.get(key)
        if anchor is None:
            anchor = anchor_of(key)
        if anchor != key and (not anchor or anchor in found_tokens) and any(
                occurs(key, text) for text in texts):
            result.add(key)
    return result


#: Longest token of recently seen keys (a cassette's keys recur on every exchange). Small: every
#: server-assigned value correlation looks at passes through here once, and a long run must not
#: keep them all (10,000 exchanges held ~5 MiB at the former 65,536).
_ANCHORS: dict[str, str] = {}
_ANCHORS_KEPT = 4096


def anchor_of(value: str) -> str:
    """The longest token of ``value`` ("" when it has none): a text can hold ``value`` whole
    only if it has this token."""
    found = _ANCHORS.get(value)
    if found is None:
        if len(_ANCHORS) >= _ANCHORS_KEPT:
            _ANCHORS.clear()
        parts = _TOKEN.findall(value)
        found = _ANCHORS[value] = max(parts, key=len) if parts else ""
    return found
