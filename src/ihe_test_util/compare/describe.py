"""Turn findings into report differences: locations as paths, descriptions in IHE terms.

Paths use namespace-free local names with 1-based positions among same-named siblings, in the
recorded response (``/Envelope/Body/AdhocQueryResponse/RegistryObjectList/ExtrinsicObject[2]/
@status``). Descriptions name things the way IHE people do, from the catalogue's labels:
``DocumentEntry 1.2.3 slot creationTime: 20240101 -> 20240102``.
"""

from __future__ import annotations

from functools import lru_cache

from lxml import etree

from ihe_test_util.compare.findings import Finding
from ihe_test_util.ihe.catalogue import LABELS
from ihe_test_util.ihe.patterns import Pattern, compile_relative, local_name
from ihe_test_util.ihe.vocabulary import METADATA_NAMES, short_urn
from ihe_test_util.results import Difference, DifferenceKind

#: Elements that only carry values; descriptions name their container instead.
PLUMBING = {"ValueList", "Value", "LocalizedString", "typeCode", "Body", "Envelope"}
#: Attributes whose name adds nothing to a description ("code": AA -> AE says it all).
QUIET_ATTRIBUTES = {"value", "code"}
VALUE_CHARS = 120


class PathNamer:
    """Renders element paths; each parent's children are numbered once, so reporting many
    differences under one large list stays linear."""

    def __init__(self) -> None:
        self._steps: dict[etree._Element, dict[etree._Element, str]] = {}

    def step(self, node: etree._Element) -> str:
        parent = node.getparent()
        if parent is None:
            return local_name(node.tag)
        steps = self._steps.get(parent)
        if steps is None:
            counts: dict[object, int] = {}
            for child in parent:
                counts[child.tag] = counts.get(child.tag, 0) + 1
            seen: dict[object, int] = {}
            steps = {}
            for child in parent:
                name = local_name(child.tag)
                if counts[child.tag] > 1:
                    seen[child.tag] = seen.get(child.tag, 0) + 1
                    name = f"{name}[{seen[child.tag]}]"
                steps[child] = name
            self._steps[parent] = steps
        return steps[node]

    def path(self, element: etree._Element) -> str:
        parts: list[str] = []
        node: etree._Element | None = element
        while node is not None:
            parts.append(self.step(node))
            node = node.getparent()
        return "/" + "/".join(reversed(parts))


def element_path(element: etree._Element) -> str:
    return PathNamer().path(element)


def attribute_name(name: str) -> str:
    """``{ns}lang`` -> ``lang`` (paths are namespace-free)."""
    return local_name(name)


def finding_path(finding: Finding, namer: PathNamer | None = None) -> str:
    if finding.path is not None:
        return finding.path
    namer = namer or PathNamer()
    element = finding.recorded_element
    if element is None and finding.replayed_element is not None:
        element = finding.replayed_element
        path = namer.path(element)
    elif element is None:
        return finding.prefix or "/"
    else:
        path = namer.path(element)
        if finding.kind is DifferenceKind.ADDED and finding.replayed_element is not None:
            path = f"{path}/{local_name(finding.replayed_element.tag)}"
    if finding.attribute is not None:
        path = f"{path}/@{attribute_name(finding.attribute)}"
    return finding.prefix + path


@lru_cache(maxsize=1)
def _labels() -> dict[str, list[tuple[Pattern, str, dict[str, etree.XPath]]]]:
    index: dict[str, list[tuple[Pattern, str, dict[str, etree.XPath]]]] = {}
    for label in LABELS:
        pattern = Pattern(label.pattern)
        parts = {name: compile_relative(expression) for name, expression in label.parts.items()}
        index.setdefault(pattern.last_local, []).append((pattern, label.template, parts))
    return index


def label_of(element: etree._Element) -> str | None:
    """How people call ``element`` ("DocumentEntry 1.2.3", "slot creationTime"), if known."""
    for pattern, template, parts in _labels().get(local_name(element.tag), []):
        if pattern.matches(element):
            values = {}
            for name, xpath in parts.items():
                raw = str(xpath(element)).strip()
                values[name] = METADATA_NAMES.get(raw, short_urn(raw))
            return " ".join(template.format(**values).split())
    return None


def context_of(element: etree._Element | None) -> str:
    """The labels of ``element`` and its ancestors, outermost first."""
    labels: list[str] = []
    node = element
    innermost = True
    while node is not None:
        label = label_of(node)
        if label:
            labels.append(label)
        elif innermost and local_name(node.tag) not in PLUMBING:
            labels.append(local_name(node.tag))
        innermost = False
        node = node.getparent()
    named = [label for label in labels if label]
    return " ".join(reversed(named))


def _short(value: str | None) -> str:
    if value is None:
        return "(none)"
    text = short_urn(value)
    return text if len(text) <= VALUE_CHARS else text[:VALUE_CHARS - 1] + "…"


def describe(finding: Finding) -> str:
    if finding.description is not None:
        return finding.description
    if finding.note is not None:
        where = context_of(finding.recorded_element)
        return f"{where}: {finding.note}" if where else finding.note
    kind = finding.kind
    if kind is DifferenceKind.ADDED and finding.replayed_element is not None:
        what = label_of(finding.replayed_element) or local_name(finding.replayed_element.tag)
        where = context_of(finding.recorded_element)
        return f"{where}: {what} added" if where else f"{what} added"
    if kind is DifferenceKind.REMOVED and finding.recorded_element is not None:
        element = finding.recorded_element
        what = label_of(element) or local_name(element.tag)
        where = context_of(element.getparent())
        return f"{where}: {what} removed" if where else f"{what} removed"
    if kind is DifferenceKind.MOVED and finding.recorded_element is not None:
        element = finding.recorded_element
        what = label_of(element) or local_name(element.tag)
        where = context_of(element.getparent())
        moved = f"{what} moved ({finding.recorded} -> {finding.replayed})"
        return f"{where}: {moved}" if where else moved
    if kind is DifferenceKind.RENAMED:
        where = context_of(finding.recorded_element)
        return f"{where}: element {finding.recorded} -> {finding.replayed}"
    where = context_of(finding.recorded_element)
    if finding.attribute is not None:
        name = attribute_name(finding.attribute)
        if name not in QUIET_ATTRIBUTES or not where:
            where = f"{where} {name}" if where else name
    values = f"{_short(finding.recorded)} -> {_short(finding.replayed)}"
    return f"{where}: {values}" if where else values


def to_difference(finding: Finding, namer: PathNamer | None = None) -> Difference:
    return Difference(
        path=finding_path(finding, namer), kind=finding.kind, severity=finding.severity,
        recorded=finding.recorded, replayed=finding.replayed, rule=finding.rule,
        description=describe(finding),
    )
