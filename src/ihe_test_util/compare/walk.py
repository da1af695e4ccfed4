"""The tree walk: compare two element trees under a set of rules, in time linear in their size.

The walk pairs elements and compares their attributes and text; which children pair with which
is decided by the aligners (:mod:`.ordered`, :mod:`.unordered`).

How it stays fast on a 10 MB query response (126,000 elements):

* Identical regions are skipped without visiting them. At every wide element (and every
  unordered list) each child is serialised once by libxml2 and digested; children with equal
  digests are equal (equal bytes imply equal trees), so only children that really differ are
  walked. A child whose bytes mention a value the replay regenerated is walked anyway.
* Unordered lists (``rim:RegistryObjectList``, Slots, subjects, ...) are aligned by digest, then
  by the catalogue key (uniqueId, slot name, ...), then by content shape; never pairwise.
* Registry-assigned identifiers are compared through a one-to-one renaming, so renamed ids are
  noise while a reference that now points elsewhere is a difference. Keys that contain
  references (an Association's source and target) are resolved through the renaming once the
  objects they point at are paired.
* Ordered children that do not line up one-to-one are matched by xmldiff (``Differ.match``) when
  the subtree is small, which gives the precise edit; larger runs are aligned by tag.

Canonicalisation is implicit: elements and attributes are compared by namespace URI and local
name (lxml's ``{ns}local``), attributes as sets, text with surrounding whitespace stripped, and
``xsi:type`` QNames by what their prefixes mean.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Mapping

from lxml import etree

from ihe_test_util.compare.elements import (
    Alignment,
    Child,
    Pair,
    digest,
    direct_text,
    snippet,
)
from ihe_test_util.compare.findings import Finding
from ihe_test_util.compare.identifiers import Renaming, ValueMap
from ihe_test_util.compare.ordered import align_ordered, increasing
from ihe_test_util.compare.rules import CompiledRules, ElementRules, UnorderedRule
from ihe_test_util.compare.unordered import Member, UnorderedAligner, partition
from ihe_test_util.ihe.idmap import path_family
from ihe_test_util.ihe.jsonxml import GENERIC_ROOT
from ihe_test_util.ihe.namespaces import FHIR, XSI
from ihe_test_util.ihe.patterns import attributes, local_name, qname_value
from ihe_test_util.results import DifferenceKind, Severity

#: Deeper than this, a differing subtree is reported as a whole (hostile nesting).
MAX_DEPTH = 400

_XSI_TYPE = f"{{{XSI}}}type"


class TreeComparer:
    """Compares one recorded tree with one replayed tree; collects findings and noise counts."""

    def __init__(self, rules: CompiledRules, renaming: Renaming | None = None,
                 values: ValueMap | None = None, *,
                 request_params: Mapping[str, str] | None = None) -> None:
        self.rules = rules
        self.renaming = renaming or Renaming()
        self.values = values or ValueMap()
        self.findings: list[Finding] = []
        self.noise = 0
        self.applied: set[str] = set()
        self._unordered = UnorderedAligner(rules, self.renaming, self.values)
        #: Query parameters of the request: ``_sort`` makes a sorted list's order count.
        self.request_params = request_params or {}
        #: JSON (and FHIR) members pair by name: their order says nothing.
        self._by_name = False

    # --- entry point ---------------------------------------------------------------------------

    def compare(self, recorded: etree._Element, replayed: etree._Element) -> None:
        self._by_name = (str(recorded.tag).startswith(f"{{{FHIR}}}")
                         or recorded.tag == GENERIC_ROOT)
        if local_name(recorded.tag) != local_name(replayed.tag):
            self._removed(recorded)
            self._added(None, replayed)
            return
        self._pair(Child(recorded, self.rules.element_rules(recorded),
                         self.rules.root_path(recorded.tag)),
                   Child(replayed, self.rules.element_rules(replayed),
                         self.rules.root_path(replayed.tag)), 0)

    # --- bookkeeping ---------------------------------------------------------------------------

    def _suppress(self, rule: str) -> None:
        self.noise += 1
        self.applied.add(rule)

    def _removed(self, element: etree._Element) -> None:
        self.findings.append(Finding(DifferenceKind.REMOVED, element, None,
                                     recorded=snippet(element), membership=True))

    def _added(self, parent: etree._Element | None, element: etree._Element) -> None:
        self.findings.append(Finding(DifferenceKind.ADDED, parent, element,
                                     replayed=snippet(element), membership=True))

    # --- one aligned pair ----------------------------------------------------------------------

    def _pair(self, child_a: Child, child_b: Child, depth: int) -> None:
        a, b = child_a.element, child_b.element
        ra, rb = child_a.rules, child_b.rules
        if a.tag != b.tag:
            self.findings.append(Finding(DifferenceKind.RENAMED, a, b, recorded=str(a.tag),
                                         replayed=str(b.tag)))
        self._attributes(a, b, ra, rb)
        self._text(a, b, ra, rb)
        if depth >= MAX_DEPTH:
            if digest(a) != digest(b):
                self.findings.append(Finding(
                    DifferenceKind.OTHER, a, b,
                    note=f"content nested deeper than {MAX_DEPTH} levels differs (compared as "
                         "a whole)"))
            return
        self._children(child_a, child_b, depth)

    def _attributes(self, a: etree._Element, b: etree._Element, ra: ElementRules,
                    rb: ElementRules) -> None:
        if not len(a.attrib) and not len(b.attrib):
            return
        items_a = attributes(a)
        items_b = attributes(b)
        if items_a == items_b:
            for name, rule in ra.identifier_attributes.items():
                self._identifier(a, b, name, items_a.get(name), items_b.get(name), rule)
            if self.values:
                for name, value in items_a.items():
                    if name not in ra.identifier_attributes:
                        self._stale(a, b, name, value, ra)
            return
        for name in sorted(items_a.keys() | items_b.keys()):
            va = items_a.get(name)
            vb = items_b.get(name)
            noise = ra.noise_attributes.get(name) or rb.noise_attributes.get(name)
            if noise is not None:
                if va != vb:
                    self._suppress(noise)
                continue
            if name in ra.echo_attributes or name in rb.echo_attributes:
                continue
            identifier = (ra.identifier_attributes.get(name)
                          or rb.identifier_attributes.get(name))
            if identifier is not None and va is not None and vb is not None:
                self._identifier(a, b, name, va, vb, identifier)
                continue
            if va == vb:
                if va is not None and self.values:
                    self._stale(a, b, name, va, ra)
                continue
            if va is not None and vb is not None:
                if name == _XSI_TYPE and qname_value(a, va) == qname_value(b, vb):
                    continue
                if self.values.equivalent(va, vb):
                    self._suppress("value map")
                    continue
                status_line = self.rules.status_line_rule(a, name)
                if status_line is not None and _status_code(va) == _status_code(vb):
                    self._suppress(status_line)
                    continue
            self.findings.append(Finding(DifferenceKind.ATTRIBUTE, a, b, name, va, vb))

    def _stale(self, a: etree._Element, b: etree._Element, name: str | None, value: str,
               rules: ElementRules) -> None:
        """The replay regenerated ``value``, yet the replayed response still carries it."""
        if name is not None and (name in rules.noise_attributes or name in rules.echo_attributes):
            return
        fresh = self.values.stale(value, lambda: path_family(a, name))
        if fresh is None:
            return
        kind = DifferenceKind.VALUE if name is None else DifferenceKind.ATTRIBUTE
        self.findings.append(Finding(
            kind, a, b, name, value, value,
            note=f"the replay sent {fresh} instead of {value}, but the response still says "
                 f"{value}"))

    def _identifier(self, a: etree._Element, b: etree._Element, name: str | None,
                    va: str | None, vb: str | None, rule: str) -> None:
        if va is None or vb is None:
            return
        ka = self.renaming.key(a, va)
        kb = self.renaming.key(b, vb)
        if ka is None or kb is None:  # not an identifier after all (an external URL)
            if va != vb:
                kind = DifferenceKind.VALUE if name is None else DifferenceKind.ATTRIBUTE
                self.findings.append(Finding(kind, a, b, name, va, vb))
            return
        conflict = self.renaming.pair(ka, kb)
        if conflict is not None:
            kind = DifferenceKind.VALUE if name is None else DifferenceKind.ATTRIBUTE
            self.findings.append(Finding(kind, a, b, name, va, vb,
                                         note=f"reference changed target: {conflict}"))
        elif va != vb:
            self._suppress(rule)

    def _text(self, a: etree._Element, b: etree._Element, ra: ElementRules,
              rb: ElementRules) -> None:
        ta = direct_text(a)
        tb = direct_text(b)
        identifier = ra.text_identifier or rb.text_identifier
        if ta == tb:
            if identifier is not None:
                self._identifier(a, b, None, ta, tb, identifier)
            elif ta is not None and self.values and not (
                    ra.text_noise or ra.text_echo or rb.text_noise or rb.text_echo):
                self._stale(a, b, None, ta, ra)
            return
        noise = ra.text_noise or rb.text_noise
        if noise is not None:
            self._suppress(noise)
            return
        if ra.text_echo or rb.text_echo:
            return
        if identifier is not None and ta is not None and tb is not None:
            self._identifier(a, b, None, ta, tb, identifier)
            return
        if ta is not None and tb is not None and self.values.equivalent(ta, tb):
            self._suppress("value map")
            return
        self.findings.append(Finding(DifferenceKind.VALUE, a, b, None, ta, tb))


    # --- children --------------------------------------------------------------------------------

    def _children(self, parent_a: Child, parent_b: Child, depth: int) -> None:
        a, b = parent_a.element, parent_b.element
        if not len(a) and not len(b):  # two leaves: nothing to align
            return
        kids_a, noise_a = self._kids(parent_a)
        kids_b, noise_b = self._kids(parent_b)
        if noise_a or noise_b:
            self._noise_children(noise_a, noise_b)
        if not kids_a and not kids_b:
            return
        alignment = Alignment()
        unordered = self.rules.unordered_for(a, parent_a.path) if kids_a or kids_b else ()
        if unordered:
            pool_a, kids_a = partition(kids_a, unordered)
            pool_b, kids_b = partition(kids_b, unordered)
            if pool_a or pool_b:
                before = len(alignment.pairs)
                reordered = self._unordered.align(pool_a, pool_b, alignment)
                sorted_by = self._sorted_by(unordered)
                if sorted_by is not None:
                    self._sort_order(pool_a, pool_b, alignment.pairs[before:], sorted_by)
                else:
                    for rule in reordered:
                        self._suppress(rule)
        if kids_a or kids_b:
            groups = _by_tag(kids_a, kids_b) if self._by_name else [(kids_a, kids_b)]
            for group_a, group_b in groups:
                into = Alignment()
                align_ordered(a, b, group_a, group_b, self.rules, self.values, into)
                for i, j in into.moved:
                    self.findings.append(Finding(
                        DifferenceKind.MOVED, group_a[i].element, group_b[j].element,
                        recorded=f"position {i + 1}", replayed=f"position {j + 1}"))
                alignment.pairs.extend(into.pairs)
                alignment.removed.extend(into.removed)
                alignment.added.extend(into.added)
        for pair in alignment.pairs:
            if pair.identical:
                self._identifiers_of_identical(pair.a, pair.b)
            else:
                self._pair(pair.a, pair.b, depth + 1)
        for child in alignment.removed:
            self._removed(child.element)
        for child in alignment.added:
            self._added(a, child.element)

    def _sorted_by(self, rules: tuple[UnorderedRule, ...]) -> str | None:
        """``_sort=-date`` when the request asked for a sorted list these rules cover."""
        for rule in rules:
            if rule.sorted_by and rule.sorted_by in self.request_params:
                return f"{rule.sorted_by}={self.request_params[rule.sorted_by]}"
        return None

    def _sort_order(self, pool_a: list[Member], pool_b: list[Member], pairs: list[Pair],
                    sorted_by: str) -> None:
        """The request sorted the list: members paired out of order are regressions."""
        where_b = {id(child.element): j for j, (child, _, _) in enumerate(pool_b)}
        where_a = {id(child.element): i for i, (child, _, _) in enumerate(pool_a)}
        positions = {(where_a[id(p.a.element)], where_b[id(p.b.element)]): p for p in pairs}
        keep = increasing(sorted(positions))
        in_place = {(i, j) for i, j in positions if i == j}
        if len(in_place) >= len(keep):  # as good an explanation, naming fewer as moved
            keep = in_place
        rule = f"{self.rules.spec.id or self.rules.spec.name} order ({sorted_by})"
        for (i, j), item in sorted(positions.items()):
            if (i, j) not in keep:
                self.findings.append(Finding(
                    DifferenceKind.MOVED, item.a.element, item.b.element,
                    recorded=f"position {i + 1}", replayed=f"position {j + 1}",
                    severity=Severity.REGRESSION, rule=rule))

    def _kids(self, parent: Child) -> tuple[list[Child], list[Child]]:
        """The element children to align (noise and echo subtrees left out, in order) and
        the noise ones (counted apart)."""
        rules_at = self.rules.element_rules_at
        path = parent.path
        kids: list[Child] = []
        noise: list[Child] = []
        for child in parent.element:
            tag = child.tag
            if isinstance(tag, str):
                child_path = path.child(tag)
                rules = rules_at(child, child_path)
                if rules.noise:
                    noise.append(Child(child, rules, child_path))
                elif not rules.echo:
                    kids.append(Child(child, rules, child_path))
        return kids, noise

    def _noise_children(self, noise_a: list[Child], noise_b: list[Child]) -> None:
        waiting: dict[object, deque[Child]] = {}
        for child in noise_b:
            waiting.setdefault(child.element.tag, deque()).append(child)
        for child in noise_a:
            rule = child.rules.noise or ""
            queue = waiting.get(child.element.tag)
            if queue:
                other = queue.popleft()
                if digest(child.element) != digest(other.element):
                    self._suppress(rule)
            else:
                self._suppress(rule)
        for queue in waiting.values():
            for child in queue:
                self._suppress(child.rules.noise or "")


    def _identifiers_of_identical(self, a: Child, b: Child) -> None:
        """Identical subtrees are not walked, but the identifiers their roots carry (own id /
        lid / references) still pair through the renaming (and a changed target is found)."""
        for name, rule in a.rules.identifier_attributes.items():
            self._identifier(a.element, b.element, name, a.element.get(name),
                             b.element.get(name), rule)


def _status_code(line: str) -> str:
    """``201 Created`` -> ``201`` (FHIR ``entry.response.status`` may carry the reason)."""
    parts = line.split(None, 1)
    return parts[0] if parts else line


def _by_tag(kids_a: list[Child], kids_b: list[Child]) -> list[tuple[list[Child], list[Child]]]:
    """Children grouped by name (JSON members: an object's keys pair by name, an array's
    items in order), groups in order of first appearance."""
    groups: dict[object, tuple[list[Child], list[Child]]] = {}
    for kid in kids_a:
        groups.setdefault((kid.element.tag, kid.element.get("key")), ([], []))[0].append(kid)
    for kid in kids_b:
        groups.setdefault((kid.element.tag, kid.element.get("key")), ([], []))[1].append(kid)
    return list(groups.values())

