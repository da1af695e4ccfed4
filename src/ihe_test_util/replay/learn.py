"""Learning a system's noise (``ihe learn``): replay the same cassettes several times against the
unchanged system and propose rules for the places whose values change from run to run.

The runs are ordinary replays (:func:`ihe_test_util.replay.runner.run_replay`); this module only
reads their results. A place is one (transaction, location) where a difference was reported.
It is proposed when, for every exchange that shows it:

* every run replayed the exchange and every verdict field held (recorded == replayed verdict,
  no regression): an exchange whose verdict moved teaches nothing and is reported as unstable;
* the difference is a value or attribute change that the comparer judged ``changed`` (never a
  verdict field, never a broken echo);
* its replayed value is not the same in every run (a value that changed once, at the upgrade,
  and then stays is drift to review, not noise).

The location is generalised over list positions (``ExtrinsicObject[2]`` -> ``ExtrinsicObject``)
when every node the general pattern selects in the recorded responses was seen varying;
otherwise the positional path is kept. A proposal never covers a verdict field or an echo of
the catalogue or of the user's rules (checked on the recorded responses), nor a value the replay
already correlates. A varying value whose recorded form reappears in a *later* request of its
cassette is an identifier the server assigned and the client reuses: it is proposed as a
``[[correlate]]`` rule, not as noise.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from lxml import etree

from ihe_test_util.compare.rules import RuleSet, compile_rules
from ihe_test_util.ihe.catalogue import detect, spec_for
from ihe_test_util.ihe.message import Message, read_uncached
from ihe_test_util.ihe.patterns import Pattern, PatternError, compile_patterns, local_name
from ihe_test_util.ihe.tokens import is_identifier, occurs
from ihe_test_util.ihe.verdicts import read_verdict
from ihe_test_util.model import Cassette
from ihe_test_util.replay.capture_rules import CaptureRule
from ihe_test_util.replay.correlate import find_captures, find_rule_captures
from ihe_test_util.replay.runner import ReplayEngine, ReplayPlan, run_replay
from ihe_test_util.results import DifferenceKind, ExchangeResult, Outcome, Severity

#: Differences that may be noise: a value or an attribute that changed in place.
LEARNABLE_KINDS = frozenset({DifferenceKind.VALUE, DifferenceKind.ATTRIBUTE})
_POSITION = re.compile(r"\[\d+\]")
MAX_SAMPLES = 4


def general_pattern(path: str) -> str:
    """A report path without its list positions: ``/A/B[2]/@x`` -> ``/A/B/@x``."""
    return _POSITION.sub("", path)


def wire_value(shown: str | None) -> str | None:
    """A difference's value as the wire carries it: reports show JSON strings quoted
    (``"9cbb..."``), requests carry them bare (``Patient/9cbb...``)."""
    if shown and len(shown) >= 2 and shown[0] == shown[-1] == '"':
        try:
            value = json.loads(shown)
        except ValueError:
            return shown
        return value if isinstance(value, str) else shown
    return shown


def rule_label(pattern: str) -> str:
    """A short name for a rule on ``pattern``: its last step, with its element for an
    attribute (``/A/id/@value`` -> ``id/@value``)."""
    steps = pattern.rstrip("/").split("/")
    if len(steps) > 1 and steps[-1].startswith("@"):
        return "/".join(steps[-2:])
    return steps[-1]


def rule_pattern(path: str) -> str | None:
    """The ``[[rules]]`` pattern for a report path, or None where there is none (HTTP status,
    content type, MIME parts: outside the body)."""
    if not path.startswith("/"):
        return None
    try:
        compile_patterns(path)
    except PatternError:
        return None
    return path


@dataclass
class _Observed:
    """One (exchange, path) across the runs."""

    recorded: str | None
    replayed: list[str | None] = field(default_factory=list)


@dataclass
class Place:
    """A proposal: a noise pattern (``kind == "noise"``) or a correlate rule (``"correlate"``)."""

    kind: str
    transaction: str | None
    pattern: str
    paths: set[str] = field(default_factory=set)
    exchanges: list[str] = field(default_factory=list)
    runs_varied: int = 0
    samples: list[str] = field(default_factory=list)
    reused_by: list[str] = field(default_factory=list)

    @property
    def cassettes(self) -> list[str]:
        return sorted({e.rsplit("#", 1)[0] for e in self.exchanges})

    def to_table(self) -> dict[str, str | list[str]]:
        """The ``[[rules]]`` / ``[[correlate]]`` table of this proposal."""
        name = f"learned: {self.transaction or 'any'} {rule_label(self.pattern)}"
        table: dict[str, str | list[str]] = {"name": name}
        if self.transaction:
            table["transaction"] = self.transaction
        elif self.kind == "noise":
            table["cassette"] = self.cassettes
        if self.kind == "noise":
            table["noise"] = self.pattern
        else:
            table["response"] = xpath_of(self.pattern)
        return table

    def evidence(self, runs: int) -> str:
        exchanges = ", ".join(self.exchanges[:3]) + (
            f" and {len(self.exchanges) - 3} more" if len(self.exchanges) > 3 else "")
        samples = ", ".join(repr(_short(s)) for s in self.samples[:MAX_SAMPLES])
        what = ("an identifier the server assigns, reused by " + ", ".join(self.reused_by[:3])
                if self.kind == "correlate" else "varied")
        return (f"{what}: in {self.runs_varied} of {runs} runs, {len(self.exchanges)} "
                f"exchange(s) ({exchanges}); values {samples}")


def xpath_of(pattern: str) -> str:
    """A namespace-free report path as XPath for ``[[correlate]]`` (unprefixed names there
    mean *no* namespace, so each step is written as a local-name test)."""
    from ihe_test_util.ihe.patterns import translate

    return translate(pattern)


def _short(value: str, limit: int = 60) -> str:
    return value if len(value) <= limit else value[:limit] + "…"


@dataclass
class Skipped:
    """A place seen in the runs but not proposed, and why (shown with ``-v``)."""

    transaction: str | None
    path: str
    reason: str


@dataclass
class Learned:
    runs: int
    exchanges: int
    places: list[Place]
    skipped: list[Skipped]
    unstable: dict[str, str]  # exchange id -> why it taught nothing

    @property
    def noise(self) -> list[Place]:
        return [p for p in self.places if p.kind == "noise"]

    @property
    def correlate(self) -> list[Place]:
        return [p for p in self.places if p.kind == "correlate"]


def learn(runs: Sequence[Sequence[ExchangeResult]], cassettes: Mapping[str, Cassette], *,
          rules: RuleSet | None = None, capture_rules: Sequence[CaptureRule] = ()) -> Learned:
    """What ``runs`` (each: the results of one replay of the same cassettes) teach about the
    system's volatile places; ``cassettes`` by id give the recorded messages."""
    by_id: dict[str, list[ExchangeResult]] = {}
    for run in runs:
        for result in run:
            by_id.setdefault(result.id, []).append(result)
    unstable: dict[str, str] = {}
    observed: dict[tuple[str | None, str], dict[str, _Observed]] = {}
    for ident, results in by_id.items():
        reason = _unstable(results, len(runs))
        if reason:
            unstable[ident] = reason
            continue
        for run_number, result in enumerate(results):
            for difference in result.differences:
                if (difference.severity is not Severity.CHANGED
                        or difference.kind not in LEARNABLE_KINDS):
                    continue
                seen = observed.setdefault((result.transaction, difference.path), {})
                item = seen.setdefault(ident, _Observed(difference.recorded))
                item.replayed.extend([None] * (run_number - len(item.replayed)))
                item.replayed.append(difference.replayed)
    context = _Context(cassettes, rules, capture_rules)
    places: dict[tuple[str, str | None, str], Place] = {}
    skipped: list[Skipped] = []
    volatile: dict[str | None, set[str]] = {}
    candidates: list[tuple[str | None, str, dict[str, _Observed]]] = []
    for (transaction, path), seen in observed.items():
        varied = [o for o in seen.values() if _varies(o, len(runs))]
        if not varied:
            skipped.append(Skipped(transaction, path, "the same new value in every run: a "
                                   "change to review, not noise"))
            continue
        if rule_pattern(path) is None:
            skipped.append(Skipped(transaction, path, "outside the body"))
            continue
        volatile.setdefault(transaction, set()).add(path)
        candidates.append((transaction, path, seen))
    for transaction, path, seen in candidates:
        reused = context.reused_later(seen)
        if context.correlated(seen):
            skipped.append(Skipped(transaction, path, "a correlated id (carried into later "
                                   "requests already)"))
            continue
        kind = "correlate" if reused else "noise"
        pattern = path if kind == "correlate" else context.generalise(
            transaction, path, volatile[transaction], list(seen))
        covered = context.covers_verdict_or_echo(pattern, list(seen))
        if covered:
            if pattern != path and not context.covers_verdict_or_echo(path, list(seen)):
                pattern = path
            else:
                skipped.append(Skipped(transaction, path, f"would cover {covered}"))
                continue
        place = places.get((kind, transaction, pattern))
        if place is None:
            place = places[(kind, transaction, pattern)] = Place(kind, transaction, pattern)
        place.paths.add(path)
        for ident, item in seen.items():
            if ident not in place.exchanges:
                place.exchanges.append(ident)
            place.runs_varied = max(place.runs_varied,
                                    sum(value is not None for value in item.replayed))
            for value in (item.recorded, *item.replayed):
                if value is not None and value not in place.samples \
                        and len(place.samples) < MAX_SAMPLES:
                    place.samples.append(value)
        for user in reused:
            if user not in place.reused_by:
                place.reused_by.append(user)
    ordered = sorted(places.values(), key=lambda p: (p.kind != "noise", p.transaction or "",
                                                     p.pattern))
    for place in ordered:
        place.exchanges.sort(key=_exchange_order)
        place.reused_by.sort(key=_exchange_order)
    return Learned(len(runs), len(by_id), ordered, skipped, unstable)


