"""The terminal rendering of one comparison (``ihe diff``): a summary line, the verdict fields,
then every difference with its location and both values (XML snippets and JSON objects syntax
highlighted).

Colour is the console's business: a console built with ``no_color`` (``--no-color``,
``NO_COLOR``) prints the same text plainly.
"""

from __future__ import annotations

from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from ihe_test_util.results import Comparison, Difference, Outcome, Severity

OUTCOME_STYLES = {
    Outcome.PASS: "bold green",
    Outcome.CHANGED: "bold yellow",
    Outcome.REGRESSION: "bold red",
    Outcome.ERROR: "bold magenta",
    Outcome.SKIPPED: "dim",
}
SEVERITY_STYLES = {Severity.REGRESSION: "bold red", Severity.CHANGED: "yellow"}
#: Beyond this many differences the rest is counted, not printed (``--json`` has them all).
MAX_SHOWN = 200


def render_comparison(console: Console, comparison: Comparison, *, recorded: str,
                      replayed: str, verbose: int = 0) -> None:
    console.print(summary_line(comparison, recorded, replayed))
    table = verdict_table(comparison, only_differing=verbose == 0)
    if table is not None:
        console.print(table)
    for number, difference in enumerate(comparison.differences[:MAX_SHOWN], start=1):
        _render_difference(console, number, difference)
    hidden = len(comparison.differences) - MAX_SHOWN
    if hidden > 0:
        console.print(f"[dim]… {hidden} more differences (use --json to see all)[/]")
    for note in comparison.notes:
        console.print(f"[yellow]note:[/] {escape(note)}")
    if verbose and comparison.rules_applied:
        console.print("[dim]rules applied:[/] " + escape(", ".join(comparison.rules_applied)))


def summary_line(comparison: Comparison, recorded: str, replayed: str) -> Text:
    outcome = comparison.outcome
    line = Text()
    line.append(outcome.value.upper(), style=OUTCOME_STYLES.get(outcome, ""))
    line.append("  ")
    line.append(comparison.transaction or "transaction not recognised", style="bold")
    line.append(f"  {recorded} -> {replayed}  ", style="dim")
    count = len(comparison.differences)
    regressions = sum(1 for d in comparison.differences if d.severity is Severity.REGRESSION)
    line.append(f"{count} difference{'s' if count != 1 else ''}")
    if regressions:
        line.append(f" ({regressions} regression{'s' if regressions != 1 else ''})",
                    style="red")
    line.append(f", {comparison.noise_suppressed} explained as noise", style="dim")
    return line


def verdict_table(comparison: Comparison, *, only_differing: bool) -> Table | None:
    recorded = dict(comparison.verdict_recorded or {})
    replayed = dict(comparison.verdict_replayed or {})
    names = list(dict.fromkeys([*recorded, *replayed]))
    rows = [(name, recorded.get(name), replayed.get(name)) for name in names]
    if only_differing:
        rows = [row for row in rows if row[1] != row[2]]
    if not rows:
        return None
    table = Table(title="verdict fields", title_justify="left", show_edge=False, pad_edge=False)
    table.add_column("field")
    table.add_column("recorded")
    table.add_column("replayed")
    for name, before, after in rows:
        style = "red" if before != after else ""
        table.add_row(name, _show(before), _show(after), style=style)
    return table


def _show(value: Any) -> str:
    if value is None:
        return "-"
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "(none)"
    return str(value)


def _render_difference(console: Console, number: int, difference: Difference) -> None:
    header = Text(f"{number:>3}. ")
    header.append(difference.severity.value, style=SEVERITY_STYLES[difference.severity])
    header.append(f" {difference.kind.value} ", style="dim")
    header.append(difference.shown_path, style="cyan")
    console.print(header)
    if difference.description:
        console.print(Text("     " + difference.description, style="bold"))
    _render_value(console, "-", "recorded", difference.recorded, "red")
    _render_value(console, "+", "replayed", difference.replayed, "green")
    if difference.rule:
        console.print(Text(f"     rule: {difference.rule}", style="dim"))


def _render_value(console: Console, sign: str, label: str, value: str | None,
                  style: str) -> None:
    if value is None:
        return
    prefix = Text(f"     {sign} {label}: ", style=style)
    if value.lstrip().startswith("<"):
        console.print(prefix)
        console.print(Syntax(value, "xml", theme="ansi_dark", word_wrap=True,
                             background_color="default", padding=(0, 0, 0, 7)))
    elif value.lstrip().startswith(("{", "[")) and "\n" not in value and len(value) > 60:
        console.print(prefix)  # a JSON object or array (a FHIR entry added or removed)
        console.print(Syntax(value, "json", theme="ansi_dark", word_wrap=True,
                             background_color="default", padding=(0, 0, 0, 7)))
    else:
        console.print(prefix + Text(value))
