"""HL7 v2 ER7 (pipe-and-hat) messages as element trees, so one comparison engine serves all.

``MSH|^~\\&|...|RSP^K23^RSP_K23|...`` becomes::

    <HL7v2>
      <MSH><MSH.1>|</MSH.1><MSH.2>^~\\&amp;</MSH.2>...<MSH.9><MSH.9.1>RSP</MSH.9.1>...</MSH.9></MSH>
      <PID><PID.3><PID.3.1>78912</PID.3.1>...</PID.3><PID.3>...</PID.3></PID>
    </HL7v2>

Fields, components and subcomponents are named by their HL7 position (``PID.3.4.2``), so the
paths in a report read like HL7 field references and rules can point at them
(``//MSH/MSH.7``). Repetitions are repeated elements; empty fields are omitted. Escape sequences
stay as sent. MLLP framing bytes and CR / LF / CRLF segment separators are all accepted.

Bounds (docs/cli.md "Limits"): MSH-2 holds at most :data:`MAX_ENCODING_CHARACTERS` characters
(four, plus the truncation character of v2.7), and a message becomes at most
:data:`MAX_ELEMENTS` elements; beyond either it is an :class:`Er7Error`, not gigabytes of tree.
"""

from __future__ import annotations

import re

from lxml import etree

from ihe_test_util.ihe.jsonxml import xml_safe

ROOT_TAG = "HL7v2"
_SEGMENT_ID = re.compile(r"[A-Z][A-Z0-9]{2}")
#: MSH-2: component, repetition, escape, subcomponent and (v2.7+) truncation characters.
MAX_ENCODING_CHARACTERS = 5
#: Elements (segments, fields, components, subcomponents) one message may become; a large
#: real message (an ORU with hundreds of OBX) has a few tens of thousands.
MAX_ELEMENTS = 200_000


class Er7Error(ValueError):
    """The bytes are not an ER7 message."""


def looks_like_er7(data: bytes) -> bool:
    return data.lstrip(b"\x0b \t\r\n").startswith(b"MSH")


def parse_er7(data: bytes) -> etree._Element:
    """Build the element view of an ER7 message (raises :class:`Er7Error`)."""
    text = data.replace(b"\x0b", b"").replace(b"\x1c", b"").decode("utf-8", errors="replace")
    text = text.lstrip("\ufeff")
    lines = [line for line in re.split(r"\r\n|\r|\n", text.strip()) if line.strip()]
    if not lines or not lines[0].startswith("MSH") or len(lines[0]) < 8:
        raise Er7Error("an HL7 v2 message starts with an MSH segment")
    field_sep = lines[0][3]
    encoding = lines[0][4:].split(field_sep, 1)[0]
    if len(encoding) < 2:
        raise Er7Error(f"MSH-2 encoding characters {encoding!r} are incomplete")
    if len(encoding) > MAX_ENCODING_CHARACTERS:
        raise Er7Error(f"MSH-2 has {len(encoding)} encoding characters (at most "
                       f"{MAX_ENCODING_CHARACTERS}): {encoding[:12]!r}...")
    component_sep = encoding[0]
    repetition_sep = encoding[1]
    subcomponent_sep = encoding[3] if len(encoding) > 3 else "&"
    # Each separator starts at most one element: count them before building anything.
    pieces = len(lines) + sum(text.count(sep) for sep in
                              {field_sep, component_sep, repetition_sep, subcomponent_sep})
    if pieces > MAX_ELEMENTS:
        raise Er7Error(f"the message has more than {MAX_ELEMENTS} fields, components and "
                       "subcomponents")
    root = etree.Element(ROOT_TAG)
    for line in lines:
        segment_id = line[:3]
        if not _SEGMENT_ID.fullmatch(segment_id):
            raise Er7Error(f"invalid segment id {segment_id!r} in line {line[:20]!r}")
        segment = etree.SubElement(root, segment_id)
        fields = line.split(field_sep)
        if segment_id == "MSH":
            _text(segment, "MSH.1", field_sep)
            _text(segment, "MSH.2", encoding)
            numbered = list(enumerate(fields[2:], start=3))
        else:
            numbered = list(enumerate(fields[1:], start=1))
        for number, value in numbered:
            if not value:
                continue
            name = f"{segment_id}.{number}"
            for repetition in value.split(repetition_sep):
                _field(segment, name, repetition, component_sep, subcomponent_sep)
    return root


def _text(parent: etree._Element, tag: str, value: str) -> etree._Element:
    child = etree.SubElement(parent, tag)
    child.text = xml_safe(value)
    return child


def _field(parent: etree._Element, name: str, value: str, component_sep: str,
           subcomponent_sep: str) -> None:
    if component_sep not in value and subcomponent_sep not in value:
        _text(parent, name, value)
        return
    field = etree.SubElement(parent, name)
    for index, component in enumerate(value.split(component_sep), start=1):
        if not component:
            continue
        component_name = f"{name}.{index}"
        if subcomponent_sep not in component:
            _text(field, component_name, component)
            continue
        holder = etree.SubElement(field, component_name)
        for sub_index, sub in enumerate(component.split(subcomponent_sep), start=1):
            if sub:
                _text(holder, f"{component_name}.{sub_index}", sub)


