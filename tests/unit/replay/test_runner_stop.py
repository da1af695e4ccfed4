"""An interrupted ``--jobs`` run stops its workers: no exchange is started after the stop."""

from __future__ import annotations

import threading
from collections.abc import Mapping
from pathlib import Path

import pytest

from ihe_test_util.ihe.idmap import RunSpace
from ihe_test_util.model import Cassette, Headers, Interaction, Request, Response
from ihe_test_util.replay.runner import PlannedCassette, ReplayEngine, ReplayPlan, run_replay
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.results import Comparison, ExchangeResult, Outcome

JOBS = 2
CASSETTES = 4
EXCHANGES = 3


class GatedSender:
    """Each worker's first send goes through; later ones wait until the run was stopped."""

    def __init__(self, stopped: threading.Event, sent: list[str]) -> None:
        self.stopped = stopped
        self.sent = sent
        self.first = True

    def send(self, request: Request) -> tuple[Response, float]:
        if not self.first:
            assert self.stopped.wait(timeout=60)
        self.first = False
        self.sent.append(request.body.decode())
        return Response(200, "OK", Headers([("Content-Type", "text/plain")]), b"same"), 1.0


class SameRequest:
    def regenerate(self, request: Request, transaction: str | None, **_: object) -> Request:
        return request

    @property
    def value_map(self) -> Mapping[str, str]:
        return {}

    @property
    def value_roles(self) -> Mapping[str, frozenset[str]]:
        return {}

    @property
    def space(self) -> RunSpace | None:
        return None


def _pass(recorded: Response, replayed: Response, **_: object) -> Comparison:
    return Comparison(Outcome.PASS, None, None, None)


def _cassette() -> Cassette:
    return Cassette(tuple(
        Interaction(Request("POST", "http://127.0.0.1:1/x", body=f"q{n}".encode()),
                    Response(200, "OK", body=b"same")) for n in range(EXCHANGES)))


def test_a_consumer_interrupt_stops_every_worker_after_its_exchange_in_flight() -> None:
    stopped = threading.Event()
    sent: list[str] = []
    engine = ReplayEngine(load=lambda path: _cassette(),
                          make_sender=lambda: GatedSender(stopped, sent), comparer=_pass,
                          make_regenerator=SameRequest, targets=TargetMap.parse([]))
    plan = ReplayPlan(Path("."), tuple(PlannedCassette(Path(f"c{n}.yaml"), f"c{n}.yaml",
                                                       EXCHANGES) for n in range(CASSETTES)))
    seen: list[ExchangeResult] = []

    def interrupted(result: ExchangeResult) -> None:
        seen.append(result)
        if not stopped.is_set():  # Ctrl-C arrives while the first result is reported
            stopped.set()
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run_replay(plan, engine, jobs=JOBS, on_result=interrupted)
    for worker in [t for t in threading.enumerate() if t.name.startswith("replay")]:
        worker.join(timeout=60)
    # the first result, plus those already finished and queued when the stop came (each
    # worker's first exchange): every exchange done is reported, none twice
    assert 1 <= len(seen) <= JOBS
    assert len({r.id for r in seen}) == len(seen)
    # each worker: its first exchange, plus at most the one it had started when the run stopped
    assert len(sent) <= 2 * JOBS < CASSETTES * EXCHANGES