def _exchange_order(ident: str) -> tuple[str, int]:
    cassette, _, index = ident.rpartition("#")
    return cassette, int(index) if index.isdigit() else -1


def render_toml(learned: Learned, header: str) -> str:
    """The reviewable fragment: ``header`` as a comment, then a table per proposal, each
    preceded by its evidence. Empty when nothing was learned."""
    from ihe_test_util.config import render_table

    if not learned.places:
        return ""
    tables = [render_table("rules" if place.kind == "noise" else "correlate", place.to_table(),
                           [place.evidence(learned.runs)])
              for place in learned.places]
    return "".join(f"# {line}\n" for line in header.splitlines()) + "\n" + "\n".join(tables)


def covered_by(pattern: str, exchanges: Iterable[str], cassettes: Mapping[str, Cassette], *,
               rules: RuleSet | None = None) -> str | None:
    """The verdict field or echo a noise ``pattern`` would cover in the recorded responses of
    ``exchanges`` (ids, ``cassettes`` by id), or None: what ``ihe review`` checks before it
    writes an *ignore* rule, as ``ihe learn`` does before it proposes one."""
    return _Context(cassettes, rules, ()).covers_verdict_or_echo(pattern, exchanges)


def _varies(item: _Observed, runs: int) -> bool:
    """Whether the value differs between runs (a run without the difference had the
    recorded value)."""
    values = [item.recorded if value is None else value for value in item.replayed]
    values += [item.recorded] * (runs - len(values))
    return len(set(values)) > 1


