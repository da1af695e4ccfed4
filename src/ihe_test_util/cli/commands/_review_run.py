"""The body of ``ihe review``: the grouped findings of a run report, and what each key does."""

from __future__ import annotations

import contextlib
import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from click.exceptions import Exit
from rich.console import Console, Group
from rich.panel import Panel
from rich.syntax import Syntax
from rich.table import Table
from rich.text import Text

from ihe_test_util.atomicfile import atomic_file
from ihe_test_util.cassette import Redactor, load_cassette
from ihe_test_util.cli.context import CliContext
from ihe_test_util.cli.signals import stop_on_signals
from ihe_test_util.config import Settings, append_to_config, render_table
from ihe_test_util.errors import CassetteError, UsageError
from ihe_test_util.model import Response
from ihe_test_util.replay.approval import (
    MANIFEST,
    kept_exchange_path,
    plan_approvals,
    stage_approvals,
    store_dir_for,
)
from ihe_test_util.replay.learn import covered_by, rule_label
from ihe_test_util.report.grouping import DifferenceGroup, FindingGrouper
from ihe_test_util.report.reader import ReportReader
from ihe_test_util.report.sidebyside import Row, compare_bodies
from ihe_test_util.results import ExchangeResult, Outcome, Severity

#: Side-by-side rows shown per group (around its first exchange's differences).
MAX_ROWS = 40


@dataclass
class Written:
    """One write of the review, with what each file held before (None: it did not exist)."""

    what: str
    before: dict[Path, bytes | None]


