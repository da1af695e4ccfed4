"""Values a server assigned in one response that later requests reuse (chaining).

During recording, a registry hands out entryUUIDs, a PIX manager answers patient ids, an XCPD
gateway returns remote ids; later requests in the same cassette send those values back. On
replay the server assigns *new* values, so later requests must carry the new ones.

Detection is automatic: a token-like value in recorded response *i* that no request up to *i*
sent, and that reappears verbatim in a later recorded request *j* (whole, never inside a longer
token: :mod:`ihe_test_util.ihe.tokens`), is a :class:`Capture`, when a server may have
assigned it (:func:`server_may_assign`): codes, coding schemes, classification nodes, object
types, code-system OIDs and IHE vocabulary are the same on every system and never are. Its
:class:`ValueLocation` is an anchored path: registry objects are anchored by their uniqueId
and HL7 ``id`` elements by their ``@root`` (both survive reordering), everything else by
position. On replay the new value is read at the same location in the new response and
substituted into the consumers; when it cannot be found, the consumers are skipped with the
reason.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice

from lxml import etree

from ihe_test_util.ihe.namespaces import RIM
from ihe_test_util.ihe.tokens import (
    Replacer,
    anchor_of,
    is_identifier,
    occurs,
    tokens,
)
from ihe_test_util.ihe.vocabulary import (
    DOCUMENT_ENTRY_UNIQUE_ID,
    FOLDER_UNIQUE_ID,
    SUBMISSION_SET_UNIQUE_ID,
    is_fixed_value,
)
from ihe_test_util.replay.capture_rules import CaptureRule, applicable

#: Identification schemes whose ExternalIdentifier value is an object's stable key.
UNIQUE_ID_SCHEMES = frozenset(
    {DOCUMENT_ENTRY_UNIQUE_ID, SUBMISSION_SET_UNIQUE_ID, FOLDER_UNIQUE_ID})
_REGISTRY_OBJECTS = frozenset(
    f"{{{RIM}}}{name}" for name in ("ExtrinsicObject", "RegistryPackage")
)
_EXTERNAL_IDENTIFIER = f"{{{RIM}}}ExternalIdentifier"
#: ebRIM children identified by an attribute rather than by position (order is not defined).
_KEY_ATTRIBUTES = {
    f"{{{RIM}}}Slot": "name",
    _EXTERNAL_IDENTIFIER: "identificationScheme",
    f"{{{RIM}}}Classification": "classificationScheme",
}

#: Shortest value considered a correlatable identifier (shorter ones collide by chance).
MIN_VALUE_LENGTH = 6

#: Attributes that hold codes, schemes, types and structure, never a value a server assigns.
CODE_ATTRIBUTES = frozenset({
    "code", "codeSystem", "codeSystemName", "codeSystemVersion", "displayName", "classCode",
    "moodCode", "typeCode", "determinerCode", "classificationScheme", "classificationNode",
    "identificationScheme", "objectType", "nodeRepresentation", "status", "mimeType",
    "contextControlCode", "inversionInd", "negationInd", "use", "unit", "mediaType",
    "representation", "ITSVersion", "name",
})
#: Elements all of whose attributes are codes or structure ids (HL7 v3 ``code``,
#: ``statusCode``, ``interactionId``, ``templateId``...): matched on the local name's ending.
CODE_ELEMENT_ENDINGS = ("Code", "code", "interactionId", "templateId", "typeId")
#: ebRIM slots whose values are codes or coding schemes.
CODE_SLOTS = frozenset({"codingScheme", "languageCode"})
#: Elements (HL7 v3 TS / IVL_TS) and slots (ending ``Time``) that hold times: a clock reading,
#: never a server-assigned value, even when a later request's time equals an earlier answer's
#: (a recording that crosses a second boundary between a feed and a submission).
TIME_ELEMENTS = frozenset({"time", "low", "high", "center"})
_SLOT = f"{{{RIM}}}Slot"


@dataclass(frozen=True)
class AnchoredStep:
    """One element step: its tag and how to find it among siblings."""

    tag: str
    anchor: str  # "pos" | "uniqueId" | "root"
    key: str

    def render(self) -> str:
        local = etree.QName(self.tag).localname
        if self.anchor == "pos":
            return f"{local}[{self.key}]"
        return f"{local}[{self.anchor}={self.key}]"


@dataclass(frozen=True)
class ValueLocation:
    steps: tuple[AnchoredStep, ...]
    attribute: str | None  # Clark name of the attribute, or None for element text

    def render(self) -> str:
        path = "/" + "/".join(step.render() for step in self.steps)
        if self.attribute is not None:
            path += "/@" + etree.QName(self.attribute).localname
        return path


@dataclass(frozen=True)
class Capture:
    """A server-assigned value: where it sits in response ``source`` (every place it
    appears, tried in order on replay) and which later exchanges send it back."""

    value: str
    source: int
    locations: tuple[ValueLocation, ...]
    consumers: tuple[int, ...]
    rule: CaptureRule | None = None  # found by an explicit [[correlate]] rule ...
    position: int = 0  # ... as its n-th value

    @property
    def location(self) -> ValueLocation:
        return self.locations[0]

    def describe(self) -> str:
        if self.rule is not None:
            return f"value #{self.position + 1} of {self.rule.label} ({self.rule.response})"
        others = f" (or {len(self.locations) - 1} other place(s))" if len(self.locations) > 1 \
            else ""
        return f"{self.location.render()}{others}"

    def resolve(self, root: etree._Element, value_map: Mapping[str, str]) -> str | None:
        """The value in the new response at the place the recorded one was."""
        if self.rule is not None:
            values = self.rule.values(root)
            return values[self.position] if self.position < len(values) else None
        return resolve_any(root, self.locations, value_map)


class _Texts:
    """The text and attribute values of one message, indexed by token, to ask which values
    it carries whole (the question correlation asks of every later request)."""

    def __init__(self, root: etree._Element | None) -> None:
        strings: list[str] = []
        if root is not None:
            for element in root.iter(etree.Element):
                if element.text:
                    strings.append(element.text)
                strings.extend(str(value) for value in element.attrib.values())
        self.text = "\n".join(strings)  # a newline separates tokens: no match spans two
        self.tokens = frozenset(tokens(self.text))

    def carries(self, value: str) -> bool:
        return value in self.tokens or occurs(value, self.text)


class _Requests:
    """Which requests carry a value whole, in order; looked up by the value's longest token."""

    def __init__(self, requests: Sequence[etree._Element | None]) -> None:
        self.texts = [_Texts(root) for root in requests]
        self._by_token: dict[str, list[int]] = defaultdict(list)
        for index, text in enumerate(self.texts):
            for token in text.tokens:
                self._by_token[token].append(index)
        self._users: dict[str, tuple[int, ...]] = {}

    def users(self, value: str) -> tuple[int, ...]:
        found = self._users.get(value)
        if found is None:
            anchor = anchor_of(value)
            candidates = self._by_token.get(anchor, ()) if anchor else range(len(self.texts))
            found = self._users[value] = tuple(
                index for index in candidates if self.texts[index].carries(value))
        return found


