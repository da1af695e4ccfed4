"""``ihe review``: walk through a run's grouped findings; approve, ignore, skip, undo."""

from __future__ import annotations

from pathlib import Path

import rich_click as click

from ihe_test_util.cli.context import CliContext, pass_cli


@click.command("review")
@click.argument("report", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--approve", "approve", multiple=True, metavar="GROUP",
              help="Approve the findings of group GROUP (its number in the list) without "
                   "asking: the replayed responses become the baseline. Repeatable.")
@click.option("--ignore", "ignore", multiple=True, metavar="GROUP",
              help="Write a noise rule for group GROUP's place to the configuration file "
                   "without asking. Repeatable.")
@click.option("--allow-regressions", is_flag=True,
              help="With --approve: also approve groups that are regressions.")
@click.option("--list", "list_only", is_flag=True, help="List the groups and exit.")
@pass_cli
def command(cli_ctx: CliContext, report: Path, approve: tuple[str, ...],
            ignore: tuple[str, ...], allow_regressions: bool, list_only: bool) -> None:
    """Review a run's findings group by group: approve them as the new baseline, or ignore
    their place with a rule.

    Findings are the run's differences grouped by transaction and location (as in every
    report), most severe and most widespread first. For each group the differences are shown
    side by side with the surrounding lines of both responses, with how many exchanges and
    cassettes show it. Keys: [b]a[/] approve (the replayed responses of its exchanges become
    the baseline, as [b]ihe approve[/]); [b]i[/] ignore this place (a scoped noise rule is
    appended to ihe.toml, or the file given with --config); [b]s[/] skip; [b]u[/] undo the
    last write; [b]q[/] quit. Everything is shown before it is written, and written atomically;
    approving a regression asks for a confirmation, and a regression's place cannot be ignored.
    Without a terminal, or with [b]--approve[/] / [b]--ignore[/], nothing is asked. Needs the
    [b]<report>.exchanges/[/] folder that [b]ihe replay --report-json[/] writes.

    [b]Examples[/]

    \b
      ihe review run.json
      ihe review run.json --list
      ihe review run.json --approve 1 --ignore 2 --ignore 3
      ihe --config ci/ihe.toml review run.json --approve 4 --allow-regressions
    """
    from ihe_test_util.cli.commands._review_run import run_review

    run_review(cli_ctx, report, approve=list(approve), ignore=list(ignore),
               allow_regressions=allow_regressions, list_only=list_only)
