"""Which recorded response answers a request that several recorded interactions match.

A cassette often holds the same request more than once with different answers (a query before
and after a submission). Two policies:

* **default** - the recorded responses in cassette order, then the last one again for every
  further identical request (a client that polls keeps getting the final state);
* **strict order** - each recorded interaction answers at most once, and the interactions of
  a cassette in the order they were recorded; anything else is refused with the reason (for
  tests that assert a client sends exactly the recorded conversation).

Cassettes are independent of each other: strict order is per cassette.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ihe_test_util.serve.index import MatchKey, RecordedEntry


@dataclass(frozen=True)
class Choice:
    """The interaction to answer with, or why none may answer."""

    entry: RecordedEntry | None
    refusal: str | None = None


class ResponseOrder:
    """Thread-safe counters over the index; :meth:`reset` starts the conversation again."""

    def __init__(self, entries: Sequence[RecordedEntry], *, strict: bool = False) -> None:
        self.strict = strict
        self._lock = threading.Lock()
        self._served: dict[MatchKey, int] = {}
        self._done: set[int] = set()  # id() of entries served (strict)
        self._by_cassette: dict[Path, list[RecordedEntry]] = {}
        for entry in entries:
            self._by_cassette.setdefault(entry.cassette, []).append(entry)
        self._next: dict[Path, int] = dict.fromkeys(self._by_cassette, 0)

    def choose(self, candidates: Sequence[RecordedEntry]) -> Choice:
        """``candidates`` all match the request (same key), in cassette order; not empty."""
        with self._lock:
            if self.strict:
                return self._strict(candidates)
            key = candidates[0].shape.key
            count = self._served.get(key, 0)
            self._served[key] = count + 1
            return Choice(candidates[min(count, len(candidates) - 1)])

    def _strict(self, candidates: Sequence[RecordedEntry]) -> Choice:
        waiting = [entry for entry in candidates if id(entry) not in self._done]
        if not waiting:
            return Choice(None, f"all {len(candidates)} recorded response(s) to this request "
                                f"were already served (--strict-order serves each once)")
        for entry in waiting:
            if self._expected(entry.cassette) is entry:
                self._done.add(id(entry))
                self._advance(entry.cassette)
                return Choice(entry)
        entry = waiting[0]
        expected = self._expected(entry.cassette)
        return Choice(None, f"out of order: this request matches {entry.label}, but "
                            f"{expected.label if expected else 'nothing more'} is recorded "
                            "before it and has not been requested yet (--strict-order)")

    def _expected(self, cassette: Path) -> RecordedEntry | None:
        entries = self._by_cassette[cassette]
        position = self._next[cassette]
        return entries[position] if position < len(entries) else None

    def _advance(self, cassette: Path) -> None:
        entries = self._by_cassette[cassette]
        position = self._next[cassette]
        while position < len(entries) and id(entries[position]) in self._done:
            position += 1
        self._next[cassette] = position

    def reset(self) -> None:
        with self._lock:
            self._served.clear()
            self._done.clear()
            self._next = dict.fromkeys(self._by_cassette, 0)
