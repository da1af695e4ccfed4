"""The vocabulary is the one home of IHE's URNs, UUIDs and unordered containers."""

from __future__ import annotations

import ast
from pathlib import Path

from lxml import etree

from ihe_test_util.ihe import catalogue, vocabulary
from ihe_test_util.ihe.namespaces import PREFIXES, qname
from ihe_test_util.serve.canonical import canonical_text

SRC = Path(vocabulary.__file__).resolve().parents[1]
#: Packages that must take every IHE URN / UUID from the vocabulary (modules still being moved
#: elsewhere are checked once they are; compare/identifiers.py keeps its own test data shapes).
RE_POINTED = ("sim", "record", "compare", "report", "ihe/builders")
EXEMPT = {SRC / "compare" / "identifiers.py"}


def _vocabulary_values() -> set[str]:
    values: set[str] = set()
    for name in dir(vocabulary):
        value = getattr(vocabulary, name)
        if not name.isupper():
            continue
        if isinstance(value, str) and value.startswith("urn:"):
            values.add(value)
        elif isinstance(value, dict):
            values.update(v for v in (*value, *value.values())
                          if isinstance(v, str) and v.startswith("urn:"))
    return values


def test_the_vocabulary_holds_the_values_it_is_asked_for() -> None:
    values = _vocabulary_values()
    assert "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab" in values  # DocumentEntry.uniqueId
    assert "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d" in values  # FindDocuments
    assert "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success" in values
    assert "urn:ihe:iti:2007:AssociationType:RPLC" in values


def test_no_second_spelling_in_the_re_pointed_packages() -> None:
    values = _vocabulary_values()
    found = []
    for package in RE_POINTED:
        for path in sorted((SRC / package).rglob("*.py")):
            if path in EXEMPT:
                continue
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.Constant) and node.value in values:
                    found.append(f"{path.relative_to(SRC)}:{node.lineno}: {node.value}")
    assert found == []


def _clark(pattern: str) -> str:
    if pattern == "*":
        return pattern
    prefix, _, local = pattern.partition(":")
    return qname(PREFIXES[prefix], local)


def test_every_unordered_container_of_the_catalogue_is_in_the_vocabulary() -> None:
    table = vocabulary.UNORDERED_CONTAINERS
    checked = 0
    for spec in catalogue.CATALOGUE:
        for unordered in spec.unordered:
            if ":" not in unordered.parent or "[" in unordered.parent:
                continue  # HL7 v2 segments, conditional FHIR containers: see the docstring
            prefix, _, local = unordered.parent.partition(":")
            parents = ([qname(PREFIXES[prefix], name) for name in vocabulary.RIM_OBJECTS]
                       if local == "*" else [_clark(unordered.parent)])
            for parent in parents:
                assert parent in table, unordered
                children = table[parent]
                assert "*" in children or _clark(unordered.children) in children, unordered
                checked += 1
    assert checked > 10


def _two_orders(parent: str, child: str) -> tuple[str, str]:
    """The canonical text of ``parent`` holding two distinct ``child`` elements, both orders."""
    texts = []
    for order in (("1", "2"), ("2", "1")):
        element = etree.Element(parent)
        for number in order:
            etree.SubElement(element, child, n=number)
        texts.append(canonical_text(element))
    return texts[0], texts[1]


def test_serve_sorts_exactly_the_containers_the_vocabulary_names() -> None:
    for parent, children in vocabulary.UNORDERED_CONTAINERS.items():
        child = next(iter(sorted(children)))
        if child == "*":
            child = qname(etree.QName(parent).namespace or "", "anything")
        first, second = _two_orders(parent, child)
        assert first == second, parent
    ordered = qname(PREFIXES["hl7"], "queryByParameter")
    assert ordered not in vocabulary.UNORDERED_CONTAINERS
    first, second = _two_orders(ordered, qname(PREFIXES["hl7"], "parameterList"))
    assert first != second
