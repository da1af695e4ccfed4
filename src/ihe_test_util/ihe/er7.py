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

Query responses (RSP^K22, RSP^K23) group each returned patient: the segments that follow a PID
(PD1, NK1, QRI, ...) up to the next PID or the end of the results are children of that PID's
element (``/HL7v2/PID[2]/QRI/QRI.1``), so an unordered list of patients pairs whole groups.

Besides reading, this module *edits* ER7 text (:func:`replace_field`, :func:`edit_er7`): a field
given by an HL7 reference (:class:`FieldRef`, ``MSH-10``, ``PID-3[2].1``, ``PID[2]-5.1``) gets a
new value and every other byte stays as it was: separators, encoding characters, segment
terminators, trailing empty fields. Replay regeneration, correlation and scenario captures use
it.

Bounds (docs/cli.md "Limits"): MSH-2 holds at most :data:`MAX_ENCODING_CHARACTERS` characters
(four, plus the truncation character of v2.7), and a message becomes at most
:data:`MAX_ELEMENTS` elements; beyond either it is an :class:`Er7Error`, not gigabytes of tree.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass

from lxml import etree

from ihe_test_util.safexml import xml_safe

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
    grouping = _is_query_response(lines[0], field_sep, component_sep)
    group: etree._Element | None = None
    # Characters XML cannot carry are rare: look for them once, not in every value.
    safe = xml_safe if xml_safe(text) != text else _same
    sub_element = etree.SubElement
    for line in lines:
        segment_id = line[:3]
        if not _SEGMENT_ID.fullmatch(segment_id):
            raise Er7Error(f"invalid segment id {segment_id!r} in line {line[:20]!r}")
        if grouping and segment_id == "PID":
            group = segment = sub_element(root, segment_id)
        elif group is not None and segment_id not in _AFTER_RESULTS:
            segment = sub_element(group, segment_id)
        else:
            group = None
            segment = sub_element(root, segment_id)
        fields = line.split(field_sep)
        if segment_id == "MSH":
            sub_element(segment, "MSH.1").text = safe(field_sep)
            sub_element(segment, "MSH.2").text = safe(encoding)
            first = 3
            fields = fields[2:]
        else:
            first = 1
            fields = fields[1:]
        for number, value in enumerate(fields, start=first):
            if not value:
                continue
            name = f"{segment_id}.{number}"
            for repetition in value.split(repetition_sep) if repetition_sep in value \
                    else (value,):
                if component_sep not in repetition and subcomponent_sep not in repetition:
                    sub_element(segment, name).text = safe(repetition)
                    continue
                field = sub_element(segment, name)
                for index, component in enumerate(repetition.split(component_sep), start=1):
                    if not component:
                        continue
                    component_name = f"{name}.{index}"
                    if subcomponent_sep not in component:
                        sub_element(field, component_name).text = safe(component)
                        continue
                    holder = sub_element(field, component_name)
                    for sub_index, sub in enumerate(component.split(subcomponent_sep),
                                                    start=1):
                        if sub:
                            sub_element(holder, f"{component_name}.{sub_index}").text = \
                                safe(sub)
    return root


def _same(text: str) -> str:
    return text


#: Segments that end the result groups of a query response (continuation pointer, errors).
_AFTER_RESULTS = frozenset({"DSC", "ERR", "MSA", "QAK", "QPD"})


def _is_query_response(msh: str, field_sep: str, component_sep: str) -> bool:
    """RSP^K22 / RSP^K23 (and other RSP): their PID groups are returned in no defined order."""
    fields = msh.split(field_sep)
    return len(fields) > 8 and fields[8].split(component_sep)[0] == "RSP"


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


# --- field references and editing ------------------------------------------------------------

_REFERENCE = re.compile(
    r"(?P<segment>[A-Z][A-Z0-9]{2})(?:\[(?P<occurrence>[1-9][0-9]*)\])?[-.]"
    r"(?P<field>[1-9][0-9]*)(?:\[(?P<repetition>[1-9][0-9]*)\])?"
    r"(?:\.(?P<component>[1-9][0-9]*)(?:\.(?P<subcomponent>[1-9][0-9]*))?)?")


