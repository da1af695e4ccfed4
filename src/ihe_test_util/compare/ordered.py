"""Aligning children whose order matters: by local name when the names line up, else by
content (xmldiff's matching when both subtrees are small, digests when the lists are wide, tag
names otherwise); pairs out of the recorded order are reported as moved.
"""

from __future__ import annotations

from collections import deque
from copy import deepcopy
from difflib import SequenceMatcher
from itertools import islice

from lxml import etree
from xmldiff.diff import Differ

from ihe_test_util.compare.elements import Alignment, Child, content_shape, digest_all, pair
from ihe_test_util.compare.identifiers import ValueMap
from ihe_test_util.compare.rules import CompiledRules
from ihe_test_util.ihe.patterns import local_name

#: Children of an element at least this many are digested before walking them.
WIDE = 8
#: Ordered child lists are matched with xmldiff when both subtrees have at most this many nodes.
XMLDIFF_NODES = 120


def align_ordered(a: etree._Element, b: etree._Element, kids_a: list[Child],
                  kids_b: list[Child], rules: CompiledRules, values: ValueMap,
                  into: Alignment) -> None:
    """Pair ``kids_a`` (children of recorded ``a``) with ``kids_b`` (of replayed ``b``)."""
    wide = len(kids_a) >= WIDE and len(kids_b) >= WIDE
    if wide:
        digest_all(kids_a, values)
        digest_all(kids_b, values)
    names_a = [k.path.local for k in kids_a]
    names_b = [k.path.local for k in kids_b]
    if names_a == names_b:  # paired by local name: a namespace change is "renamed"
        into.pairs.extend(pair(x, y) for x, y in zip(kids_a, kids_b, strict=True))
        return
    matched: list[tuple[int, int]] = []
    small = _small(a) and _small(b)
    seq_a: list[object]
    seq_b: list[object]
    if small:  # equal content first (noise-blind), xmldiff decides the rest
        seq_a = [(name, content_shape(rules, k.element))
                 for name, k in zip(names_a, kids_a, strict=True)]
        seq_b = [(name, content_shape(rules, k.element))
                 for name, k in zip(names_b, kids_b, strict=True)]
    elif wide:
        seq_a = [(k.element.tag, k.digest) for k in kids_a]
        seq_b = [(k.element.tag, k.digest) for k in kids_b]
    else:
        seq_a, seq_b = list(names_a), list(names_b)
    # autojunk: children repeated hundreds of times (same digest) must not make the
    # matcher quadratic; they are then paired in order below.
    matcher = SequenceMatcher(None, seq_a, seq_b, autojunk=True)
    for op, i1, i2, j1, j2 in matcher.get_opcodes():
        if op == "equal":
            matched.extend(zip(range(i1, i2), range(j1, j2), strict=True))
        elif small and i1 < i2 and j1 < j2:
            gap = _xmldiff_pairs([k.element for k in kids_a[i1:i2]],
                                 [k.element for k in kids_b[j1:j2]])
            matched.extend((i1 + i, j1 + j) for i, j in gap)
        else:
            matched.extend(_pairs_by_name(names_a, names_b, range(i1, i2), range(j1, j2)))
    matched.sort()
    in_order = increasing(matched)
    used_a = {i for i, _ in matched}
    used_b = {j for _, j in matched}
    for i, j in matched:
        if (i, j) not in in_order:
            into.moved.append((i, j))
        into.pairs.append(pair(kids_a[i], kids_b[j]))
    into.removed.extend(child for i, child in enumerate(kids_a) if i not in used_a)
    into.added.extend(child for j, child in enumerate(kids_b) if j not in used_b)


def _small(element: etree._Element) -> bool:
    return sum(1 for _ in islice(element.iter(), XMLDIFF_NODES + 1)) <= XMLDIFF_NODES


def _pairs_by_name(names_a: list[str], names_b: list[str], range_a: range,
                   range_b: range) -> list[tuple[int, int]]:
    """Within a run that does not line up, pair children with the same local name in order."""
    waiting: dict[str, deque[int]] = {}
    for j in range_b:
        waiting.setdefault(names_b[j], deque()).append(j)
    result = []
    for i in range_a:
        queue = waiting.get(names_a[i])
        if queue:
            result.append((i, queue.popleft()))
    return result


def increasing(pairs: list[tuple[int, int]]) -> set[tuple[int, int]]:
    """The largest set of pairs whose replayed positions keep the recorded order (the rest
    moved): longest increasing subsequence, O(n log n)."""
    tails: list[int] = []  # index into pairs of the smallest tail of each length
    previous: list[int] = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        low, high = 0, len(tails)
        while low < high:
            middle = (low + high) // 2
            if pairs[tails[middle]][1] < j:
                low = middle + 1
            else:
                high = middle
        if low:
            previous[index] = tails[low - 1]
        if low == len(tails):
            tails.append(index)
        else:
            tails[low] = index
    keep: set[tuple[int, int]] = set()
    index = tails[-1] if tails else -1
    while index >= 0:
        keep.add(pairs[index])
        index = previous[index]
    return keep


def _xmldiff_pairs(kids_a: list[etree._Element], kids_b: list[etree._Element]) -> (
    list[tuple[int, int]]
):
    """Which children correspond, as xmldiff's matching phase decides (same local name only)."""
    left = etree.Element("children")
    right = etree.Element("children")
    for holder, kids in ((left, kids_a), (right, kids_b)):
        for kid in kids:
            copy = deepcopy(kid)
            copy.tail = None
            holder.append(copy)
    differ = Differ(F=0.5, ratio_mode="accurate")
    matches = differ.match(left, right)
    left_copy = differ.left  # match() works on its own deep copy of the left tree
    position_a = {id(node): i for i, node in enumerate(left_copy)}
    position_b = {id(node): j for j, node in enumerate(right)}
    result: list[tuple[int, int]] = []
    used: set[int] = set()
    for lnode, rnode, _ in matches:
        i = position_a.get(id(lnode))
        j = position_b.get(id(rnode))
        if i is None or j is None or j in used:
            continue
        if local_name(kids_a[i].tag) != local_name(kids_b[j].tag):
            continue
        result.append((i, j))
        used.add(j)
    return sorted(result)
