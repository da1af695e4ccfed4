"""``ihe diff``: compare two saved responses with the replay engine and rules."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import rich_click as click

from ihe_test_util.cli.context import CliContext, pass_cli

if TYPE_CHECKING:
    from ihe_test_util.results import Comparison


@click.command("diff")
@click.argument("recorded", type=click.Path(path_type=Path))
@click.argument("replayed", type=click.Path(path_type=Path))
@click.option("-t", "--transaction", metavar="ID",
              help="IHE transaction (ITI-18, ...) instead of detecting it from the documents.")
@click.option("--json", "as_json", is_flag=True,
              help="Print one JSON object shaped like an item of the run report's exchanges.")
@click.option("--fail-on", type=click.Choice(["regression", "changed", "never"]), default=None,
              help="Lowest outcome that exits 1 (default: fail_on from the configuration, "
                   "else changed).")
@pass_cli
@click.pass_context
def command(ctx: click.Context, cli_ctx: CliContext, recorded: Path, replayed: Path,
            transaction: str | None, as_json: bool, fail_on: str | None) -> None:
    """Compare a replayed response with a recorded one, IHE-aware.

    Files may hold XML (SOAP or bare), an MTOM multipart body, a raw HTTP capture with its
    status line and headers, HL7 v2 ER7 or JSON. Differences are judged by the same catalogue
    and [b]\\[\\[rules]][/] as [b]ihe replay[/]: noise (message ids, timestamps, entryUUIDs,
    MIME boundaries, list order) is ignored, a changed verdict field (status, errors,
    acknowledgement, result count, ...) is a regression, anything else is a change.
    Exits 0 (nothing at or above --fail-on), 1 (something is), 2 (unreadable file, bad option
    or configuration).

    [b]Examples[/]

    \b
      ihe diff recorded.xml replayed.xml
      ihe diff before/retrieve.txt after/retrieve.txt --transaction ITI-43
      ihe diff recorded.hl7 replayed.hl7 --json --fail-on regression
    """
    import json

    from ihe_test_util.compare import compare_responses, load_rules
    from ihe_test_util.compare.files import load_response_file
    from ihe_test_util.errors import UsageError
    from ihe_test_util.ihe.catalogue import known_ids, transaction_id
    from ihe_test_util.results import FailOn, RunSummary

    settings = cli_ctx.settings()
    rules = load_rules(settings.rules, source=settings.source)
    if transaction is not None and transaction_id(transaction) is None:
        raise UsageError(f"--transaction: unknown transaction {transaction!r}",
                         hint=f"known: {', '.join(known_ids())}")
    recorded_response = load_response_file(recorded)
    replayed_response = load_response_file(replayed)
    comparison = compare_responses(recorded_response, replayed_response,
                                   transaction=transaction, rules=rules)
    if as_json:
        click.echo(json.dumps(exchange_item(comparison, recorded, replayed), indent=2))
    else:
        from ihe_test_util.report.terminal_diff import render_comparison

        render_comparison(cli_ctx.console(), comparison, recorded=str(recorded),
                          replayed=str(replayed), verbose=cli_ctx.verbosity)
    threshold = FailOn(fail_on) if fail_on is not None else settings.fail_on
    ctx.exit(RunSummary.of([comparison.outcome]).exit_code(threshold))


def exchange_item(comparison: Comparison, recorded: Path, replayed: Path) -> dict[str, Any]:
    """The comparison as an item of the run report's ``exchanges`` (schema version 1), plus
    each difference's description, the rules that applied and notes."""
    from ihe_test_util.results import ExchangeResult

    result = ExchangeResult(
        id=f"{recorded}#0", cassette=str(recorded), index=0, outcome=comparison.outcome,
        transaction=comparison.transaction, name=f"{recorded.name} vs {replayed.name}",
        verdict_recorded=comparison.verdict_recorded,
        verdict_replayed=comparison.verdict_replayed, differences=comparison.differences,
        noise_suppressed=comparison.noise_suppressed,
    )
    item = result.to_dict()
    item.pop("request", None)  # no request was made: two files were compared
    for rendered, difference in zip(item["differences"], comparison.differences, strict=True):
        rendered["description"] = difference.description
    item["rules_applied"] = list(comparison.rules_applied)
    item["notes"] = list(comparison.notes)
    return item
