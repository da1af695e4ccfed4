"""Planning loads every cassette (nothing is sent before all are valid); the run reuses what
the plan loaded, within a bound, instead of reading each cassette a second time."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

from ihe_test_util.model import Cassette, Interaction, Request, Response
from ihe_test_util.replay.runner import ReplayEngine, plan_replay, run_replay
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.results import ExchangeResult, Outcome
from tests.unit.replay.test_runner_stop import SameRequest
from tests.unit.replay.test_runner_stop import _pass as passes

BODY = b"x" * 100  # each exchange: 100 request + 100 response body bytes
FILES = [Path(f"c{n}.yaml") for n in range(4)]


class Echo:
    def send(self, request: Request) -> tuple[Response, float]:
        return Response(200, "OK", body=BODY), 1.0


def _run(keep_bytes: int, jobs: int) -> tuple[Counter[Path], list[ExchangeResult]]:
    loads: Counter[Path] = Counter()

    def load(path: Path) -> Cassette:
        loads[path] += 1
        return Cassette(tuple(
            Interaction(Request("POST", "http://127.0.0.1:1/x", body=BODY),
                        Response(200, "OK", body=BODY)) for _ in range(2)))

    plan = plan_replay(FILES, find=lambda paths: list(paths), load=load, keep_bytes=keep_bytes)
    engine = ReplayEngine(load=load, make_sender=Echo, comparer=passes,
                          make_regenerator=SameRequest, targets=TargetMap.parse([]))
    results: list[ExchangeResult] = []
    run_replay(plan, engine, jobs=jobs, on_result=results.append)
    return loads, results


def test_every_cassette_is_loaded_once_when_the_plan_keeps_them_all() -> None:
    for jobs in (1, 2):
        loads, results = _run(keep_bytes=10_000, jobs=jobs)
        assert loads == Counter(FILES)
        assert len(results) == 8 and all(r.outcome is Outcome.PASS for r in results)


def test_the_plan_keeps_cassettes_only_within_its_budget() -> None:
    # 400 body bytes per cassette: a 1,000-byte budget keeps the first two
    loads, results = _run(keep_bytes=1_000, jobs=1)
    assert [loads[path] for path in FILES] == [1, 1, 2, 2]
    assert len(results) == 8


def test_a_plan_hands_each_kept_cassette_out_once() -> None:
    plan = plan_replay(FILES[:1], find=lambda paths: list(paths),
                       load=lambda path: Cassette(()))
    first = plan.take(plan.cassettes[0])
    assert first == Cassette(())
    assert plan.take(plan.cassettes[0]) is None
