"""Aligning the members of unordered lists (``rim:RegistryObjectList``, Slots, subjects, ...):
first by digest, then by the catalogue key (uniqueId, slot name, ...), then by content shape;
never pairwise.

Keys that contain references (an Association's source and target) read the recorded
identifiers through the renaming, so they are matched in a second round, once the objects they
point at are paired.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from itertools import pairwise

from lxml import etree

from ihe_test_util.compare.elements import (
    Alignment,
    Child,
    content_shape,
    digest_all,
    pair,
)
from ihe_test_util.compare.identifiers import Renaming, ValueMap
from ihe_test_util.compare.rules import CompiledRules, UnorderedRule
from ihe_test_util.ihe.patterns import split_tag
from ihe_test_util.ihe.xpath import node_value

#: A member of an unordered list: the child, the number of its rule, the rule.
Member = tuple[Child, int, UnorderedRule]

_DEFER = object()


def partition(children: list[Child], rules: tuple[UnorderedRule, ...]) -> (
    tuple[list[Member], list[Child]]
):
    """Split children into unordered-list members (with their rule) and ordered ones. The
    parent already matched the rules' parent patterns; only the child step is tested."""
    pool: list[Member] = []
    ordered: list[Child] = []
    tests = [(number, rule, rule.children.steps[-1]) for number, rule in enumerate(rules)]
    for child in children:
        element = child.element
        namespace, local = split_tag(element.tag)
        for number, rule, step in tests:
            if step.accepts(element, namespace, local):
                pool.append((child, number, rule))
                break
        else:
            ordered.append(child)
    return pool, ordered


class _Bucket:
    """Replayed members that share one key. Usually one; when several (authors of one
    document), the one with the same content shape is preferred. Shapes are computed once per
    member, so a bucket of n costs O(n), never O(n^2)."""

    __slots__ = ("_by_shape", "_members", "_used")

    def __init__(self) -> None:
        self._members: deque[int] = deque()
        self._by_shape: dict[int, deque[int]] | None = None
        self._used: set[int] = set()

    def add(self, j: int) -> None:
        self._members.append(j)

    def take(self, element: etree._Element, shape: Callable[[etree._Element], int],
             pool_b: list[Member]) -> int | None:
        if self._by_shape is not None or len(self._members) > 1:
            if self._by_shape is None:
                self._by_shape = {}
                for j in self._members:
                    self._by_shape.setdefault(shape(pool_b[j][0].element), deque()).append(j)
            same = self._by_shape.get(shape(element))
            while same:
                j = same.popleft()
                if j not in self._used:
                    self._used.add(j)
                    return j
        while self._members:
            j = self._members.popleft()
            if j not in self._used:
                self._used.add(j)
                return j
        return None