@dataclass(frozen=True)
class FieldRef:
    """An HL7 v2 location: ``SEG[occurrence]-field[repetition].component.subcomponent``.

    ``PID-3`` is the whole first repetition of PID-3 of the first PID; ``PID-3[2].1`` the id of
    its second repetition; ``PID[2]-5.1`` the family name of the second PID; ``MSA-1`` the
    acknowledgment code. Numbers are 1-based; ``MSH-1`` is the field separator itself and
    ``MSH-2`` the encoding characters, as in the standard.
    """

    segment: str
    field: int
    occurrence: int = 1
    repetition: int = 1
    component: int | None = None
    subcomponent: int | None = None

    @classmethod
    def parse(cls, text: str) -> FieldRef:
        return _parse_reference(text)

    @classmethod
    def _parse(cls, text: str) -> FieldRef:
        match = _REFERENCE.fullmatch(text.strip())
        if match is None:
            raise Er7Error(f"{text!r} is not an HL7 v2 field reference (write it like MSH-10, "
                           "PID-3[1].1 or PID[2]-5.1)")
        def number(name: str) -> int | None:
            value = match.group(name)
            return int(value) if value else None
        return cls(match["segment"], int(match["field"]), number("occurrence") or 1,
                   number("repetition") or 1, number("component"), number("subcomponent"))

    def __str__(self) -> str:
        text = self.segment + (f"[{self.occurrence}]" if self.occurrence != 1 else "")
        text += f"-{self.field}" + (f"[{self.repetition}]" if self.repetition != 1 else "")
        if self.component is not None:
            text += f".{self.component}"
            if self.subcomponent is not None:
                text += f".{self.subcomponent}"
        return text


@functools.lru_cache(maxsize=1024)
def _parse_reference(text: str) -> FieldRef:
    """:meth:`FieldRef.parse`, remembered: rules and captures name the same few fields."""
    return FieldRef._parse(text)


@dataclass(frozen=True)
class Separators:
    """MSH-1 and MSH-2 of a message."""

    field: str
    component: str
    repetition: str
    escape: str
    subcomponent: str

    @classmethod
    def of(cls, text: str) -> Separators:
        start = text.lstrip("\ufeff\x0b \t\r\n")
        if not start.startswith("MSH") or len(start) < 8:
            raise Er7Error("an HL7 v2 message starts with an MSH segment")
        field = start[3]
        encoding = start[4:].split(field, 1)[0]
        if len(encoding) < 2:
            raise Er7Error(f"MSH-2 encoding characters {encoding!r} are incomplete")
        return cls(field, encoding[0], encoding[1], encoding[2:3] or "\\",
                   encoding[3:4] or "&")


_LINE_BREAK = re.compile(r"(\r\n|\r|\n)")


def decode_er7(data: bytes) -> tuple[str, str]:
    """``data`` as text and the codec that gives back the same bytes (UTF-8, else Latin-1:
    every byte is one character, so an ISO-8859-1 message is edited byte-exactly too)."""
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError:
        return data.decode("latin-1"), "latin-1"


def _segments(text: str) -> list[str]:
    """Segments and the line breaks after them, alternating (``re.split`` keeps both)."""
    return _LINE_BREAK.split(text)


