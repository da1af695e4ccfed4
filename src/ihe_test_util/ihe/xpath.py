"""XPath over IHE messages: one per-thread cache of compiled expressions, and one rule for the
value a selected node stands for.

Users write XPath in ``ihe record`` scenarios (``capture``), in ``[[correlate]]`` rules and in
the regeneration table; the same expression must read the same value wherever it is used.

**The value of a node** (:func:`node_value`):

* an attribute, a text node or a string result: the string, stripped;
* an element: its XPath string value (all descendant text, as ``string(.)``, so mixed content
  like ``<name><given>Ann</given> <family>Lee</family></name>`` reads ``Ann Lee`` rather than
  the whitespace before the first child), with whitespace runs collapsed to one space as the
  comparer and the verdict readers do; ``element.text`` alone would silently drop everything
  after the first child element;
* an element without text that carries an HL7 instance identifier (``<id root=".."
  extension=".."/>``, the II datatype): its ``extension`` if present, else its ``root``: the
  part of the id that later messages carry, and the attribute regeneration rewrites
  (:func:`identifier_attribute`);
* a comment or processing instruction: its text, stripped;
* booleans read ``true`` / ``false``, integral numbers without ``.0``.

Empty values are no values.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Generic, TypeVar

from lxml import etree

from ihe_test_util.ihe.namespaces import PREFIXES

T = TypeVar("T")


class PerThread(Generic[T]):
    """A per-thread memo ``text -> make(text)``: compiled lxml evaluators must not be shared
    across threads (serve and replay evaluate on several), and compiling is the costly step."""

    def __init__(self, make: Callable[[str], T]) -> None:
        self._make = make
        self._local = threading.local()

    def __call__(self, text: str) -> T:
        cache: dict[str, T] | None = getattr(self._local, "cache", None)
        if cache is None:
            cache = self._local.cache = {}
        found = cache.get(text)
        if found is None:
            found = cache[text] = self._make(text)
        return found


def compile_xpath(expression: str) -> etree.XPath:
    """A new XPath evaluator with the conventional prefixes (:data:`PREFIXES`); raises
    ``etree.XPathSyntaxError`` for a malformed expression."""
    return etree.XPath(expression, namespaces=PREFIXES)


#: :func:`compile_xpath`, cached per thread.
compiled_xpath: PerThread[etree.XPath] = PerThread(compile_xpath)


def identifier_attribute(element: etree._Element) -> str | None:
    """Which attribute holds an HL7 II's value: ``extension`` if set, else ``root`` if set."""
    if element.get("extension"):
        return "extension"
    return "root" if element.get("root") else None


def node_value(node: object) -> str | None:
    """The value ``node`` (one item of an XPath result, or the result) stands for, or None."""
    if isinstance(node, bool):
        return "true" if node else "false"
    if isinstance(node, float):
        return str(int(node)) if node.is_integer() else str(node)
    if isinstance(node, etree._Element):
        if isinstance(node, etree._Comment | etree._ProcessingInstruction):
            return (node.text or "").strip() or None
        text = " ".join("".join(str(piece) for piece in node.itertext()).split())
        if not text:
            attribute = identifier_attribute(node)
            text = (node.get(attribute) or "").strip() if attribute is not None else ""
        return text or None
    if isinstance(node, str | bytes):
        text = (node.decode() if isinstance(node, bytes) else node).strip()
        return text or None
    return None


def values_of(result: object) -> list[str]:
    """The values of an XPath result (a node list, a string, a number or a boolean), in
    document order, empty ones left out."""
    items = result if isinstance(result, list) else [result]
    found = (node_value(item) for item in items)
    return [value for value in found if value is not None]