def _unique_id_of(element: etree._Element) -> str | None:
    for child in element:
        if child.tag == _EXTERNAL_IDENTIFIER and child.get("identificationScheme") in (
            UNIQUE_ID_SCHEMES
        ):
            value = child.get("value")
            if value:
                return value
    return None


def _step_for(element: etree._Element) -> AnchoredStep:
    tag = str(element.tag)
    if tag in _REGISTRY_OBJECTS:
        unique_id = _unique_id_of(element)
        if unique_id:
            return AnchoredStep(tag, "uniqueId", unique_id)
    if etree.QName(tag).localname == "id" and element.get("root"):
        return AnchoredStep(tag, "root", element.get("root") or "")
    attribute = _KEY_ATTRIBUTES.get(tag)
    if attribute is not None and element.get(attribute):
        return AnchoredStep(tag, attribute, element.get(attribute) or "")
    parent = element.getparent()
    position = 1
    if parent is not None:
        for sibling in parent:
            if sibling is element:
                break
            if sibling.tag == tag:
                position += 1
    return AnchoredStep(tag, "pos", str(position))


def location_of(element: etree._Element, attribute: str | None) -> ValueLocation:
    steps: list[AnchoredStep] = []
    node: etree._Element | None = element
    while node is not None:
        steps.append(_step_for(node))
        node = node.getparent()
    return ValueLocation(tuple(reversed(steps)), attribute)


