"""``ihe report``: merge shard run reports, and render a JSON run report in other formats."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import rich_click as click

from ihe_test_util.cli.context import CliContext, pass_cli

if TYPE_CHECKING:
    from ihe_test_util.report.merge import MergedRun
    from ihe_test_util.report.outputs import ReportOutputs

F = TypeVar("F", bound=Callable[..., Any])

_FILE = click.Path(dir_okay=False, path_type=Path)
_REPORT = click.Path(exists=True, dir_okay=False, readable=True, path_type=Path)


def _format_options(function: F) -> F:
    """--junit / --markdown / --html / --fail-on, shared by ``merge`` and ``render``."""
    options = [
        click.option("--junit", type=_FILE, help="Write JUnit XML here (GitHub, GitLab, Jenkins)."),
        click.option("--markdown", type=_FILE,
                     help="Write Markdown here (e.g. $GITHUB_STEP_SUMMARY, PR comments)."),
        click.option("--html", type=_FILE, help="Write the self-contained HTML review page here."),
        click.option("--fail-on", type=click.Choice(["regression", "changed", "never"]),
                     help="Lowest outcome that fails (exit 1). Default: the one the run used."),
    ]
    for option in reversed(options):
        function = option(function)
    return function


@click.group("report")
def command() -> None:
    """Merge shard run reports, and render a JSON run report as JUnit, Markdown or HTML.

    A sharded run ([b]ihe replay --shard I/N[/]) writes one JSON report per CI job; merge them
    into one report for the whole suite. Any JSON run report can be rendered again in the other
    formats. Both print the terminal summary and exit as [b]ihe replay[/] would have: 0 ok,
    1 at or above --fail-on, 2 invalid report, 3 errors only.

    [b]Examples[/]

    \b
      ihe report merge shard-*.json -o run.json --junit junit.xml --html run.html
      ihe report render run.json --markdown "$GITHUB_STEP_SUMMARY"
      ihe report render run.json --fail-on regression
    """


@command.command("merge")
@click.argument("reports", nargs=-1, required=True, type=_REPORT)
@click.option("-o", "--output", type=_FILE, help="Write the merged JSON run report here.")
@_format_options
@pass_cli
def merge(cli_ctx: CliContext, reports: tuple[Path, ...], output: Path | None,
          junit: Path | None, markdown: Path | None, html: Path | None,
          fail_on: str | None) -> None:
    """Merge the JSON reports of a sharded run into one report.

    Every shard is validated against the run-report schema; reports of different schema
    versions, and an exchange present in two shards, are refused. The summary is recomputed,
    the run starts at the earliest shard's start and ends at the latest shard's end.

    [b]Examples[/]

    \b
      ihe report merge shard-1.json shard-2.json shard-3.json -o run.json
      ihe report merge reports/*.json -o run.json --junit junit.xml --markdown summary.md
    """
    from ihe_test_util.report.outputs import ReportOutputs

    outputs = ReportOutputs(json=output, junit=junit, markdown=markdown, html=html)
    _run(cli_ctx, list(reports), outputs, fail_on)


@command.command("render")
@click.argument("report", type=_REPORT)
@_format_options
@pass_cli
def render(cli_ctx: CliContext, report: Path, junit: Path | None, markdown: Path | None,
           html: Path | None, fail_on: str | None) -> None:
    """Render a JSON run report in other formats and print its summary.

    [b]Examples[/]

    \b
      ihe report render run.json --html run.html
      ihe report render run.json --junit junit.xml --markdown "$GITHUB_STEP_SUMMARY"
      ihe -q report render run.json --fail-on regression   # just the verdict and exit code
    """
    from ihe_test_util.report.outputs import ReportOutputs

    outputs = ReportOutputs(junit=junit, markdown=markdown, html=html)
    _run(cli_ctx, [report], outputs, fail_on)


def _run(cli_ctx: CliContext, reports: list[Path], outputs: ReportOutputs,
         fail_on: str | None) -> None:
    from rich.console import Console

    from ihe_test_util.cassette.redact import Redactor
    from ihe_test_util.report.base import ReporterSet
    from ihe_test_util.report.merge import merge_reports
    from ihe_test_util.report.terminal import TerminalOptions, TerminalReporter
    from ihe_test_util.results import FailOn

    outputs.check()
    console = Console(no_color=not cli_ctx.color, highlight=False)
    terminal = TerminalReporter(
        console, options=TerminalOptions.for_verbosity(cli_ctx.verbosity, progress=False))
    spool_dir = (outputs.json or outputs.junit or outputs.html or outputs.markdown)
    redactor = Redactor.from_settings(cli_ctx.settings())  # also reports other tools wrote
    with ReporterSet([*outputs.reporters(), terminal], redactor.result) as reporters:
        merged = merge_reports(reports, reporters, fail_on=FailOn(fail_on) if fail_on else None,
                               spool_dir=spool_dir.resolve().parent if spool_dir else None)
    _print_notes(cli_ctx, merged, outputs)
    from click.exceptions import Exit

    raise Exit(merged.summary.exit_code(merged.info.fail_on))


def _print_notes(cli_ctx: CliContext, merged: MergedRun, outputs: ReportOutputs) -> None:
    from rich.console import Console
    from rich.text import Text

    errors = Console(stderr=True, no_color=not cli_ctx.color, highlight=False)
    for warning in merged.warnings:
        errors.print(Text(f"warning: {warning}", style="yellow"))
    if cli_ctx.verbosity >= 0:
        for name, path in outputs.named():
            errors.print(Text(f"wrote {name} report: {path}", style="dim"))