class Er7Text:
    """ER7 text split once into segments, read and edited field by field (every other
    character kept); :meth:`text` joins it back."""

    def __init__(self, text: str) -> None:
        self.separators = Separators.of(text)
        self.pieces = _segments(text)

    def text(self) -> str:
        return "".join(self.pieces)

    def read(self, ref: FieldRef) -> str | None:
        """The raw (escaped) value at ``ref``; None when the message has no such segment or
        field, '' when it is present and empty."""
        seps = self.separators
        index = _segment_index(self.pieces, ref, seps)
        if index is None:
            return None
        fields = self.pieces[index].split(seps.field)
        position = _field_position(ref)
        if position >= len(fields):
            return None
        if ref.segment == "MSH" and ref.field <= 2:
            return seps.field if ref.field == 1 else fields[1]
        repetitions = fields[position].split(seps.repetition)
        if ref.repetition > len(repetitions):
            return None
        value = repetitions[ref.repetition - 1]
        if ref.component is None:
            return value
        components = value.split(seps.component)
        if ref.component > len(components):
            return None
        value = components[ref.component - 1]
        if ref.subcomponent is None:
            return value
        subs = value.split(seps.subcomponent)
        return subs[ref.subcomponent - 1] if ref.subcomponent <= len(subs) else None

    def replace(self, ref: FieldRef, value: str) -> None:
        """Put ``value`` (already escaped) at ``ref``. Missing fields, repetitions and
        components of an existing segment are added with empty separators; a missing segment
        is an :class:`Er7Error`."""
        seps = self.separators
        if ref.segment == "MSH" and ref.field <= 2:
            raise Er7Error(f"{ref} holds the separators and cannot be replaced")
        index = _segment_index(self.pieces, ref, seps)
        if index is None:
            raise Er7Error(f"the message has no {ref.segment} segment"
                           + (f" #{ref.occurrence}" if ref.occurrence > 1 else "")
                           + f" for {ref}")
        fields = self.pieces[index].split(seps.field)
        position = _field_position(ref)
        fields.extend([""] * (position + 1 - len(fields)))
        repetitions = fields[position].split(seps.repetition)
        repetitions.extend([""] * (ref.repetition - len(repetitions)))
        current = repetitions[ref.repetition - 1]
        if ref.component is not None:
            components = current.split(seps.component)
            components.extend([""] * (ref.component - len(components)))
            if ref.subcomponent is not None:
                subs = components[ref.component - 1].split(seps.subcomponent)
                subs.extend([""] * (ref.subcomponent - len(subs)))
                subs[ref.subcomponent - 1] = value
                components[ref.component - 1] = seps.subcomponent.join(subs)
            else:
                components[ref.component - 1] = value
            current = seps.component.join(components)
        else:
            current = value
        repetitions[ref.repetition - 1] = current
        fields[position] = seps.repetition.join(repetitions)
        self.pieces[index] = seps.field.join(fields)


def read_field(text: str, ref: FieldRef) -> str | None:
    """The raw (escaped) value at ``ref`` in ER7 ``text`` (see :meth:`Er7Text.read`)."""
    return Er7Text(text).read(ref)


def replace_field(text: str, ref: FieldRef, value: str) -> str:
    """``text`` with the value at ``ref`` replaced by ``value`` (see :meth:`Er7Text.replace`);
    every other character is kept."""
    editable = Er7Text(text)
    editable.replace(ref, value)
    return editable.text()


def edit_er7(data: bytes, edits: list[tuple[FieldRef, str]]) -> bytes:
    """``data`` with each ``(ref, value)`` applied in order (see :func:`replace_field`)."""
    text, codec = decode_er7(data)
    editable = Er7Text(text)
    for ref, value in edits:
        editable.replace(ref, value)
    return editable.text().encode(codec, errors="replace")


def _field_position(ref: FieldRef) -> int:
    """Index of the field in ``segment.split(field_separator)``: MSH-1 is the separator."""
    return ref.field - 1 if ref.segment == "MSH" else ref.field


def _segment_index(pieces: list[str], ref: FieldRef, seps: Separators) -> int | None:
    seen = 0
    prefix = ref.segment + seps.field
    for index in range(0, len(pieces), 2):
        # a leading BOM or start block stays part of the first field, untouched
        piece = pieces[index].lstrip("\ufeff\x0b") if index == 0 else pieces[index]
        if piece.startswith(prefix) or piece == ref.segment:
            seen += 1
            if seen == ref.occurrence:
                return index
    return None


def is_field_reference(text: str) -> bool:
    """Whether ``text`` is written as an HL7 v2 field reference (``PID-3[1].1``, ``MSA-1``)."""
    return _REFERENCE.fullmatch(text.strip()) is not None


def tree_values(root: etree._Element, ref: FieldRef) -> list[str]:
    """The values at ``ref`` in the element view of a message (:func:`parse_er7`), as ER7 text
    with the message's own separators: one value, or none when the message lacks it. Segments
    nested in a query response's patient groups count in document order (``QRI[2]-1``)."""
    segments = [segment for segment in root.iter(ref.segment) if segment is not root]
    if len(segments) < ref.occurrence:
        return []
    segment = segments[ref.occurrence - 1]
    name = f"{ref.segment}.{ref.field}"
    repetitions = [child for child in segment if child.tag == name]
    if len(repetitions) < ref.repetition:
        return []
    node: etree._Element | None = repetitions[ref.repetition - 1]
    for number in (ref.component, ref.subcomponent):
        if number is None or node is None:
            break
        if len(node) == 0:  # a plain value: its first component (subcomponent) only
            node = node if number == 1 else None
            continue
        wanted = f"{node.tag}.{number}"
        node = next((child for child in node if child.tag == wanted), None)
    if node is None:
        return []
    separators = _tree_separators(root)
    text = _element_text(node, separators)
    return [text] if text else []


