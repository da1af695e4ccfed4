"""The canonical form of an XML body: a text equal for two elements exactly when they say the
same thing, whatever their namespace prefixes, attribute order and indentation, with the
children of containers whose order IHE does not define (the vocabulary's
``UNORDERED_CONTAINERS``) sorted. ``ihe serve`` digests it into the match key.
"""

from __future__ import annotations

from lxml import etree

from ihe_test_util.ihe.patterns import qname_value
from ihe_test_util.ihe.vocabulary import UNORDERED_CONTAINERS


def canonical_text(root: etree._Element) -> str:
    """A text that is equal for two elements exactly when they say the same thing, whatever
    their prefixes, attribute order and indentation (children of unordered containers sorted).

    Built bottom-up without recursion: a hostile document nests as deep as the parser allows.
    """
    elements = [element for element in root.iter() if isinstance(element.tag, str)]
    done: dict[etree._Element, str] = {}
    for element in reversed(elements):  # every child before its parent
        parts = []
        for child in element:
            if isinstance(child.tag, str):
                parts.append(done.pop(child))
            tail = (child.tail or "").strip()
            if tail:
                parts.append(repr(tail))
        if element.tag in UNORDERED_CONTAINERS:
            parts.sort()
        attributes = "".join(
            f" {name}={value!r}" for name, value in sorted(
                (str(k), _attribute_value(element, str(k), str(v)))
                for k, v in element.attrib.items()))
        text = (element.text or "").strip()
        done[element] = f"<{element.tag}{attributes}>{text!r}{''.join(parts)}</>"
    return done[root]


def _attribute_value(element: etree._Element, name: str, value: str) -> str:
    """``xsi:type="hl7:II"`` reads as ``{urn:hl7-org:v3}II``: QName values by meaning."""
    return qname_value(element, value) if name.endswith("}type") else value