def server_may_assign(value: str, element: etree._Element, attribute: str | None) -> bool:
    """Whether ``value`` at this place in a response may have been assigned by the server.

    Not when it is IHE vocabulary or a code system's OID
    (:func:`~ihe_test_util.ihe.vocabulary.is_fixed_value`), nor when it sits where codes,
    schemes, types and times are written: a code attribute (:data:`CODE_ATTRIBUTES`), any
    attribute of a coded element (:data:`CODE_ELEMENT_ENDINGS`), a value of a coding-scheme
    slot (:data:`CODE_SLOTS`), a time element or ``...Time`` slot (:data:`TIME_ELEMENTS`).
    A later FindDocuments filtered by a confidentiality code that an earlier response also
    listed is no dependency: it is sent as recorded.
    """
    if is_fixed_value(value):
        return False
    local = etree.QName(element).localname
    if local.endswith("Time") or local in TIME_ELEMENTS:
        return False
    if attribute is not None:
        name = etree.QName(attribute).localname
        return name not in CODE_ATTRIBUTES and not local.endswith(CODE_ELEMENT_ENDINGS)
    if local == "Value":
        slot = element.getparent()
        slot = slot.getparent() if slot is not None else None
        if slot is not None and slot.tag == _SLOT and (
                slot.get("name") in CODE_SLOTS or (slot.get("name") or "").endswith("Time")):
            return False
    return True


def _candidates(root: etree._Element) -> Iterable[tuple[str, etree._Element, str | None]]:
    """Attribute values and leaf texts long enough to be correlated (the rest never are)."""
    for element in root.iter(etree.Element):
        for name, value in element.items():
            if len(value) >= MIN_VALUE_LENGTH:
                yield str(value), element, str(name)
        text = element.text
        if text and len(text) >= MIN_VALUE_LENGTH and len(element) == 0:
            text = text.strip()
            if len(text) >= MIN_VALUE_LENGTH:
                yield text, element, None


def find_captures(
    requests: Sequence[etree._Element | None], responses: Sequence[etree._Element | None],
) -> list[Capture]:
    """Find server-assigned values reused by later requests (inputs are parsed XML or None)."""
    carried = _Requests(requests)
    captures: list[Capture] = []
    claimed: set[str] = set()
    # Responses of a cassette repeat most of their values: each is judged once.
    users_of: dict[str, tuple[int, ...]] = {}
    for index, response in enumerate(responses):
        if response is None:
            continue
        found: dict[str, list[ValueLocation]] = {}
        for value, element, attribute in _candidates(response):
            users = users_of.get(value)
            if users is None:
                users = users_of[value] = carried.users(value) if is_identifier(value) else ()
            if not users or users[0] <= index or value in claimed:
                continue  # unused later, or a request up to ``index`` already carried it:
                # it came from the client (regenerated on replay, not correlated)
            if not server_may_assign(value, element, attribute):
                continue  # a code, scheme, type or vocabulary: the same on every system
            found.setdefault(value, []).append(location_of(element, attribute))
        for value, locations in found.items():
            claimed.add(value)
            consumers = tuple(j for j in carried.users(value) if j > index)
            captures.append(Capture(value, index, tuple(locations), consumers))
    return captures


def resolve_any(
    root: etree._Element, locations: Iterable[ValueLocation], value_map: Mapping[str, str],
) -> str | None:
    """The value at the first of ``locations`` that exists in the (new) response."""
    for location in locations:
        value = resolve(root, location, value_map)
        if value is not None:
            return value
    return None


def resolve(
    root: etree._Element, location: ValueLocation, value_map: Mapping[str, str],
) -> str | None:
    """The value at ``location`` in a (new) response, or None when it is not there.

    Anchor keys are recorded values; they are translated through ``value_map`` first
    (a uniqueId regenerated on replay anchors the object under its new value).
    """
    steps = location.steps
    if not steps or root.tag != steps[0].tag:
        return None
    node = root
    for step in steps[1:]:
        found: etree._Element | None = None
        if step.anchor == "pos":
            wanted = int(step.key)
            seen = 0
            for child in node:
                if child.tag == step.tag:
                    seen += 1
                    if seen == wanted:
                        found = child
                        break
        else:
            key = value_map.get(step.key, step.key)
            for child in node:
                if child.tag != step.tag:
                    continue
                actual = (_unique_id_of(child) if step.anchor == "uniqueId"
                          else child.get(step.anchor))
                if actual == key:
                    found = child
                    break
        if found is None:
            return None
        node = found
    if location.attribute is not None:
        return node.get(location.attribute)
    return (node.text or "").strip() or None


