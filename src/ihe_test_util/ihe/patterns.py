"""Location patterns: the small XPath subset that comparer rules are written in.

A pattern says *where* something is (noise, an identifier, a verdict field), so that a value is
judged by its location and never by what it looks like. Syntax (XSLT match patterns, XPath 1.0
spelling)::

    //wsa:MessageID                      anywhere; prefixes from ihe.namespaces.PREFIXES
    /Envelope/Header/RelatesTo           anchored at the document root
    rim:Slot[@name='creationTime']       relative = anywhere (like "//rim:Slot[...]")
    hl7:patient/hl7:id/@extension        an attribute
    ExtrinsicObject[2]/@status           unprefixed name = that local name in ANY namespace
    rim:ValueList/rim:Value/text()       an element's text
    a | b                                either

Unprefixed names match any namespace on purpose: the paths in reports are namespace-free, so a
path copied from a report (``/Envelope/Body/.../ExtrinsicObject[2]/@status``) is a valid rule.
Predicates may use any XPath 1.0 expression; ``[n]`` counts same-named siblings, as report paths
do. Patterns are both *matched* against an element during a comparison (cheap: candidates are
indexed by their last step's local name) and *selected* from a document (compiled to lxml XPath).
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Literal, cast

from lxml import etree

from ihe_test_util.ihe.namespaces import PREFIXES

XML_NS = "http://www.w3.org/XML/1998/namespace"
#: Prefixes a pattern may use: the project's conventional ones plus the reserved ``xml``.
NAMESPACES: dict[str, str] = {**PREFIXES, "xml": XML_NS}

ANY = "*"  # namespace wildcard: an unprefixed name test


class PatternError(ValueError):
    """A pattern is not valid XPath or uses something this subset does not support."""


_NAME = r"[A-Za-z_][\w.\-]*"
_TOKEN = re.compile(
    rf"""
      (?P<string>"[^"]*"|'[^']*')
    | (?P<number>\d+(?:\.\d+)?)
    | (?P<axis>{_NAME}\s*::)
    | (?P<attr>@(?:{_NAME}:)?(?:{_NAME}|\*))
    | (?P<name>(?:{_NAME}:)?(?:{_NAME}|\*))(?P<call>\s*\()?
    | (?P<op>//|/|\.\.|\.|!=|<=|>=|=|<|>|\(|\)|\[|\]|,|\||\+|-|\*)
    | (?P<space>\s+)
    """,
    re.VERBOSE,
)
_OPERATOR_NAMES = {"and", "or", "div", "mod"}


def translate(expression: str) -> str:
    """Rewrite an XPath expression so unprefixed element names match any namespace.

    ``rim:Slot[@name='x']/Value`` becomes ``rim:Slot[@name='x']/*[local-name()='Value']``.
    Attribute names, functions, literals and operators are left alone; unknown prefixes are
    errors.
    """
    out: list[str] = []
    position = 0
    previous = ""
    while position < len(expression):
        match = _TOKEN.match(expression, position)
        if match is None:
            raise PatternError(f"unexpected {expression[position:position + 10]!r}")
        position = match.end()
        kind = match.lastgroup
        text = match.group(0)
        if kind == "space":
            out.append(text)
            continue
        if kind == "axis":
            raise PatternError(f"axis syntax {text!r} is not supported; use / and //")
        if kind == "name" and match.group("call") is None:
            name = match.group("name")
            if name in _OPERATOR_NAMES and previous not in ("", "/", "//", "[", "(", ",",
                                                            "|", "op"):
                out.append(name)
                previous = "op"
                continue
            out.append(_name_test(name))
            previous = "name"
            continue
        if kind == "name":
            _check_prefix(match.group("name"))
        elif kind == "attr":
            _check_prefix(text[1:])
        out.append(text)
        previous = text if kind == "op" else kind or ""
    return "".join(out)


def _check_prefix(qname: str) -> None:
    if ":" in qname:
        prefix = qname.split(":", 1)[0]
        if prefix not in NAMESPACES:
            known = ", ".join(sorted(NAMESPACES))
            raise PatternError(f"unknown namespace prefix {prefix!r} (known: {known})")


def _name_test(name: str) -> str:
    if name == "*" or ":" in name:
        _check_prefix(name)
        return name
    return f"*[local-name()='{name}']"


@dataclass(frozen=True)
class PatternStep:
    """One location step: a name test, an optional sibling position, other predicates."""

    descendant: bool
    namespace: str | None  # ANY for an unprefixed name test
    local: str  # "*" for any
    position: int | None
    predicates: tuple[etree.XPath, ...]

    def accepts(self, element: etree._Element, namespace: str | None, local: str,
                names_only: bool = False) -> bool:
        if self.local != "*" and self.local != local:
            return False
        if self.namespace != ANY and self.namespace != namespace:
            return False
        if names_only:
            return True
        if self.position is not None and _sibling_position(element) != self.position:
            return False
        return all(bool(predicate(element)) for predicate in self.predicates)


Target = Literal["element", "attribute", "text"]


class Pattern:
    """One compiled location pattern (no unions; see :func:`compile_patterns`)."""

    __slots__ = ("_xpath", "anchored", "attribute", "context_free", "steps", "target", "text")

    def __init__(self, text: str) -> None:
        self.text = text.strip()
        if not self.text:
            raise PatternError("empty pattern")
        raw = _split_steps(self.text)
        self.anchored = self.text.startswith("/") and not self.text.startswith("//")
        last = raw[-1][1]
        self.target: Target = "element"
        self.attribute: str | None = None
        if last.startswith("@"):
            self.target = "attribute"
            self.attribute = _attribute_name(last[1:])
            raw = raw[:-1]
        elif last.replace(" ", "") == "text()":
            self.target = "text"
            raw = raw[:-1]
        if not raw:
            # "@id" alone: the attribute on any element.
            raw = [(True, "*")]
        self.steps = tuple(_compile_step(descendant, step) for descendant, step in raw)
        #: Whether matching depends only on the element names from the root down (no
        #: predicates, positions or ``@*``): such results can be cached per path.
        self.context_free = self.attribute != "*" and all(
            not step.predicates and step.position is None for step in self.steps)
        try:
            self._xpath = etree.XPath(self.select_expression(), namespaces=NAMESPACES)
        except etree.XPathSyntaxError as exc:
            raise PatternError(f"invalid XPath: {exc}") from None

    def __repr__(self) -> str:
        return f"Pattern({self.text!r})"

    @property
    def last_local(self) -> str:
        return self.steps[-1].local

    def select_expression(self) -> str:
        """This pattern as a translated XPath selecting every node it matches."""
        text = self.text
        if not text.startswith("/"):
            text = "//" + text
        return translate(text)

    def select(self, root: etree._Element) -> list[object]:
        """Every node (element, attribute value or text) the pattern matches in ``root``'s tree."""
        result = self._xpath(root)
        return list(result) if isinstance(result, list) else []

    def matches(self, element: etree._Element) -> bool:
        """Whether ``element`` is located where this pattern's last element step points."""
        return _match(self.steps, len(self.steps) - 1, element, self.anchored)

    def matches_names(self, element: etree._Element) -> bool:
        """:meth:`matches` ignoring predicates and positions: a necessary condition that
        depends only on the element names from the root down (so it can be cached)."""
        return _match(self.steps, len(self.steps) - 1, element, self.anchored, True)

    def matches_attribute(self, element: etree._Element, name: str) -> bool:
        return (self.target == "attribute" and self.attribute in (name, "*")
                and self.matches(element))


def compile_patterns(text: str) -> tuple[Pattern, ...]:
    """Compile ``a | b`` into its alternatives."""
    return tuple(Pattern(part) for part in _split_top_level(text, "|"))


def compile_relative(expression: str) -> etree.XPath:
    """Compile an expression evaluated *from* an element (keys, labels): ``string(...)``."""
    try:
        return etree.XPath(f"string({translate(expression)})", namespaces=NAMESPACES)
    except etree.XPathSyntaxError as exc:
        raise PatternError(f"invalid XPath {expression!r}: {exc}") from None


_SPLIT: dict[str, tuple[str | None, str]] = {}


def split_tag(tag: str) -> tuple[str | None, str]:
    """``{ns}local`` -> ``(ns, local)``; ``local`` -> ``(None, local)`` (memoised)."""
    split = _SPLIT.get(tag)
    if split is None:
        if tag.startswith("{"):
            namespace, _, local = tag[1:].partition("}")
            split = (namespace, local)
        else:
            split = (None, tag)
        if len(_SPLIT) < 10_000:
            _SPLIT[tag] = split
    return split


def attributes(element: etree._Element) -> dict[str, str]:
    """An element's attributes as a plain dict (lxml returns text; its stubs allow bytes)."""
    return cast("dict[str, str]", dict(element.attrib))


def local_name(tag: object) -> str:
    return tag.rpartition("}")[2] if isinstance(tag, str) else ""


def qname_value(element: etree._Element, value: str) -> str:
    """A QName-valued attribute by meaning (``xsi:type="hl7:II"`` -> ``{urn:hl7-org:v3}II``):
    its prefix, or the default namespace, resolved where ``element`` stands; the trimmed value
    when no namespace is in scope. Two documents that spell one type differently then agree."""
    prefix, _, local = value.strip().rpartition(":")
    namespace = element.nsmap.get(prefix or None)
    return f"{{{namespace}}}{local}" if namespace else value.strip()


def _match(steps: tuple[PatternStep, ...], index: int, element: etree._Element, anchored: bool,
           names_only: bool = False) -> bool:
    tag: object = element.tag
    if not isinstance(tag, str):
        return False
    namespace, local = split_tag(tag)
    step = steps[index]
    if not step.accepts(element, namespace, local, names_only):
        return False
    parent = element.getparent()
    if index == 0:
        return not anchored or (parent is None and not step.descendant)
    if not step.descendant:
        return parent is not None and _match(steps, index - 1, parent, anchored, names_only)
    while parent is not None:
        if _match(steps, index - 1, parent, anchored, names_only):
            return True
        parent = parent.getparent()
    return False


def _sibling_position(element: etree._Element) -> int:
    tag = element.tag
    return 1 + sum(1 for sibling in element.itersiblings(preceding=True) if sibling.tag == tag)


def _attribute_name(name: str) -> str:
    if name == "*":
        return "*"
    if ":" in name:
        prefix, local = name.split(":", 1)
        _check_prefix(name)
        return f"{{{NAMESPACES[prefix]}}}{local}"
    if not re.fullmatch(_NAME, name):
        raise PatternError(f"invalid attribute name {name!r}")
    return name


def _compile_step(descendant: bool, text: str) -> PatternStep:
    match = re.match(rf"((?:{_NAME}:)?(?:{_NAME}|\*))", text)
    if match is None:
        raise PatternError(f"invalid step {text!r}: expected a name test")
    name = match.group(1)
    predicates_text = text[match.end():].strip()
    position: int | None = None
    predicates: list[etree.XPath] = []
    for predicate in _split_predicates(predicates_text, text):
        if predicate.strip().isdigit():
            position = int(predicate)
            if position < 1:
                raise PatternError(f"positions start at 1, got [{predicate}]")
            continue
        try:
            predicates.append(etree.XPath(f"boolean({translate(predicate)})",
                                          namespaces=NAMESPACES))
        except etree.XPathSyntaxError as exc:
            raise PatternError(f"invalid predicate [{predicate}]: {exc}") from None
    if ":" in name:
        _check_prefix(name)
        prefix, local = name.split(":", 1)
        return PatternStep(descendant, NAMESPACES[prefix], local, position, tuple(predicates))
    return PatternStep(descendant, ANY, name, position, tuple(predicates))


def _split_predicates(text: str, step: str) -> Iterable[str]:
    depth = 0
    quote = ""
    current: list[str] = []
    for char in text:
        if quote:
            current.append(char)
            if char == quote:
                quote = ""
            continue
        if char in "'\"":
            quote = char
            current.append(char)
        elif char == "[":
            if depth:
                current.append(char)
            depth += 1
        elif char == "]":
            depth -= 1
            if depth < 0:
                raise PatternError(f"unbalanced ']' in step {step!r}")
            if depth:
                current.append(char)
            else:
                yield "".join(current)
                current = []
        elif depth:
            current.append(char)
        elif not char.isspace():
            raise PatternError(f"unexpected {char!r} after the name test in step {step!r}")
    if depth or quote:
        raise PatternError(f"unterminated predicate or string in step {step!r}")


def _split_top_level(text: str, separator: str) -> list[str]:
    parts: list[str] = []
    depth = 0
    quote = ""
    current: list[str] = []
    for char in text:
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char in "[(":
            depth += 1
        elif char in "])":
            depth -= 1
        elif char == separator and depth == 0:
            parts.append("".join(current))
            current = []
            continue
        current.append(char)
    parts.append("".join(current))
    if any(not part.strip() for part in parts):
        raise PatternError(f"empty alternative in {text!r}")
    return parts


def _split_steps(text: str) -> list[tuple[bool, str]]:
    """``a//b/c`` -> ``[(True, 'a'), (True, 'b'), (False, 'c')]`` (relative = descendant)."""
    steps: list[tuple[bool, str]] = []
    descendant = not text.startswith("/") or text.startswith("//")
    body = text.lstrip("/") if text.startswith("/") else text
    depth = 0
    quote = ""
    current: list[str] = []
    index = 0
    while index < len(body):
        char = body[index]
        if quote:
            if char == quote:
                quote = ""
        elif char in "'\"":
            quote = char
        elif char == "[":
            depth += 1
        elif char == "]":
            depth -= 1
        elif char == "/" and depth == 0:
            step = "".join(current).strip()
            if not step:
                raise PatternError(f"empty step in {text!r}")
            steps.append((descendant, step))
            current = []
            descendant = body.startswith("//", index)
            index += 2 if descendant else 1
            continue
        current.append(char)
        index += 1
    step = "".join(current).strip()
    if not step:
        raise PatternError(f"pattern {text!r} ends with '/'")
    steps.append((descendant, step))
    for _, step_text in steps[:-1]:
        if step_text.startswith("@") or step_text.replace(" ", "") == "text()":
            raise PatternError(f"{step_text!r} may only be the last step")
    return steps
