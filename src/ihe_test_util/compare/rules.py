"""Comparer rules: the user's ``[[rules]]`` tables, validated, and their union with a catalogue
entry compiled into an index the tree walk consults per element.

A user rule (``ihe.toml``)::

    [[rules]]
    name = "PDQ match score drifts"          # optional; reports name the rule by it
    transaction = "ITI-47"                   # optional: string or list; default every transaction
    cassette = "pdq/*.yaml"                  # optional: glob(s) on the cassette id; default all
    noise = ["//hl7:queryMatchObservation/hl7:value/@value"]   # locations whose value may change
    identifiers = ["//hl7:patient/hl7:id/@extension"]          # compare up to consistent renaming
    unordered = "//hl7:patientPerson/hl7:name"                  # lists whose order means nothing
    key = ["@use"]                                              # ... and how members are paired
    verdict = ["//hl7:queryAck/hl7:resultTotalQuantity/@value"] # extra regression fields

Each of ``noise``, ``identifiers``, ``unordered``, ``verdict`` takes a pattern or a list of
patterns (see :mod:`ihe_test_util.ihe.patterns`); a rule needs at least one of them. Errors name
the rule by index and key (``rules[2].noise``).
"""

from __future__ import annotations

import fnmatch
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Any

from lxml import etree

from ihe_test_util.errors import ConfigError
from ihe_test_util.ihe.catalogue import known_ids, transaction_id
from ihe_test_util.ihe.patterns import (
    NAMESPACES,
    Pattern,
    PatternError,
    attributes,
    compile_patterns,
    local_name,
    translate,
)
from ihe_test_util.ihe.specs import TransactionSpec, Unordered, Verdict

RULE_KEYS = {"name", "transaction", "cassette", "noise", "identifiers", "unordered", "key",
             "verdict"}
EFFECT_KEYS = ("noise", "identifiers", "unordered", "verdict")


@dataclass(frozen=True)
class UserRule:
    """One validated ``[[rules]]`` table."""

    index: int
    name: str
    transactions: tuple[str, ...] = ()
    cassettes: tuple[str, ...] = ()
    noise: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    unordered: tuple[str, ...] = ()
    key: tuple[str, ...] = ()
    verdict: tuple[str, ...] = ()

    def applies(self, transaction: str | None, cassette: str | None) -> bool:
        if self.transactions and transaction not in self.transactions:
            return False
        if self.cassettes:
            if cassette is None:
                return False
            return any(fnmatch.fnmatch(cassette, glob) for glob in self.cassettes)
        return True


@dataclass(frozen=True)
class RuleSet:
    """The user's rules; :meth:`for_exchange` picks those that apply to one exchange."""

    rules: tuple[UserRule, ...] = ()

    def for_exchange(self, transaction: str | None, cassette: str | None) -> tuple[UserRule, ...]:
        return tuple(rule for rule in self.rules if rule.applies(transaction, cassette))

    def __len__(self) -> int:
        return len(self.rules)


def load_rules(tables: Iterable[Mapping[str, Any]], *, source: str | None = None) -> RuleSet:
    """Validate ``Settings.rules``; raises :class:`ConfigError` naming ``rules[i].key``."""
    return RuleSet(tuple(_load_rule(index, table, source)
                         for index, table in enumerate(tables)))


def _load_rule(index: int, table: Mapping[str, Any], source: str | None) -> UserRule:
    where = f"rules[{index}]"
    if not isinstance(table, Mapping):
        raise ConfigError("expected a table", source=source, key=where)
    for key in table:
        if key not in RULE_KEYS:
            raise ConfigError("unknown key", source=source, key=f"{where}.{key}",
                              hint=f"allowed in a rule: {', '.join(sorted(RULE_KEYS))}")
    if not any(key in table for key in EFFECT_KEYS):
        raise ConfigError(
            "a rule needs at least one of noise, identifiers, unordered, verdict",
            source=source, key=where,
        )
    name = table.get("name", where)
    if not isinstance(name, str) or not name.strip():
        raise ConfigError("expected a non-empty string", source=source, key=f"{where}.name")
    transactions = _strings(table, "transaction", where, source)
    normalised = []
    for transaction in transactions:
        ident = transaction_id(transaction)
        if ident is None:
            raise ConfigError(
                f"unknown transaction {transaction!r}", source=source,
                key=f"{where}.transaction", hint=f"known: {', '.join(known_ids())}",
            )
        normalised.append(ident)
    patterns: dict[str, tuple[str, ...]] = {}
    for key in EFFECT_KEYS:
        values = _strings(table, key, where, source)
        for value in values:
            try:
                compile_patterns(value)
            except PatternError as exc:
                raise ConfigError(f"invalid XPath {value!r}: {exc}", source=source,
                                  key=f"{where}.{key}") from None
        patterns[key] = values
    keys = _strings(table, "key", where, source)
    if keys and not patterns["unordered"]:
        raise ConfigError("'key' only makes sense with 'unordered'", source=source,
                          key=f"{where}.key")
    for expression in keys:
        try:
            etree.XPath(f"string({translate(expression)})", namespaces=NAMESPACES)
        except (PatternError, etree.XPathSyntaxError) as exc:
            raise ConfigError(f"invalid XPath {expression!r}: {exc}", source=source,
                              key=f"{where}.key") from None
    return UserRule(
        index=index, name=name.strip(), transactions=tuple(normalised),
        cassettes=_strings(table, "cassette", where, source), noise=patterns["noise"],
        identifiers=patterns["identifiers"], unordered=patterns["unordered"], key=keys,
        verdict=patterns["verdict"],
    )


