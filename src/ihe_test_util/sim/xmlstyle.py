"""How the simulator spells the XML it writes: namespace prefixes, where they are declared,
whitespace and the XML declaration.

Every response is built in Clark notation (``{uri}local``) and then rebuilt here in one
:class:`Style`, so the output never depends on the prefixes a client happened to use and a
profile can change only the spelling (prefixes, whitespace) without touching the content.
QName-valued ``xsi:type`` attributes are rewritten with the new prefixes, so the meaning stays.
"""

from __future__ import annotations

import zlib
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import cast

from lxml import etree

from ihe_test_util.ihe.namespaces import (
    HL7V3,
    LCM,
    QUERY,
    RIM,
    RS,
    SOAP12,
    WSA,
    XDSB,
    XOP,
    XSI,
)

XML_NS = "http://www.w3.org/XML/1998/namespace"
_XSI_TYPE = f"{{{XSI}}}type"


@dataclass(frozen=True)
class Style:
    """A way of spelling XML. ``prefixes`` maps namespace URI -> prefix (``None`` = default)."""

    prefixes: Mapping[str, str | None] = field(default_factory=dict)
    #: declare every namespace the document uses on its root element (JAXB/CXF habit) instead
    #: of where it is first needed (Axis2 habit)
    declare_at_root: bool = False
    #: namespaces declared on the root element even when ``declare_at_root`` is off
    root_namespaces: frozenset[str] = frozenset()
    pretty: bool = False
    xml_declaration: bool = True

    def prefix_for(self, uri: str, *, attribute: bool = False) -> str | None:
        """The prefix for ``uri``; attributes (and clashes) need a non-empty one."""
        if uri in self.prefixes:
            prefix = self.prefixes[uri]
            if prefix is not None or not attribute:
                return prefix
        return _fallback_prefix(uri)


#: How the reference endpoint writes (Axis2-like: conventional prefixes, compact).
BASELINE_STYLE = Style(
    prefixes={
        SOAP12: "soap", WSA: "wsa", XDSB: "xdsb", LCM: "lcm", QUERY: "query", RIM: "rim",
        RS: "rs", XOP: "xop", HL7V3: None, XSI: "xsi",
    },
    root_namespaces=frozenset({SOAP12, WSA}),
)

#: The "upgraded" spelling (JAXB/CXF-like: numbered prefixes declared up front, indented).
ALTERNATE_STYLE = Style(
    prefixes={
        SOAP12: "S", WSA: "ns2", XDSB: "ns3", LCM: "ns4", QUERY: "ns5", RIM: "ns6", RS: "ns7",
        XOP: "ns8", HL7V3: "ns9", XSI: "xsi",
    },
    declare_at_root=True,
    pretty=True,
    xml_declaration=False,
)


def is_element(node: etree._Element) -> bool:
    """True for elements, False for comments and processing instructions."""
    return isinstance(node.tag, str)


def _fallback_prefix(uri: str) -> str:
    """A stable prefix for a namespace the style does not name (same in every process)."""
    return f"x{zlib.crc32(uri.encode()) % 100_000}"


def restyle(source: etree._Element, style: Style) -> etree._Element:
    """A copy of ``source`` spelled in ``style`` (comments, PIs and indentation dropped)."""
    everywhere = _namespaces_used(source)
    used = everywhere if style.declare_at_root else _element_namespaces(source)
    used |= style.root_namespaces & everywhere
    root_decls = _declarations(used, {}, style)
    root = etree.Element(_tag(source), nsmap=root_decls)  # type: ignore[arg-type]
    scope = {uri: prefix for prefix, uri in root_decls.items()}
    _fill(root, source, scope, style)
    return root


def _fill(
    target: etree._Element, source: etree._Element, scope: dict[str, str | None], style: Style,
) -> None:
    # The hot loop of every response: cheap string tests first, the general path only when
    # an element brings a namespace not yet declared or an xsi:type to re-spell.
    attrib = source.attrib
    if attrib:
        if _XSI_TYPE in attrib:
            for name, value in attrib.items():
                target.set(name, _attribute_value(source, str(name), str(value), target, style))
        else:
            target.attrib.update(attrib)
    has_children = False
    for child in source:
        tag: object = child.tag  # a function for comments and PIs, whatever the stubs say
        if not isinstance(tag, str):
            continue
        has_children = True
        if tag[0] == "{" and tag[1:tag.index("}")] in scope and not _needs_scan(child):
            element = etree.SubElement(target, tag)
            _fill(element, child, scope, style)
        else:
            decls = _declarations(_element_namespaces(child) - set(scope), scope, style)
            element = etree.SubElement(target, tag, nsmap=decls)  # type: ignore[arg-type]
            child_scope = dict(scope)
            child_scope.update({uri: prefix for prefix, uri in decls.items()})
            _fill(element, child, child_scope, style)
        tail = child.tail
        if tail and tail.strip():
            element.tail = tail
    text = source.text
    if not has_children or (text and text.strip()):
        target.text = text


def _needs_scan(element: etree._Element) -> bool:
    """Whether an element's attributes may bring namespaces (namespaced names or xsi:type)."""
    return "{" in "".join(cast("list[str]", element.keys()))  # C-level join: the hot path


def _declarations(
    uris: set[str], scope: Mapping[str, str | None], style: Style,
) -> dict[str | None, str]:
    decls: dict[str | None, str] = {}
    taken = set(scope.values())
    for uri in sorted(uris):
        if uri == XML_NS:
            continue
        prefix = style.prefix_for(uri)
        if prefix in taken or prefix in decls:
            prefix = style.prefix_for(uri, attribute=True)
        decls[prefix] = uri
    return decls


def _element_namespaces(element: etree._Element) -> set[str]:
    uris: set[str] = set()
    tag = str(element.tag)
    if tag[0] == "{":
        uris.add(tag[1:tag.index("}")])
    for name, value in element.attrib.items():
        name = str(name)
        if name[0] == "{":
            uris.add(name[1:name.index("}")])
        if name == _XSI_TYPE:
            type_ns = _resolve_qname(element, str(value))[0]
            if type_ns:
                uris.add(type_ns)
    return uris


def _namespaces_used(root: etree._Element) -> set[str]:
    uris: set[str] = set()
    for element in root.iter():
        tag: object = element.tag
        if not isinstance(tag, str):
            continue
        if tag[0] == "{":
            uris.add(tag[1:tag.index("}")])
        if element.attrib and _needs_scan(element):
            uris |= _element_namespaces(element)
    return uris


def _tag(element: etree._Element) -> str:
    return str(element.tag)


def _resolve_qname(element: etree._Element, value: str) -> tuple[str | None, str]:
    prefix, _, local = value.strip().rpartition(":")
    return element.nsmap.get(prefix or None), local


def _attribute_value(
    source: etree._Element, name: str, value: str, target: etree._Element, style: Style,
) -> str:
    """``xsi:type`` is a QName: re-spell its prefix for the new tree; other values as they are."""
    if name != _XSI_TYPE:
        return value
    uri, local = _resolve_qname(source, value)
    if uri is None:
        return local
    for prefix, declared in target.nsmap.items():
        if declared == uri:
            return f"{prefix}:{local}" if prefix else local
    return local  # pragma: no cover - _element_namespaces declared it


def serialize(element: etree._Element, style: Style) -> bytes:
    """Restyle and serialise a tree built in Clark notation."""
    styled = restyle(element, style)
    return etree.tostring(
        styled, encoding="UTF-8", xml_declaration=style.xml_declaration,
        pretty_print=style.pretty,
    )
