"""A whole replay run: plan (load and validate every cassette first), then replay.

Nothing is sent until every selected cassette has loaded: an invalid cassette is a usage
error (exit 2) with nothing sent. The plan keeps what it loaded, up to a fixed budget
(:data:`KEEP_BYTES`), so those cassettes are not read again; the rest are read again when
their turn comes, which keeps memory flat however large the run. Cassettes replay in parallel
(``jobs``); exchanges within a cassette in order. Results reach ``on_result`` on the calling
thread, one at a time, as they finish, so reporters need no locks.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Container, Iterator, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ihe_test_util.errors import UsageError
from ihe_test_util.model import Cassette
from ihe_test_util.replay.capture_rules import CaptureRule
from ihe_test_util.replay.differential import DifferentialReplay
from ihe_test_util.replay.engine import (
    CassetteReplay,
    Comparer,
    ExchangeSink,
    Regenerator,
    Sender,
    base_result,
)
from ihe_test_util.replay.selection import Shard, cassette_id, exchange_id, run_root
from ihe_test_util.replay.state_hints import StateIndex
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.results import NOT_RUN, ExchangeError, ExchangeResult, Outcome, RunSummary

CassetteLoader = Callable[[Path], Cassette]

#: How many body bytes of loaded cassettes a plan keeps for the run (loading is the costly
#: part of planning; a bound, so that a run of any size holds at most this much at once: a
#: thousand 4 KB exchanges).
KEEP_BYTES = 4 * 2**20


@dataclass(frozen=True)
class PlannedCassette:
    path: Path
    id: str
    exchanges: int
    #: Each exchange's result before replaying (id, transaction, step, method, URI; no
    #: bodies): what a report lists for an exchange an interrupted run did not get to.
    outline: tuple[ExchangeResult, ...] = field(default=(), compare=False, repr=False)


@dataclass(frozen=True)
class ReplayPlan:
    root: Path
    cassettes: tuple[PlannedCassette, ...]
    #: Cassettes loaded while planning, kept for the run (each is handed out once).
    loaded: dict[Path, Cassette] = field(default_factory=dict, compare=False, repr=False)

    @property
    def total(self) -> int:
        return sum(c.exchanges for c in self.cassettes)

    def take(self, planned: PlannedCassette) -> Cassette | None:
        """The cassette the plan loaded (None if it was not kept), released from the plan."""
        return self.loaded.pop(planned.path, None)


def plan_replay(
    paths: Sequence[Path], *, find: Callable[[Sequence[Path]], list[Path]],
    load: CassetteLoader, shard: Shard | None = None, keep_bytes: int = KEEP_BYTES,
) -> ReplayPlan:
    """Find, select and validate cassettes. Raises CassetteError/UsageError: nothing sent.

    Loaded cassettes are kept in the plan, in order, while their bodies fit ``keep_bytes``.
    """
    files = find(paths)
    if not files:
        raise UsageError(
            "no cassettes found in " + ", ".join(str(p) for p in paths),
            hint="give cassette files or folders holding *.yaml / *.yml cassettes",
        )
    root = run_root(list(paths))
    planned = []
    loaded: dict[Path, Cassette] = {}
    budget = keep_bytes
    for path in files:
        ident = cassette_id(path, root)
        if shard is not None and not shard.owns(ident):
            continue
        cassette = load(path)
        outline = tuple(base_result(ident, index, interaction)
                        for index, interaction in enumerate(cassette.interactions))
        planned.append(PlannedCassette(path, ident, len(cassette.interactions), outline))
        size = _body_bytes(cassette)
        if size <= budget:
            loaded[path] = cassette
            budget -= size
    return ReplayPlan(root, tuple(planned), loaded)


def not_run(plan: ReplayPlan, done: Container[str], reason: str) -> Iterator[ExchangeResult]:
    """The planned exchanges whose id is not in ``done``, as ``skipped`` results of error type
    :data:`~ihe_test_util.results.NOT_RUN` with ``reason``: what an interrupted run reports
    for the exchanges it did not replay (in plan order)."""
    for planned in plan.cassettes:
        for index in range(planned.exchanges):
            ident = exchange_id(planned.id, index)
            if ident in done:
                continue
            base = (planned.outline[index] if index < len(planned.outline) else
                    ExchangeResult(id=ident, cassette=planned.id, index=index,
                                   outcome=Outcome.SKIPPED))
            yield replace(base, outcome=Outcome.SKIPPED, error=ExchangeError(NOT_RUN, reason))


def _body_bytes(cassette: Cassette) -> int:
    return sum(len(i.request.body) + len(i.response.body) for i in cassette.interactions)


@dataclass
class ReplayEngine:
    """Everything a run needs, injected: real HTTP, comparer and regenerator in the CLI."""

    load: CassetteLoader
    make_sender: Callable[[], Sender]
    comparer: Comparer
    make_regenerator: Callable[[], Regenerator]
    targets: TargetMap
    keep: ExchangeSink | None = None
    capture_rules: tuple[CaptureRule, ...] = ()
    #: ``--reference``: also replay against this live old version (replay/differential.py).
    reference: TargetMap | None = None
    #: Called as each run starts (a new identity space per run: session.production_engine).
    start_run: Callable[[], None] | None = None

    def replay(self, planned: PlannedCassette, sender: Sender | None = None,
               cassette: Cassette | None = None, *, state_index: StateIndex | None = None,
               position: int | None = None) -> CassetteReplay | DifferentialReplay:
        """The replay of ``planned``: ``cassette`` if the plan kept it, else loaded now.
        ``state_index`` knows what the run's cassettes create (hints on missing state);
        ``position`` is the cassette's place in the run."""
        if cassette is None:
            cassette = self.load(planned.path)
        candidate = CassetteReplay(
            cassette_id=planned.id, cassette=cassette, targets=self.targets,
            sender=sender or self.make_sender(), comparer=self.comparer,
            regenerator=self.make_regenerator(), keep=self.keep,
            capture_rules=self.capture_rules, state_index=state_index, position=position,
        )
        if self.reference is None:
            return candidate
        # The reference side: its own sender, regenerator and correlated ids; nothing kept.
        return DifferentialReplay(candidate, CassetteReplay(
            cassette_id=planned.id, cassette=cassette, targets=self.reference,
            sender=self.make_sender(), comparer=self.comparer,
            regenerator=self.make_regenerator(), capture_rules=self.capture_rules,
        ))


