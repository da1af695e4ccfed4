"""Keeping replayed exchanges, and approving them as the new baseline (``ihe approve``).

A run report carries findings, not bodies. When ``--report-json run.json`` is given, replay
also keeps every exchange it obtained a response for in ``run.exchanges/`` beside the
report: one single-interaction cassette per exchange (``<cassette id>/<index>.yaml``),
redacted like any cassette, plus ``manifest.json`` naming the run's root folder. The folder
replaces the previous run's only when the run finishes (an interrupted run leaves both the
previous report and its folder as they were).

``ihe approve run.json`` reads the report, picks exchanges, and rewrites their cassettes: all
of them or none (:class:`StagedApprovals`), each redacted again so the approved cassette keeps
its recording's placeholders and holds no secret a server echoed. Exchanges of a cassette
chain (an entryUUID assigned in one response is sent in a later request), so a cassette is
re-baselined as a whole: the approved exchanges *and* the ones that passed take their replayed
request and response (a pass differs only by noise), keeping every chained value consistent;
exchanges neither approved nor passed keep their recording.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import tempfile
import threading
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

from ihe_test_util.atomicfile import fsync_folder, temp_path_beside
from ihe_test_util.cassette import Redactor, load_cassette, save_cassette
from ihe_test_util.cassette.store import now_utc
from ihe_test_util.errors import CassetteError, UsageError
from ihe_test_util.model import Cassette, Interaction, InteractionMeta, Request, Response
from ihe_test_util.results import NOT_RUN, ExchangeResult, Outcome

MANIFEST = "manifest.json"
APPROVABLE = frozenset({Outcome.CHANGED, Outcome.REGRESSION})
KEPT_OUTCOMES = frozenset({Outcome.PASS, Outcome.CHANGED, Outcome.REGRESSION})


def store_dir_for(report: Path) -> Path:
    return report.with_name(report.stem + ".exchanges")


@dataclass
class ReplayedExchangeStore:
    """Receives replayed exchanges from worker threads (the engine's ``keep`` sink).

    A run keeps its exchanges in a hidden staging folder beside the report. ``commit`` (after
    the report is written) puts it in place of the previous run's folder; ``discard`` (the run
    was interrupted or failed, also on leaving a ``with`` block) deletes it. So the folder beside
    a report always belongs to that report, and an interrupted run leaves the previous pair as
    it was. After either, ``keep`` from a worker still finishing an exchange writes nothing.
    """

    directory: Path
    root: Path
    redactor: Redactor = field(default_factory=Redactor)
    _staging: Path | None = field(default=None, init=False, repr=False)
    _writers: set[int] = field(default_factory=set, init=False, repr=False)
    _guard: threading.Condition = field(default_factory=threading.Condition, init=False,
                                        repr=False)

    @classmethod
    def beside(cls, report: Path, root: Path | None = None,
               redactor: Redactor | None = None) -> ReplayedExchangeStore:
        return cls(store_dir_for(report), root or Path.cwd(), redactor or Redactor())

    def start(self, root: Path) -> None:
        """Check the folder can be replaced (only ever one we wrote), then open the staging."""
        self.root = root
        target = self.directory
        if target.exists() and not (target / MANIFEST).is_file() and (
                not target.is_dir() or any(target.iterdir())):
            raise UsageError(f"{target} exists and was not written by ihe replay",
                             hint="move it away or choose another --report-json path")
        for stale in target.parent.glob(f".{target.name}.*"):  # left by a killed run (SIGKILL)
            if stale.suffix in (".partial", ".old") and stale.is_dir():
                shutil.rmtree(stale, ignore_errors=True)
        staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".partial",
                                        dir=target.parent))
        manifest = {"root": str(root.resolve()), "saved_at": now_utc()}
        (staging / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
        self._staging = staging

    def keep(self, result: ExchangeResult, request: Request, response: Response) -> None:
        if result.outcome not in KEPT_OUTCOMES:
            return
        me = threading.get_ident()
        with self._guard:
            staging = self._staging
            if staging is None:  # committed or discarded: the run is over
                return
            self._writers.add(me)
        try:
            meta = InteractionMeta(
                transaction=result.transaction, step=result.name,
                duration_ms=result.duration_replayed_ms, recorded_at=now_utc(),
            )
            # save_cassette creates the folder and writes atomically: safe from worker threads.
            save_cassette(kept_exchange_path(staging, result.cassette, result.index),
                          Cassette((Interaction(request, response, meta),)),
                          redactor=self.redactor)
        finally:
            with self._guard:
                self._writers.discard(me)
                self._guard.notify_all()

    def commit(self) -> None:
        """Replace the previous run's folder with this run's (call after the report is written)."""
        staging = self._close()
        if staging is None:
            return
        target = self.directory
        if target.exists():
            old = target.with_name(f".{target.name}.{uuid.uuid4().hex}.old")
            target.rename(old)
            staging.rename(target)
            shutil.rmtree(old, ignore_errors=True)
        else:
            staging.rename(target)

    def discard(self) -> None:
        """Delete this run's staging folder (idempotent; a no-op after ``commit``)."""
        staging = self._close()
        if staging is not None:
            shutil.rmtree(staging, ignore_errors=True)

    def __enter__(self) -> ReplayedExchangeStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()

    def _close(self) -> Path | None:
        """Stop accepting exchanges and wait for writes other threads have under way."""
        me = threading.get_ident()
        with self._guard:
            staging, self._staging = self._staging, None
            self._guard.wait_for(lambda: not self._writers - {me})
        return staging


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
    cut_short: dict[str, list[str]] = {}  # cassette -> its exchanges an interruption left
    for result in results:
        seen.add(result.id)
        if result.error is not None and result.error.type == NOT_RUN:
            cut_short.setdefault(result.cassette, []).append(result.id)
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
    partial = sorted(touched & set(cut_short))
    if partial:
        # its later exchanges kept their recording: values the approved ones now carry
        # (assigned ids, chained entryUUIDs) would no longer match them
        first = cut_short[partial[0]]
        raise UsageError(
            f"{partial[0]} was not replayed to its end (the run was interrupted: "
            f"{len(first)} exchange(s) not run, from {first[0]})"
            + (f"; also {', '.join(partial[1:])}" if len(partial) > 1 else ""),
            hint="a cassette is approved as a whole: replay it again to the end, or pick "
                 "exchanges of other cassettes with --only",
        )
    companions = [a for cassette in sorted(touched) for a in passed.get(cassette, [])]
    return approvals + companions


