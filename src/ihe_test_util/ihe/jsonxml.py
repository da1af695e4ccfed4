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
