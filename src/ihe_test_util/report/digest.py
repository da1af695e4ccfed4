"""What the human-readable formats show, gathered from the stream in bounded memory."""

from __future__ import annotations

from ihe_test_util.report.attention import AttentionList
from ihe_test_util.report.grouping import FindingGrouper, OutcomeMatrix
from ihe_test_util.results import ExchangeResult


class RunDigest:
    """Outcome matrix, grouped findings and the exchanges needing attention, all in one pass."""

    def __init__(self, *, attention_limit: int = 50, max_examples: int = 3) -> None:
        self.matrix = OutcomeMatrix()
        self.findings = FindingGrouper(max_examples)
        self.attention = AttentionList(attention_limit)

    def add(self, result: ExchangeResult) -> None:
        self.matrix.add(result)
        self.findings.add(result)
        self.attention.add(result)
