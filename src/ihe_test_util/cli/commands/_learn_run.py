"""The body of ``ihe learn``, imported only when the command runs (keeps --help fast)."""

from __future__ import annotations

import sys
from datetime import datetime, timezone
from pathlib import Path

from click.exceptions import Exit
from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.text import Text

from ihe_test_util.cassette import Redactor, find_cassettes, load_cassette
from ihe_test_util.cli.commands._replay_run import (
    ReplayRequest,
    _hook_failure,
    _run_hooks,
    resolve_targets,
)
from ihe_test_util.cli.context import CliContext
from ihe_test_util.cli.signals import stop_on_signals
from ihe_test_util.config import Settings, append_to_config
from ihe_test_util.errors import TransportError
from ihe_test_util.replay.capture_rules import load_capture_rules
from ihe_test_util.replay.learn import learn, render_toml, replay_runs
from ihe_test_util.replay.runner import ReplayPlan, plan_replay
from ihe_test_util.replay.session import production_engine
from ihe_test_util.report.notices import print_insecure_warning
from ihe_test_util.report.outputs import ReportOutputs
from ihe_test_util.results import ExchangeResult, Outcome


def run_learn_command(cli_ctx: CliContext, *, paths: list[Path], targets: list[str],
                      env_name: str | None, runs: int, write: Path | None, jobs: int | None,
                      timeout: float | None, fresh_patients: bool, insecure: bool) -> None:
    from ihe_test_util.compare import load_rules

    settings = cli_ctx.settings()
    target_map, options = resolve_targets(settings, targets, env_name, timeout=timeout,
                                          insecure=insecure)
    out = Console(no_color=not cli_ctx.color, highlight=False, soft_wrap=True)
    errors = Console(stderr=True, no_color=not cli_ctx.color, highlight=False, soft_wrap=True)
    if options.verify is False:
        print_insecure_warning(errors)
    engine = production_engine(settings, target_map, options, fresh_patients=fresh_patients)

    def make_plan() -> ReplayPlan:
        return plan_replay(paths, find=find_cassettes, load=load_cassette)

    plan = make_plan()  # checks every cassette before anything is sent (exit 2)
    cassettes = {planned.id: load_cassette(planned.path) for planned in plan.cassettes}
    tally = {"replayed": 0}

    def progress(number: int, result: ExchangeResult) -> None:
        if result.outcome not in (Outcome.ERROR, Outcome.SKIPPED):
            tally["replayed"] += 1
        if cli_ctx.verbosity > 0:
            errors.print(Text(f"run {number + 1}: {result.id} {result.outcome.value}",
                              style="dim"))

    where = ", ".join(target_map.describe().values()) or "the recorded endpoints"
    hooks = ReplayRequest(paths=paths, targets=target_map, options=options,
                          fail_on=settings.fail_on, outputs=ReportOutputs(), hooks=settings.hooks)

    def before_each(number: int) -> None:
        """``[hooks] before_replay`` before every run, as before every ``ihe replay``."""
        for hook in _run_hooks(cli_ctx, settings, hooks, "before_replay"):
            if not hook.ok:
                raise _hook_failure(hook, settings)

    with stop_on_signals():
        if cli_ctx.verbosity >= 0:
            errors.print(Text(f"learning: {runs} runs of {plan.total} exchange(s) in "
                              f"{len(plan.cassettes)} cassette(s) against {where}",
                              style="dim"))
        results = replay_runs(make_plan, engine, runs=runs, jobs=jobs or settings.jobs,
                              on_result=progress,
                              before_each=before_each if settings.hooks.before_replay else None)
        if settings.hooks.after_replay:
            for hook in _run_hooks(cli_ctx, settings, hooks, "after_replay"):
                if not hook.ok:
                    raise _hook_failure(hook, settings)
    if not tally["replayed"]:
        first = next((r for run in results for r in run if r.error), None)
        raise TransportError(
            "no exchange could be replayed: nothing to learn from"
            + (f" ({first.id}: {first.error.message})" if first and first.error else ""),
            hint="check --target: the unchanged system must be running")
    learned = learn(results, cassettes,
                    rules=load_rules(settings.rules, source=settings.source)
                    if settings.rules else None,
                    capture_rules=load_capture_rules(settings.correlate, settings.source))
    redact = Redactor.from_settings(settings).text
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    header = (f"learned by ihe learn on {stamp}: {runs} runs of {learned.exchanges} exchange(s) "
              f"against {where}"
              "\nreview each rule before keeping it")
    fragment = redact(render_toml(learned, header)).rstrip("\n")
    fragment = fragment + "\n" if fragment else ""
    if cli_ctx.verbosity >= 0 or write is None:
        for ident, reason in sorted(learned.unstable.items()):
            errors.print(Text(f"not learned from {ident}: {reason}", style="yellow"))
        if cli_ctx.verbosity > 0:
            for skipped in learned.skipped:
                errors.print(Text(f"not proposed: {skipped.transaction or '-'} "
                                  f"{skipped.path}: {skipped.reason}", style="dim"))
    if not fragment:
        errors.print("nothing varies between runs: no rule to propose")
        raise Exit(0)
    if sys.stdout.isatty():
        out.print(Syntax(fragment, "toml", theme="ansi_dark", background_color="default"))
    else:
        out.file.write(fragment)
        out.file.flush()
    summary = (f"{len(learned.noise)} noise rule(s), {len(learned.correlate)} identifier(s) "
               f"proposed from {runs} runs")
    if write is None:
        errors.print(Text(summary + "; append them with --write ihe.toml", style="dim"))
        return
    written_to = write
    with stop_on_signals() as stop, stop.deferred():
        append_to_config(written_to, fragment, validate_rules)
    errors.print(f"[green]{escape(summary)}: appended to {escape(str(written_to))}[/]")



def validate_rules(settings: Settings) -> None:
    """ConfigError (nothing written) if the file's rules would not load any more."""
    from ihe_test_util.compare import load_rules

    load_rules(settings.rules, source=settings.source)
    load_capture_rules(settings.correlate, settings.source)
