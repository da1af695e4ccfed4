"""Merge the JSON reports of a sharded run (``--shard I/N``) into one, or re-render one report.

Each shard is validated against the schema; reports of different schema versions are refused;
an exchange that appears in two shards is refused (the shards were not cut from one run). The
merged run starts at the earliest ``started_at`` and ends at the latest ``finished_at``; its
summary is recomputed from the exchanges, which are streamed to the reporters in
(cassette, index) order through a disk spool -- memory stays flat however large the shards.

Rendering a single report is merging one shard: the same checks, the same output.
"""

from __future__ import annotations

import contextlib
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ihe_test_util.errors import UsageError
from ihe_test_util.report.base import Reporter
from ihe_test_util.report.exchange_spool import DuplicateExchange, ExchangeSpool
from ihe_test_util.report.json_report import exchange_line
from ihe_test_util.report.reader import ReportReader
from ihe_test_util.results import ExchangeResult, FailOn, RunInfo, RunSummary


@dataclass
class MergedRun:
    """What was merged: the run header, the recomputed summary, and anything suspicious."""

    info: RunInfo
    finished_at: str
    summary: RunSummary = field(default_factory=RunSummary)
    warnings: list[str] = field(default_factory=list)


def merge_reports(
    paths: Sequence[Path], reporter: Reporter, *, fail_on: FailOn | None = None,
    spool_dir: Path | None = None,
) -> MergedRun:
    """Read, check and merge ``paths``, streaming the merged run through ``reporter``."""
    if not paths:
        raise UsageError("no run reports to merge")
    near = (spool_dir or Path(tempfile.gettempdir())) / "ihe-report-merge"
    with contextlib.closing(ExchangeSpool(near, unique_ids=True)) as spool:
        # Every input is read, checked and spooled -- and closed -- before any output is
        # written, so a merged report may replace one of its inputs (also on Windows).
        with contextlib.ExitStack() as stack:
            readers = [stack.enter_context(ReportReader(path)) for path in paths]
            merged = _merged_header(readers, fail_on)
            # one interrupted shard (or report rendered again) makes the whole run interrupted
            merged.summary.interrupted = any(reader.interrupted for reader in readers)
            for reader in readers:
                _spool_exchanges(reader, spool)
                if reader.counted != reader.summary:
                    merged.warnings.append(
                        f"{reader.path}: its summary {reader.summary.to_dict()} does not "
                        f"match its exchanges {reader.counted.to_dict()}; the exchanges are used")
        reporter.start(merged.info)
        for line in spool.ordered():
            result = ExchangeResult.from_dict(json.loads(line))
            merged.summary.add(result.outcome)
            reporter.exchange(result)
        reporter.finish(merged.summary, merged.finished_at)
    return merged


def _spool_exchanges(reader: ReportReader, spool: ExchangeSpool) -> None:
    for result in reader.exchanges():
        try:
            spool.add(result.cassette, result.index, exchange_line(result),
                      exchange_id=result.id, source=str(reader.path))
        except DuplicateExchange as exc:
            raise UsageError(
                f"exchange {exc.exchange_id!r} is in both {exc.first_source} and {reader.path}",
                hint="merge the shards of one run only (--shard 1/N ... N/N), each once",
            ) from None


def _merged_header(readers: Sequence[ReportReader], fail_on: FailOn | None) -> MergedRun:
    schemas = {reader.schema_id for reader in readers}
    if len(schemas) > 1:
        listing = ", ".join(f"{reader.path}: {reader.schema_id!r}" for reader in readers)
        raise UsageError(f"cannot merge reports of different schema versions ({listing})",
                         hint="re-run the shards with one ihe-test-utility version")
    for reader in readers:
        reader.validate_header()
    infos = [reader.info for reader in readers]
    warnings: list[str] = []

    versions = sorted({info.tool_version for info in infos})
    if len(versions) > 1:
        warnings.append(f"the shards were written by different versions: {', '.join(versions)}")
    if fail_on is None:
        choices = {info.fail_on for info in infos}
        if len(choices) > 1:
            listing = ", ".join(f"{r.path}: {r.info.fail_on.value}" for r in readers)
            raise UsageError(f"the shards were run with different --fail-on ({listing})",
                             hint="pass --fail-on to say which one the merged run uses")
        fail_on = choices.pop()
    targets: dict[str, str] = {}
    for reader, info in zip(readers, infos, strict=True):
        for origin, target in info.targets.items():
            if targets.setdefault(origin, target) != target:
                warnings.append(f"{reader.path}: replayed {origin} against {target}, another "
                                f"shard against {targets[origin]}; keeping {targets[origin]}")
    first = min(readers, key=lambda r: r.started_at)
    last = max(readers, key=lambda r: r.finished_at)
    info = RunInfo(tool_version=", ".join(versions), started_at=first.header["started_at"],
                   fail_on=fail_on, targets=targets)
    return MergedRun(info=info, finished_at=last.header["finished_at"], warnings=warnings)
