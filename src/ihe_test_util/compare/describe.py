"""Turn findings into report differences: locations as paths, descriptions in IHE terms.

Paths use namespace-free local names with 1-based positions among same-named siblings, in the
recorded response (``/Envelope/Body/AdhocQueryResponse/RegistryObjectList/ExtrinsicObject[2]/
@status``). Descriptions name things the way IHE people do, from the catalogue's labels:
``DocumentEntry 1.2.3 slot creationTime: 20240101 -> 20240102``.

Bodies that are not XML on the wire are shown in their own syntax, never as the element view
the walk compares: JSON (FHIR) locations as FHIRPath-style paths with JSON values
(``Bundle.entry[2].resource.gender: "male" -> "female"``, array positions 0-based as in
FHIRPath), HL7 v2 locations as field references with ER7 values (``PID-5: Mayer^Hans ->
Meyer^Hans``; a change inside a field is shown as the whole field repetition).
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import lru_cache

from lxml import etree

from ihe_test_util.compare.findings import Finding
from ihe_test_util.ihe.catalogue import LABELS
from ihe_test_util.ihe.er7 import Er7Locator
from ihe_test_util.ihe.jsonxml import JsonDocument
from ihe_test_util.ihe.patterns import Pattern, compile_relative, local_name
from ihe_test_util.ihe.vocabulary import METADATA_NAMES, short_urn
from ihe_test_util.results import Difference, DifferenceKind

#: Elements that only carry values; descriptions name their container instead.
PLUMBING = {"ValueList", "Value", "LocalizedString", "typeCode", "Body", "Envelope"}
#: Attributes whose name adds nothing to a description ("code": AA -> AE says it all).
QUIET_ATTRIBUTES = {"value", "code"}
VALUE_CHARS = 120


Syntax = JsonDocument | Er7Locator


class PathNamer:
    """Renders element paths; each parent's children are numbered once, so reporting many
    differences under one large list stays linear. ``syntaxes`` are the bodies that are not
    XML on the wire (their elements are named and shown in their own syntax)."""

    def __init__(self, syntaxes: Sequence[Syntax] = ()) -> None:
        self._steps: dict[etree._Element, dict[etree._Element, str]] = {}
        self.syntaxes = tuple(syntaxes)

    def syntax_of(self, element: etree._Element | None) -> Syntax | None:
        if element is None or not self.syntaxes:
            return None
        for syntax in self.syntaxes:
            if syntax.owns(element):
                return syntax
        return None

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

    def native(self, element: etree._Element) -> str | None:
        """Where people find ``element`` in a JSON or ER7 body (None: an XML body)."""
        syntax = self.syntax_of(element)
        if isinstance(syntax, Er7Locator):
            return syntax.path(syntax.field_of(element))
        if syntax is not None:
            return syntax.path(element)
        return None

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


def native_location(finding: Finding, namer: PathNamer) -> str | None:
    """The finding's location in its body's own syntax (JSON, ER7), if it has one."""
    if finding.path is not None or (finding.recorded_element is None
                                    and finding.replayed_element is None):
        return None
    if finding.kind is DifferenceKind.ADDED or finding.recorded_element is None:
        element = finding.replayed_element
        if element is not None and namer.syntax_of(element) is not None:
            return finding.prefix + (namer.native(element) or "")
        return None
    native = namer.native(finding.recorded_element)
    return None if native is None else finding.prefix + native


def to_difference(finding: Finding, namer: PathNamer | None = None) -> Difference:
    namer = namer or PathNamer()
    path = finding_path(finding, namer)
    location = native_location(finding, namer)
    native = _native(finding, namer, location) if location is not None else None
    if native is not None:
        recorded, replayed, description = native
        return Difference(path=path, kind=finding.kind, severity=finding.severity,
                          recorded=recorded, replayed=replayed, rule=finding.rule,
                          description=description, location=location)
    return Difference(
        path=path, kind=finding.kind, severity=finding.severity,
        recorded=finding.recorded, replayed=finding.replayed, rule=finding.rule,
        description=describe(finding),
    )


_VALUE_KINDS = (DifferenceKind.VALUE, DifferenceKind.ATTRIBUTE)


def _native(finding: Finding, namer: PathNamer, path: str) -> tuple[
        str | None, str | None, str] | None:
    """Values and description of a finding in a JSON or ER7 body, in that syntax."""
    if finding.path is not None and finding.recorded_element is None \
            and finding.replayed_element is None:
        return None
    rec_syntax = namer.syntax_of(finding.recorded_element)
    rep_syntax = namer.syntax_of(finding.replayed_element)
    if rec_syntax is None and rep_syntax is None:
        return None
    recorded, replayed = finding.recorded, finding.replayed
    kind = finding.kind
    if kind in _VALUE_KINDS or kind is DifferenceKind.REMOVED:
        recorded = _shown(rec_syntax, finding.recorded_element, recorded)
    if kind in _VALUE_KINDS or kind is DifferenceKind.ADDED:
        replayed = _shown(rep_syntax, finding.replayed_element, replayed)
    if finding.description is not None:
        return recorded, replayed, finding.description
    if finding.note is not None:
        return recorded, replayed, f"{path}: {finding.note}"
    if kind is DifferenceKind.ADDED:
        description = f"{path} added"
    elif kind is DifferenceKind.REMOVED:
        description = f"{path} removed"
    elif kind is DifferenceKind.MOVED and rep_syntax is not None \
            and finding.replayed_element is not None:
        recorded, replayed = path, namer.native(finding.replayed_element) or ""
        description = f"{path} moved to {replayed}"
    elif kind is DifferenceKind.MOVED:
        description = f"{path} moved ({finding.recorded} -> {finding.replayed})"
    else:
        description = f"{path}: {_short(recorded)} -> {_short(replayed)}"
    return recorded, replayed, description


def _shown(syntax: Syntax | None, element: etree._Element | None,
           fallback: str | None) -> str | None:
    if syntax is None or element is None:
        return fallback
    if isinstance(syntax, Er7Locator):
        return syntax.text(syntax.field_of(element))
    rendered = syntax.render(element)
    return fallback if rendered is None else rendered