@dataclass
class Review:
    """A run report's groups and the writes made from them (for undo)."""

    report: Path
    results: list[ExchangeResult]
    groups: list[DifferenceGroup]
    settings: Settings
    config_path: Path
    done: dict[int, str] = field(default_factory=dict)  # group number -> what was done
    history: list[tuple[int, Written]] = field(default_factory=list)

    @classmethod
    def load(cls, report: Path, settings: Settings, config_path: Path) -> Review:
        with ReportReader(report) as reader:
            results = list(reader.exchanges())
        grouper = FindingGrouper(max_examples=None)
        for result in results:
            grouper.add(result)
        return cls(report, results, grouper.findings(), settings, config_path)

    @property
    def store(self) -> Path:
        return store_dir_for(self.report)

    def group(self, number: str | int) -> DifferenceGroup:
        try:
            index = int(number)
        except ValueError:
            raise UsageError(f"group {number!r}: expected its number (1-{len(self.groups)})",
                             hint="ihe review RUN.json --list shows the groups") from None
        if not 1 <= index <= len(self.groups):
            raise UsageError(f"no group {index}: the run has {len(self.groups)} group(s)",
                             hint="ihe review RUN.json --list shows the groups")
        return self.groups[index - 1]

    def cassettes(self, group: DifferenceGroup) -> list[str]:
        return sorted({ident.rsplit("#", 1)[0] for ident in group.example_ids})

    # -- approve ---------------------------------------------------------------------------

    def approval_plan(self, group: DifferenceGroup) -> list[str]:
        """The exchanges approving ``group`` rewrites (its own and the cassettes' passes)."""
        approvals = plan_approvals(self.results, self.store, only=group.example_ids,
                                   allow_regressions=True)
        return [f"{a.exchange_id} ({a.outcome.value})" for a in approvals]

    def approve(self, number: int) -> Written:
        group = self.groups[number - 1]
        approvals = plan_approvals(self.results, self.store, only=group.example_ids,
                                   allow_regressions=True)
        targets = list(dict.fromkeys(a.cassette.resolve() for a in approvals))
        before: dict[Path, bytes | None] = {t: t.read_bytes() if t.exists() else None
                                            for t in targets}
        redactor = Redactor.from_settings(self.settings)
        with stop_on_signals() as stop, stage_approvals(approvals, self.store, redactor) as \
                staged, stop.deferred():
            staged.commit()
        written = Written(f"approved group {number}: " + ", ".join(str(t) for t in targets),
                          before)
        self._record(number, "approved", written)
        # Approving an exchange settles every finding it shows.
        approved = {a.exchange_id for a in approvals if a.outcome is not Outcome.PASS}
        for other, candidate in enumerate(self.groups, start=1):
            if other not in self.done and set(candidate.example_ids) <= approved:
                self.done[other] = f"approved with group {number}"
        return written

    # -- ignore ----------------------------------------------------------------------------

    def rule_fragment(self, group: DifferenceGroup) -> str:
        """The ``[[rules]]`` table that ignores ``group``'s place (UsageError where none may)."""
        if group.severity is Severity.REGRESSION:
            raise UsageError(f"{group.location}: a regression (a verdict field) cannot be "
                             "ignored", hint="approve it if the new answer is right")
        if not group.pattern.startswith("/"):
            raise UsageError(f"{group.location}: not a place in the body; no rule can "
                             "ignore it", hint="approve it if the new answer is right")
        covered = self._covers(group)
        if covered:
            raise UsageError(f"{group.location}: a rule on {group.pattern} would cover "
                             f"{covered}", hint="approve it if the new answer is right")
        table: dict[str, str | list[str]] = {
            "name": f"reviewed: {group.transaction_label} {rule_label(group.pattern)}"}
        if group.transaction:
            table["transaction"] = group.transaction
        else:
            table["cassette"] = self.cassettes(group)
        table["noise"] = group.pattern
        example = group.example
        evidence = (f"ignored in ihe review of {self.report.name}: {group.exchanges} "
                    f"exchange(s) in {len(self.cassettes(group))} cassette(s), e.g. "
                    f"{example.recorded!r} -> {example.replayed!r}")
        fragment = render_table("rules", table, [evidence])
        return Redactor.from_settings(self.settings).text(fragment).rstrip("\n") + "\n"

    def _covers(self, group: DifferenceGroup) -> str | None:
        """What verdict field or echo a noise rule on the group's place would hide, checked on
        the recorded responses (None also when the cassettes cannot be read)."""
        import json

        from ihe_test_util.compare import load_rules

        try:
            manifest = json.loads((self.store / MANIFEST).read_text(encoding="utf-8"))
            root = Path(manifest["root"])
            cassettes = {c: load_cassette(root.joinpath(*c.split("/")))
                         for c in self.cassettes(group)}
        except (OSError, ValueError, KeyError, TypeError, CassetteError):
            return None
        rules = load_rules(self.settings.rules, source=self.settings.source) \
            if self.settings.rules else None
        return covered_by(group.pattern, group.example_ids, cassettes, rules=rules)

    def ignore(self, number: int) -> Written:
        from ihe_test_util.cli.commands._learn_run import validate_rules

        fragment = self.rule_fragment(self.groups[number - 1])
        path = self.config_path
        before = {path: path.read_bytes() if path.exists() else None}
        with stop_on_signals() as stop, stop.deferred():
            append_to_config(path, fragment, validate_rules)
        written = Written(f"ignored group {number}: rule appended to {path}", before)
        self._record(number, "ignored", written)
        return written

    # -- undo ------------------------------------------------------------------------------

    def undo(self) -> tuple[int, str] | None:
        """Put back what the last write replaced: (its group, what was undone); None when
        nothing was written."""
        if not self.history:
            return None
        number, written = self.history.pop()
        with stop_on_signals() as stop, stop.deferred():
            for path, content in written.before.items():
                if content is None:
                    with contextlib.suppress(FileNotFoundError):
                        path.unlink()
                else:
                    with atomic_file(path) as stream:
                        stream.write(content)
        for other, what in list(self.done.items()):
            if other == number or what.endswith(f"with group {number}"):
                del self.done[other]
        return number, f"undone: {written.what}"

    def _record(self, number: int, what: str, written: Written) -> None:
        self.done[number] = what
        self.history.append((number, written))

    # -- showing ---------------------------------------------------------------------------

    def rows(self, group: DifferenceGroup) -> list[Row] | None:
        """Side-by-side rows of the group's first exchange (None: bodies not at hand)."""
        ident = group.example_ids[0]
        result = next((r for r in self.results if r.id == ident), None)
        if result is None:
            return None
        try:
            recorded, replayed = _bodies(self.store, result)
        except (CassetteError, OSError, ValueError, KeyError):
            return None
        redactor = Redactor.from_settings(self.settings)
        recorded, replayed = redactor.response(recorded), redactor.response(replayed)
        return compare_bodies(recorded, replayed, result.differences)


def _bodies(store: Path, result: ExchangeResult) -> tuple[Response, Response]:
    import json

    manifest = json.loads((store / MANIFEST).read_text(encoding="utf-8"))
    cassette = load_cassette(Path(manifest["root"]).joinpath(*result.cassette.split("/")))
    (kept,) = load_cassette(kept_exchange_path(store, result.cassette, result.index)).interactions
    return cassette.interactions[result.index].response, kept.response


