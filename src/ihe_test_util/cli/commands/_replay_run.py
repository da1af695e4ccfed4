"""The body of ``ihe replay``, imported only when the command runs (keeps --help fast)."""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path

from click.exceptions import Exit
from rich.console import Console
from rich.text import Text

from ihe_test_util import __version__
from ihe_test_util.cassette import Redactor, find_cassettes, load_cassette
from ihe_test_util.cli.context import CliContext
from ihe_test_util.cli.signals import Stop, stop_on_signals
from ihe_test_util.config import Settings, TlsSettings
from ihe_test_util.replay.approval import ReplayedExchangeStore
from ihe_test_util.replay.runner import plan_replay, run_replay
from ihe_test_util.replay.selection import Shard
from ihe_test_util.replay.session import production_engine, transport_options
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.report.base import ReporterSet
from ihe_test_util.report.notices import print_insecure_warning
from ihe_test_util.report.outputs import ReportOutputs
from ihe_test_util.report.terminal import TerminalOptions, TerminalReporter
from ihe_test_util.results import FailOn, RunInfo, RunSummary
from ihe_test_util.transport.http import TransportOptions


def now_iso() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")


@dataclass(frozen=True)
class ReplayRequest:
    """What to replay and how, after options and configuration are resolved."""

    paths: list[Path]
    targets: TargetMap
    options: TransportOptions
    fail_on: FailOn
    outputs: ReportOutputs
    jobs: int = 1
    shard: Shard | None = None
    fresh_patients: bool = False


def run_replay_command(
    cli_ctx: CliContext, *, paths: list[Path], targets: list[str], env_name: str | None,
    fail_on: str | None, report_json: Path | None, junit: Path | None, markdown: Path | None,
    html: Path | None, jobs: int | None, shard: str | None, timeout: float | None,
    insecure: bool, fresh_patients: bool = False,
) -> None:
    settings = cli_ctx.settings()
    tls: TlsSettings | None = None
    headers: dict[str, str] = {}
    target_specs = list(targets)
    if env_name is not None:
        env = settings.environment(env_name)
        tls, headers = env.tls, dict(env.headers)
        if env.url and not any("=" not in spec for spec in target_specs):
            target_specs.append(env.url)
    request = ReplayRequest(
        paths=paths, targets=TargetMap.parse(target_specs),
        options=transport_options(settings, tls, timeout=timeout, insecure=insecure,
                                  headers=headers),
        fail_on=FailOn(fail_on) if fail_on else settings.fail_on,
        outputs=ReportOutputs(json=report_json, junit=junit, markdown=markdown, html=html),
        jobs=jobs or settings.jobs, shard=Shard.parse(shard) if shard else None,
        fresh_patients=fresh_patients,
    )
    summary = execute_replay(cli_ctx, settings, request)
    raise Exit(summary.exit_code(request.fail_on))


def execute_replay(cli_ctx: CliContext, settings: Settings, request: ReplayRequest) -> (
    RunSummary
):
    """Plan (nothing sent on a bad cassette), replay, stream results to every reporter.

    Ctrl-C and SIGTERM stop it alike (KeyboardInterrupt, exit 130): no report is written, the
    previous reports and their ``.exchanges/`` folder stay as they were, no temporary file is
    left. Once the run is complete its reports and kept exchanges are written as one step that
    a signal does not split.
    """
    with stop_on_signals() as stop:
        return _execute(cli_ctx, settings, request, stop)


def _execute(cli_ctx: CliContext, settings: Settings, request: ReplayRequest, stop: Stop) -> (
    RunSummary
):
    console = Console(no_color=not cli_ctx.color, highlight=False)
    errors = Console(stderr=True, no_color=not cli_ctx.color, highlight=False)
    if request.options.verify is False:
        print_insecure_warning(errors)
    outputs = request.outputs
    outputs.check()
    engine = production_engine(settings, request.targets, request.options,
                               fresh_patients=request.fresh_patients)
    plan = plan_replay(request.paths, find=find_cassettes, load=load_cassette,
                       shard=request.shard)
    store = None
    if outputs.json is not None:
        store = ReplayedExchangeStore.beside(outputs.json,
                                             redactor=Redactor.from_settings(settings))
        engine.keep = store.keep
    terminal = TerminalReporter(
        console, total=plan.total, options=TerminalOptions.for_verbosity(cli_ctx.verbosity))
    info = RunInfo(tool_version=__version__, started_at=now_iso(), fail_on=request.fail_on,
                   targets=request.targets.describe(), root=str(plan.root))
    with ReporterSet([*outputs.reporters(), terminal]) as reporters, \
            store if store is not None else nullcontext():
        if store is not None:
            store.start(plan.root)
        reporters.start(info)
        summary = run_replay(plan, engine, jobs=request.jobs, on_result=reporters.exchange)
        with stop.deferred():
            reporters.finish(summary, now_iso())
            if store is not None:
                store.commit()
    if cli_ctx.verbosity >= 0:
        for name, path in outputs.named():
            errors.print(Text(f"wrote {name} report: {path}", style="dim"))
    return summary
