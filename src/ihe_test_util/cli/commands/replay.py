"""``ihe replay``: re-send recorded requests to an upgraded endpoint and report regressions."""

from __future__ import annotations

from pathlib import Path

import rich_click as click

from ihe_test_util.cli.context import CliContext, pass_cli

_FILE = click.Path(dir_okay=False, path_type=Path)


@click.command("replay")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--target", "targets", multiple=True, metavar="URL|ORIGIN=URL",
              help="Send requests to URL (scheme, host, port; the recorded path is kept), or "
                   "only those recorded against ORIGIN. Repeatable.")
@click.option("--env", "env_name", metavar="NAME",
              help="Take the target URL and TLS settings from \\[env.NAME] in ihe.toml.")
@click.option("--fail-on", type=click.Choice(["regression", "changed", "never"]),
              help="Lowest outcome that fails the run (exit 1). Default: changed.")
@click.option("--report-json", type=_FILE, help="Write the JSON run report (schema v1).")
@click.option("--junit", type=_FILE, help="Write JUnit XML (GitHub, GitLab, Jenkins).")
@click.option("--markdown", type=_FILE, help="Write Markdown (e.g. $GITHUB_STEP_SUMMARY).")
@click.option("--html", type=_FILE, help="Write the self-contained HTML review page.")
@click.option("--jobs", type=click.IntRange(min=1), help="Cassettes replayed in parallel.")
@click.option("--shard", metavar="I/N", help="Replay only the I-th of N slices of the cassettes.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Connect + read timeout per request. Default: 30 or the configuration.")
@click.option("--fresh-patients", is_flag=True, hidden=True,
              help="Kept for compatibility: every run now gives the patients its feeds "
                   "create their own ids and demographics.")
@click.option("--reference", "references", multiple=True, metavar="URL|ORIGIN=URL",
              help="Live differential: also send every regenerated request to this running "
                   "old version; differences it shows too (against the recording) are noise "
                   "for that exchange, reported as 'noise seen on the reference'. Repeatable "
                   "like --target.")
@click.option("--insecure", is_flag=True,
              help="Do not verify TLS certificates (loudly warned; never in production).")
@pass_cli
def command(cli_ctx: CliContext, paths: tuple[Path, ...], targets: tuple[str, ...],
            env_name: str | None, fail_on: str | None, report_json: Path | None,
            junit: Path | None, markdown: Path | None, html: Path | None, jobs: int | None,
            shard: str | None, timeout: float | None, fresh_patients: bool,
            references: tuple[str, ...], insecure: bool) -> None:
    """Replay recorded exchanges against an upgraded endpoint and report regressions.

    Cassettes are replayed in order, exchange by exchange, with fresh message ids, uniqueIds
    and timestamps; values the server assigned (entryUUIDs, patient ids) are carried from
    earlier responses into later requests. Every run has its own identity space: patients its
    ITI-44 feeds create get this run's ids, family name and birth date in every cassette, and
    ids it generates carry the run's marker, so a stateful target's data from earlier replays
    or from the recording does not collide (objects of earlier runs returned by a query are a
    note). Each new response is compared with the recorded one
    by the IHE-aware comparer: [b]pass[/], [b]changed[/], [b]regression[/], [b]error[/] or
    [b]skipped[/]. Exit codes: 0 ok, 1 at or above --fail-on, 2 usage or invalid cassette
    (nothing sent), 3 errors only.

    [b]Examples[/]

    \b
      ihe replay cassettes/ --target http://127.0.0.1:8080
      ihe replay cassettes/ --env candidate --jobs 4 --report-json run.json --html run.html
      ihe replay cassettes/ --target http://old:8080=http://new:9090 --fail-on regression
      ihe replay cassettes/ --shard 2/4 --report-json shard-2.json --junit junit-2.xml
      ihe replay cassettes/ --target http://new:8080 --reference http://old:8080 --jobs 4
    """
    from ihe_test_util.cli.commands._replay_run import run_replay_command

    run_replay_command(
        cli_ctx, paths=list(paths), targets=list(targets), env_name=env_name, fail_on=fail_on,
        report_json=report_json, junit=junit, markdown=markdown, html=html, jobs=jobs,
        shard=shard, timeout=timeout, insecure=insecure, fresh_patients=fresh_patients,
        references=list(references),
    )
