"""The body of ``ihe record SCENARIO`` (imported only when it runs): options -> engine -> view.

What people see is rendered by :mod:`ihe_test_util.report.terminal_record`; Ctrl-C and SIGTERM
stop the recording alike (:mod:`ihe_test_util.cli.signals`), keeping completed exchanges.
"""

from __future__ import annotations

from pathlib import Path

from click.exceptions import Exit
from rich.console import Console

from ihe_test_util.cassette.redact import Redactor
from ihe_test_util.cli.context import CliContext
from ihe_test_util.cli.signals import stop_on_signals
from ihe_test_util.errors import UsageError
from ihe_test_util.record.loader import load_scenario
from ihe_test_util.record.plan import check_endpoint_names
from ihe_test_util.record.runner import record_scenario
from ihe_test_util.report.notices import print_insecure_warning
from ihe_test_util.report.terminal_record import RecordView, print_interrupted, write_json


def parse_pairs(pairs: list[str], option: str) -> dict[str, str]:
    """``NAME=VALUE`` options into a mapping (UsageError naming the bad one)."""
    parsed: dict[str, str] = {}
    for pair in pairs:
        name, separator, value = pair.partition("=")
        if not separator or not name.strip():
            raise UsageError(f"{option} {pair!r}: write NAME=VALUE")
        parsed[name.strip()] = value.strip()
    return parsed


def run_record_command(
    cli_ctx: CliContext, *, scenario: Path, env_name: str | None, endpoints: list[str],
    variables: list[str], cassette: Path | None, as_json: bool, insecure: bool,
    timeout: float | None,
) -> None:
    settings = cli_ctx.settings()
    overrides = parse_pairs(endpoints, "--endpoint")
    loaded = load_scenario(scenario, variables=parse_pairs(variables, "--var"))
    check_endpoint_names(loaded, overrides)
    errors = Console(stderr=True, no_color=not cli_ctx.color, highlight=False)
    if insecure:
        print_insecure_warning(errors)
    redactor = Redactor.from_settings(settings)
    view = None if as_json else RecordView(cli_ctx.console(), cli_ctx.verbosity, redactor)
    with stop_on_signals():
        result = record_scenario(
            loaded, settings=settings, env=env_name, endpoints_override=overrides,
            cassette=cassette, timeout=timeout, insecure=insecure,
            on_event=view.event if view is not None else None,
        )
        if view is not None:
            view.finish(result)
        else:
            write_json(result, redactor)
        if result.interrupted:
            print_interrupted(errors, result)
    raise Exit(result.exit_code)