def _tree_separators(root: etree._Element) -> tuple[str, str]:
    encoding = root.findtext("MSH/MSH.2") or "^~\\&"
    return encoding[0], encoding[3] if len(encoding) > 3 else "&"


def _element_text(node: etree._Element, separators: tuple[str, str]) -> str:
    """A field (component) element back as ER7: components joined by their numbers."""
    if len(node) == 0:
        return node.text or ""
    depth = node.tag.count(".")
    joiner = separators[0] if depth == 1 else separators[1]
    parts: list[str] = []
    for child in node:
        index = int(child.tag.rsplit(".", 1)[1])
        parts.extend([""] * (index - 1 - len(parts)))
        parts.append(_element_text(child, separators))
    return joiner.join(parts)


# --- back from the element view to what people read: field references and ER7 text -----------

_NUMBER = re.compile(r"\.(\d+)$")


class Er7Locator:
    """Where an element of :func:`parse_er7`'s view is, as an HL7 reference (:class:`FieldRef`:
    ``PID-5``, ``PID[2]-3[2]``; a segment alone is ``PID[2]``), and what it says, as ER7 text
    with the message's own separators (``Mayer^Hans``; a segment as its line): how reports
    show HL7 v2 differences."""

    def __init__(self, root: etree._Element) -> None:
        self.root = root
        encoding = root.findtext("MSH/MSH.2") or "^~\\&"
        self.field = root.findtext("MSH/MSH.1") or "|"
        self.repetition = encoding[1] if len(encoding) > 1 else "~"
        self.separators = _tree_separators(root)

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

    def _segment_of(self, element: etree._Element) -> etree._Element | None:
        node: etree._Element | None = element
        while node is not None and node is not self.root and "." in str(node.tag):
            node = node.getparent()
        return None if node is None or node is self.root else node

    def path(self, element: etree._Element) -> str:
        segment = self._segment_of(element)
        if segment is None:
            return ROOT_TAG
        name = str(segment.tag)
        occurrence = next(number for number, other in enumerate(
            (s for s in self.root.iter(name) if s is not self.root), start=1) if other is segment)
        if element is segment:
            return name + (f"[{occurrence}]" if occurrence != 1 else "")
        chain: list[etree._Element] = []
        node: etree._Element | None = element
        while node is not None and node is not segment:
            chain.append(node)
            node = node.getparent()
        chain.reverse()
        field = chain[0]
        repetition = 1 + sum(1 for sibling in field.itersiblings(preceding=True)
                             if sibling.tag == field.tag)
        numbers = [int(match.group(1)) for part in chain
                   if (match := _NUMBER.search(str(part.tag))) is not None]
        return str(FieldRef(name, numbers[0], occurrence, repetition,
                            numbers[1] if len(numbers) > 1 else None,
                            numbers[2] if len(numbers) > 2 else None))

    def text(self, element: etree._Element) -> str:
        """``element`` as ER7: a segment line, a field repetition, a component."""
        if element is self.root:
            return "\r".join(self.text(segment) for segment in self.root.iter()
                             if segment is not self.root and "." not in str(segment.tag))
        if "." in str(element.tag):
            return _element_text(element, self.separators)
        return self._segment(element)

    def _segment(self, segment: etree._Element) -> str:
        fields: dict[int, list[str]] = {}
        name = str(segment.tag)
        for child in segment:
            match = _NUMBER.search(str(child.tag))
            if match and str(child.tag).count(".") == 1:
                fields.setdefault(int(match.group(1)), []).append(
                    _element_text(child, self.separators))
        if name == "MSH":
            fields.pop(1, None)
            encoding = fields.pop(2, [""])[0]
            last = max(fields, default=2)
            values = [self.repetition.join(fields.get(n, [])) for n in range(3, last + 1)]
            return self.field.join([f"MSH{self.field}{encoding}", *values])
        last = max(fields, default=0)
        values = [self.repetition.join(fields.get(n, [])) for n in range(1, last + 1)]
        return self.field.join([name, *values])