# -- terminal --------------------------------------------------------------------------------

_ROW_STYLE = {"difference": "bold", "noise": "dim", "equal": ""}


def render_group(review: Review, number: int, console: Console) -> None:
    group = review.groups[number - 1]
    colour = "red" if group.severity is Severity.REGRESSION else "yellow"
    cassettes = review.cassettes(group)
    head = Text.assemble(
        (f"{group.severity.value}", f"bold {colour}"), "  ",
        (group.transaction_label, "bold"), "  ", (group.location, "cyan"), "\n",
        f"{group.exchanges} exchange(s) in {len(cassettes)} cassette(s), "
        f"{group.occurrences} difference(s); kinds: {', '.join(group.kinds)}",
        ("\nrule: " + ", ".join(group.rules)) if group.rules else "",
    )
    examples = Table(show_edge=False, expand=True, box=None, padding=(0, 1))
    examples.add_column("exchange", style="dim", no_wrap=True)
    examples.add_column("recorded", style="red")
    examples.add_column("replayed", style="green")
    for ident in group.example_ids[:3]:
        result = next(r for r in review.results if r.id == ident)
        for difference in result.differences:
            if _same_place(group, difference.path):
                examples.add_row(ident, _shown(difference.recorded), _shown(difference.replayed))
    parts: list[object] = [head, Text(""), examples]
    rows = review.rows(group)
    if rows:
        parts += [Text(""), _rows_table(rows)]
    console.print(Panel(Group(*parts),  # type: ignore[arg-type]
                        title=f"group {number} of {len(review.groups)}", title_align="left",
                        border_style=colour))


def _same_place(group: DifferenceGroup, path: str) -> bool:
    import re

    return re.sub(r"\[\d+\]", "", path) == group.pattern


def _shown(value: str | None, limit: int = 200) -> str:
    if value is None:
        return "(absent)"
    return value if len(value) <= limit else value[:limit] + "…"


def _rows_table(rows: Sequence[Row]) -> Table:
    table = Table(show_edge=False, expand=True, box=None, padding=(0, 1), show_header=True)
    table.add_column("#", justify="right", style="dim", no_wrap=True)
    table.add_column("recorded", overflow="fold", ratio=1)
    table.add_column("#", justify="right", style="dim", no_wrap=True)
    table.add_column("replayed", overflow="fold", ratio=1)
    for shown, row in enumerate(rows):
        if shown >= MAX_ROWS:
            table.add_row("", Text("… more in the HTML report", style="dim"), "", "")
            break
        if row.kind == "collapsed":
            table.add_row("", Text(f"⋯ {row.skipped} unchanged line(s)", style="dim"), "",
                          Text(f"⋯ {row.skipped} unchanged line(s)", style="dim"))
        else:
            style = _ROW_STYLE[row.kind]
            left_style = f"{style} red" if row.kind == "difference" else style
            right_style = f"{style} green" if row.kind == "difference" else style
            table.add_row(str(row.left_number or ""), Text(row.left or "", style=left_style),
                          str(row.right_number or ""), Text(row.right or "", style=right_style))
    return table


def run_review(cli_ctx: CliContext, report: Path, *, approve: list[str], ignore: list[str],
               allow_regressions: bool, list_only: bool) -> None:
    settings = cli_ctx.settings()
    config_path = cli_ctx.config_path or (Path(settings.source) if settings.source
                                          else Path("ihe.toml"))
    review = Review.load(report, settings, config_path)
    console = Console(no_color=not cli_ctx.color, highlight=False, soft_wrap=False)
    if not review.groups:
        console.print("nothing to review: the run has no findings")
        return
    if list_only:
        for number, group in enumerate(review.groups, start=1):
            console.print(Text(f"{number:>3}  {group.severity.value:<10} "
                               f"{group.transaction_label:<8} {group.location}  "
                               f"({group.exchanges} exchange(s))"))
        return
    if approve or ignore:
        _scripted(review, console, approve, ignore, allow_regressions)
        return
    if not sys.stdin.isatty():
        raise UsageError("ihe review needs a terminal to ask",
                         hint="use --approve GROUP / --ignore GROUP in scripts, or --list")
    _interactive(review, console, _key_reader(console))


