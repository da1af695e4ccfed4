"""A request body as ``location = value`` lines: what an explanation of a mismatch compares,
value by value (XML paths name a ``Slot`` by its name; JSON paths are keys and indexes).

Both walks are iterative: a hostile document nests as deep as the parser allows.
"""

from __future__ import annotations

import json
from collections.abc import Iterator

from lxml import etree

from ihe_test_util.ihe.patterns import attributes

#: Attributes that name an element in explanations: ``Slot[@name='$XDSDocumentEntryPatientId']``.
NAMING_ATTRIBUTES = ("name",)


def xml_facts(root: etree._Element) -> Iterator[str]:
    """``.../Slot[@name='x']/ValueList/Value = v`` lines, in document order."""
    stack: list[tuple[etree._Element, str]] = [(root, _named_step(root))]
    while stack:
        element, path = stack.pop()
        text = (element.text or "").strip()
        if text:
            yield f"{path} = {text}"
        for name, value in sorted(attributes(element).items()):
            if name not in NAMING_ATTRIBUTES:  # already in the path
                yield f"{path}/@{etree.QName(name).localname} = {value}"
        children = [child for child in element if isinstance(child.tag, str)]
        stack.extend((child, f"{path}/{_named_step(child)}") for child in reversed(children))


def _named_step(element: etree._Element) -> str:
    """An element's local name, with the attribute that names it: ``Slot[@name='...']``."""
    local = etree.QName(element).localname
    for attribute in NAMING_ATTRIBUTES:
        value = element.get(attribute)
        if value is not None:
            return f"{local}[@{attribute}='{value}']"
    return local


def json_facts(value: object) -> Iterator[str]:
    """``/entry/0/resource/id = "x"`` lines, keys sorted (iteratively, like the XML ones)."""
    stack: list[tuple[str, object]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, dict):
            stack.extend((f"{path}/{key}", item[key]) for key in sorted(item, reverse=True))
        elif isinstance(item, list):
            stack.extend((f"{path}/{index}", entry)
                         for index, entry in reversed(list(enumerate(item))))
        else:
            yield f"{path or '/'} = {json.dumps(item)}"


def er7_facts(root: etree._Element) -> Iterator[str]:
    """``PID-5.1 = Meyer`` lines of an HL7 v2 message tree (:mod:`ihe_test_util.ihe.er7`), in
    message order: the field reference people read in HL7 v2 documentation."""
    for fact in xml_facts(root):
        location, _, value = fact.partition(" = ")
        step = location.rsplit("/", 1)[-1]
        segment, dot, rest = step.partition(".")
        yield f"{segment}-{rest} = {value}" if dot else f"{step} = {value}"


def fhir_facts(root: etree._Element) -> Iterator[str]:
    """``Bundle.entry[1].resource.subject.reference = Patient/1`` lines of a FHIR resource tree
    (JSON or XML, :mod:`ihe_test_util.ihe.jsonxml`): FHIRPath-style, a repeated element
    indexed from 0, a contained resource by its property (``resource.gender``)."""
    stack: list[tuple[etree._Element, str]] = [(root, etree.QName(root).localname)]
    while stack:
        element, path = stack.pop()
        value = element.get("value")
        if value is not None:
            yield f"{path} = {value}"
        text = (element.text or "").strip()
        if text:
            yield f"{path} = {text}"
        children = [child for child in element if isinstance(child.tag, str)]
        names = [etree.QName(child).localname for child in children]
        if etree.QName(element).localname in ("resource", "contained") and len(children) == 1:
            stack.append((children[0], path))  # the resource type is not a FHIRPath step
            continue
        seen: dict[str, int] = {}
        steps = []
        for child, name in zip(children, names, strict=True):
            index = seen.get(name, 0)
            seen[name] = index + 1
            repeated = names.count(name) > 1
            steps.append((child, f"{path}.{name}[{index}]" if repeated else f"{path}.{name}"))
        stack.extend(reversed(steps))
