"""The ``ihe`` click group: global options, command registry, error -> exit-code mapping."""

from __future__ import annotations

import importlib
import os
from pathlib import Path
from typing import NamedTuple

import rich_click as click
from click.exceptions import Abort, ClickException, Exit

from ihe_test_util import __version__
from ihe_test_util.cli.context import CliContext
from ihe_test_util.cli.launcher import PROG_NAME, utf8_console_streams
from ihe_test_util.errors import IheTestError
from ihe_test_util.results import EXIT_INTERRUPTED

click.rich_click.TEXT_MARKUP = "rich"
click.rich_click.SHOW_ARGUMENTS = True
click.rich_click.MAX_WIDTH = 100

class Registered(NamedTuple):
    """Where a sub-command lives and the one line ``ihe --help`` shows for it.

    The summary is kept here so that listing the commands imports none of them (``ihe --help``
    stays fast); ``test_cli_frame`` checks it against the command's own docstring.
    """

    module: str
    summary: str


#: Registered sub-commands: name -> module under ihe_test_util.cli.commands + summary.
#: A command is listed here only once it works end to end.
COMMANDS: dict[str, Registered] = {
    "approve": Registered("approve", "Write replayed responses from a run as the new baseline "
                                     "of their cassettes."),
    "cassette": Registered("cassette_cmd", "Inspect cassette files."),
    "config": Registered("config_cmd", "Validate the configuration and show the effective "
                                       "settings."),
    "demo": Registered("demo", "Record, upgrade, replay and report: the main job, on the "
                               "embedded simulator."),
    "diff": Registered("diff", "Compare a replayed response with a recorded one, IHE-aware."),
    "learn": Registered("learn", "Learn a system's noise: replay the cassettes several times "
                                 "against the unchanged system and propose rules for the "
                                 "places whose values vary between runs."),
    "record": Registered("record", "Record IHE exchanges into a cassette, to replay after an "
                                   "upgrade."),
    "replay": Registered("replay", "Replay recorded exchanges against an upgraded endpoint and "
                                   "report regressions."),
    "report": Registered("report", "Merge shard run reports, and render a JSON run report as "
                                   "JUnit, Markdown or HTML."),
    "review": Registered("review", "Review a run's findings group by group: approve them as "
                                   "the new baseline, or ignore their place with a rule."),
    "serve": Registered("serve", "Serve recorded responses to IHE clients: a stub endpoint for "
                                 "testing them offline."),
    "sim": Registered("sim", "Run a reference IHE endpoint: PIX Manager (ITI-44/45), PDQ "
                             "Supplier (ITI-47), XDS.b Registry (ITI-18/42) and Repository "
                             "(ITI-41/43), XCPD Responding Gateway (ITI-55)."),
}

#: ``ctx.meta`` key set while the group renders its own help: commands are then listed from
#: ``COMMANDS`` instead of being imported.
_LISTING = "ihe.listing"


#: Exit codes outside the replay contract's 0-3: Ctrl-C (the shell convention) and a bug in
#: the tool (distinct from 1, which means regressions).
INTERRUPTED = EXIT_INTERRUPTED
INTERNAL_ERROR = 70  # EX_SOFTWARE