def replay_runs(make_plan: Callable[[], ReplayPlan], engine: ReplayEngine, *, runs: int,
                jobs: int = 1, on_result: Callable[[int, ExchangeResult], None] | None = None,
                before_each: Callable[[int], None] | None = None,
                ) -> list[list[ExchangeResult]]:
    """Replay the planned cassettes ``runs`` times with the ordinary runner, one run after the
    other (each plans again: a plan hands its loaded cassettes out once); ``before_each`` is
    called with the run's number first (``[hooks] before_replay``: reset a stateful target)."""
    results: list[list[ExchangeResult]] = []
    for number in range(runs):
        if before_each is not None:
            before_each(number)
        collected: list[ExchangeResult] = []

        def collect(result: ExchangeResult, number: int = number,
                    collected: list[ExchangeResult] = collected) -> None:
            collected.append(result)
            if on_result is not None:
                on_result(number, result)

        run_replay(make_plan(), engine, jobs=jobs, on_result=collect)
        results.append(collected)
    return results


def _unstable(results: Sequence[ExchangeResult], runs: int) -> str | None:
    if len(results) < runs:
        return f"replayed in {len(results)} of {runs} runs"
    for result in results:
        if result.outcome in (Outcome.ERROR, Outcome.SKIPPED):
            kind = result.error.type if result.error else result.outcome.value
            return f"{result.outcome.value} in a run ({kind})"
        if result.outcome is Outcome.REGRESSION or (
                result.verdict_recorded is not None
                and dict(result.verdict_recorded) != dict(result.verdict_replayed or {})):
            return "a verdict field changed in a run"
    return None