def message_type(root: etree._Element) -> str | None:
    """MSH-9 as ``CODE^TRIGGER`` (``RSP^K23``), or None."""
    msh = root.find("MSH")
    if msh is None:
        return None
    field = msh.find("MSH.9")
    if field is None:
        return None
    if len(field) == 0:
        return (field.text or "").strip() or None
    parts = [field.findtext("MSH.9.1") or "", field.findtext("MSH.9.2") or ""]
    return "^".join(part for part in parts if part) or None


def field_value(root: etree._Element, segment: str, field: str) -> str | None:
    """First component of the first occurrence of ``SEG-n`` (``MSA``, ``MSA.1``)."""
    seg = root.find(segment)
    if seg is None:
        return None
    element = seg.find(field)
    if element is None:
        return None
    if len(element):
        first = element[0]
        return (first.text or "").strip() or None
    return (element.text or "").strip() or None


# --- back from the element view to the ER7 people read ----------------------------------------

_POSITION = re.compile(r"\.(\d+)$")


class Er7Text:
    """The way back from an element of :func:`parse_er7`'s view to HL7 v2 notation: paths
    as ``PID-5`` / ``PID-3[2].4`` and values as ER7 text (``Mayer^Hans``), with the
    separators the message declares in MSH-1 / MSH-2."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        msh = root.find("MSH")
        field_sep = (msh.findtext("MSH.1") if msh is not None else None) or "|"
        encoding = (msh.findtext("MSH.2") if msh is not None else None) or "^~\\&"
        self.field = field_sep
        self.component = encoding[0]
        self.repetition = encoding[1] if len(encoding) > 1 else "~"
        self.subcomponent = encoding[3] if len(encoding) > 3 else "&"

    def owns(self, element: etree._Element) -> bool:
        return element.getroottree().getroot() is self.root

    @staticmethod
    def field_of(element: etree._Element) -> etree._Element:
        """The field (repetition) a component or subcomponent belongs to; others stay."""
        node = element
        while str(node.tag).count(".") > 1:
            parent = node.getparent()
            if parent is None:
                break
            node = parent
        return node

    def path(self, element: etree._Element) -> str:
        """``PID-5``, ``PID-3[2].4.1``, ``OBX[3]-5``; a segment alone is ``PID``."""
        chain: list[etree._Element] = []
        node: etree._Element | None = element
        while node is not None and node is not self.root:
            chain.append(node)
            node = node.getparent()
        if not chain:
            return ROOT_TAG
        chain.reverse()
        segment = chain[0]
        text = str(segment.tag) + _occurrence(segment)
        for depth, part in enumerate(chain[1:]):
            match = _POSITION.search(str(part.tag))
            number = match.group(1) if match else str(part.tag)
            text += ("-" if depth == 0 else ".") + number
            if depth == 0:
                text += _occurrence(part)
        return text

    def text(self, element: etree._Element) -> str:
        """``element`` as ER7: a segment line, a field repetition, a component."""
        tag = str(element.tag)
        if element is self.root:
            return "\r".join(self.text(segment) for segment in element)
        if "." not in tag:  # a segment
            return self._segment(element)
        depth = tag.count(".")
        separator = {1: self.component, 2: self.subcomponent}.get(depth)
        if separator is None or not len(element):
            return element.text or ""
        return self._joined(element, separator)

    def _joined(self, element: etree._Element, separator: str) -> str:
        parts: dict[int, str] = {}
        for child in element:
            match = _POSITION.search(str(child.tag))
            if match:
                parts[int(match.group(1))] = self.text(child)
        last = max(parts, default=0)
        return separator.join(parts.get(number, "") for number in range(1, last + 1))

    def _segment(self, segment: etree._Element) -> str:
        fields: dict[int, list[str]] = {}
        name = str(segment.tag)
        for child in segment:
            match = _POSITION.search(str(child.tag))
            if match:
                fields.setdefault(int(match.group(1)), []).append(self.text(child))
        if name == "MSH":
            fields.pop(1, None)
            encoding = fields.pop(2, [""])[0]
            last = max(fields, default=2)
            values = [self.repetition.join(fields.get(n, [])) for n in range(3, last + 1)]
            return self.field.join([f"MSH{self.field}{encoding}", *values])
        last = max(fields, default=0)
        values = [self.repetition.join(fields.get(n, [])) for n in range(1, last + 1)]
        return self.field.join([name, *values])


def _occurrence(element: etree._Element) -> str:
    """``[n]`` (1-based) when the element repeats among its siblings, else nothing."""
    parent = element.getparent()
    if parent is None:
        return ""
    same = [sibling for sibling in parent if sibling.tag == element.tag]
    if len(same) < 2:
        return ""
    return f"[{same.index(element) + 1}]"
