"""Mutation helpers for comparer tests: every edit checks that it really changed something."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from pathlib import Path

from lxml import etree

from ihe_test_util.compare import compare_responses
from ihe_test_util.compare.files import load_response_file, parse_capture
from ihe_test_util.model import Response
from ihe_test_util.results import Comparison
from tests.conftest import corpus_file

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
HL7 = "urn:hl7-org:v3"

Mutation = Callable[[bytes], bytes]


def load(relative: str) -> Response:
    """A corpus response as it would be recorded (HTTP head parsed when the file has one)."""
    path: Path = corpus_file(relative)
    return load_response_file(path)


def raw(relative: str) -> bytes:
    """A corpus file's bytes: body, or HTTP head and body for raw captures."""
    return corpus_file(relative).read_bytes()


def replace(old: str | bytes, new: str | bytes, count: int = 1) -> Mutation:
    old_b = old.encode() if isinstance(old, str) else old
    new_b = new.encode() if isinstance(new, str) else new

    def mutate(data: bytes) -> bytes:
        assert old_b in data, f"mutation target {old_b[:60]!r} not in the message"
        return data.replace(old_b, new_b, count)
    return mutate


def regex(pattern: str, new: str | Callable[[re.Match[bytes]], bytes], count: int = 0) -> Mutation:
    compiled = re.compile(pattern.encode())

    def mutate(data: bytes) -> bytes:
        assert compiled.search(data), f"mutation pattern {pattern!r} not in the message"
        replacement = new.encode() if isinstance(new, str) else new
        return compiled.sub(replacement, data, count=count)  # type: ignore[arg-type]
    return mutate


def tree(edit: Callable[[etree._Element], None]) -> Mutation:
    """Edit the parsed document; the result is serialised again (same prefixes)."""
    def mutate(data: bytes) -> bytes:
        root = etree.fromstring(data)
        before = etree.tostring(root)
        edit(root)
        after = etree.tostring(root)
        assert after != before, "tree edit changed nothing"
        return after
    return mutate


def chain(*mutations: Mutation) -> Mutation:
    def mutate(data: bytes) -> bytes:
        for mutation in mutations:
            data = mutation(data)
        return data
    return mutate


def rename_registry_ids(data: bytes, seed: int = 7) -> bytes:
    """Consistently rename every registry-assigned entryUUID (what a fresh registry does)."""
    assigned = set(re.findall(rb'\b(?:id|lid)="(urn:uuid:[0-9a-fA-F-]{36})"', data))
    rng = uuid.UUID(int=seed)
    mapping = {old: f"urn:uuid:{uuid.uuid5(rng, old.decode())}".encode() for old in assigned}
    return re.sub(rb"urn:uuid:[0-9a-fA-F-]{36}", lambda m: mapping.get(m.group(0), m.group(0)),
                  data)


def reverse_children(xpath: str) -> Mutation:
    def edit(root: etree._Element) -> None:
        for parent in root.xpath(xpath, namespaces={"rim": RIM, "hl7": HL7}):
            children = list(parent)
            for child in children:
                parent.remove(child)
            for child in reversed(children):
                parent.append(child)
    return tree(edit)


def remove(xpath: str) -> Mutation:
    def edit(root: etree._Element) -> None:
        nodes = root.xpath(xpath, namespaces={"rim": RIM, "hl7": HL7})
        assert nodes, f"nothing at {xpath}"
        node = nodes[0]
        node.getparent().remove(node)
    return tree(edit)


def compare_captures(recorded: bytes, replayed: bytes, **options: object) -> Comparison:
    """Compare two captures (head and body, as ``ihe diff`` reads files)."""
    return compare_responses(parse_capture(recorded), parse_capture(replayed),
                             **options)  # type: ignore[arg-type]


def reorder(xpath: str) -> Mutation:
    """Reverse the order of the elements ``xpath`` selects among their siblings' slots."""
    def edit(root: etree._Element) -> None:
        nodes = root.xpath(xpath, namespaces={"rim": RIM, "hl7": HL7})
        assert len(nodes) > 1, f"fewer than two nodes at {xpath}"
        parent = nodes[0].getparent()
        slots = [parent.index(node) for node in nodes]
        for node in nodes:
            parent.remove(node)
        for index, node in sorted(zip(slots, reversed(nodes), strict=True)):
            parent.insert(index, node)
    return tree(edit)
