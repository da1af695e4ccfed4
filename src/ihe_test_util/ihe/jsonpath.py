"""JSON paths: the one selector of values in a JSON body (FHIR JSON above all).

Two spellings, both accepted wherever a JSON path is written (``ihe record`` captures,
replay's ``[[correlate]]`` ``json = ...`` rules):

* a JSON pointer (RFC 6901): ``/entry/0/response/location``;
* a FHIRPath subset: dot-separated member names, an optional leading resource type that the
  body's ``resourceType`` must equal, ``[n]`` to pick one item of a list (lists are flattened
  otherwise), and ``resource`` descending into a nested resource as usual in FHIR JSON:
  ``Bundle.entry.response.location``, ``Patient.identifier[0].value``.

Selected values are strings as they are and other scalars as JSON (``3``, ``true``); objects
select nothing. ``pattern`` (:func:`cut`) keeps group 1 of a regular expression (or the whole
match) of each value: ``Location`` ``/Patient/([^/]+)`` -> the id.

The same path also reads a FHIR XML body (:meth:`JsonPath.tree_values`: members are child
elements, values ``@value``). The selector was written for replay's ``[[correlate]]`` rules
(issue 13); it lives here, a building block, so ``record`` and ``replay`` share one
implementation.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from lxml import etree

from ihe_test_util.ihe.message import Message
from ihe_test_util.ihe.namespaces import FHIR

_MEMBER = re.compile(r"([A-Za-z_$][\w$-]*)(?:\[(\d+)\])?")


class JsonPathError(ValueError):
    """A ``json`` path that is neither a JSON pointer nor the FHIRPath subset."""


@dataclass(frozen=True)
class JsonPath:
    """A compiled ``json`` selector: a JSON pointer or the FHIRPath subset (module doc)."""

    text: str
    pointer: tuple[str, ...] | None = None
    resource_type: str | None = None
    members: tuple[tuple[str, int | None], ...] = ()

    @classmethod
    def parse(cls, text: str) -> JsonPath:
        text = text.strip()
        if not text:
            raise JsonPathError("empty path")
        if text.startswith("/"):
            parts = tuple(part.replace("~1", "/").replace("~0", "~")
                          for part in text[1:].split("/"))
            return cls(text, pointer=parts)
        steps = text.split(".")
        members: list[tuple[str, int | None]] = []
        resource_type = None
        for position, step in enumerate(steps):
            match = _MEMBER.fullmatch(step)
            if match is None:
                raise JsonPathError(
                    f"{step!r} is not a member name (optionally with [n]); a JSON pointer "
                    "starts with /")
            name, index = match.group(1), match.group(2)
            if position == 0 and name[0].isupper() and index is None and len(steps) > 1:
                resource_type = name
                continue
            members.append((name, int(index) if index is not None else None))
        if not members:
            raise JsonPathError("names a resource type but no element of it")
        return cls(text, resource_type=resource_type, members=tuple(members))

    def values(self, document: Any) -> list[str]:
        """The selected values (strings as they are, other scalars as JSON), in order."""
        if self.pointer is not None:
            node = document
            for part in self.pointer:
                if isinstance(node, dict) and part in node:
                    node = node[part]
                elif isinstance(node, list) and part.isdigit() and int(part) < len(node):
                    node = node[int(part)]
                else:
                    return []
            return _scalars([node])
        if self.resource_type is not None and (
                not isinstance(document, dict)
                or document.get("resourceType") != self.resource_type):
            return []
        nodes: list[Any] = [document]
        for name, index in self.members:
            found: list[Any] = []
            for node in nodes:
                value = node.get(name) if isinstance(node, dict) else None
                items = value if isinstance(value, list) else [] if value is None else [value]
                if index is not None:
                    items = items[index:index + 1]
                found.extend(items)
            nodes = found
        return _scalars(nodes)

    def tree_values(self, root: etree._Element) -> list[str]:
        """The FHIRPath subset on a FHIR XML body (``application/fhir+xml``): members are
        child elements, a nested resource is stepped through, values are ``@value``. A JSON
        pointer names JSON only: nothing."""
        if self.pointer is not None or not str(root.tag).startswith(f"{{{FHIR}}}"):
            return []
        if self.resource_type is not None and etree.QName(root).localname != self.resource_type:
            return []
        nodes = [root]
        for name, index in self.members:
            found: list[etree._Element] = []
            for node in nodes:
                items = [_through_resource(child) for child in node
                         if child.tag == f"{{{FHIR}}}{name}"]
                found.extend(items[index:index + 1] if index is not None else items)
            nodes = found
        return [str(node.get("value")) for node in nodes if node.get("value") is not None]


def _through_resource(element: etree._Element) -> etree._Element:
    """``resource`` (and ``contained``, ``outcome``) hold a resource: step into it."""
    children = [child for child in element if isinstance(child.tag, str)]
    if len(children) == 1 and element.get("value") is None \
            and etree.QName(children[0]).localname[:1].isupper():
        return children[0]
    return element


def _scalars(nodes: Iterable[Any]) -> list[str]:
    values = []
    for node in nodes:
        if isinstance(node, list):
            values.extend(_scalars(node))
        elif isinstance(node, str):
            values.append(node)
        elif node is not None and not isinstance(node, dict):
            values.append(json.dumps(node))
    return values



def json_document(message: Message | None) -> Any:
    """The JSON value of a body read as ``json`` (None for any other body, or broken JSON)."""
    if message is None or message.kind != "json" or not message.raw:
        return None
    try:
        return json.loads(message.raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, ValueError, RecursionError):
        return None


def cut(values: Iterable[str], pattern: re.Pattern[str] | None) -> list[str]:
    """Each value cut by ``pattern``: its group 1 (or the whole match); values it does not
    match are dropped. Without a pattern, the values as they are."""
    if pattern is None:
        return list(values)
    kept = []
    for value in values:
        match = pattern.search(value)
        if match is not None:
            kept.append(match.group(1) if pattern.groups else match.group(0))
    return kept
