"""The body of ``ihe replay``, imported only when the command runs (keeps --help fast)."""

from __future__ import annotations

import signal
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
from ihe_test_util.config import HookSettings, Settings, TlsSettings
from ihe_test_util.errors import HookError
from ihe_test_util.model import Request, Response
from ihe_test_util.replay.approval import ReplayedExchangeStore
from ihe_test_util.replay.engine import ExchangeSink
from ihe_test_util.replay.hooks import HookRun, run_hook
from ihe_test_util.replay.runner import not_run, plan_replay, run_replay
from ihe_test_util.replay.selection import Shard
from ihe_test_util.replay.session import production_engine, transport_options
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.report.base import ReporterSet
from ihe_test_util.report.notices import print_insecure_warning
from ihe_test_util.report.outputs import ReportOutputs
from ihe_test_util.report.terminal import TerminalOptions, TerminalReporter
from ihe_test_util.results import ExchangeResult, FailOn, RunInfo, RunSummary
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
    hooks: HookSettings | None = None  # ``ihe replay``'s [hooks]; the demo runs none
    reference: TargetMap | None = None  # ``--reference``: the live differential


def resolve_targets(settings: Settings, targets: list[str], env_name: str | None, *,
                    timeout: float | None, insecure: bool) -> tuple[TargetMap, TransportOptions]:
    """``--target`` specs plus the ``--env`` environment (its URL when no default target was
    given, its TLS settings and headers) -> the target map and transport options: what
    ``ihe replay`` and ``ihe learn`` both send with."""
    tls: TlsSettings | None = None
    headers: dict[str, str] = {}
    specs = list(targets)
    if env_name is not None:
        env = settings.environment(env_name)
        tls, headers = env.tls, dict(env.headers)
        if env.url and not any("=" not in spec for spec in specs):
            specs.append(env.url)
    return TargetMap.parse(specs), transport_options(settings, tls, timeout=timeout,
                                                     insecure=insecure, headers=headers)


def run_replay_command(
    cli_ctx: CliContext, *, paths: list[Path], targets: list[str], env_name: str | None,
    fail_on: str | None, report_json: Path | None, junit: Path | None, markdown: Path | None,
    html: Path | None, jobs: int | None, shard: str | None, timeout: float | None,
    insecure: bool, fresh_patients: bool = False, references: list[str] | None = None,
) -> None:
    settings = cli_ctx.settings()
    target_map, options = resolve_targets(settings, targets, env_name, timeout=timeout,
                                          insecure=insecure)
    request = ReplayRequest(
        paths=paths, targets=target_map, options=options,
        fail_on=FailOn(fail_on) if fail_on else settings.fail_on,
        outputs=ReportOutputs(json=report_json, junit=junit, markdown=markdown, html=html),
        jobs=jobs or settings.jobs, shard=Shard.parse(shard) if shard else None,
        fresh_patients=fresh_patients, hooks=settings.hooks,
        reference=TargetMap.parse(references) if references else None,
    )
    summary = execute_replay(cli_ctx, settings, request)
    code = summary.exit_code(request.fail_on)
    if request.hooks is not None and request.hooks.after_replay:
        with stop_on_signals():
            failed = [run for run in _run_hooks(cli_ctx, settings, request, "after_replay",
                                                {"IHE_EXIT_CODE": str(code)}) if not run.ok]
        if failed:  # the run's results stand: regressions stay exit 1, else exit 3
            errors = Console(stderr=True, no_color=not cli_ctx.color, highlight=False)
            for run in failed:
                errors.print(Text(f"error: {_hook_failure(run, settings)}", style="bold red"),
                             soft_wrap=True)
            code = code if code == 1 else HookError.exit_code
    raise Exit(code)


def _run_hooks(cli_ctx: CliContext, settings: Settings, request: ReplayRequest, phase: str,
               env: dict[str, str] | None = None) -> list[HookRun]:
    """Run the ``phase`` hooks in order (before_replay stops at the first failure), logging
    each on stderr: a line per command, its output too with -v (redacted)."""
    assert request.hooks is not None
    hooks = request.hooks
    errors = Console(stderr=True, no_color=not cli_ctx.color, highlight=False)
    redactor = Redactor.from_settings(settings)
    variables = {"IHE_HOOK": phase, **(env or {})}
    if request.targets.default is not None:
        variables["IHE_TARGET"] = request.targets.default
    runs: list[HookRun] = []
    commands = hooks.before_replay if phase == "before_replay" else hooks.after_replay
    for argv in commands:
        run = run_hook(phase, argv, timeout=hooks.timeout, cwd=settings.folder, env=variables)
        runs.append(run)
        if cli_ctx.verbosity >= 0:
            status = "ok" if run.ok else f"FAILED: {run.problem}"
            errors.print(Text(redactor.text(f"hook {phase}: {run.command}: {status} "
                                            f"({run.seconds:.1f} s)"), style="dim"), soft_wrap=True)
        if cli_ctx.verbosity > 0 and run.output.strip():
            errors.print(Text(redactor.text(run.output.rstrip()), style="dim"), soft_wrap=True)
        if not run.ok and phase == "before_replay":
            break
    return runs


