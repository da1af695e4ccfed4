"""JSON (FHIR and plain) as element trees, so one comparison engine and one rule language serve.

FHIR JSON maps onto the shape of FHIR XML: a resource is an element named by its
``resourceType`` in the FHIR namespace, a primitive is ``<name value="..."/>``, an array is
repeated elements, and a nested resource sits inside its property
(``<resource><Patient>...</Patient></resource>``). Rules written for FHIR therefore apply to
both wire formats. Other JSON becomes ``<json>`` with the same mapping plus a ``type``
attribute on non-string primitives (so ``1`` and ``"1"`` differ). Object members are placed in
key order, because JSON gives their order no meaning; array items keep theirs.

Bounds (docs/cli.md "Limits"): nesting deeper than :data:`MAX_DEPTH` levels and a number
longer than :data:`MAX_NUMBER_DIGITS` characters make the body unreadable (a clear
:class:`JsonViewError`), never a crash: Python refuses to turn longer digit strings into ints.
"""

from __future__ import annotations

import json
import re
from itertools import pairwise
from typing import Any

from lxml import etree

from ihe_test_util.ihe.namespaces import FHIR
from ihe_test_util.safexml import xml_safe

GENERIC_ROOT = "json"
_NCNAME = re.compile(r"[A-Za-z_][\w.\-]*")
#: Deepest JSON nesting read; real FHIR resources nest a few dozen levels.
MAX_DEPTH = 200
#: Longest number read (Python's int conversion stops at 4,300 digits by default).
MAX_NUMBER_DIGITS = 4000


class JsonViewError(ValueError):
    """The bytes are not JSON, or nest deeper than any real message."""


def parse_json_view(data: bytes) -> etree._Element:
    try:
        value = json.loads(data.decode("utf-8-sig"), parse_int=_int, parse_float=_float)
    except RecursionError:
        raise JsonViewError(f"JSON nests deeper than {MAX_DEPTH} levels") from None
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise JsonViewError(f"invalid JSON: {exc}") from None
    if isinstance(value, dict) and isinstance(value.get("resourceType"), str):
        return _resource(value, 0)
    root = etree.Element(GENERIC_ROOT)
    _fill(root, value, fhir=False, depth=0)
    return root


def _number_text(text: str) -> str:
    if len(text) > MAX_NUMBER_DIGITS:
        raise JsonViewError(f"JSON number of {len(text)} characters (at most "
                            f"{MAX_NUMBER_DIGITS} are read)")
    return text


def _int(text: str) -> int:
    return int(_number_text(text))


def _float(text: str) -> float:
    return float(_number_text(text))


def _tag(name: str, fhir: bool) -> tuple[str, str | None]:
    """Element tag for a JSON key; keys that are not XML names keep their text in @key."""
    local = name if _NCNAME.fullmatch(name) else "_"
    tag = f"{{{FHIR}}}{local}" if fhir else local
    return tag, (None if local == name else name)


def _resource(value: dict[str, Any], depth: int) -> etree._Element:
    tag, key = _tag(str(value["resourceType"]), True)
    element = etree.Element(tag)
    if key is not None:
        element.set("key", xml_safe(key))
    for name, item in sorted(value.items()):
        if name != "resourceType":
            _property(element, name, item, fhir=True, depth=depth + 1)
    return element