class IheGroup(click.RichGroup):
    """Loads command modules on demand and turns tool errors into clean exits."""

    def list_commands(self, ctx: click.Context) -> list[str]:
        return sorted(COMMANDS)

    def get_command(self, ctx: click.Context, cmd_name: str) -> click.Command | None:
        registered = COMMANDS.get(cmd_name)
        if registered is None:
            return None
        if ctx.meta.get(_LISTING):
            return click.Command(cmd_name, short_help=registered.summary)
        return load_command(cmd_name)

    def format_help(self, ctx: click.Context, formatter: click.HelpFormatter) -> None:
        ctx.meta[_LISTING] = True
        try:
            super().format_help(ctx, formatter)  # type: ignore[arg-type]
        finally:
            del ctx.meta[_LISTING]

    def invoke(self, ctx: click.Context) -> object:
        try:
            return super().invoke(ctx)
        except IheTestError as exc:
            _print_error(ctx, exc)
            ctx.exit(exc.exit_code)
        except (Exit, ClickException, Abort):
            raise
        except KeyboardInterrupt:
            _print_error(ctx, IheTestError("interrupted", hint="files already written are "
                                           "complete: every write is atomic"))
            ctx.exit(INTERRUPTED)
        except Exception as exc:  # a bug: never let it pass for exit 1 ("regressions")
            obj = ctx.find_object(CliContext)
            if obj is not None and obj.verbosity > 0:
                import traceback

                traceback.print_exc()
            _print_error(ctx, IheTestError(
                f"internal error: {type(exc).__name__}: {exc}",
                hint="this is a bug in ihe-test-utility; rerun with -v for the traceback and "
                     "please report it",
            ))
            ctx.exit(INTERNAL_ERROR)


def load_command(name: str) -> click.Command:
    """Import the module of a registered command and return its click command."""
    module = importlib.import_module(f"ihe_test_util.cli.commands.{COMMANDS[name].module}")
    command: click.Command = module.command
    return command


def _print_error(ctx: click.Context, exc: IheTestError) -> None:
    from rich.console import Console
    from rich.markup import escape

    obj = ctx.find_object(CliContext)
    color = obj.color if obj is not None else True
    console = Console(stderr=True, no_color=not color, highlight=False)
    console.print(f"[bold red]error:[/] {escape(exc.message)}")
    if exc.hint:
        console.print(f"  [dim]hint:[/] {escape(exc.hint)}")


@click.group(cls=IheGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, "-V", "--version", prog_name="ihe-test-utility",
                      message="%(prog)s %(version)s")
@click.option("-v", "--verbose", count=True, help="More output (repeat for more).")
@click.option("-q", "--quiet", is_flag=True, help="Only errors and the final summary.")
@click.option("--no-color", is_flag=True, envvar="NO_COLOR",
              help="Plain output without colours (NO_COLOR is honoured too).")
@click.option("--config", "config_path", type=click.Path(path_type=Path, dir_okay=False),
              help="Configuration file: ihe.toml, or a pyproject.toml with \\[tool.ihe]. "
                   "Default: ./ihe.toml, then ./pyproject.toml.")
@click.pass_context
def cli(ctx: click.Context, verbose: int, quiet: bool, no_color: bool,
        config_path: Path | None) -> None:
    """Record, replay and diff IHE exchanges to catch regressions after an upgrade.

    Record what your registry, repository or MPI answers today into cassettes, upgrade it,
    replay the cassettes, and see which answers regressed.

    [b]Examples[/]

    \b
      ihe demo
      ihe sim --port 8080
      ihe record examples/scenarios/xds-roundtrip.yaml
      ihe replay cassettes/ --target http://127.0.0.1:8080 --html run.html
      ihe approve run.json --only xds-documents.yaml#3
      ihe diff recorded.xml replayed.xml
    """
    no_color = no_color or bool(os.environ.get("NO_COLOR"))
    ctx.obj = CliContext(
        verbosity=-1 if quiet else verbose, color=not no_color, config_path=config_path,
    )


def render_help(command: str | None = None) -> str | None:
    """The help ``ihe [COMMAND] --help`` prints, less its final newline; None for no such command.

    The launcher caches this text per terminal and environment (``cli/launcher.py``).
    """
    if command is not None and command not in COMMANDS:
        return None
    with cli.make_context(PROG_NAME, [], resilient_parsing=True) as ctx:
        if command is None:
            return ctx.get_help()
        sub = load_command(command)
        with sub.make_context(command, [], parent=ctx, resilient_parsing=True) as sub_ctx:
            return sub_ctx.get_help()


def main() -> None:
    """Run the click group on ``sys.argv`` (the launcher hands it every request it does not
    answer itself)."""
    utf8_console_streams()
    cli(prog_name=PROG_NAME)
