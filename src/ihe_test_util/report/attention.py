"""The few exchanges a reader should look at first, kept in bounded memory.

Markdown and the terminal list "what needs attention" (regressions, then errors, then changes),
but a run may have 50,000 changed exchanges: only the first ``limit`` by (outcome, cassette,
index) are kept, each as a one-line digest, never the whole result.
"""

from __future__ import annotations

from dataclasses import dataclass

from ihe_test_util.report.labels import attention_rank, difference_line, one_line
from ihe_test_util.results import ExchangeResult, Outcome


@dataclass(frozen=True, order=True)
class AttentionItem:
    rank: int
    cassette: str
    index: int
    id: str
    outcome: Outcome
    transaction: str | None
    name: str | None
    detail: str


def attention_detail(result: ExchangeResult, limit: int = 80) -> str:
    """What went wrong in one line: the first difference, or the error / skip reason."""
    if result.differences:
        more = len(result.differences) - 1
        line = difference_line(result.differences[0], limit)
        return f"{line} (+{more} more)" if more else line
    if result.error is not None:
        return one_line(f"{result.error.type}: {result.error.message}", limit * 2)
    return ""


class AttentionList:
    """Keeps the ``limit`` most important non-pass exchanges; counts all of them."""

    def __init__(self, limit: int = 50) -> None:
        self.limit = limit
        self.total = 0
        self._items: list[AttentionItem] = []

    def add(self, result: ExchangeResult) -> None:
        if result.outcome is Outcome.PASS:
            return
        self.total += 1
        if not self.limit:
            return
        self._items.append(AttentionItem(
            attention_rank(result.outcome), result.cassette, result.index, result.id,
            result.outcome, result.transaction, result.name, attention_detail(result),
        ))
        if len(self._items) >= 2 * self.limit:
            self._items.sort()
            del self._items[self.limit:]

    def items(self) -> list[AttentionItem]:
        self._items.sort()
        del self._items[self.limit:]
        return list(self._items)
