"""What the engine produces and every reporter consumes: outcomes, differences, exchange results.

These are values, not exceptions (a regression is a finding, not a failure of the tool). The
``to_dict`` methods produce exactly the shapes of ``run-report.schema.json`` version 1.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

REPORT_SCHEMA_ID = "ihe-test-utility/run-report@1"

#: The exit code of a run stopped by Ctrl-C or SIGTERM (the shell convention for SIGINT; one
#: code for both, as they stop a command the same way). Outside the contract's 0-3.
EXIT_INTERRUPTED = 130

#: ``error.type`` of an exchange an interrupted run did not replay (its outcome: ``skipped``).
NOT_RUN = "NotRun"


class Outcome(str, enum.Enum):
    """One per replayed exchange. ``rank`` orders them for ``--fail-on``."""

    PASS = "pass"
    SKIPPED = "skipped"
    CHANGED = "changed"
    REGRESSION = "regression"
    ERROR = "error"

    @property
    def rank(self) -> int:
        return _RANK[self]

    def __str__(self) -> str:
        return self.value


_RANK = {
    Outcome.PASS: 0,
    Outcome.SKIPPED: 0,
    Outcome.CHANGED: 1,
    Outcome.REGRESSION: 2,
    Outcome.ERROR: 3,
}


class Severity(str, enum.Enum):
    CHANGED = "changed"
    REGRESSION = "regression"

    def __str__(self) -> str:
        return self.value


class DifferenceKind(str, enum.Enum):
    VALUE = "value"
    ATTRIBUTE = "attribute"
    ADDED = "added"
    REMOVED = "removed"
    MOVED = "moved"
    RENAMED = "renamed"
    STATUS = "status"
    PART = "part"
    OTHER = "other"

    def __str__(self) -> str:
        return self.value


class FailOn(str, enum.Enum):
    """The lowest outcome that fails a run (``--fail-on``)."""

    REGRESSION = "regression"
    CHANGED = "changed"
    NEVER = "never"

    def fails(self, outcome: Outcome) -> bool:
        if self is FailOn.NEVER:
            return False
        if self is FailOn.REGRESSION:
            return outcome is Outcome.REGRESSION
        return outcome in (Outcome.CHANGED, Outcome.REGRESSION)


@dataclass(frozen=True)
class Difference:
    """One real difference between a recorded and a replayed response.

    ``path`` locates it in the *recorded* response (namespace-free local names, 1-based
    positions), or ``http:status`` / ``part:<ref>`` outside the XML: a valid ``[[rules]]``
    pattern, for JSON and HL7 v2 bodies too (on their element view). ``location`` is where
    people look for it in a body that is not XML on the wire (``Bundle.entry[2].resource.
    gender``, ``PID-5``), None otherwise; :attr:`shown_path` is what reports show.
    ``description`` is the same finding in IHE terms for people ("DocumentEntry 1.2.3 slot
    creationTime: a -> b").
    """

    path: str
    kind: DifferenceKind
    severity: Severity
    recorded: str | None = None
    replayed: str | None = None
    rule: str | None = None
    description: str | None = None
    location: str | None = None

    @property
    def shown_path(self) -> str:
        """The location as reports show it: native (JSON / HL7 v2) where there is one."""
        return self.location or self.path

    def to_dict(self) -> dict[str, Any]:
        return {
            "path": self.path,
            "kind": self.kind.value,
            "recorded": self.recorded,
            "replayed": self.replayed,
            "severity": self.severity.value,
            "rule": self.rule,
            # Not in schema v1's required shape; extra members are allowed, and people
            # reading a report (or a re-rendered one) want the finding in IHE terms.
            "description": self.description,
            **({"location": self.location} if self.location is not None else {}),
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Difference:
        """Read back an item of ``differences`` (the inverse of :meth:`to_dict`)."""
        return cls(
            path=data["path"],
            kind=DifferenceKind(data["kind"]),
            severity=Severity(data["severity"]),
            recorded=data.get("recorded"),
            replayed=data.get("replayed"),
            rule=data.get("rule"),
            description=data.get("description"),
            location=data.get("location"),
        )


@dataclass(frozen=True)
class Comparison:
    """What the comparer returns for one pair of responses."""

    outcome: Outcome
    transaction: str | None
    verdict_recorded: Mapping[str, Any] | None
    verdict_replayed: Mapping[str, Any] | None
    differences: tuple[Difference, ...] = ()
    noise_suppressed: int = 0
    rules_applied: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # caveats for people: abbreviated input, unknown transaction


@dataclass(frozen=True)
class ExchangeError:
    type: str
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"type": self.type, "message": self.message}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExchangeError:
        return cls(type=data.get("type", ""), message=data.get("message", ""))


@dataclass(frozen=True)
class ExchangeResult:
    """One replayed (or skipped / failed) exchange: an item of ``exchanges`` in the report."""

    id: str
    cassette: str
    index: int
    outcome: Outcome
    transaction: str | None = None
    name: str | None = None
    method: str | None = None
    recorded_uri: str | None = None
    replayed_uri: str | None = None
    verdict_recorded: Mapping[str, Any] | None = None
    verdict_replayed: Mapping[str, Any] | None = None
    differences: tuple[Difference, ...] = ()
    noise_suppressed: int = 0
    duration_recorded_ms: float | None = None
    duration_replayed_ms: float | None = None
    error: ExchangeError | None = None
    #: ``ihe replay --reference``: the candidate's differences the live reference showed too
    #: (against the same recording), so noise for this exchange: not in ``differences``.
    reference_noise: tuple[Difference, ...] = ()
    #: Words for people about this exchange: what the comparison did not count (objects of
    #: earlier replays), why it may have failed (state the target is missing), caveats.
    notes: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = self._to_dict()
        if self.reference_noise:  # an optional member (schema v1 allows extra members)
            data["reference_noise"] = [d.to_dict() for d in self.reference_noise]
        if self.notes:  # optional too
            data["notes"] = list(self.notes)
        return data

    def _to_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "cassette": self.cassette,
            "index": self.index,
            "name": self.name,
            "transaction": self.transaction,
            "request": {
                "method": self.method or "",
                "recorded_uri": self.recorded_uri or "",
                "replayed_uri": self.replayed_uri,
            },
            "outcome": self.outcome.value,
            "verdict": {
                "recorded": dict(self.verdict_recorded) if self.verdict_recorded is not None
                else None,
                "replayed": dict(self.verdict_replayed) if self.verdict_replayed is not None
                else None,
            },
            "differences": [d.to_dict() for d in self.differences],
            "noise_suppressed": self.noise_suppressed,
            "duration_ms": {
                "recorded": self.duration_recorded_ms,
                "replayed": self.duration_replayed_ms,
            },
            "error": self.error.to_dict() if self.error else None,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ExchangeResult:
        """Read back an item of ``exchanges`` from a JSON run report (inverse of ``to_dict``).

        Absent optional members read as their defaults, so reports written by other tools
        that keep to the schema's required members load too.
        """
        request = data.get("request") or {}
        verdict = data.get("verdict") or {}
        duration = data.get("duration_ms") or {}
        error = data.get("error")
        return cls(
            id=data["id"],
            cassette=data["cassette"],
            index=data["index"],
            outcome=Outcome(data["outcome"]),
            transaction=data.get("transaction"),
            name=data.get("name"),
            method=request.get("method") or None,
            recorded_uri=request.get("recorded_uri") or None,
            replayed_uri=request.get("replayed_uri"),
            verdict_recorded=verdict.get("recorded"),
            verdict_replayed=verdict.get("replayed"),
            differences=tuple(Difference.from_dict(d) for d in data["differences"]),
            noise_suppressed=data.get("noise_suppressed", 0),
            duration_recorded_ms=duration.get("recorded"),
            duration_replayed_ms=duration.get("replayed"),
            error=ExchangeError.from_dict(error) if error is not None else None,
            reference_noise=tuple(Difference.from_dict(d)
                                  for d in data.get("reference_noise") or ()),
            notes=tuple(str(note) for note in data.get("notes") or ()),
        )


@dataclass
class RunSummary:
    """Counts per outcome; ``exit_code`` implements the CLI contract's exit-code table.

    ``interrupted``: the run was stopped (Ctrl-C, SIGTERM) before every exchange was replayed;
    those it did not replay are counted ``skipped`` (error type :data:`NOT_RUN`) and the exit
    code is :data:`EXIT_INTERRUPTED` whatever the outcomes. (Not part of equality: it is the
    report's top-level ``interrupted``, not a count.)
    """

    counts: dict[Outcome, int] = field(default_factory=lambda: dict.fromkeys(Outcome, 0))
    interrupted: bool = field(default=False, compare=False)

    @classmethod
    def of(cls, outcomes: Iterable[Outcome]) -> RunSummary:
        summary = cls()
        for outcome in outcomes:
            summary.add(outcome)
        return summary

    def add(self, outcome: Outcome) -> None:
        self.counts[outcome] += 1

    @property
    def total(self) -> int:
        return sum(self.counts.values())

    def exit_code(self, fail_on: FailOn) -> int:
        if self.interrupted:
            return EXIT_INTERRUPTED
        if any(fail_on.fails(o) and n for o, n in self.counts.items()):
            return 1
        if self.counts[Outcome.ERROR]:
            return 3
        return 0

    def to_dict(self) -> dict[str, int]:
        return {"total": self.total, **{o.value: self.counts[o] for o in Outcome}}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunSummary:
        """Read back a report's ``summary`` (``total`` is derived, so it is not read)."""
        return cls(counts={o: int(data.get(o.value, 0)) for o in Outcome})


@dataclass(frozen=True)
class RunInfo:
    """What a run is, known before the first exchange: the header of every report."""

    tool_version: str
    started_at: str
    fail_on: FailOn = FailOn.CHANGED
    targets: Mapping[str, str] = field(default_factory=dict)
    root: str = "."

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunInfo:
        """Read the header of a JSON run report (``root`` is not recorded there)."""
        return cls(
            tool_version=data["tool_version"],
            started_at=data["started_at"],
            fail_on=FailOn(data.get("fail_on", FailOn.CHANGED.value)),
            targets=dict(data.get("targets") or {}),
        )