_WORKER_DONE = object()


def run_replay(
    plan: ReplayPlan, engine: ReplayEngine, *, jobs: int = 1,
    on_result: Callable[[ExchangeResult], None],
) -> RunSummary:
    """Replay every planned cassette; results reach ``on_result`` on this thread.

    If this thread is interrupted (KeyboardInterrupt: Ctrl-C or SIGTERM) or ``on_result``
    raises, the exception propagates at once: workers start no further exchange, and, being
    daemon threads, an exchange still waiting for its answer does not keep the process alive.
    On an interrupt, results already finished and waiting for this thread still reach
    ``on_result`` first (until it raises): an interrupted run reports every exchange that was
    done.
    A bug in one worker (an exception from the engine) ends only that worker's cassette: the
    other cassettes are still replayed and reported, then the first such exception is raised
    (the CLI turns it into exit 70, "internal error").
    """
    summary = RunSummary()
    if engine.start_run is not None:
        engine.start_run()
    state = StateIndex([(c.id, c.path) for c in plan.cassettes], engine.load)
    positions = {c.path: n for n, c in enumerate(plan.cassettes)}
    if jobs <= 1 or len(plan.cassettes) <= 1:
        for planned in plan.cassettes:
            for result in engine.replay(planned, cassette=plan.take(planned), state_index=state,
                                        position=positions[planned.path]).run():
                summary.add(result.outcome)
                on_result(result)
        return summary

    results: queue.Queue[object] = queue.Queue(maxsize=1024)
    todo: queue.SimpleQueue[PlannedCassette] = queue.SimpleQueue()
    for planned in plan.cassettes:
        todo.put(planned)
    stopping = threading.Event()

    def work() -> None:
        try:
            sender = engine.make_sender()
            while not stopping.is_set():
                try:
                    planned = todo.get_nowait()
                except queue.Empty:
                    return
                for result in engine.replay(planned, sender, plan.take(planned),
                                            state_index=state,
                                            position=positions[planned.path]).run():
                    if stopping.is_set():
                        return
                    results.put(result)
        except BaseException as exc:  # re-raised on the consuming thread
            results.put(exc)
        finally:
            results.put(_WORKER_DONE)

    workers = [threading.Thread(target=work, name=f"replay-{n}", daemon=True)
               for n in range(min(jobs, len(plan.cassettes)))]
    for worker in workers:
        worker.start()
    running = len(workers)
    failure: BaseException | None = None
    try:
        while running:
            item = results.get()
            if item is _WORKER_DONE:
                running -= 1
            elif isinstance(item, BaseException):
                failure = failure or item
            else:
                assert isinstance(item, ExchangeResult)
                summary.add(item.outcome)
                on_result(item)
    except BaseException as exc:
        stopping.set()
        finished = _drain(results)  # unblocks workers waiting to put, so they see ``stopping``
        if isinstance(exc, KeyboardInterrupt):
            _deliver(finished, on_result)
        raise
    if failure is not None:
        raise failure
    return summary


def _deliver(items: list[object], on_result: Callable[[ExchangeResult], None]) -> None:
    """Hand the results finished before an interrupt to ``on_result``; the first exception
    it raises ends the delivery (the interrupt being handled is what propagates)."""
    try:
        for item in items:
            if isinstance(item, ExchangeResult):
                on_result(item)
    except BaseException:  # the consumer is failing: the interrupt stands
        return


def _drain(results: queue.Queue[object]) -> list[object]:
    drained: list[object] = []
    while True:
        try:
            drained.append(results.get_nowait())
        except queue.Empty:
            return drained
