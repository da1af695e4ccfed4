"""A whole replay run: plan (load and validate every cassette first), then replay.

Nothing is sent until every selected cassette has loaded: an invalid cassette is a usage
error (exit 2) with nothing sent. Cassettes replay in parallel (``jobs``); exchanges within
a cassette in order. Results reach ``on_result`` on the calling thread, one at a time, as
they finish, so reporters need no locks and memory stays flat.
"""

from __future__ import annotations

import queue
import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from ihe_test_util.errors import UsageError
from ihe_test_util.model import Cassette
from ihe_test_util.replay.capture_rules import CaptureRule
from ihe_test_util.replay.engine import (
    CassetteReplay,
    Comparer,
    ExchangeSink,
    Regenerator,
    Sender,
)
from ihe_test_util.replay.selection import Shard, cassette_id, run_root
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.results import ExchangeResult, RunSummary

CassetteLoader = Callable[[Path], Cassette]


@dataclass(frozen=True)
class PlannedCassette:
    path: Path
    id: str
    exchanges: int


@dataclass(frozen=True)
class ReplayPlan:
    root: Path
    cassettes: tuple[PlannedCassette, ...]

    @property
    def total(self) -> int:
        return sum(c.exchanges for c in self.cassettes)


def plan_replay(
    paths: Sequence[Path], *, find: Callable[[Sequence[Path]], list[Path]],
    load: CassetteLoader, shard: Shard | None = None,
) -> ReplayPlan:
    """Find, select and validate cassettes. Raises CassetteError/UsageError: nothing sent."""
    files = find(paths)
    if not files:
        raise UsageError(
            "no cassettes found in " + ", ".join(str(p) for p in paths),
            hint="give cassette files or folders holding *.yaml / *.yml cassettes",
        )
    root = run_root(list(paths))
    planned = []
    for path in files:
        ident = cassette_id(path, root)
        if shard is not None and not shard.owns(ident):
            continue
        planned.append(PlannedCassette(path, ident, len(load(path).interactions)))
    return ReplayPlan(root, tuple(planned))


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

    def replay(self, planned: PlannedCassette, sender: Sender | None = None) -> (
        CassetteReplay
    ):
        return CassetteReplay(
            cassette_id=planned.id, cassette=self.load(planned.path), targets=self.targets,
            sender=sender or self.make_sender(), comparer=self.comparer,
            regenerator=self.make_regenerator(), keep=self.keep,
            capture_rules=self.capture_rules,
        )


_DONE = object()


def run_replay(
    plan: ReplayPlan, engine: ReplayEngine, *, jobs: int = 1,
    on_result: Callable[[ExchangeResult], None],
) -> RunSummary:
    summary = RunSummary()
    if jobs <= 1 or len(plan.cassettes) <= 1:
        for planned in plan.cassettes:
            for result in engine.replay(planned).run():
                summary.add(result.outcome)
                on_result(result)
        return summary

    results: queue.Queue[object] = queue.Queue(maxsize=1024)
    local = threading.local()

    def work(planned: PlannedCassette) -> None:
        sender = getattr(local, "sender", None)
        if sender is None:
            sender = local.sender = engine.make_sender()
        for result in engine.replay(planned, sender).run():
            results.put(result)

    def produce() -> None:
        try:
            with ThreadPoolExecutor(max_workers=jobs, thread_name_prefix="replay") as pool:
                for future in [pool.submit(work, planned) for planned in plan.cassettes]:
                    future.result()
        except BaseException as exc:  # re-raised on the consuming thread
            results.put(exc)
        finally:
            results.put(_DONE)

    producer = threading.Thread(target=produce, name="replay-pool", daemon=True)
    producer.start()
    while True:
        item = results.get()
        if item is _DONE:
            break
        if isinstance(item, BaseException):
            raise item
        assert isinstance(item, ExchangeResult)
        summary.add(item.outcome)
        on_result(item)
    producer.join()
    return summary
