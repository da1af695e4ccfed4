"""``ihe learn``: replay cassettes several times against the unchanged system and propose noise
rules for what varies between runs."""

from __future__ import annotations

from pathlib import Path

import rich_click as click

from ihe_test_util.cli.context import CliContext, pass_cli


@click.command("learn")
@click.argument("paths", nargs=-1, required=True,
                type=click.Path(exists=True, path_type=Path))
@click.option("--target", "targets", multiple=True, metavar="URL|ORIGIN=URL",
              help="The unchanged system (as for ihe replay). Repeatable.")
@click.option("--env", "env_name", metavar="NAME",
              help="Take the target URL and TLS settings from \\[env.NAME] in ihe.toml.")
@click.option("--runs", type=click.IntRange(min=2), default=3, show_default=True,
              help="How many times to replay every cassette.")
@click.option("--write", "write", type=click.Path(dir_okay=False, path_type=Path),
              metavar="FILE", help="Append the proposed rules to FILE (ihe.toml, or a "
                                   "pyproject.toml), atomically, after showing them.")
@click.option("--jobs", type=click.IntRange(min=1), help="Cassettes replayed in parallel.")
@click.option("--timeout", type=click.FloatRange(min=0, min_open=True), metavar="SECONDS",
              help="Connect + read timeout per request.")
@click.option("--fresh-patients", is_flag=True,
              help="New patient ids on every run (stateful targets), as for ihe replay.")
@click.option("--insecure", is_flag=True, help="Do not verify TLS certificates.")
@pass_cli
def command(cli_ctx: CliContext, paths: tuple[Path, ...], targets: tuple[str, ...],
            env_name: str | None, runs: int, write: Path | None, jobs: int | None,
            timeout: float | None, fresh_patients: bool, insecure: bool) -> None:
    """Learn a system's noise: replay the cassettes several times against the unchanged system
    and propose rules for the places whose values vary between runs.

    Each run is an ordinary replay. A place (transaction + location, list positions
    generalised) is proposed as a [b]\\[\\[rules]] noise[/] pattern when its value changes
    between runs while every verdict field of its exchanges holds; a varying value that a later
    request of the cassette reuses is proposed as an identifier ([b]\\[\\[correlate]][/]).
    Verdict fields, echo checks and ids the replay already correlates are never proposed. The
    rules are printed as a TOML fragment with the evidence (runs, exchanges, sample values)
    as comments; [b]--write[/] appends them to the configuration file. [b]\\[hooks][/]
    before_replay runs before every run (reset a stateful target). Exit codes: 0 learned
    (or nothing to learn), 2 usage, 3 no exchange could be replayed.

    [b]Examples[/]

    \b
      ihe learn cassettes/ --target http://127.0.0.1:8080
      ihe learn cassettes/ --target http://127.0.0.1:8080 --runs 5 --write ihe.toml
      ihe learn cassettes/ --env baseline --jobs 4 > learned.toml
    """
    from ihe_test_util.cli.commands._learn_run import run_learn_command

    run_learn_command(cli_ctx, paths=list(paths), targets=list(targets), env_name=env_name,
                      runs=runs, write=write, jobs=jobs, timeout=timeout,
                      fresh_patients=fresh_patients, insecure=insecure)