def _property(parent: etree._Element, name: str, value: Any, *, fhir: bool, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise JsonViewError(f"JSON nests deeper than {MAX_DEPTH} levels")
    items = value if isinstance(value, list) else [value]
    tag, key = _tag(name, fhir)
    for item in items:
        child = etree.SubElement(parent, tag)
        if key is not None:
            child.set("key", xml_safe(key))
        _fill(child, item, fhir=fhir, depth=depth + 1)


def _fill(element: etree._Element, value: Any, *, fhir: bool, depth: int) -> None:
    if depth > MAX_DEPTH:
        raise JsonViewError(f"JSON nests deeper than {MAX_DEPTH} levels")
    if isinstance(value, dict):
        if fhir and isinstance(value.get("resourceType"), str):
            element.append(_resource(value, depth))
            return
        for name, item in sorted(value.items()):
            _property(element, str(name), item, fhir=fhir, depth=depth + 1)
    elif isinstance(value, list):
        for item in value:
            child = etree.SubElement(element, f"{{{FHIR}}}item" if fhir else "item")
            _fill(child, item, fhir=fhir, depth=depth + 1)
    elif isinstance(value, str):
        element.set("value", xml_safe(value))
    else:
        element.set("value", json.dumps(value))
        if not fhir:
            element.set("type", "null" if value is None else
                        "boolean" if isinstance(value, bool) else "number")


# -- FHIR XML as the specification writes it (the wire format, not the comparison view) -------
#
# The view above sorts members and keeps JSON's spelling; a FHIR server writing XML must follow
# the FHIR XML rules instead: members in the order the resource was built (writers build them in
# the order of the FHIR definitions), ``Element.id`` and ``Extension.url`` as attributes,
# booleans and numbers as text. Reading FHIR XML back into JSON needs to know which elements
# repeat (XML does not say when there is one): :data:`FHIR_REPEATING` names those of the resource
# types IHE's mobile profiles exchange (Bundle, Patient, Parameters, List, DocumentReference,
# Binary, OperationOutcome); an element that occurs twice is a list whatever its name.

#: Elements that are arrays in FHIR JSON (complex ones; see :data:`FHIR_REPEATING_PRIMITIVES`).
FHIR_REPEATING = frozenset({
    "entry", "link", "contained", "extension", "modifierExtension", "identifier", "name",
    "telecom", "address", "coding", "category", "author", "relatesTo", "securityLabel",
    "content", "event", "related", "parameter", "part", "issue", "tag", "security", "note",
    "contact", "communication", "generalPractitioner", "performer", "basedOn", "encounter",
    "photo", "attester", "interaction",
})
#: Primitive elements that repeat (``HumanName.given``, ``Address.line``, ...).
FHIR_REPEATING_PRIMITIVES = frozenset({
    "given", "prefix", "suffix", "line", "profile", "location", "expression", "format",
})
#: Primitive elements whose JSON value is not a string.
FHIR_BOOLEANS = frozenset({
    "active", "deceasedBoolean", "multipleBirthBoolean", "valueBoolean", "onlyCertainMatches",
    "preferred",
})
FHIR_NUMBERS = frozenset({
    "total", "size", "valueInteger", "valueDecimal", "valueUnsignedInt", "valuePositiveInt",
    "multipleBirthInteger", "count", "score", "rank",
})
_ATTRIBUTE_MEMBERS = frozenset({"url"})  # Extension.url; Element.id is handled by position


def fhir_xml(resource: dict[str, Any]) -> etree._Element:
    """A FHIR JSON resource as a FHIR XML element (``{http://hl7.org/fhir}Patient``)."""
    tag = f"{{{FHIR}}}{resource['resourceType']}"
    element = etree.Element(tag, nsmap={None: FHIR})  # type: ignore[dict-item]
    for name, value in resource.items():
        if name != "resourceType" and not name.startswith("_"):
            _xml_member(element, name, value)
    return element


def _xml_member(parent: etree._Element, name: str, value: Any) -> None:
    for item in value if isinstance(value, list) else [value]:
        child = etree.SubElement(parent, f"{{{FHIR}}}{name}")
        if isinstance(item, dict) and isinstance(item.get("resourceType"), str):
            child.append(fhir_xml(item))
        elif isinstance(item, dict):
            for key, member in item.items():
                if key.startswith("_"):
                    continue
                if key == "id" or (key in _ATTRIBUTE_MEMBERS
                                   and name in ("extension", "modifierExtension")):
                    child.set(key, xml_safe(str(member)))
                else:
                    _xml_member(child, key, member)
        elif isinstance(item, bool):
            child.set("value", "true" if item else "false")
        elif isinstance(item, (int, float)):
            child.set("value", json.dumps(item))
        elif item is not None:
            child.set("value", xml_safe(str(item)))


def fhir_json(element: etree._Element) -> dict[str, Any]:
    """A FHIR XML resource element as FHIR JSON (the inverse of :func:`fhir_xml`)."""
    resource: dict[str, Any] = {"resourceType": etree.QName(element).localname}
    _json_members(element, resource, top=True)
    return resource


def _json_members(element: etree._Element, target: dict[str, Any], *, top: bool) -> None:
    counts: dict[str, int] = {}
    children = [c for c in element if isinstance(c.tag, str)]
    for child in children:
        local = etree.QName(child).localname
        counts[local] = counts.get(local, 0) + 1
    for child in children:
        qname = etree.QName(child)
        if qname.namespace != FHIR:
            continue
        name = qname.localname
        value = _json_value(child, name)
        primitive = not isinstance(value, dict)
        repeats = counts[name] > 1 or (
            name in FHIR_REPEATING_PRIMITIVES if primitive else name in FHIR_REPEATING)
        if repeats:
            target.setdefault(name, []).append(value)
        else:
            target[name] = value
    if not top:
        for attribute in ("id", "url"):
            if element.get(attribute) is not None:
                target[attribute] = element.get(attribute)


def _json_value(child: etree._Element, name: str) -> Any:
    elements = [c for c in child if isinstance(c.tag, str)]
    if child.get("value") is not None and not elements:
        text = child.get("value", "")
        if name in FHIR_BOOLEANS:
            return text == "true"
        if name in FHIR_NUMBERS:
            try:
                number = float(_number_text(text))
            except ValueError:
                return text
            return int(number) if number.is_integer() and "." not in text else number
        return text
    if len(elements) == 1 and etree.QName(elements[0]).localname[:1].isupper() and not (
            child.get("value") or child.get("url")):
        return fhir_json(elements[0])
    members: dict[str, Any] = {}
    _json_members(child, members, top=False)
    return members


# --- back from the element view to the JSON people read ---------------------------------------

#: Longest JSON text a report shows for one value (added / removed members).
MAX_RENDERED_CHARS = 300
Step = str | int
_MISSING = object()


class JsonDocument:
    """A JSON body and its element view: the way back from an element to the JSON it came
    from, so reports show ``Bundle.entry[2].resource.gender: "male" -> "female"``, never the
    element view (``<ns0:gender value="male"/>``)."""

    def __init__(self, data: bytes, root: etree._Element) -> None:
        self.root = root
        self.fhir = root.tag != GENERIC_ROOT
        self._value: Any = None
        self._parsed = False
        self._data = data

    @property
    def value(self) -> Any:
        """The parsed body (``_MISSING`` when it cannot be read again)."""
        if not self._parsed:
            self._parsed = True
            try:
                self._value = json.loads(self._data.decode("utf-8-sig"), parse_int=_int,
                                         parse_float=_float)
            except (RecursionError, UnicodeDecodeError, ValueError):
                self._value = _MISSING
        return self._value

    def owns(self, element: etree._Element) -> bool:
        return element.getroottree().getroot() is self.root

    def locate(self, element: etree._Element) -> tuple[tuple[Step, ...], Any, bool]:
        """The JSON steps to ``element``, the JSON value there and whether it was found."""
        chain: list[etree._Element] = []
        node: etree._Element | None = element
        while node is not None:
            chain.append(node)
            node = node.getparent()
        chain.reverse()
        steps: list[Step] = []
        current: Any = self.value
        found = current is not _MISSING
        for parent, child in pairwise(chain):
            name = child.get("key") or _local(child.tag)
            if (self.fhir and isinstance(current, dict)
                    and current.get("resourceType") == name and len(parent) == 1):
                continue  # a nested resource: its element stands for the object itself
            position = _position(parent, child)
            if not isinstance(current, list):
                steps.append(name)
                if found and isinstance(current, dict) and name in current:
                    current = current[name]
                else:
                    found, current = False, None
                if not isinstance(current, list):
                    if position:  # repeated, yet not an array: cannot be (a guess)
                        steps.append(position)
                        found, current = False, None
                    continue
            steps.append(position)  # an array item
            if found and position < len(current):
                current = current[position]
            else:
                found, current = False, None
        return tuple(steps), current, found

    def path(self, element: etree._Element) -> str:
        """``Bundle.entry[2].resource.gender`` (FHIR) or ``$.list[0].name`` (other JSON)."""
        steps = self.locate(element)[0]
        head = _local(self.root.tag) if self.fhir else "$"
        return head + "".join(_step_text(step) for step in steps)

    def render(self, element: etree._Element) -> str | None:
        """The JSON text of ``element``'s value (compact, shortened); None if unknown."""
        _, value, found = self.locate(element)
        if not found:
            return None
        return render_json(value)


def render_json(value: Any, limit: int = MAX_RENDERED_CHARS) -> str:
    text = json.dumps(value, ensure_ascii=False, separators=(", ", ": "))
    return text if len(text) <= limit else text[:limit - 1] + "…"


def _local(tag: object) -> str:
    text = str(tag)
    return text.rsplit("}", 1)[-1]


def _position(parent: etree._Element, child: etree._Element) -> int:
    """0-based position of ``child`` among its siblings of the same tag (and key)."""
    key = child.get("key")
    position = 0
    for sibling in parent:
        if sibling is child:
            return position
        if sibling.tag == child.tag and sibling.get("key") == key:
            position += 1
    return position


def _step_text(step: Step) -> str:
    if isinstance(step, int):
        return f"[{step}]"
    return f".{step}" if _NCNAME.fullmatch(step) else f"[{json.dumps(step)}]"
