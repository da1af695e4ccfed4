"""Elements as the tree walk and the aligners see them: each child with its rules, path and
digest; the pairs alignment produces; and the per-element readings (own text, digest, content
shape, report snippet) they share.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from itertools import islice
from typing import cast

from lxml import etree

from ihe_test_util.compare.identifiers import ValueMap
from ihe_test_util.compare.rules import CompiledRules, ElementRules, RulePath
from ihe_test_util.ihe.patterns import attributes

SNIPPET_CHARS = 300

_NS_DECLARATION = re.compile(r'\s+xmlns(?::[\w.\-]+)?="[^"]*"')


@dataclass(slots=True)
class Child:
    """One element child under comparison."""

    element: etree._Element
    rules: ElementRules
    path: RulePath  # the tag path from the root: where rule lookups are remembered
    digest: bytes | None = None
    mentions: bool = False


@dataclass(slots=True)
class Pair:
    """A recorded child and the replayed child aligned with it; ``identical`` when their
    digests say so (the walk then skips their subtrees)."""

    a: Child
    b: Child
    identical: bool


@dataclass(slots=True)
class Alignment:
    """What aligning the children of two elements found, in the order the walk reports it.

    ``moved`` holds positions (recorded, replayed) of ordered children that were paired out
    of order.
    """

    pairs: list[Pair] = field(default_factory=list)
    removed: list[Child] = field(default_factory=list)
    added: list[Child] = field(default_factory=list)
    moved: list[tuple[int, int]] = field(default_factory=list)


def pair(a: Child, b: Child) -> Pair:
    return Pair(a, b, identical(a, b))


def identical(a: Child, b: Child) -> bool:
    return a.digest is not None and a.digest == b.digest and not (a.mentions or b.mentions)


def digest_all(children: Sequence[Child], values: ValueMap) -> None:
    """Digest each child once (libxml2 serialises it); note whether it mentions a value the
    replay regenerated (such a child is walked even when its digest matches)."""
    for child in children:
        if child.digest is None:
            data = etree.tostring(child.element, with_tail=False)
            child.digest = hashlib.blake2b(data, digest_size=16).digest()
            child.mentions = values.mentioned_in(data)


def digest(element: etree._Element) -> bytes:
    return hashlib.blake2b(etree.tostring(element, with_tail=False), digest_size=16).digest()


def content_shape(rules: CompiledRules, element: etree._Element) -> int:
    """A content hash blind to noise and to identifier values (renamed ids still match).

    Computed bottom-up with an explicit stack, not by recursion: a member of an unordered list
    may nest as deep as the XML parser allows (a 9 KB body nests 1,000 levels)."""
    shapes: dict[etree._Element, list[int]] = {}
    stack: list[tuple[etree._Element, bool]] = [(element, False)]
    result = 0
    while stack:
        node, children_done = stack.pop()
        element_rules = rules.element_rules(node)
        if element_rules.noise or element_rules.echo:
            shape = 0
        elif not children_done:
            stack.append((node, True))
            shapes[node] = []
            stack.extend((child, False) for child in node if isinstance(child.tag, str))
            continue
        else:
            shaped = tuple(sorted(
                (name, "#" if name in element_rules.identifier_attributes else value)
                for name, value in attributes(node).items()
                if name not in element_rules.noise_attributes
                and name not in element_rules.echo_attributes
            ))
            text = None if (element_rules.text_noise or element_rules.text_echo
                            or element_rules.text_identifier) else direct_text(node)
            shape = hash((node.tag, shaped, text, tuple(sorted(shapes.pop(node)))))
        parent = node.getparent()
        if node is element or parent is None:
            result = shape
        else:
            shapes[parent].append(shape)
    return result


def direct_text(element: etree._Element) -> str | None:
    """The element's own text (with mixed-content tails), whitespace-trimmed; None if empty."""
    text = element.text
    if len(element):
        pieces = [text] + [child.tail for child in element]
        joined = " ".join(piece.strip() for piece in pieces if piece and piece.strip())
        return joined or None
    if text is None:
        return None
    return text.strip() or None


def snippet(element: etree._Element) -> str:
    """A short one-line rendering of an element for reports (namespace declarations dropped)."""
    if sum(1 for _ in islice(element.iter(), 60)) >= 60:
        nsmap = cast("dict[str, str]", element.nsmap)
        shallow = etree.Element(element.tag, attributes(element), nsmap=nsmap)
        shallow.text = "…"
        text = etree.tostring(shallow, encoding="unicode", with_tail=False)
    else:
        text = etree.tostring(element, encoding="unicode", with_tail=False)
    text = " ".join(_NS_DECLARATION.sub("", text).split())
    return text if len(text) <= SNIPPET_CHARS else text[:SNIPPET_CHARS - 1] + "…"