class UnorderedAligner:
    """Pairs unordered-list members; learns identifier renamings from the pairs it makes."""

    def __init__(self, rules: CompiledRules, renaming: Renaming, values: ValueMap) -> None:
        self.rules = rules
        self.renaming = renaming
        self.values = values

    def align(self, pool_a: list[Member], pool_b: list[Member], into: Alignment) -> list[str]:
        """Pair the members into ``into``; return the rules (sorted) whose lists were
        reordered (noise the walk counts)."""
        digest_all([child for child, _, _ in pool_a], self.values)
        digest_all([child for child, _, _ in pool_b], self.values)
        matched: dict[int, int] = {}  # index in pool_a -> index in pool_b
        by_digest: dict[bytes | None, deque[int]] = {}
        for j, (child, _, _) in enumerate(pool_b):
            by_digest.setdefault(child.digest, deque()).append(j)
        for i, (child, _, _) in enumerate(pool_a):
            queue = by_digest.get(child.digest)
            if queue:
                matched[i] = queue.popleft()
        free_b = set(range(len(pool_b))) - set(matched.values())
        # Keys: first those without references, then (once the objects they point at are
        # paired) those that read identifiers through the renaming.
        for i, j in matched.items():
            self._learn_identifiers(pool_a[i][0], pool_b[j][0])
        deferred = self._match_keys(pool_a, pool_b, matched, free_b, first_round=True)
        if deferred:
            self._match_keys(pool_a, pool_b, matched, free_b, first_round=False)
        self._match_shapes(pool_a, pool_b, matched, free_b)
        order = [matched[i] for i in sorted(matched)]
        reordered: list[str] = []
        if any(later < earlier for earlier, later in pairwise(order)):
            reordered = sorted({pool_a[i][2].rule for i in matched})
        for i, (child, _, _) in enumerate(pool_a):
            if i in matched:
                into.pairs.append(pair(child, pool_b[matched[i]][0]))
            else:
                into.removed.append(child)
        into.added.extend(pool_b[j][0] for j in sorted(free_b))
        return reordered

    def _learn_identifiers(self, a: Child, b: Child) -> None:
        """Pair the identifiers an element carries itself (its own id / lid / references)."""
        for name in a.rules.identifier_attributes:
            va = a.element.get(name)
            vb = b.element.get(name)
            if va is not None and vb is not None:
                ka = self.renaming.key(a.element, va)
                kb = self.renaming.key(b.element, vb)
                if ka is not None and kb is not None:
                    self.renaming.pair(ka, kb)

    def _shape(self, element: etree._Element) -> int:
        return content_shape(self.rules, element)

    def _match_keys(self, pool_a: list[Member],
                    pool_b: list[Member], matched: dict[int, int],
                    free_b: set[int], *, first_round: bool) -> bool:
        keyed_b: dict[tuple[object, ...], _Bucket] = {}
        for j in sorted(free_b):
            child, number, rule = pool_b[j]
            if rule.key:
                key = self._key(child.element, rule, recorded=False)
                if key is not _DEFER:
                    keyed_b.setdefault((number, child.element.tag, key), _Bucket()).add(j)
        deferred = False
        for i, (child, number, rule) in enumerate(pool_a):
            if i in matched or not rule.key:
                continue
            key = self._key(child.element, rule, recorded=True)
            if key is _DEFER:
                deferred = True
                continue
            bucket = keyed_b.get((number, child.element.tag, key))
            if bucket is None:
                continue
            taken = bucket.take(child.element, self._shape, pool_b)
            if taken is None:
                continue
            matched[i] = taken
            free_b.discard(taken)
            if first_round:
                self._learn_identifiers(child, pool_b[taken][0])
        return deferred

    def _key(self, element: etree._Element, rule: UnorderedRule, *, recorded: bool) -> object:
        parts: list[str] = []
        for xpath in rule.key:
            result = xpath(element)
            node = result[0] if isinstance(result, list) and result else result
            if isinstance(node, list):
                parts.append("")
                continue
            if isinstance(node, etree._Element):
                value = node_value(node) or ""
            else:
                value = str(node)
                parent = getattr(node, "getparent", None)
                attribute = getattr(node, "attrname", None)
                owner = parent() if parent is not None else None
                if (isinstance(owner, etree._Element) and attribute
                        and self.rules.is_identifier(owner, attribute)):
                    identity = self.renaming.key(owner, value)
                    if identity is not None and not recorded:
                        parts.append(identity)
                        continue
                    if identity is not None:
                        mapped = self.renaming.mapped(identity)
                        if mapped is None:
                            return _DEFER
                        parts.append(mapped)
                        continue
            parts.append(self.values.translate(value) if recorded else value)
        return tuple(parts)

    def _match_shapes(self, pool_a: list[Member],
                      pool_b: list[Member], matched: dict[int, int],
                      free_b: set[int]) -> None:
        left = [i for i in range(len(pool_a)) if i not in matched]
        if not left or not free_b:
            return
        shaped: dict[tuple[int, object, int], deque[int]] = {}
        for j in sorted(free_b):
            child, number, _ = pool_b[j]
            shaped.setdefault((number, child.element.tag, self._shape(child.element)),
                              deque()).append(j)
        still: list[int] = []
        for i in left:
            child, number, _ = pool_a[i]
            queue = shaped.get((number, child.element.tag, self._shape(child.element)))
            if queue:
                j = queue.popleft()
                matched[i] = j
                free_b.discard(j)
            else:
                still.append(i)
        # One leftover of a kind on each side: the same member, changed.
        groups_a: dict[tuple[int, object], list[int]] = {}
        groups_b: dict[tuple[int, object], list[int]] = {}
        for i in still:
            groups_a.setdefault((pool_a[i][1], pool_a[i][0].element.tag), []).append(i)
        for j in free_b:
            groups_b.setdefault((pool_b[j][1], pool_b[j][0].element.tag), []).append(j)
        for group, members in groups_a.items():
            others = groups_b.get(group, [])
            if len(members) == 1 and len(others) == 1:
                matched[members[0]] = others[0]
                free_b.discard(others[0])