def _key_reader(console: Console) -> Callable[[str], str]:
    """Ask with a prompt and read one key press (no Enter needed; Enter and spaces before the
    key are ignored); a line with ``input`` where the terminal cannot be put in cbreak mode."""
    try:
        import termios
        import tty
    except ImportError:  # pragma: no cover - Windows
        return input

    def read_key(prompt: str) -> str:
        descriptor = sys.stdin.fileno()
        try:
            saved = termios.tcgetattr(descriptor)
        except termios.error:
            console.file.write(prompt)
            console.file.flush()
            return input()
        try:
            # Single keys before the prompt shows, without flushing input (the default
            # TCSAFLUSH would drop a key typed as soon as the prompt appeared).
            tty.setcbreak(descriptor, termios.TCSANOW)
            console.file.write(prompt)
            console.file.flush()
            while True:
                key = os.read(descriptor, 1).decode("utf-8", "replace")
                if not key:
                    raise EOFError
                if key == "\x04":  # Ctrl-D
                    raise EOFError
                if not key.isspace():
                    break
        finally:
            termios.tcsetattr(descriptor, termios.TCSADRAIN, saved)
        console.file.write(key + "\n")
        console.file.flush()
        return key

    return read_key


def _scripted(review: Review, console: Console, approve: list[str], ignore: list[str],
              allow_regressions: bool) -> None:
    chosen_approve = [review.groups.index(review.group(n)) + 1 for n in approve]
    chosen_ignore = [review.groups.index(review.group(n)) + 1 for n in ignore]
    for number in chosen_approve:  # check everything before writing anything
        group = review.groups[number - 1]
        if group.severity is Severity.REGRESSION and not allow_regressions:
            raise UsageError(f"group {number} ({group.location}) is a regression",
                             hint="review it, then pass --allow-regressions to approve it")
    fragments = {number: review.rule_fragment(review.groups[number - 1])
                 for number in chosen_ignore}
    for number in chosen_approve:
        for line in review.approval_plan(review.groups[number - 1]):
            console.print(Text(f"approve {line}"))
        console.print(Text(review.approve(number).what, style="green"))
    for number in chosen_ignore:
        console.print(Syntax(fragments[number], "toml", theme="ansi_dark", word_wrap=True,
                             background_color="default"))
        console.print(Text(review.ignore(number).what, style="green"))


_KEYS = "[a]pprove  [i]gnore this place  [s]kip  [u]ndo  [q]uit"


def _interactive(review: Review, console: Console, ask: Callable[[str], str]) -> None:
    number = 1
    while True:
        while number <= len(review.groups) and number in review.done:
            number += 1
        if number > len(review.groups):
            console.print(Text(f"reviewed all {len(review.groups)} group(s); "
                               f"{len(review.history)} write(s)", style="bold"))
            return
        render_group(review, number, console)
        try:
            key = ask(f"{_KEYS} > ").strip().lower()[:1]
        except EOFError:
            key = "q"
        if key == "q":
            console.print(Text(f"stopped at group {number}; {len(review.history)} write(s)"))
            raise Exit(0)
        if key == "s":
            number += 1
        elif key == "u":
            undone = review.undo()
            if undone is None:
                console.print(Text("nothing to undo", style="yellow"))
            else:
                number, message = undone
                console.print(Text(message, style="yellow"))
        elif key == "a":
            group = review.groups[number - 1]
            try:
                plan = review.approval_plan(group)
            except UsageError as exc:
                console.print(Text(f"cannot approve: {exc.message}", style="red"))
                continue
            console.print(Text("will rewrite, as the new baseline: " + ", ".join(plan)))
            if group.severity is Severity.REGRESSION:
                answer = ask("this group is a REGRESSION: approve it anyway? [y/N] > ")
                if answer.strip().lower() not in ("y", "yes"):
                    console.print(Text("not approved", style="yellow"))
                    continue
            console.print(Text(review.approve(number).what, style="green"))
            number += 1
        elif key == "i":
            try:
                fragment = review.rule_fragment(review.groups[number - 1])
            except UsageError as exc:
                console.print(Text(f"cannot ignore: {exc.message}", style="red"))
                continue
            console.print(Text(f"will append to {review.config_path}:"))
            console.print(Syntax(fragment, "toml", theme="ansi_dark", word_wrap=True,
                                 background_color="default"))
            console.print(Text(review.ignore(number).what, style="green"))
            number += 1
        else:
            console.print(Text(f"unknown key {key!r}: {_KEYS}", style="yellow"))