class _Context:
    """The recorded messages of the cassettes, read once, and what the rules say about them."""

    def __init__(self, cassettes: Mapping[str, Cassette], rules: RuleSet | None,
                 capture_rules: Sequence[CaptureRule]) -> None:
        self.cassettes = cassettes
        self.rules = rules
        self.capture_rules = tuple(capture_rules)
        self._messages: dict[str, tuple[Message, Message]] = {}
        self._captured: dict[str, set[str]] = {}

    def _exchange(self, ident: str) -> tuple[str, int] | None:
        cassette, _, index = ident.rpartition("#")
        if cassette not in self.cassettes or not index.isdigit():
            return None
        if int(index) >= len(self.cassettes[cassette].interactions):
            return None
        return cassette, int(index)

    def messages(self, ident: str) -> tuple[Message, Message] | None:
        """The recorded request and response of an exchange, parsed."""
        found = self._messages.get(ident)
        if found is None:
            where = self._exchange(ident)
            if where is None:
                return None
            interaction = self.cassettes[where[0]].interactions[where[1]]
            found = self._messages[ident] = (
                read_uncached(interaction.request, "recorded request"),
                read_uncached(interaction.response, "recorded response"))
        return found

    def correlated(self, seen: Mapping[str, _Observed]) -> bool:
        """Whether the replay already carries these recorded values into later requests."""
        for ident, item in seen.items():
            where = self._exchange(ident)
            if where is None or item.recorded is None:
                continue
            captured = self._captured.get(where[0])
            if captured is None:
                captured = self._captured[where[0]] = self._captures(where[0])
            if any(value == item.recorded or occurs(value, item.recorded) for value in captured):
                return True
        return False

    def _captures(self, cassette_id: str) -> set[str]:
        interactions = self.cassettes[cassette_id].interactions
        requests = [read_uncached(i.request).root for i in interactions]
        responses = [read_uncached(i.response).root for i in interactions]
        found = find_captures(requests, responses)
        found += find_rule_captures(self.capture_rules,
                                    [i.meta.transaction for i in interactions], requests,
                                    responses, known=(c.value for c in found))
        return {c.value for c in found}

    def reused_later(self, seen: Mapping[str, _Observed]) -> list[str]:
        """Exchanges whose recorded request carries a recorded value of this place later on."""
        users: list[str] = []
        for ident, item in seen.items():
            where = self._exchange(ident)
            value = wire_value(item.recorded)
            if where is None or value is None or not is_identifier(value):
                continue
            cassette, index = where
            for later, interaction in enumerate(self.cassettes[cassette].interactions):
                if later <= index:
                    continue
                text = interaction.request.uri + "\n" + interaction.request.body.decode(
                    "utf-8", "replace")
                if occurs(value, text):
                    users.append(f"{cassette}#{later}")
        return users

    def generalise(self, transaction: str | None, path: str, volatile: set[str],
                   exchanges: Iterable[str]) -> str:
        """``path`` without positions if every node that selects in the recorded responses
        of these exchanges was seen varying; else ``path`` itself."""
        general = general_pattern(path)
        if general == path:
            return path
        try:
            (pattern,) = compile_patterns(general)
        except (PatternError, ValueError):
            return path
        for ident in exchanges:
            found = self.messages(ident)
            if found is None or found[1].root is None:
                return path
            for node_path in _selected_paths(pattern, found[1].root):
                if node_path not in volatile:
                    return path
        return general

    def covers_verdict_or_echo(self, pattern_text: str, exchanges: Iterable[str]) -> str | None:
        """What verdict field or echo a noise pattern would cover in these exchanges, if any."""
        try:
            patterns = compile_patterns(pattern_text)
        except PatternError:
            return "nothing it can select (invalid pattern)"
        for ident in exchanges:
            found = self.messages(ident)
            if found is None or found[1].root is None:
                continue
            request, response = found
            root = response.root
            if root is None:
                continue
            where = self._exchange(ident)
            transaction = self.cassettes[where[0]].interactions[where[1]].meta.transaction \
                if where else None
            spec = None
            if transaction:
                try:
                    spec = spec_for(transaction)
                except KeyError:
                    spec = None
            if spec is None:
                spec = detect(response, request)
            user = self.rules.for_exchange(spec.id, where[0] if where else None) \
                if self.rules is not None else ()
            compiled = compile_rules(spec, user)
            nodes = [node for p in patterns for node in _selected(p, root)]
            for verdict in compiled.verdicts:
                reading = read_verdict(response, verdict)
                for element, attribute in nodes:
                    if reading.covers(element, attribute, False) or _within(
                            element, attribute, reading.element, reading.attribute):
                        return f"the verdict field {verdict.name}"
            for echo in compiled.echoes:
                for echo_pattern in echo.response:
                    for echo_node in _selected(echo_pattern, root):
                        for element, attribute in nodes:
                            if _within(element, attribute, *echo_node):
                                return f"the echo {echo.label}"
        return None


