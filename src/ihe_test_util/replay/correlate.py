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

Where values come from and go to (FHIR and REST as much as SOAP): a response offers its body's
values (XML, or the JSON view of :mod:`ihe_test_util.ihe.jsonxml`: ``Resource.id``, search
results, ``entry.response.location``), the tokens of reference-like values (the id in
``Patient/123`` or in ``http://h/fhir/Binary/9/_history/1``) and its ``Location`` /
``Content-Location`` headers. A request carries values in its body (XML, JSON, a form-encoded
search), its URL path segments and query values (percent-decoded) and its end-to-end headers;
:func:`request_strings` lists them, :func:`substitute_request` rewrites them.
"""

from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from itertools import islice
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from lxml import etree

from ihe_test_util.ihe.message import Message
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
from ihe_test_util.model import Headers, Request
from ihe_test_util.replay.capture_rules import CaptureRule, applicable
from ihe_test_util.transport.content import media_type_of
from ihe_test_util.transport.hop_by_hop import end_to_end

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
    #: The response header the value is in (``steps`` empty), else None: the body.
    header: str | None = None
    #: Which token of the value (:func:`~ihe_test_util.ihe.tokens.tokens`) is the server's
    #: value (the id in ``Patient/123``), counted from the end (-1 the last: a URL's host,
    #: port and base differ between servers, the resource part does not); None for the whole
    #: value.
    part: int | None = None

    def render(self) -> str:
        if self.header is not None:
            path = f"header {self.header}"
        else:
            path = "/" + "/".join(step.render() for step in self.steps)
            if self.attribute is not None:
                path += "/@" + etree.QName(self.attribute).localname
        if self.part is not None:
            path += f" (token {-self.part} from the end)"
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
            return f"value #{self.position + 1} of {self.rule.label} ({self.rule.selector})"
        others = f" (or {len(self.locations) - 1} other place(s))" if len(self.locations) > 1 \
            else ""
        return f"{self.location.render()}{others}"

    def resolve(self, root: etree._Element | None, value_map: Mapping[str, str],
                message: Message | None = None, headers: Headers | None = None) -> str | None:
        """The value in the new response at the place the recorded one was (``root`` is its
        tree, ``message`` the parsed response, ``headers`` its HTTP headers)."""
        if self.rule is not None:
            values = self.rule.values(root, message=message, headers=headers)
            return values[self.position] if self.position < len(values) else None
        return resolve_any(root, self.locations, value_map, headers)


class _Texts:
    """The text and attribute values of one message (and ``extra`` strings it carries outside
    its tree: URL, headers), indexed by token, to ask which values it carries whole (the
    question correlation asks of every later request)."""

    def __init__(self, root: etree._Element | None, extra: Sequence[str] = ()) -> None:
        strings: list[str] = list(extra)
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

    def __init__(self, requests: Sequence[etree._Element | None],
                 extras: Sequence[Sequence[str]] | None = None) -> None:
        self.texts = [_Texts(root, extras[index] if extras is not None else ())
                      for index, root in enumerate(requests)]
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


def location_of(element: etree._Element, attribute: str | None,
                part: int | None = None) -> ValueLocation:
    steps: list[AnchoredStep] = []
    node: etree._Element | None = element
    while node is not None:
        steps.append(_step_for(node))
        node = node.getparent()
    return ValueLocation(tuple(reversed(steps)), attribute, part=part)


_DIGIT = re.compile(r"[0-9]")
#: ``Type/id`` in a FHIR reference or URL (R4 3.1.0.1.7: ids are up to 64 of [A-Za-z0-9\-.]).
_REFERENCE_ID = re.compile(r"(?:^|/)[A-Z][A-Za-z]+/([A-Za-z0-9\-.]{1,64})(?=$|[/?#])")
#: Response headers that name what a server created or where it is (RFC 9110 10.2.2, 8.7).
SOURCE_HEADERS = ("Location", "Content-Location")


def _parts(value: str) -> Iterator[tuple[str, int | None]]:
    """``value`` itself, then the server's ids inside it when it is a reference or URL: the id
    after a resource type (``Patient/123456``, ``http://h/fhir/Binary/abc-1/_history/1``) and
    the tokens of its query values (a paging link's ``_getpages=...``), with their index from
    the end. Only tokens long enough to be correlated and with a digit qualify: never a word
    such as a resource type or ``_history``; SOAP and HL7 URLs (namespaces, addresses) have no
    ``Type/id`` part."""
    yield value, None
    if "/" not in value:
        return
    wanted = {match.group(1) for match in _REFERENCE_ID.finditer(value)}
    if "?" in value:
        wanted.update(tokens(value.split("?", 1)[1]))
    if not wanted:
        return
    parts = tokens(value)
    for index, token in enumerate(parts):
        if token in wanted and len(token) >= MIN_VALUE_LENGTH and token != value \
                and _DIGIT.search(token):
            yield token, index - len(parts)


def _header_candidates(headers: Headers | None) -> Iterator[tuple[str, ValueLocation]]:
    if headers is None:
        return
    for name in SOURCE_HEADERS:
        value = (headers.get(name) or "").strip()
        if len(value) >= MIN_VALUE_LENGTH:
            for candidate, part in _parts(value):
                yield candidate, ValueLocation((), None, header=name, part=part)


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
    *, request_extras: Sequence[Sequence[str]] | None = None,
    response_headers: Sequence[Headers | None] | None = None,
) -> list[Capture]:
    """Find server-assigned values reused by later requests (inputs are parsed XML or None;
    ``request_extras`` are the strings each request carries outside its tree
    (:func:`request_strings`), ``response_headers`` each response's headers)."""
    carried = _Requests(requests, request_extras)
    captures: list[Capture] = []
    claimed: set[str] = set()
    # Responses of a cassette repeat most of their values: each is judged once.
    users_of: dict[str, tuple[int, ...]] = {}

    def wanted(value: str, index: int) -> bool:
        users = users_of.get(value)
        if users is None:
            users = users_of[value] = carried.users(value) if is_identifier(value) else ()
        # unused later, or a request up to ``index`` already carried it: it came from the
        # client (regenerated on replay, not correlated)
        return bool(users) and users[0] > index and value not in claimed

    for index, response in enumerate(responses):
        found: dict[str, list[ValueLocation]] = {}
        if response is not None:
            for whole, element, attribute in _candidates(response):
                for value, part in _parts(whole):
                    # a code, scheme, type or vocabulary is the same on every system
                    if wanted(value, index) and server_may_assign(value, element, attribute):
                        found.setdefault(value, []).append(
                            location_of(element, attribute, part))
        headers = response_headers[index] if response_headers is not None else None
        for value, location in _header_candidates(headers):
            if wanted(value, index):
                found.setdefault(value, []).append(location)
        for value, locations in found.items():
            claimed.add(value)
            consumers = tuple(j for j in carried.users(value) if j > index)
            captures.append(Capture(value, index, tuple(locations), consumers))
    return captures


def resolve_any(
    root: etree._Element | None, locations: Iterable[ValueLocation],
    value_map: Mapping[str, str], headers: Headers | None = None,
) -> str | None:
    """The value at the first of ``locations`` that exists in the (new) response."""
    for location in locations:
        value = resolve(root, location, value_map, headers)
        if value is not None:
            return value
    return None


def resolve(
    root: etree._Element | None, location: ValueLocation, value_map: Mapping[str, str],
    headers: Headers | None = None,
) -> str | None:
    """The value at ``location`` in a (new) response, or None when it is not there.

    Anchor keys are recorded values; they are translated through ``value_map`` first
    (a uniqueId regenerated on replay anchors the object under its new value).
    """
    if location.header is not None:
        whole = (headers.get(location.header) or "").strip() if headers is not None else ""
        value = whole or None
    else:
        value = _resolve_in_tree(root, location, value_map) if root is not None else None
    if value is None or location.part is None:
        return value
    parts = tokens(value)
    return parts[location.part] if -len(parts) <= location.part < 0 else None


def _resolve_in_tree(
    root: etree._Element, location: ValueLocation, value_map: Mapping[str, str],
) -> str | None:
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
    known: Iterable[str] = (), *, request_extras: Sequence[Sequence[str]] | None = None,
    response_messages: Sequence[Message | None] | None = None,
    response_headers: Sequence[Headers | None] | None = None,
) -> list[Capture]:
    """Values explicit ``[[correlate]]`` rules select, consumed by later requests.

    A later request consumes a value when one of its text or attribute values (or URL path
    segment, query value, header: ``request_extras``) contains it whole (never inside a
    longer token). Values already found automatically (``known``) are left to the automatic
    capture. JSON rules read ``response_messages``, header rules ``response_headers``.
    """
    if not rules:
        return []
    claimed = set(known)
    carried = _Requests(requests, request_extras)
    captures: list[Capture] = []
    for index, response in enumerate(responses):
        message = response_messages[index] if response_messages is not None else None
        headers = response_headers[index] if response_headers is not None else None
        for rule in applicable(rules, transactions[index]):
            for position, value in enumerate(rule.values(response, message=message,
                                                         headers=headers)):
                if value in claimed:
                    continue
                consumers = tuple(j for j in carried.users(value) if j > index)
                if consumers:
                    claimed.add(value)
                    captures.append(Capture(value, index, (), consumers, rule, position))
    return captures


# -- values a request carries outside its tree: URL, headers, raw JSON and form bodies --------

#: Request headers that never carry a server-assigned value (they describe the client, the
#: formats it accepts or the body's framing): neither searched nor rewritten.
UNCORRELATED_HEADERS = frozenset({
    "user-agent", "accept", "accept-encoding", "accept-language", "accept-charset",
    "content-type", "content-encoding", "date", "soapaction", "cache-control", "pragma",
})
_FORM = "application/x-www-form-urlencoded"
#: Characters left readable when a rewritten URL part is encoded again.
_PATH_SAFE = ":@$,;=!*'()~"
_QUERY_SAFE = "/:@$,;|!*'()~"


def _headers_of(request: Request) -> Iterator[tuple[str, str]]:
    for name, value in end_to_end(request.headers):
        if name.lower() not in UNCORRELATED_HEADERS:
            yield name, value


def _is_form(request: Request) -> bool:
    content_type = request.headers.get("Content-Type")
    return bool(content_type) and media_type_of(content_type or "")[0] == _FORM


def _query_values(query: str) -> Iterator[str]:
    for pair in query.split("&"):
        yield unquote(pair.partition("=")[2].replace("+", " "))


def request_strings(request: Request) -> list[str]:
    """What a request carries outside its parsed body: its URL path segments and query values
    (percent-decoded), its end-to-end header values (not those of
    :data:`UNCORRELATED_HEADERS`) and the values of a form-encoded body (``POST
    Patient/_search``). The host is not among them: replay sends elsewhere anyway."""
    url = urlsplit(request.uri)
    found = [unquote(segment) for segment in url.path.split("/") if segment]
    if url.query:
        found.extend(_query_values(url.query))
    found.extend(value for _, value in _headers_of(request))
    if _is_form(request) and request.body:
        found.extend(_query_values(request.body.decode("utf-8", "replace")))
    return found


def _rewrite_part(text: str, replacer: Replacer, safe: str, plus: bool = False) -> str:
    decoded = unquote(text.replace("+", " ") if plus else text)
    if not replacer.search(decoded):
        return text
    return quote(replacer.sub(decoded), safe=safe)


def _rewrite_query(query: str, replacer: Replacer) -> str:
    pairs = []
    for pair in query.split("&"):
        name, equals, value = pair.partition("=")
        pairs.append(name + equals + _rewrite_part(value, replacer, _QUERY_SAFE, plus=True)
                     if equals else pair)
    return "&".join(pairs)


def substitute_request(request: Request, replacer: Replacer,
                       message: Message | None = None) -> Request:
    """``request`` with correlated values replaced where they occur whole outside an XML tree:
    URL path segments and query values (only rewritten parts are encoded again), end-to-end
    headers, and a JSON or form-encoded body (its text, so the rest of its bytes stay as
    recorded; ``Content-Length`` follows). XML bodies are rewritten as trees
    (:func:`substitute_with` through :func:`~ihe_test_util.ihe.regenerate.rewrite_request`).
    A body with a ``Content-Encoding`` is sent as recorded. Returns ``request`` itself when
    nothing changed.
    """
    if not replacer:
        return request
    url = urlsplit(request.uri)
    path = "/".join(_rewrite_part(segment, replacer, _PATH_SAFE)
                    for segment in url.path.split("/"))
    query = _rewrite_query(url.query, replacer) if url.query else url.query
    uri = urlunsplit(url._replace(path=path, query=query)) \
        if (path, query) != (url.path, url.query) else request.uri
    headers = request.headers
    for name, value in _headers_of(request):
        if replacer.search(value):
            headers = headers.with_value(name, replacer.sub(value))
    body = request.body
    encoded = (request.headers.get("Content-Encoding") or "identity").strip().lower()
    if body and encoded == "identity":
        if _is_form(request):
            body = _rewrite_query(body.decode("utf-8", "replace"), replacer).encode("utf-8")
        elif message is not None and message.kind == "json":
            try:
                text = body.decode("utf-8")
            except UnicodeDecodeError:
                text = None
            if text is not None and replacer.search(text):
                body = replacer.sub(text).encode("utf-8")
    if body is not request.body and body != request.body and "Content-Length" in headers:
        headers = headers.with_value("Content-Length", str(len(body)))
    if uri == request.uri and headers is request.headers and body == request.body:
        return request
    return request.evolve(uri=uri, headers=headers, body=body)