def _strings(table: Mapping[str, Any], key: str, where: str, source: str | None) -> (
    tuple[str, ...]
):
    value = table.get(key, ())
    if isinstance(value, str):
        value = [value]
    if not isinstance(value, (list, tuple)) or not all(
            isinstance(item, str) and item.strip() for item in value):
        raise ConfigError("expected a string or a list of strings", source=source,
                          key=f"{where}.{key}")
    return tuple(item.strip() for item in value)


# --- compiled index ---------------------------------------------------------------------------

@dataclass(frozen=True)
class RulePattern:
    """A compiled pattern and the name of the rule it came from (reports cite it)."""

    pattern: Pattern
    rule: str


class PatternIndex:
    """Patterns indexed by the local name of their last step, for per-element lookups."""

    def __init__(self, patterns: Iterable[RulePattern]) -> None:
        self.by_local: dict[str, list[RulePattern]] = {}
        self.wildcard: list[RulePattern] = []
        for item in patterns:
            last = item.pattern.last_local
            if last == "*":
                self.wildcard.append(item)
            else:
                self.by_local.setdefault(last, []).append(item)

    def candidates(self, local: str) -> list[RulePattern]:
        named = self.by_local.get(local)
        if named is None:
            return self.wildcard
        return named + self.wildcard if self.wildcard else named

    def __bool__(self) -> bool:
        return bool(self.by_local or self.wildcard)


@dataclass
class ElementRules:
    """What the rules say about one element: filled only where something applies."""

    noise: str | None = None          # the whole element (subtree) is noise: rule name
    echo: bool = False                # the whole element is an echo, checked separately
    noise_attributes: dict[str, str] = field(default_factory=dict)
    echo_attributes: set[str] = field(default_factory=set)
    identifier_attributes: dict[str, str] = field(default_factory=dict)
    text_noise: str | None = None
    text_echo: bool = False
    text_identifier: str | None = None


EMPTY_RULES = ElementRules()
#: How many tag paths one :class:`CompiledRules` remembers (a hostile document with endless
#: distinct paths is still compared, its further paths just are not memoised).
_CACHE_LIMIT = 50_000


class _PathCount:
    """How many :class:`RulePath` nodes one tree holds (bounded by :data:`_CACHE_LIMIT`)."""

    __slots__ = ("nodes",)

    def __init__(self) -> None:
        self.nodes = 0


class RulePath:
    """One tag path from the document root (``Envelope/Body/...``), interned per
    :class:`CompiledRules`: the key under which rule lookups for elements at that path are
    remembered. Walking down is one dict lookup per step (a tuple of tags would be built and
    hashed whole at every element)."""

    __slots__ = ("_children", "_count", "entry", "local", "tag", "unordered")

    def __init__(self, tag: str, local: str, count: _PathCount) -> None:
        self.tag = tag
        self.local = local
        #: :meth:`CompiledRules.element_rules_at`'s memo: (fixed rules, conditional ones).
        self.entry: tuple[ElementRules, tuple[_Candidate, ...]] | None = None
        #: :meth:`CompiledRules.unordered_for`'s memo (None: not known yet).
        self.unordered: tuple[UnorderedRule, ...] | None = None
        self._children: dict[str, RulePath] = {}
        self._count = count

    def child(self, tag: str) -> RulePath:
        """The path one step further down, to an element with ``tag``."""
        node = self._children.get(tag)
        if node is None:
            node = RulePath(tag, local_name(tag), self._count)
            if self._count.nodes < _CACHE_LIMIT:
                self._count.nodes += 1
                node = self._children.setdefault(tag, node)
        return node


