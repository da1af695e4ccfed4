"""The live differential (``ihe replay --reference URL``): every exchange is replayed against the
candidate *and* against a live reference (the old version, still running), and the reference
decides what is noise.

Each side is an ordinary cassette replay (:class:`~ihe_test_util.replay.engine.CassetteReplay`)
with its own regenerator and its own correlated values, so against stateful targets each side
gets its own fresh identities and carries its own server-assigned ids forward. The two run in
lockstep, exchange by exchange. Both are compared with the same recording: a difference of the
candidate that the reference shows too (same location, same kind; for a verdict field also the
same new value) is noise *for that exchange*: it moves from ``differences`` to
``reference_noise`` and the outcome is decided by what is left. A difference only the candidate
shows is a finding.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, replace

from ihe_test_util.replay.engine import CassetteReplay
from ihe_test_util.results import Difference, ExchangeResult, Outcome, Severity


@dataclass
class DifferentialReplay:
    """One cassette replayed against the candidate and the reference in lockstep."""

    candidate: CassetteReplay
    reference: CassetteReplay

    def run(self) -> Iterator[ExchangeResult]:
        for mine, theirs in zip(self.candidate.run(), self.reference.run(), strict=True):
            yield differential_result(mine, theirs)


def differential_result(candidate: ExchangeResult, reference: ExchangeResult) -> ExchangeResult:
    """The candidate's result with what the reference shows too moved to ``reference_noise``.

    A reference that could not answer (``error``, ``skipped``) says nothing: the candidate's
    result stands.
    """
    if not candidate.differences or reference.outcome in (Outcome.ERROR, Outcome.SKIPPED):
        return candidate
    if candidate.outcome in (Outcome.ERROR, Outcome.SKIPPED):
        return candidate
    theirs: dict[tuple[str, str], list[Difference]] = {}
    for difference in reference.differences:
        theirs.setdefault((difference.path, difference.kind.value), []).append(difference)
    kept: list[Difference] = []
    noise: list[Difference] = []
    for difference in candidate.differences:
        same_place = theirs.get((difference.path, difference.kind.value), ())
        if any(_also(difference, other) for other in same_place):
            noise.append(difference)
        else:
            kept.append(difference)
    if not noise:
        return candidate
    if any(d.severity is Severity.REGRESSION for d in kept):
        outcome = Outcome.REGRESSION
    elif kept:
        outcome = Outcome.CHANGED
    else:
        outcome = Outcome.PASS
    return replace(candidate, outcome=outcome, differences=tuple(kept),
                   reference_noise=tuple(noise))


def _also(mine: Difference, theirs: Difference) -> bool:
    """Whether the reference's difference explains the candidate's: any value at a payload
    location (it varies anyway), the very same new value for a verdict field."""
    if mine.severity is Severity.REGRESSION or theirs.severity is Severity.REGRESSION:
        return mine.severity is theirs.severity and mine.replayed == theirs.replayed
    return True
