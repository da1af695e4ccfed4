"""``ihe cassette``: work with cassette files (``check`` validates them)."""

from __future__ import annotations

from pathlib import Path

import rich_click as click

from ihe_test_util.cli.context import CliContext, pass_cli


@click.group("cassette")
def command() -> None:
    """Inspect cassette files.

    [b]Examples[/]

    \b
      ihe cassette check cassettes/
      ihe cassette check cassettes/iti-41/submit.yaml other.yml
    """


@command.command("check")
@click.argument("paths", nargs=-1, required=True, type=click.Path(path_type=Path))
@pass_cli
def check(cli_ctx: CliContext, paths: tuple[Path, ...]) -> None:
    """Validate cassettes: files, or folders searched for *.yaml / *.yml.

    Each cassette is loaded exactly as [b]ihe replay[/] loads it (safe YAML, vcrpy layout,
    readable views checked against the bodies). Prints the secrets a cassette needs at
    replay. Exits 2 naming [b]file:line[/] and the problem when a cassette is invalid.

    [b]Examples[/]

    \b
      ihe cassette check cassettes/
      ihe cassette check recorded.yaml
    """
    from rich.markup import escape

    from ihe_test_util.cassette import find_cassettes, load_cassette, placeholders_in_request
    from ihe_test_util.errors import CassetteError, UsageError

    files = find_cassettes(paths)
    if not files:
        shown = ", ".join(str(path) for path in paths)
        raise UsageError(f"no cassettes (*.yaml, *.yml) found in {shown}")
    out, err = cli_ctx.console(), cli_ctx.console(stderr=True)
    invalid = 0
    for path in files:
        try:
            cassette = load_cassette(path)
        except CassetteError as exc:
            invalid += 1
            err.print(f"[bold red]error:[/] {escape(exc.message)}", soft_wrap=True)
            if exc.hint:
                err.print(f"  [dim]hint:[/] {escape(exc.hint)}")
            continue
        secrets: list[str] = []
        for interaction in cassette.interactions:
            secrets += placeholders_in_request(interaction.request)
        needs = f"; needs secrets: {', '.join(dict.fromkeys(secrets))}" if secrets else ""
        out.print(f"[green]ok[/] {escape(str(path))}: "
                  f"{len(cassette.interactions)} interactions{escape(needs)}", soft_wrap=True)
    out.print(f"{len(files)} cassettes checked, {invalid} invalid")
    if invalid:
        raise SystemExit(2)