def _within(element: etree._Element, attribute: str | None, target: etree._Element | None,
            target_attribute: str | None) -> bool:
    """Whether noise at (``element``, ``attribute``) hides (``target``, ``target_attribute``):
    the same attribute, or the target inside a whole element that is noise."""
    if target is None:
        return False
    if attribute is not None:
        return element is target and attribute == target_attribute
    node: etree._Element | None = target
    while node is not None:
        if node is element:
            return True
        node = node.getparent()
    return False


def _selected(pattern: Pattern, root: etree._Element) -> list[
        tuple[etree._Element, str | None]]:
    """The nodes a pattern selects as (element, attribute local name or None)."""
    nodes: list[tuple[etree._Element, str | None]] = []
    for item in pattern.select(root):
        if isinstance(item, etree._Element):
            nodes.append((item, None))
        elif isinstance(item, etree._ElementUnicodeResult):
            parent = item.getparent()
            if parent is None:
                continue
            nodes.append((parent, local_name(item.attrname) if item.is_attribute and
                          item.attrname else None))
    return nodes


def _selected_paths(pattern: Pattern, root: etree._Element) -> list[str]:
    from ihe_test_util.compare.describe import PathNamer

    namer = PathNamer()
    return [namer.path(element) + (f"/@{attribute}" if attribute else "")
            for element, attribute in _selected(pattern, root)]


__all__ = ["Learned", "Place", "Skipped", "covered_by", "general_pattern", "learn",
           "render_toml", "replay_runs", "rule_label", "rule_pattern"]
