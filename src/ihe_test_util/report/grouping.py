"""Group what repeats: one finding per (transaction, location), however many exchanges show it.

After an upgrade the same change usually appears in hundreds of exchanges (a new slot in every
DocumentEntry, a status in every ITI-45 answer). People need "this, in 312 exchanges, e.g. X",
not 312 copies. A location is the difference's path with its variable parts -- positional
indices such as ``ExtrinsicObject[2]`` and MIME part references -- taken out of the key; in the
displayed location a part stays as recorded when every occurrence agrees, and becomes ``*``
where occurrences differ.

Everything here is bounded by the number of distinct findings, never by the number of exchanges.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass, field

from ihe_test_util.report.labels import TABLE_ORDER, attention_rank, transaction_label
from ihe_test_util.results import Difference, ExchangeResult, Outcome, Severity

#: Variable parts of a difference path: a positional predicate, or a MIME part reference.
_VARIABLE = re.compile(r"\[(\d+)\]|^part:(.+)$")
_SEVERITY_RANK = {Severity.CHANGED: 0, Severity.REGRESSION: 1}


def split_location(path: str) -> tuple[str, tuple[str, ...]]:
    """``/A/B[2]/C[1]/@x`` -> (``/A/B[]/C[]/@x``, (``2``, ``1``)): the key and its variables."""
    values: list[str] = []

    def blank(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            values.append(match.group(1))
            return "[]"
        values.append(match.group(2))
        return "part:"

    return _VARIABLE.sub(blank, path), tuple(values)


def join_location(template: str, values: tuple[str | None, ...]) -> str:
    """Inverse of :func:`split_location`; ``None`` (a part that varies) shows as ``*``."""
    parts = iter(values)

    def fill(match: re.Match[str]) -> str:
        value = next(parts, None)
        shown = "*" if value is None else value
        return f"[{shown}]" if match.group() == "[]" else f"part:{shown}"

    return re.sub(r"\[\]|^part:$", fill, template)


@dataclass(frozen=True)
class DifferenceGroup:
    """One finding of a run: differences grouped by transaction and location; how bad, how
    widespread."""

    transaction: str | None
    location: str
    severity: Severity
    kinds: tuple[str, ...]
    rules: tuple[str, ...]
    exchanges: int
    occurrences: int
    example_ids: tuple[str, ...]
    example: Difference
    #: The location in the rule language (the differences' ``path``), where ``location`` is
    #: shown in the body's own syntax (``Bundle.entry[*].resource.gender``); None: the same.
    rule_location: str | None = None

    @property
    def transaction_label(self) -> str:
        return transaction_label(self.transaction)

    @property
    def pattern(self) -> str:
        """The location without list positions (``ExtrinsicObject[*]`` -> ``ExtrinsicObject``):
        a ``[[rules]]`` pattern for every place of the group (``ihe review``'s *ignore*)."""
        return re.sub(r"\[(?:\d+|\*)\]", "", self.rule_location or self.location)


@dataclass(frozen=True)
class ErrorGroup:
    """Exchanges that ended in ``error`` or ``skipped`` for the same reason type."""

    outcome: Outcome
    transaction: str | None
    error_type: str
    exchanges: int
    example_id: str
    example_message: str

    @property
    def transaction_label(self) -> str:
        return transaction_label(self.transaction)


@dataclass
class _FindingTally:
    template: str
    values: list[str | None]
    severity: Severity
    example_id: str
    example: Difference
    kinds: set[str] = field(default_factory=set)
    rules: set[str] = field(default_factory=set)
    exchanges: int = 0
    occurrences: int = 0
    example_ids: list[str] = field(default_factory=list)
    #: The shown location (``Difference.location``) split like ``template`` / ``values``;
    #: None where the differences have none, or their shown templates disagree.
    shown: tuple[str, list[str | None]] | None = None
    shown_agrees: bool = True

    def merge_values(self, values: tuple[str, ...]) -> None:
        # Same template, so the same number of variable parts.
        self.values = [mine if mine == theirs else None for mine, theirs in
                       zip(self.values, values, strict=True)]

    def merge_shown(self, location: str | None) -> None:
        if location is None or not self.shown_agrees:
            self.shown_agrees = self.shown_agrees and location is None and self.shown is None
            return
        template, values = split_location(location)
        if self.shown is None:
            if self.occurrences:  # earlier differences had no shown location
                self.shown_agrees = False
                return
            self.shown = (template, list(values))
        elif self.shown[0] != template:
            self.shown_agrees = False
        else:
            self.shown = (template, [mine if mine == theirs else None for mine, theirs in
                                     zip(self.shown[1], values, strict=True)])

    def shown_location(self) -> str | None:
        if self.shown is None or not self.shown_agrees:
            return None
        return join_location(self.shown[0], tuple(self.shown[1]))


@dataclass
class _ErrorTally:
    example_id: str
    example_message: str
    exchanges: int = 0


class FindingGrouper:
    """Consumes exchange results; yields findings most severe and most widespread first."""

    def __init__(self, max_examples: int | None = 3) -> None:
        """``max_examples``: exchange ids kept per finding (None: all of them)."""
        self._max_examples = max_examples
        self._tallies: dict[tuple[str | None, str], _FindingTally] = {}
        self._errors: dict[tuple[Outcome, str | None, str], _ErrorTally] = {}

    def add(self, result: ExchangeResult) -> None:
        seen: set[tuple[str | None, str]] = set()
        for difference in result.differences:
            template, values = split_location(difference.path)
            key = (result.transaction, template)
            tally = self._tallies.get(key)
            if tally is None:
                tally = self._tallies[key] = _FindingTally(
                    template=template, values=list(values), severity=difference.severity,
                    example_id=result.id, example=difference,
                )
            else:
                tally.merge_values(values)
                if _SEVERITY_RANK[difference.severity] > _SEVERITY_RANK[tally.severity]:
                    tally.severity = difference.severity
                    tally.example, tally.example_id = difference, result.id
            tally.merge_shown(difference.location)
            tally.occurrences += 1
            tally.kinds.add(difference.kind.value)
            if difference.rule:
                tally.rules.add(difference.rule)
            if key not in seen:
                seen.add(key)
                tally.exchanges += 1
                if self._max_examples is None or len(tally.example_ids) < self._max_examples:
                    tally.example_ids.append(result.id)
        if result.outcome in (Outcome.ERROR, Outcome.SKIPPED):
            error_type = result.error.type if result.error else ""
            group_key = (result.outcome, result.transaction, error_type)
            group = self._errors.get(group_key)
            if group is None:
                message = result.error.message if result.error else ""
                group = self._errors[group_key] = _ErrorTally(result.id, message)
            group.exchanges += 1

    def findings(self) -> list[DifferenceGroup]:
        found = [
            DifferenceGroup(
                transaction=transaction,
                location=tally.shown_location() or join_location(tally.template,
                                                                 tuple(tally.values)),
                rule_location=join_location(tally.template, tuple(tally.values))
                if tally.shown_location() else None,
                severity=tally.severity,
                kinds=tuple(sorted(tally.kinds)),
                rules=tuple(sorted(tally.rules)),
                exchanges=tally.exchanges,
                occurrences=tally.occurrences,
                example_ids=tuple(tally.example_ids),
                example=tally.example,
            )
            for (transaction, _), tally in self._tallies.items()
        ]
        found.sort(key=lambda f: (-_SEVERITY_RANK[f.severity], -f.exchanges,
                                  f.transaction_label, f.location))
        return found

    def error_groups(self) -> list[ErrorGroup]:
        groups = [
            ErrorGroup(outcome=outcome, transaction=transaction, error_type=error_type,
                       exchanges=tally.exchanges, example_id=tally.example_id,
                       example_message=tally.example_message)
            for (outcome, transaction, error_type), tally in self._errors.items()
        ]
        groups.sort(key=lambda g: (attention_rank(g.outcome), -g.exchanges,
                                   g.transaction_label, g.error_type))
        return groups


class OutcomeMatrix:
    """Counts of exchanges per transaction and outcome: the summary table of every format."""

    def __init__(self) -> None:
        self._counts: dict[str | None, dict[Outcome, int]] = {}

    def add(self, result: ExchangeResult) -> None:
        row = self._counts.setdefault(result.transaction, dict.fromkeys(Outcome, 0))
        row[result.outcome] += 1

    def rows(self) -> Iterator[tuple[str, dict[Outcome, int]]]:
        """(transaction label, counts) sorted by label, unrecognised transactions last."""
        for transaction in sorted(self._counts, key=lambda t: (t is None, t or "")):
            yield transaction_label(transaction), self._counts[transaction]

    def transactions(self) -> list[str]:
        return [label for label, _ in self.rows()]

    def totals(self) -> dict[Outcome, int]:
        return {o: sum(row[o] for row in self._counts.values()) for o in TABLE_ORDER}
