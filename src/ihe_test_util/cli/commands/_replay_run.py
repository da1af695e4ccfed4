"""The body of ``ihe replay``, imported only when the command runs (keeps --help fast)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

from click.exceptions import Exit
from rich.console import Console
from rich.text import Text

from ihe_test_util import __version__
from ihe_test_util.cassette import Redactor, find_cassettes, load_cassette
from ihe_test_util.cli.context import CliContext
from ihe_test_util.config import TlsSettings
from ihe_test_util.replay.approval import ReplayedExchangeStore
from ihe_test_util.replay.runner import ReplayEngine, plan_replay, run_replay
from ihe_test_util.replay.selection import Shard
from ihe_test_util.replay.session import (
    CassetteRegenerator,
    make_transport,
    production_comparer,
    transport_options,
)
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.report.base import ReporterSet
from ihe_test_util.report.outputs import ReportOutputs
from ihe_test_util.report.terminal import TerminalOptions, TerminalReporter
from ihe_test_util.results import FailOn, RunInfo


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def run_replay_command(
    cli_ctx: CliContext, *, paths: list[Path], targets: list[str], env_name: str | None,
    fail_on: str | None, report_json: Path | None, junit: Path | None, markdown: Path | None,
    html: Path | None, jobs: int | None, shard: str | None, timeout: float | None,
    insecure: bool,
) -> None:
    settings = cli_ctx.settings()
    console = Console(no_color=not cli_ctx.color, highlight=False)
    errors = Console(stderr=True, no_color=not cli_ctx.color, highlight=False)
    tls: TlsSettings | None = None
    headers: dict[str, str] = {}
    target_specs = list(targets)
    if env_name is not None:
        env = settings.environment(env_name)
        tls, headers = env.tls, dict(env.headers)
        if env.url and not any("=" not in spec for spec in target_specs):
            target_specs.append(env.url)
    target_map = TargetMap.parse(target_specs)
    options = transport_options(settings, tls, timeout=timeout, insecure=insecure,
                                headers=headers)
    if options.verify is False:
        errors.print(Text(
            "WARNING: TLS certificate verification is OFF: responses could come from anyone. "
            "Use only against test systems.", style="bold red"))
    effective_fail_on = FailOn(fail_on) if fail_on else settings.fail_on
    outputs = ReportOutputs(json=report_json, junit=junit, markdown=markdown, html=html)
    outputs.check()
    comparer = production_comparer(settings)
    plan = plan_replay(paths, find=find_cassettes, load=load_cassette,
                       shard=Shard.parse(shard) if shard else None)
    store = None
    if report_json is not None:
        store = ReplayedExchangeStore.beside(report_json, redactor=Redactor.from_settings(settings))
        store.start(plan.root)
    engine = ReplayEngine(
        load=load_cassette, make_sender=lambda: make_transport(options), comparer=comparer,
        make_regenerator=lambda: CassetteRegenerator(settings), targets=target_map,
        keep=store.keep if store is not None else None,
    )
    terminal = TerminalReporter(
        console, total=plan.total, options=TerminalOptions.for_verbosity(cli_ctx.verbosity))
    info = RunInfo(tool_version=__version__, started_at=now_iso(), fail_on=effective_fail_on,
                   targets=target_map.describe(), root=str(plan.root))
    with ReporterSet([*outputs.reporters(), terminal]) as reporters:
        reporters.start(info)
        summary = run_replay(plan, engine, jobs=jobs or settings.jobs,
                             on_result=reporters.exchange)
        reporters.finish(summary, now_iso())
    if store is not None:
        store.close()
    if cli_ctx.verbosity >= 0:
        for name, path in outputs.named():
            errors.print(Text(f"wrote {name} report: {path}", style="dim"))
    raise Exit(summary.exit_code(effective_fail_on))