def _hook_failure(run: HookRun, settings: Settings) -> HookError:
    """The error naming the command, why it failed and the end of its output (redacted)."""
    redact = Redactor.from_settings(settings).text
    consequence = ("; nothing was sent or compared" if run.phase == "before_replay"
                   else "; the replay's results above stand")
    tail = run.tail()
    return HookError(
        redact(f"{run.phase} hook failed: {run.command}: {run.problem}{consequence}"),
        hint=redact(f"its output ended with:\n{tail}") if tail else
        f"see [hooks] in {settings.source or 'ihe.toml'}",
    )


def _sinks(*sinks: ExchangeSink | None) -> ExchangeSink | None:
    """One engine sink calling each given one."""
    present = [sink for sink in sinks if sink is not None]
    if len(present) <= 1:
        return present[0] if present else None

    def keep(result: ExchangeResult, request: Request, response: Response) -> None:
        for sink in present:
            sink(result, request, response)
    return keep


def execute_replay(cli_ctx: CliContext, settings: Settings, request: ReplayRequest) -> (
    RunSummary
):
    """Plan (nothing sent on a bad cassette), replay, stream results to every reporter.

    Ctrl-C and SIGTERM stop it alike: the exchanges done so far are reported in every format
    asked for (terminal included) and kept in ``.exchanges/``, the ones not done are listed as
    ``skipped`` (error type ``NotRun``), the reports say ``interrupted``; then the
    KeyboardInterrupt goes on (exit 130). No temporary file is left. Writing the reports and
    kept exchanges is one step that a further signal does not split.
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
    redactor = Redactor.from_settings(settings)
    store = None
    if outputs.json is not None:
        store = ReplayedExchangeStore.beside(outputs.json, redactor=redactor)
    plan = plan_replay(request.paths, find=find_cassettes, load=load_cassette,
                       shard=request.shard)
    pairs = None
    if outputs.html is not None:  # the HTML report shows non-pass responses side by side
        from ihe_test_util.report.sidebyside import ResponsePairs

        pairs = ResponsePairs({planned.id: planned.path for planned in plan.cassettes},
                              redactor=redactor)
    engine = production_engine(settings, request.targets, request.options,
                               fresh_patients=request.fresh_patients,
                               keep=_sinks(store.keep if store is not None else None,
                                           pairs.keep if pairs is not None else None),
                               reference=request.reference)
    if request.hooks is not None and request.hooks.before_replay:
        for run in _run_hooks(cli_ctx, settings, request, "before_replay"):
            if not run.ok:  # the target is not in the state the cassettes need
                raise _hook_failure(run, settings)
    terminal = TerminalReporter(
        console, total=plan.total, options=TerminalOptions.for_verbosity(cli_ctx.verbosity))
    info = RunInfo(tool_version=__version__, started_at=now_iso(), fail_on=request.fail_on,
                   targets=request.targets.describe(), root=str(plan.root))
    with ReporterSet([*outputs.reporters(pairs), terminal], redactor.result) as reporters, \
            store if store is not None else nullcontext():
        if store is not None:
            store.start(plan.root)
        reporters.start(info)
        done = RunSummary()
        reported: set[str] = set()
        seen_on_reference = [0, 0]  # differences, exchanges

        def report(result: ExchangeResult) -> None:
            with stop.deferred():  # a signal never cuts an exchange's report in half
                if result.reference_noise:
                    seen_on_reference[0] += len(result.reference_noise)
                    seen_on_reference[1] += 1
                reporters.exchange(result)
                done.add(result.outcome)
                reported.add(result.id)

        interrupted: KeyboardInterrupt | None = None
        try:
            summary = run_replay(plan, engine, jobs=request.jobs, on_result=report)
        except KeyboardInterrupt as exc:
            interrupted = exc
            summary = done
        with stop.deferred():
            if interrupted is not None:
                summary.interrupted = True
                how = ("SIGTERM" if stop.requested == signal.SIGTERM else
                       "Ctrl-C (SIGINT)")
                for result in not_run(plan, reported, f"not replayed: the run was stopped by "
                                                      f"{how} before this exchange was done"):
                    reporters.exchange(result)
                    summary.add(result.outcome)
            reporters.finish(summary, now_iso())
            if store is not None:
                store.commit()
    if request.reference is not None and cli_ctx.verbosity >= 0:
        differences, exchanges = seen_on_reference
        console.print(Text(f"noise seen on the reference "
                           f"({', '.join(request.reference.describe().values())}): "
                           f"{differences} difference(s) in {exchanges} exchange(s), not "
                           "counted as findings", style="dim"))
    if cli_ctx.verbosity >= 0 or interrupted is not None:
        for name, path in outputs.named():
            errors.print(Text(f"wrote {name} report: {path}", style="dim"))
    if interrupted is not None:
        raise interrupted
    return summary
