"""Keeping replayed exchanges, and approving them as the new baseline (``ihe approve``).

A run report carries findings, not bodies. When ``--report-json run.json`` is given, replay
also keeps every exchange it obtained a response for in ``run.exchanges/`` beside the
report: one single-interaction cassette per exchange (``<cassette id>/<index>.yaml``),
redacted like any cassette, plus ``manifest.json`` naming the run's root folder.

``ihe approve run.json`` reads the report, picks exchanges, and rewrites their cassettes
atomically. Exchanges of a cassette chain (an entryUUID assigned in one response is sent in a
later request), so a cassette is re-baselined as a whole: the approved exchanges *and* the
ones that passed take their replayed request and response (a pass differs only by noise),
keeping every chained value consistent; exchanges neither approved nor passed keep their
recording.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ihe_test_util.cassette import Redactor, load_cassette, save_cassette
from ihe_test_util.cassette.store import now_utc
from ihe_test_util.errors import CassetteError, UsageError
from ihe_test_util.model import Cassette, Interaction, InteractionMeta, Request, Response
from ihe_test_util.results import ExchangeResult, Outcome

MANIFEST = "manifest.json"
APPROVABLE = frozenset({Outcome.CHANGED, Outcome.REGRESSION})
KEPT_OUTCOMES = frozenset({Outcome.PASS, Outcome.CHANGED, Outcome.REGRESSION})


def store_dir_for(report: Path) -> Path:
    return report.with_name(report.stem + ".exchanges")


@dataclass
class ReplayedExchangeStore:
    """Receives replayed exchanges from worker threads (the engine's ``keep`` sink)."""

    directory: Path
    root: Path
    redactor: Redactor = field(default_factory=Redactor)

    @classmethod
    def beside(cls, report: Path, root: Path | None = None,
               redactor: Redactor | None = None) -> ReplayedExchangeStore:
        return cls(store_dir_for(report), root or Path.cwd(), redactor or Redactor())

    def start(self, root: Path) -> None:
        self.root = root
        if (self.directory / MANIFEST).is_file():  # only ever remove a folder we wrote
            shutil.rmtree(self.directory)
        self.directory.mkdir(parents=True, exist_ok=True)
        manifest = {"root": str(root.resolve()), "saved_at": now_utc()}
        (self.directory / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")

    def keep(self, result: ExchangeResult, request: Request, response: Response) -> None:
        if result.outcome not in KEPT_OUTCOMES:
            return
        meta = InteractionMeta(
            transaction=result.transaction, step=result.name,
            duration_ms=result.duration_replayed_ms, recorded_at=now_utc(),
        )
        # save_cassette creates the folder and writes atomically: safe from worker threads.
        save_cassette(kept_exchange_path(self.directory, result.cassette, result.index),
                      Cassette((Interaction(request, response, meta),)), redactor=self.redactor)


def kept_exchange_path(store: Path, cassette_id: str, index: int) -> Path:
    """Where the replayed exchange ``cassette_id#index`` is kept."""
    return store.joinpath(*cassette_id.split("/"), f"{index}.yaml")


@dataclass(frozen=True)
class Approval:
    exchange_id: str
    cassette: Path
    index: int
    outcome: Outcome


def plan_approvals(
    results: Iterable[ExchangeResult], store: Path, *, only: Sequence[str] = (),
    allow_regressions: bool = False,
) -> list[Approval]:
    """Which exchanges to approve; refuses regressions unless explicitly allowed."""
    manifest_path = store / MANIFEST
    try:
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        root = Path(manifest["root"])
    except (OSError, ValueError, KeyError, TypeError):
        raise UsageError(
            f"{manifest_path}: replayed exchanges not found",
            hint="approve needs the folder that `ihe replay --report-json` writes beside "
                 "the report",
        ) from None
    wanted = set(only)
    approvals: list[Approval] = []
    passed: dict[str, list[Approval]] = {}
    seen: set[str] = set()
    for result in results:
        seen.add(result.id)
        approval = Approval(result.id, root.joinpath(*result.cassette.split("/")),
                            result.index, result.outcome)
        if result.outcome is Outcome.PASS:
            passed.setdefault(result.cassette, []).append(approval)
            continue
        if wanted and result.id not in wanted:
            continue
        if result.outcome not in APPROVABLE:
            if wanted:
                raise UsageError(f"{result.id} is {result.outcome.value}: nothing to approve")
            continue
        if result.outcome is Outcome.REGRESSION and not allow_regressions:
            raise UsageError(
                f"{result.id} is a regression",
                hint="review it, then pass --allow-regressions to approve regressions too",
            )
        approvals.append(approval)
    unknown = wanted - seen
    if unknown:
        raise UsageError("not in the run report: " + ", ".join(sorted(unknown)))
    touched = {a.exchange_id.rsplit("#", 1)[0] for a in approvals}
    companions = [a for cassette in sorted(touched) for a in passed.get(cassette, [])]
    return approvals + companions


def apply_approvals(approvals: Sequence[Approval], store: Path,
                    redactor: Redactor | None = None) -> list[Path]:
    """Write the replayed exchanges into their cassettes (one atomic write per cassette)."""
    by_cassette: dict[Path, list[Approval]] = {}
    for approval in approvals:
        by_cassette.setdefault(approval.cassette, []).append(approval)
    written: list[Path] = []
    for path, items in by_cassette.items():
        cassette = load_cassette(path)
        interactions = list(cassette.interactions)
        for approval in items:
            cassette_id = approval.exchange_id.rsplit("#", 1)[0]
            kept_path = kept_exchange_path(store, cassette_id, approval.index)
            if not kept_path.is_file():
                raise CassetteError("replayed exchange missing", path=kept_path)
            (replayed,) = load_cassette(kept_path).interactions
            if approval.index >= len(interactions):
                raise CassetteError(
                    f"has no exchange #{approval.index}: the cassette changed since the run",
                    path=path,
                )
            original = interactions[approval.index]
            interactions[approval.index] = Interaction(
                replayed.request, replayed.response,
                replace(original.meta, duration_ms=replayed.meta.duration_ms,
                        recorded_at=replayed.meta.recorded_at),
            )
        save_cassette(path, replace(cassette, interactions=tuple(interactions)),
                      redactor=redactor)
        written.append(path)
    return written