@dataclass
class StagedApprovals:
    """Approved cassettes written beside their targets, waiting to be put in place together.

    ``ihe approve`` changes a baseline as a whole or not at all: :func:`stage_approvals`
    writes every new cassette as a hidden file beside the one it replaces (the slow part, which
    a signal may interrupt: leaving the ``with`` block deletes whatever was staged, so every
    cassette stays as it was); :meth:`commit` then only renames, and the caller holds stop
    signals back around it (``Stop.deferred()``), so the renames are not split either.
    """

    pairs: list[tuple[Path, Path]] = field(default_factory=list)  # (staged file, target)

    def commit(self) -> list[Path]:
        """Put every staged cassette in place of its target; the targets, in order."""
        written: list[Path] = []
        while self.pairs:
            staged, target = self.pairs[0]
            install_staged(staged, target)
            self.pairs.pop(0)
            written.append(target)
        for folder in dict.fromkeys(target.parent for target in written):
            fsync_folder(folder)
        return written

    def discard(self) -> None:
        """Delete what is staged and not committed (idempotent)."""
        while self.pairs:
            staged, _ = self.pairs.pop()
            with contextlib.suppress(OSError):
                staged.unlink()

    def __enter__(self) -> StagedApprovals:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.discard()


STAGED_SUFFIX = ".approving"


def install_staged(staged: Path, target: Path) -> None:
    """One rename: ``staged`` (same folder) replaces ``target``, keeping its permissions."""
    with contextlib.suppress(OSError):
        staged.chmod(target.stat().st_mode & 0o777)
    staged.replace(target)


def stage_approvals(approvals: Sequence[Approval], store: Path,
                    redactor: Redactor | None = None) -> StagedApprovals:
    """Write the cassettes the approvals produce beside their targets (nothing replaced yet).

    Each approved exchange takes the kept replayed exchange, redacted again (``redactor``:
    :meth:`Redactor.from_settings`, whose configured values turn back into the recording's
    placeholders). A failure or interrupt part-way deletes what was staged.
    """
    by_cassette: dict[Path, list[Approval]] = {}
    for approval in approvals:
        by_cassette.setdefault(approval.cassette, []).append(approval)
    staged = StagedApprovals()
    try:
        for path, items in by_cassette.items():
            target = path.resolve()
            for stale in target.parent.glob(f".{target.name}.*{STAGED_SUFFIX}"):
                with contextlib.suppress(OSError):  # left by a killed approve (SIGKILL)
                    stale.unlink()
            cassette = _approved(path, items, store)
            staging = temp_path_beside(target, suffix=STAGED_SUFFIX)
            staged.pairs.append((staging, target))
            save_cassette(staging, cassette, redactor=redactor)
    except BaseException:
        staged.discard()
        raise
    return staged


def _approved(path: Path, items: Sequence[Approval], store: Path) -> Cassette:
    """``path``'s cassette with the replayed exchanges of ``items`` in place of the recorded."""
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
    return replace(cassette, interactions=tuple(interactions))
