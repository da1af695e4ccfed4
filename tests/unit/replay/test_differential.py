"""The live differential (``--reference``): what the reference shows too is noise for that
exchange; each side has its own sender, regenerated identities and correlated ids."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path

from ihe_test_util.ihe.idmap import RunSpace
from ihe_test_util.model import Cassette, Request
from ihe_test_util.replay.differential import differential_result
from ihe_test_util.replay.runner import PlannedCassette, ReplayEngine, ReplayPlan, run_replay
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.results import (
    Difference,
    DifferenceKind,
    ExchangeError,
    ExchangeResult,
    Outcome,
    Severity,
)

from .test_engine_seams import ASSIGNED, FakeComparer, FakeSender, chained_cassette, server

CHANGED = Severity.CHANGED
REGRESSION = Severity.REGRESSION


def diff(path: str, replayed: str, severity: Severity = CHANGED,
         kind: DifferenceKind = DifferenceKind.VALUE) -> Difference:
    return Difference(path, kind, severity, recorded="old", replayed=replayed)


def result(outcome: Outcome, *differences: Difference) -> ExchangeResult:
    return ExchangeResult(id="c.yaml#0", cassette="c.yaml", index=0, outcome=outcome,
                          differences=differences)


def test_a_difference_the_reference_shows_too_is_noise_and_the_rest_decides() -> None:
    stamp = diff("/Envelope/Header/ServerTime", "2")
    drift = diff("/A/B/@x", "new")
    merged = differential_result(
        result(Outcome.CHANGED, stamp, drift),
        result(Outcome.CHANGED, diff("/Envelope/Header/ServerTime", "3")))
    assert merged.outcome is Outcome.CHANGED
    assert merged.differences == (drift,)
    assert merged.reference_noise == (stamp,)
    alone = differential_result(result(Outcome.CHANGED, stamp),
                                result(Outcome.CHANGED, diff("/Envelope/Header/ServerTime", "9")))
    assert alone.outcome is Outcome.PASS and alone.reference_noise == (stamp,)
    data = alone.to_dict()
    assert data["differences"] == [] and data["reference_noise"][0]["path"] == stamp.path
    assert ExchangeResult.from_dict(data) == alone


def test_a_verdict_field_is_noise_only_when_the_reference_has_the_same_new_value() -> None:
    failure = diff("/Envelope/Body/AdhocQueryResponse/@status", "Failure", REGRESSION,
                   DifferenceKind.STATUS)
    same = differential_result(result(Outcome.REGRESSION, failure),
                               result(Outcome.REGRESSION, failure))
    assert same.outcome is Outcome.PASS and same.reference_noise == (failure,)
    other = diff(failure.path, "PartialSuccess", REGRESSION, DifferenceKind.STATUS)
    kept = differential_result(result(Outcome.REGRESSION, failure),
                               result(Outcome.REGRESSION, other))
    assert kept.outcome is Outcome.REGRESSION and kept.differences == (failure,)
    assert kept.reference_noise == ()


def test_a_reference_that_could_not_answer_says_nothing() -> None:
    stamp = diff("/x", "2")
    failed = ExchangeResult(id="c.yaml#0", cassette="c.yaml", index=0, outcome=Outcome.ERROR,
                            error=ExchangeError("EndpointUnreachable", "refused"))
    candidate = result(Outcome.CHANGED, stamp)
    assert differential_result(candidate, failed) == candidate
    kinds = differential_result(result(Outcome.CHANGED, stamp),
                                result(Outcome.CHANGED, diff("/x", "3", kind=DifferenceKind.ADDED)))
    assert kinds.outcome is Outcome.CHANGED and kinds.reference_noise == ()


@dataclass
class CountingRegenerator:
    """Gives every request a fresh marker (its own per side), like regeneration does."""

    prefix: str
    sent: list[str] = field(default_factory=list)
    value_map: Mapping[str, str] = field(default_factory=dict)
    value_roles: Mapping[str, frozenset[str]] = field(default_factory=dict)
    space: RunSpace | None = None

    def regenerate(self, request: Request, transaction: str | None, **_: object) -> Request:
        self.sent.append(f"{self.prefix}-{len(self.sent)}")
        return request.evolve(headers=request.headers.with_value("X-Id", self.sent[-1]))


def test_each_side_has_its_own_identities_and_carries_its_own_server_ids() -> None:
    """Stateful targets: the candidate and the reference each assign their own id, and each
    side's dependent request carries the id its own server assigned."""
    candidate_id = "urn:uuid:11111111-2222-4333-8444-555555555555"
    reference_id = "urn:uuid:99999999-8888-4777-8666-555555555555"
    candidate = FakeSender(server(f"<ack><assigned>{candidate_id}</assigned></ack>".encode()))
    reference = FakeSender(server(f"<ack><assigned>{reference_id}</assigned></ack>".encode()))
    senders = iter([candidate, reference, reference])
    regenerators = iter([CountingRegenerator("a"), CountingRegenerator("b")])
    cassette: Cassette = chained_cassette()
    engine = ReplayEngine(
        load=lambda path: cassette, make_sender=lambda: next(senders),
        comparer=FakeComparer(), make_regenerator=lambda: next(regenerators),
        targets=TargetMap.parse(["http://candidate.example"]),
        reference=TargetMap.parse(["http://reference.example"]),
    )
    plan = ReplayPlan(Path("."), (PlannedCassette(Path("chain.yaml"), "chain.yaml", 3),))
    results: list[ExchangeResult] = []
    run_replay(plan, engine, on_result=results.append)
    assert [r.outcome for r in results] == [Outcome.CHANGED, Outcome.PASS, Outcome.PASS]
    assert [r.uri for r in candidate.sent] == [f"http://candidate.example:80/{p}" for p in
                                              ("register", "query", "ping")]
    assert [r.uri for r in reference.sent] == [f"http://reference.example:80/{p}" for p in
                                              ("register", "query", "ping")]
    assert candidate.sent[1].body == f"<query><ref>{candidate_id}</ref></query>".encode()
    assert reference.sent[1].body == f"<query><ref>{reference_id}</ref></query>".encode()
    assert ASSIGNED not in (candidate.sent[1].body + reference.sent[1].body).decode()
    ids = {r.headers.get("X-Id") for r in candidate.sent + reference.sent}
    assert len(ids) == 6  # no identity shared between the sides