@dataclass(frozen=True)
class UnorderedRule:
    parent: Pattern
    children: Pattern
    key: tuple[etree.XPath, ...]
    rule: str
    sorted_by: str = ""


@dataclass(frozen=True)
class EchoRule:
    response: tuple[Pattern, ...]
    request: tuple[Pattern, ...]
    label: str


class CompiledRules:
    """A catalogue entry plus the user rules for one exchange, ready for the tree walk."""

    def __init__(self, spec: TransactionSpec, user_rules: tuple[UserRule, ...] = ()) -> None:
        self.spec = spec
        tag = spec.id or spec.name
        noise = [_rule_patterns(p, f"{tag} noise {p}") for p in spec.noise]
        identifiers = [_rule_patterns(p, f"{tag} identifiers {p}") for p in spec.identifiers]
        unordered = [(u, f"{tag} unordered {u.parent}/{u.children}") for u in spec.unordered]
        verdicts = list(spec.verdicts)
        self.verdict_rules: dict[str, str] = {v.name: f"{tag} verdict {v.name}"
                                              for v in verdicts}
        for rule in user_rules:
            label = rule.name if rule.name == f"rules[{rule.index}]" else (
                f"rules[{rule.index}] {rule.name}")
            noise += [_rule_patterns(p, label) for p in rule.noise]
            identifiers += [_rule_patterns(p, label) for p in rule.identifiers]
            unordered = [(Unordered(p, "*", rule.key), label) for p in rule.unordered] + unordered
            for number, pattern in enumerate(rule.verdict):
                name = rule.name if len(rule.verdict) == 1 else f"{rule.name}[{number}]"
                verdicts.append(Verdict(name, "values", pattern))
                self.verdict_rules[name] = label
        self.verdicts = tuple(verdicts)
        self.noise = PatternIndex(item for group in noise for item in group)
        self.identifiers = PatternIndex(item for group in identifiers for item in group)
        self.status_lines = PatternIndex(
            item for text in spec.status_lines
            for item in _rule_patterns(text, f"{tag} status line {text}"))
        self.echoes = tuple(
            EchoRule(compile_patterns(e.response), compile_patterns(e.request), e.label)
            for e in spec.echoes
        )
        self.echo_index = PatternIndex(
            RulePattern(p, f"{tag} echo {e.label}") for e in self.echoes for p in e.response
        )
        self.unordered = _compile_unordered(unordered)
        self.unordered_parents = PatternIndex(
            RulePattern(rule.parent, str(number)) for number, rule in enumerate(self.unordered)
        )
        self.binary = tuple(p for text in spec.binary for p in compile_patterns(text))
        # Per-path memo of rule lookups: a tree of the tag paths met so far (shared by
        # threads: a node's fields are each set once to the same value, dict updates atomic).
        self._paths = RulePath("", "", _PathCount())

    def root_path(self, tag: str) -> RulePath:
        """The :class:`RulePath` of a document root with ``tag`` (interned per rules)."""
        return self._paths.child(tag)

    def element_rules_at(self, element: etree._Element, path: RulePath) -> ElementRules:
        """:meth:`element_rules`, memoised by the element's tag path from the root.

        Per path the rules that *could* apply are found once (names only); those without
        predicates or positions apply for sure, the others are checked on each element.
        """
        entry = path.entry
        if entry is None:
            entry = path.entry = self._by_names(element)
        fixed, conditional = entry
        if not conditional:
            return fixed
        return self._apply(element, conditional, fixed)

    def _by_names(self, element: etree._Element) -> tuple[ElementRules, tuple[_Candidate, ...]]:
        local = local_name(element.tag)
        fixed: list[_Candidate] = []
        conditional: list[_Candidate] = []
        for kind, index in (("noise", self.noise), ("echo", self.echo_index),
                            ("id", self.identifiers)):
            for item in index.candidates(local):
                if item.pattern.matches_names(element):
                    (fixed if item.pattern.context_free else conditional).append((kind, item))
        return self._apply(element, fixed, EMPTY_RULES, checked=True), tuple(conditional)

    def element_rules(self, element: etree._Element) -> ElementRules:
        """Everything the noise, echo and identifier rules say about ``element``."""
        local = local_name(element.tag)
        candidates: list[_Candidate] = [
            (kind, item)
            for kind, index in (("noise", self.noise), ("echo", self.echo_index),
                                ("id", self.identifiers))
            for item in index.candidates(local)
        ]
        return self._apply(element, candidates, EMPTY_RULES)

    @staticmethod
    def _apply(element: etree._Element, candidates: Iterable[_Candidate], base: ElementRules,
               *, checked: bool = False) -> ElementRules:
        result: ElementRules | None = None
        for kind, item in candidates:
            pattern = item.pattern
            if not checked and not pattern.matches(element):
                continue
            if result is None:
                result = _copy(base)
            if kind == "noise":
                if pattern.target == "attribute":
                    _attributes_of(element, pattern, result.noise_attributes, item.rule)
                elif pattern.target == "element":
                    result.noise = result.noise or item.rule
                else:
                    result.text_noise = result.text_noise or item.rule
            elif kind == "echo":
                if pattern.target == "element":
                    result.echo = True
                elif pattern.target == "text":
                    result.text_echo = True
                elif pattern.attribute:
                    result.echo_attributes.add(pattern.attribute)
            elif pattern.target == "attribute":
                _attributes_of(element, pattern, result.identifier_attributes, item.rule)
            else:
                result.text_identifier = result.text_identifier or item.rule
        return base if result is None else result

    def unordered_for(self, parent: etree._Element,
                      path: RulePath | None = None) -> tuple[UnorderedRule, ...]:
        """The unordered-list rules whose parent pattern matches ``parent`` (cached by tag
        path like :meth:`element_rules_at`)."""
        if path is not None:
            cached = path.unordered
            if cached is not None:
                return cached
        candidates = self.unordered_parents.candidates(local_name(parent.tag))
        if not candidates:
            if path is not None:
                path.unordered = ()
            return ()
        result = tuple(self.unordered[int(item.rule)] for item in candidates
                       if item.pattern.matches(parent))
        if path is not None and all(item.pattern.context_free for item in candidates):
            path.unordered = result
        return result

    def status_line_rule(self, element: etree._Element, attribute: str) -> str | None:
        """The rule that says ``attribute`` holds an HTTP status line (compared by code)."""
        if not self.status_lines:
            return None
        for item in self.status_lines.candidates(local_name(element.tag)):
            if item.pattern.matches_attribute(element, attribute):
                return item.rule
        return None

    def is_identifier(self, element: etree._Element, attribute: str) -> bool:
        return any(item.pattern.matches_attribute(element, attribute)
                   for item in self.identifiers.candidates(local_name(element.tag)))


