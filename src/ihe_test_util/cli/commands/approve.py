"""``ihe approve``: accept replayed responses from a run report as the new baseline."""

from __future__ import annotations

from pathlib import Path

import rich_click as click

from ihe_test_util.cli.context import CliContext, pass_cli


@click.command("approve")
@click.argument("report", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--only", "only", multiple=True, metavar="ID",
              help="Approve only this exchange (an id from the report, e.g. "
                   "xds/flow.yaml#3). Repeatable. Default: every changed exchange.")
@click.option("--allow-regressions", is_flag=True,
              help="Also approve exchanges whose outcome is regression (review them first).")
@click.option("--dry-run", is_flag=True, help="Show what would be approved; write nothing.")
@pass_cli
def command(cli_ctx: CliContext, report: Path, only: tuple[str, ...], allow_regressions: bool,
            dry_run: bool) -> None:
    """Write replayed responses from a run as the new baseline of their cassettes.

    After an upgrade, review the run (the HTML report is made for it), then approve the
    expected changes: each approved exchange's replayed request and response replace the
    recorded ones in its cassette, redacted like any recording (configured secret values and
    tokens a server returned become the recording's placeholders). Exchanges of
    the same cassette that passed are refreshed too, so values chained between exchanges
    (entryUUIDs, patient ids) stay consistent. A regression is
    approved only with [b]--allow-regressions[/]. Needs the [b]<report>.exchanges/[/] folder
    that [b]ihe replay --report-json[/] writes beside the report. Stopped by Ctrl-C or SIGTERM
    (exit 130), either every cassette is approved or every one is left as it was.

    [b]Examples[/]

    \b
      ihe approve run.json
      ihe approve run.json --only cassettes/xds.yaml#2 --only cassettes/xds.yaml#3
      ihe approve run.json --allow-regressions --dry-run
    """
    from rich.console import Console
    from rich.text import Text

    from ihe_test_util.cassette import Redactor
    from ihe_test_util.cli.signals import stop_on_signals
    from ihe_test_util.replay.approval import plan_approvals, stage_approvals, store_dir_for
    from ihe_test_util.report.reader import ReportReader
    from ihe_test_util.results import Outcome

    settings = cli_ctx.settings()
    console = Console(no_color=not cli_ctx.color, highlight=False)
    store = store_dir_for(report)
    with ReportReader(report) as reader:
        approvals = plan_approvals(reader.exchanges(), store, only=only,
                                   allow_regressions=allow_regressions)
    if not approvals:
        console.print("nothing to approve: no changed exchanges in this run")
        return
    for approval in approvals:
        verb = "would approve" if dry_run else "approve"
        if approval.outcome is Outcome.PASS:
            verb = "would refresh" if dry_run else "refresh"
        console.print(Text(f"{verb} {approval.exchange_id} ({approval.outcome.value})"))
    if dry_run:
        return
    redactor = Redactor.from_settings(settings)
    # Stopped while staging: nothing replaced. The renames run as one block a stop waits for.
    with stop_on_signals() as stop, stage_approvals(approvals, store, redactor) as staged, \
            stop.deferred():
        written = staged.commit()
    console.print(Text(f"updated {len(written)} cassette(s): "
                       + ", ".join(str(p) for p in written), style="green"))
