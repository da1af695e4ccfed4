"""Identifiers a client chose differently from the recording, learned while serving.

A client that submits a document (ITI-41) makes up fresh uniqueIds (and perhaps its own
``urn:uuid:`` entryUUIDs); later it asks for the document by *its* uniqueId (ITI-43) and expects
to see *its* ids in query results (ITI-18). When a submission matches a recorded one, the
values at the uniqueId / entryUUID rule locations are paired (client's -> recorded) and from
then on requests are matched with the recorded values put back, and responses are served with
the client's values put in: the stub behaves like a registry that stored what it was sent.

The same substitution, with every value mapped to a blank, removes client-chosen ids and all
references to them from a request before it is hashed. Values are replaced where they occur
whole (:mod:`ihe_test_util.ihe.tokens`): ``1.2.3`` is not found inside ``1.2.34``.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping, Sequence

from lxml import etree

from ihe_test_util.ihe.namespaces import WSSE, XDSB, qname
from ihe_test_util.ihe.tokens import Replacer

_SKIPPED_TEXT = {qname(XDSB, "Document")}  # document bytes (inline base64) are never edited
_SKIPPED_TREES = {qname(WSSE, "Security")}


class _Substitution:
    """One direction of a mapping, compiled once."""

    def __init__(self, mapping: Mapping[str, str]) -> None:
        self.replacer = Replacer(mapping)
        _ = self.replacer.pattern  # compiled now, under the caller's lock, not per thread

    def apply(self, root: etree._Element) -> int:
        """Substitute in every text and attribute value under ``root``; returns how many
        values changed."""
        if not self.replacer:
            return 0
        search, sub, changed = self.replacer.search, self.replacer.sub, 0
        stack = [root]
        while stack:
            element = stack.pop()
            if element.tag in _SKIPPED_TREES:
                continue
            text = element.text
            if text and element.tag not in _SKIPPED_TEXT and search(text):
                element.text = sub(text)
                changed += 1
            for name, value in element.attrib.items():
                if search(str(value)):
                    element.set(name, sub(str(value)))
                    changed += 1
            stack.extend(child for child in element if isinstance(child.tag, str))
        return changed


class Renames:
    """Client value -> recorded value, and back. Thread-safe; learning only ever adds."""

    def __init__(self, pairs: Mapping[str, str] | None = None) -> None:
        self._lock = threading.Lock()
        self._to_recorded: dict[str, str] = dict(pairs or {})
        self._forward: _Substitution | None = None
        self._backward: _Substitution | None = None

    @classmethod
    def blanking(cls, values: Iterable[str], blank: str) -> Renames:
        """Every value in ``values`` (and only whole tokens) becomes ``blank``."""
        return cls(dict.fromkeys(values, blank))

    def learn(self, client: Sequence[str], recorded: Sequence[str]) -> int:
        """Pair values found at the same rule locations; returns how many pairs are new.

        Nothing is learned when the counts differ: the pairing would be a guess.
        """
        if len(client) != len(recorded):
            return 0
        fresh = {c: r for c, r in zip(client, recorded, strict=True) if c != r
                 and self._to_recorded.get(c) != r}
        if not fresh:
            return 0
        with self._lock:
            self._to_recorded.update(fresh)
            self._forward = self._backward = None
        return len(fresh)

    def to_recorded(self, root: etree._Element) -> int:
        """Put the recorded values where the client wrote its own (before matching)."""
        return self._substitution(backward=False).apply(root)

    def to_recorded_text(self, text: str) -> str:
        """``text`` (a query string) with the client's values put back to the recorded ones."""
        replacer = self._substitution(backward=False).replacer
        return replacer.sub(text) if replacer and replacer.search(text) else text

    def client_text(self, text: str) -> str:
        """``text`` with the recorded values replaced by the client's (non-XML responses)."""
        replacer = self._substitution(backward=True).replacer
        return replacer.sub(text) if replacer and replacer.search(text) else text

    def to_client(self, root: etree._Element) -> int:
        """Put the client's values where the recording has its own (in responses)."""
        return self._substitution(backward=True).apply(root)

    def _substitution(self, *, backward: bool) -> _Substitution:
        with self._lock:
            if backward:
                if self._backward is None:
                    self._backward = _Substitution(
                        {recorded: client for client, recorded in self._to_recorded.items()})
                return self._backward
            if self._forward is None:
                self._forward = _Substitution(self._to_recorded)
            return self._forward

    def items(self) -> dict[str, str]:
        with self._lock:
            return dict(self._to_recorded)

    def clear(self) -> None:
        with self._lock:
            self._to_recorded.clear()
            self._forward = self._backward = None

    def __len__(self) -> int:
        return len(self._to_recorded)