def substitute(root: etree._Element, value_map: Mapping[str, str]) -> int:
    """Replace every mapped value where it occurs whole in text and attribute values, in
    place; returns the count."""
    return substitute_with(root, Replacer(value_map))


def substitute_with(root: etree._Element, replacer: Replacer) -> int:
    """:func:`substitute` with a replacer built once (its expression compiles on first use)."""
    if not replacer:
        return 0
    replaced = 0

    def counted() -> None:
        nonlocal replaced
        replaced += 1

    search, sub = replacer.search, replacer.sub
    for element in root.iter(etree.Element):
        if element.text and search(element.text):
            element.text = sub(element.text, counted)
        for name, value in element.attrib.items():
            if search(str(value)):
                element.set(name, sub(str(value), counted))
    return replaced


def relevant_values(value_map: Mapping[str, str], *bodies: bytes) -> dict[str, str]:
    """The part of ``value_map`` whose recorded values occur (whole) in ``bodies``.

    A cassette's map grows with every exchange (message ids, uniqueIds, ...); the comparer
    only needs the entries this exchange can mention. One-off; a replay asks on every exchange
    through one :class:`MentionIndex` per cassette.
    """
    return MentionIndex().relevant(value_map, *bodies)


class MentionIndex:
    """:func:`relevant_values` for a value map that only grows, at a cost per exchange that
    does not grow with the map.

    Each recorded value is indexed once, by its longest token (a text holds the value whole
    only if it has that token: :func:`ihe_test_util.ihe.tokens.anchor_of`); an exchange then
    looks up the tokens of its bodies instead of testing every value recorded so far, which
    made a long cassette quadratic. The map must keep its keys in insertion order and never
    lose one (an :class:`~ihe_test_util.ihe.idmap.IdMap` view does); a map that shrank is
    indexed again.
    """

    def __init__(self) -> None:
        #: Keys indexed or tested so far (what a test counts: work, not time).
        self.examined = 0
        self._clear()

    def _clear(self) -> None:
        self._size = 0
        self._position: dict[str, int] = {}
        self._by_anchor: dict[str, list[str]] = defaultdict(list)
        self._anchorless: list[str] = []  # no token character at all: searched every time

    def relevant(self, value_map: Mapping[str, str], *bodies: bytes) -> dict[str, str]:
        self._index(value_map)
        if not value_map:
            return {}
        texts = [body.decode("utf-8", "replace") for body in bodies]
        found_tokens: set[str] = set()
        for text in texts:
            found_tokens.update(tokens(text))
        found: list[str] = []
        by_anchor = self._by_anchor
        for token in by_anchor.keys() & found_tokens:  # C speed: most tokens anchor nothing
            for key in by_anchor[token]:
                self.examined += 1
                if key == token or any(occurs(key, text) for text in texts):
                    found.append(key)
        for key in self._anchorless:
            self.examined += 1
            if any(occurs(key, text) for text in texts):
                found.append(key)
        found.sort(key=self._position.__getitem__)
        return {key: value_map[key] for key in found}

    def _index(self, value_map: Mapping[str, str]) -> None:
        if len(value_map) < self._size:
            self._clear()
        if len(value_map) == self._size:
            return
        for key in islice(value_map, self._size, None):
            self.examined += 1
            self._position[key] = len(self._position)
            anchor = anchor_of(key)
            if anchor:
                self._by_anchor[anchor].append(key)
            elif key:
                self._anchorless.append(key)
        self._size = len(value_map)


def find_rule_captures(
    rules: Sequence[CaptureRule], transactions: Sequence[str | None],
    requests: Sequence[etree._Element | None], responses: Sequence[etree._Element | None],
    known: Iterable[str] = (),
) -> list[Capture]:
    """Values explicit ``[[correlate]]`` rules select, consumed by later requests.

    A later request consumes a value when one of its text or attribute values contains it
    whole (never inside a longer token). Values already found automatically (``known``) are
    left to the automatic capture.
    """
    if not rules:
        return []
    claimed = set(known)
    carried = _Requests(requests)
    captures: list[Capture] = []
    for index, response in enumerate(responses):
        if response is None:
            continue
        for rule in applicable(rules, transactions[index]):
            for position, value in enumerate(rule.values(response)):
                if value in claimed:
                    continue
                consumers = tuple(j for j in carried.users(value) if j > index)
                if consumers:
                    claimed.add(value)
                    captures.append(Capture(value, index, (), consumers, rule, position))
    return captures
