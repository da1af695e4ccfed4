"""Terminal report: deterministic snapshot, quiet mode, caps, escaping, progress bar."""

from __future__ import annotations

import io

from rich.console import Console

from ihe_test_util.report.base import feed
from ihe_test_util.report.terminal import TerminalOptions, TerminalReporter
from ihe_test_util.results import ExchangeError, ExchangeResult, Outcome

from .conftest import Run
from .run_builder import FINISHED_AT, run_info, synthetic_results
from .snapshots import assert_snapshot


def _console(*, terminal: bool = False, color: bool = False) -> tuple[Console, io.StringIO]:
    buffer = io.StringIO()
    console = Console(file=buffer, width=100, force_terminal=terminal, no_color=not color,
                      color_system="standard" if color else None, highlight=False,
                      legacy_windows=False, _environ={})
    return console, buffer


def _render(run: Run, options: TerminalOptions | None = None, **kwargs: bool) -> str:
    console, buffer = _console(**kwargs)
    run(TerminalReporter(console, total=18, options=options))
    return buffer.getvalue()


def test_snapshot(run_realistic: Run) -> None:
    text = _render(run_realistic)
    # Trailing padding is rich's, not content: strip it so editors cannot break the snapshot.
    assert_snapshot("terminal.txt", "".join(f"{line.rstrip()}\n" for line in text.splitlines()))


def test_panels_tables_and_verdict(run_realistic: Run) -> None:
    text = _render(run_realistic)
    assert text.count("╭─ ") == 13  # one panel per exchange that did not pass
    assert "regression xds/provide-register-query-retrieve.yaml#2 ITI-43 retrieve document" in text
    assert "Outcomes by transaction" in text and "Findings" in text
    assert text.rstrip().splitlines()[-1].startswith("FAILED (exit 1): 3 regression, 2 error,")


def test_quiet_prints_only_the_verdict(run_realistic: Run) -> None:
    text = _render(run_realistic, TerminalOptions(verbosity=-1))
    assert text.splitlines() == [
        "FAILED (exit 1): 3 regression, 2 error, 6 changed, 2 skipped, 5 pass (18 exchanges); "
        "fail on changed; took 42.5 s",
    ]


def test_no_escape_sequences_from_values_even_in_colour() -> None:
    hostile = ExchangeResult(
        id="c#0", cassette="c", index=0, outcome=Outcome.ERROR, name="n\x1b]0;title\x07",
        error=ExchangeError("Boom", "ok\x1b[2J\x1b[31mred [bold]markup[/bold]"),
    )
    console, buffer = _console(terminal=True, color=True)
    feed(TerminalReporter(console, options=TerminalOptions(progress=False)), run_info(),
         [hostile], FINISHED_AT)
    text = buffer.getvalue()
    assert "\x1b[2J" not in text and "\x1b]0;" not in text and "\x07" not in text
    assert "ok\\x1b[2J\\x1b[31mred [bold]markup[/bold]" in text
    assert "n\\x1b]0;title\\x07" in text


def test_panels_and_differences_are_capped(results: list[ExchangeResult]) -> None:
    console, buffer = _console()
    options = TerminalOptions(max_panels=3, max_differences=1)
    feed(TerminalReporter(console, options=options), run_info(), results, FINISHED_AT)
    text = buffer.getvalue()
    assert text.count("╭─ ") == 3
    assert "... 10 more exchanges that did not pass are not shown" in text
    assert "... and 1 more differences" in text


def test_progress_bar_on_a_terminal_is_transient() -> None:
    console, buffer = _console(terminal=True)
    reporter = TerminalReporter(console, total=30, options=TerminalOptions(verbosity=-1,
                                                                          progress=True))
    feed(reporter, run_info(), synthetic_results(30), FINISHED_AT)
    text = buffer.getvalue()
    assert "replaying" in text  # drawn while running
    assert text.rstrip().endswith("took 42.5 s")


def test_no_progress_bar_when_not_a_terminal() -> None:
    console, buffer = _console(terminal=False)
    feed(TerminalReporter(console, total=30), run_info(), synthetic_results(30), FINISHED_AT)
    assert "replaying" not in buffer.getvalue()


def test_verbosity_levels() -> None:
    assert TerminalOptions.for_verbosity(0) == TerminalOptions()
    assert TerminalOptions.for_verbosity(1).max_differences == 100
    assert TerminalOptions.for_verbosity(-1).verbosity == -1
    assert TerminalOptions.for_verbosity(2).max_panels > 10**6


def test_every_skipped_exchange_is_listed_with_its_reason_before_the_verdict() -> None:
    """Even when no panel and no error group is shown, no skip goes unnamed."""
    skipped = [ExchangeResult(id=f"c.yaml#{n}", cassette="c.yaml", index=n,
                              outcome=Outcome.SKIPPED, transaction="ITI-43",
                              error=ExchangeError("DependencyNotReplayed", f"needs value {n}"))
               for n in range(3)]
    passed = ExchangeResult(id="c.yaml#3", cassette="c.yaml", index=3, outcome=Outcome.PASS)
    console, buffer = _console()
    options = TerminalOptions(max_panels=0, max_findings=0)
    feed(TerminalReporter(console, options=options), run_info(), [*skipped, passed],
         FINISHED_AT)
    lines = buffer.getvalue().rstrip().splitlines()
    assert lines[-5:-1] == [
        "Skipped exchanges (3), not replayed:",
        *(f"  c.yaml#{n} ITI-43: DependencyNotReplayed: needs value {n}" for n in range(3)),
    ]
    assert lines[-1].startswith("PASSED (exit 0): 3 skipped, 1 pass")


def test_not_run_exchanges_are_listed_per_cassette_as_index_ranges() -> None:
    from ihe_test_util.report.terminal import index_ranges, not_run_lines

    assert index_ranges([5, 0, 2, 3, 4, 9]) == "#0, #2-#5, #9"
    assert index_ranges([7]) == "#7"
    lines = [line.plain for line in not_run_lines({"b.yaml": [1, 2], "a.yaml": [0]})]
    assert lines == ["Not run (3 exchanges): the run was interrupted before them:",
                     "  a.yaml: #0", "  b.yaml: #1-#2"]
    assert not_run_lines({}) == []