_Candidate = tuple[str, RulePattern]


def _copy(rules: ElementRules) -> ElementRules:
    return ElementRules(rules.noise, rules.echo, dict(rules.noise_attributes),
                        set(rules.echo_attributes), dict(rules.identifier_attributes),
                        rules.text_noise, rules.text_echo, rules.text_identifier)


def _attributes_of(element: etree._Element, pattern: Pattern, into: dict[str, str],
                   rule: str) -> None:
    if pattern.attribute == "*":
        for name in attributes(element):
            into.setdefault(name, rule)
    elif pattern.attribute is not None:
        into.setdefault(pattern.attribute, rule)


def _rule_patterns(text: str, rule: str) -> list[RulePattern]:
    return [RulePattern(pattern, rule) for pattern in _patterns(text)]


@lru_cache(maxsize=1024)
def _patterns(text: str) -> tuple[Pattern, ...]:
    return compile_patterns(text)


def _compile_unordered(entries: list[tuple[Unordered, str]]) -> tuple[UnorderedRule, ...]:
    compiled = []
    for entry, rule in entries:
        key = tuple(_key_xpath(expression) for expression in entry.key)
        for parent in _patterns(entry.parent):
            child = Pattern(f"{parent.text}/{entry.children}")
            compiled.append(UnorderedRule(parent, child, key, rule, entry.sorted_by))
    return tuple(compiled)


@lru_cache(maxsize=1024)
def _key_xpath(expression: str) -> etree.XPath:
    return etree.XPath(translate(expression), namespaces=NAMESPACES)


@lru_cache(maxsize=256)
def _compiled(spec: TransactionSpec, user_rules: tuple[UserRule, ...]) -> CompiledRules:
    return CompiledRules(spec, user_rules)


#: The last rules compiled for each catalogue entry without user rules, by the entry's
#: identity: hashing a frozen spec walks every one of its fields, once per exchange otherwise.
_BY_SPEC: dict[int, tuple[TransactionSpec, CompiledRules]] = {}


def compile_rules(spec: TransactionSpec, user_rules: tuple[UserRule, ...] = ()) -> CompiledRules:
    """Compiled rules for a catalogue entry and user rules (cached: patterns compile once)."""
    if not user_rules:
        known = _BY_SPEC.get(id(spec))
        if known is not None and known[0] is spec:
            return known[1]
        compiled = _compiled(spec, user_rules)
        if len(_BY_SPEC) < 256:
            _BY_SPEC[id(spec)] = (spec, compiled)
        return compiled
    return _compiled(spec, user_rules)

