"""The shape of one catalogue entry: what the comparer must know about a transaction.

Everything here is plain data (strings in the pattern language of
:mod:`ihe_test_util.ihe.patterns`), so the catalogue reads as a table and user rules from
``ihe.toml`` can extend an entry with the same vocabulary.
"""

from __future__ import annotations

import enum
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Literal

Family = Literal["xds", "hl7v3", "hl7v2", "fhir", "soap", "xml", "json"]


@dataclass(frozen=True)
class MessageSpec:
    """One kind of message of a transaction: its detection key and its SOAP action.

    ``root`` is a detection key (see :class:`TransactionSpec`); ``action`` the wsa:Action (and
    SOAPAction) ITI TF-2 gives it, None where the transaction is not SOAP or the spec names
    none. A root may occur twice with different actions (an HL7 v3 continuation and cancel).
    """

    root: str
    action: str | None = None


class ValueKind(enum.Enum):
    """What a regenerated value is, which decides how its fresh value looks and where the
    mapping applies."""

    MESSAGE_ID = "message-id"  # wsa:MessageID: a UUID URI, spelled like the recorded one
    HL7_ID = "hl7-id"  # an HL7 v3 II element: the extension, or the root when there is none
    TIMESTAMP = "timestamp"  # the current time in the recorded shape; never mapped
    UNIQUE_ID = "unique-id"  # XDS uniqueId: a fresh OID (OID^ext keeps ^ext)
    ENTRY_UUID = "entry-uuid"  # client-chosen urn:uuid: object id; symbolic ids stay
    PATIENT_ID = "patient-id"  # an id of a patient *created* by a feed: the run's own
    FAMILY_NAME = "family-name"  # a created patient's family name (and queries for it)
    BIRTH_DATE = "birth-date"  # a created patient's birth date (and queries for it)
    HL7V2_ID = "hl7v2-id"  # MSH-10 / QPD-2: at most 20 characters, the recorded letter prefix


#: Kinds that belong to the run's identity space (:class:`~ihe_test_util.ihe.idmap.RunSpace`):
#: varied only for patients a cassette of the run creates, the same way in every cassette.
SPACE_KINDS = frozenset({ValueKind.PATIENT_ID, ValueKind.FAMILY_NAME, ValueKind.BIRTH_DATE})

#: Kinds whose mapping is applied wherever the recorded value reappears in later requests.
#: Message ids are only ever referenced from responses (RelatesTo), and HL7 extensions such
#: as "345" are too short to be replaced blindly: those change only at their rule paths.
GLOBAL_KINDS = frozenset({ValueKind.UNIQUE_ID, ValueKind.ENTRY_UUID, ValueKind.PATIENT_ID})


@dataclass(frozen=True)
class Rule:
    """Regenerate the nodes ``xpath`` selects (relative to the IHE payload) as ``kind``.

    For HL7 v2 (ER7) transactions ``xpath`` is an HL7 field reference (``MSH-10``, ``QPD-2``:
    :class:`~ihe_test_util.ihe.er7.FieldRef`).

    Replay makes these values fresh (a server rejects them a second time) and serve blanks them
    in its match keys (a client sends them fresh every time).
    """

    xpath: str
    kind: ValueKind
    what: str
    #: The request creates this value (a patient's id, name, birth date in a feed's *add*):
    #: the run's identity space learns it, and varies it wherever later requests use it.
    creates: bool = False
    #: HL7 v2 only: the rule applies to requests whose MSH-9 is one of these (``ADT^A01``;
    #: empty: every request of the transaction). XPath rules say it in their path instead
    #: (``self::hl7:PRPA_IN201301UV02/...``).
    messages: tuple[str, ...] = ()


@dataclass(frozen=True)
class Unordered:
    """Children of ``parent`` that match ``children`` are compared regardless of their order.

    They are paired by ``key`` (XPath expressions evaluated on each child, as strings); children
    with equal keys (or no key) are paired by content. Keys that read an identifier attribute
    (an entryUUID) are compared through the identifier renaming, never literally.
    ``sorted_by`` names a request query parameter (FHIR ``_sort``) that, when the request has
    it, makes the order count: members paired out of order are then regressions.
    """

    parent: str
    children: str = "*"
    key: tuple[str, ...] = ()
    sorted_by: str = ""


@dataclass(frozen=True)
class Echo:
    """A response value that copies a request value (RelatesTo = request MessageID).

    With the requests at hand the replayed response must echo the replayed request wherever the
    recorded one echoed the recorded request; without them the value is noise.
    """

    response: str
    request: str
    label: str


@dataclass(frozen=True)
class Verdict:
    """A field whose change makes an exchange a regression (see docs/cli.md outcome classes).

    ``reader`` names a function in :mod:`ihe_test_util.ihe.verdicts`; ``location`` and
    ``items`` are its arguments (payload-relative paths) where it needs them.
    """

    name: str
    reader: str
    location: str = ""
    items: str = "*"


@dataclass(frozen=True)
class FhirRoute:
    """One FHIR request a transaction sends, as detection recognises it (FHIR resources do not
    say which transaction they answer: the request's method and path do).

    ``resource`` is the resource type the path names (None: the server base); ``shape`` what
    follows it: ``type`` (``Patient``, ``Patient?...``: search, create, conditional update),
    ``search`` (``Patient/_search``), ``instance`` (``Patient/<id>``, also with
    ``/_history/<vid>``), ``$op`` (a type or instance operation, e.g. ``$ihe-pix``), ``base``
    (the base itself). ``body`` is the resource type the request body must have (and
    ``bundle_type`` its ``Bundle.type``), None when any or none will do. ``query`` requires a
    query string (``PUT Patient?identifier=...`` is a conditional update).
    """

    method: str
    resource: str | None
    shape: str
    body: str | None = None
    bundle_type: str | None = None
    query: bool = False


@dataclass(frozen=True)
class Label:
    """How people name an element: ``DocumentEntry {uid}``, ``slot {name}``.

    ``parts`` are XPath expressions evaluated on the element; metadata UUIDs in their values are
    replaced by their names (classCode, author, ...).
    """

    pattern: str
    template: str
    parts: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class TransactionSpec:
    """One transaction (or a generic fallback, ``id`` None): the one place for its spec facts.

    ``requests`` / ``responses`` are its message kinds (:class:`MessageSpec`): detection keys
    (``{namespace}local`` of the payload element for XML, ``HL7v2:CODE^TRIGGER`` (MSH-9) for
    ER7, ``{fhir ns}Type`` for FHIR) and SOAP actions, read by detection, the builders, the
    simulator and serve. Actions and ``path_hints`` (request path substrings) only break
    detection ties, because real systems send wrong actions. ``fhir_routes`` are the FHIR
    requests of the transaction (:class:`FhirRoute`): method + path + resource type decide.
    ``regeneration`` says what replay makes fresh in a request (and serve blanks in its match
    keys), ``fresh_patient`` what belongs to the run's identity space (ids and demographics of
    patients the run creates: varied on replay, never blanked by serve); the other fields are
    comparer rules.
    """

    id: str | None
    name: str
    family: Family
    requests: tuple[MessageSpec, ...] = ()
    responses: tuple[MessageSpec, ...] = ()
    path_hints: tuple[str, ...] = ()
    fhir_routes: tuple[FhirRoute, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    noise: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    #: Attributes holding an HTTP status line: equal when their codes are ("201" = "201 Created").
    status_lines: tuple[str, ...] = ()
    unordered: tuple[Unordered, ...] = ()
    echoes: tuple[Echo, ...] = ()
    binary: tuple[str, ...] = ()
    regeneration: tuple[Rule, ...] = ()
    fresh_patient: tuple[Rule, ...] = ()

    # Views of ``requests`` / ``responses``, computed once: detection reads them per exchange.
    @cached_property
    def request_roots(self) -> tuple[str, ...]:
        return _unique(message.root for message in self.requests)

    @cached_property
    def response_roots(self) -> tuple[str, ...]:
        return _unique(message.root for message in self.responses)

    @cached_property
    def request_actions(self) -> tuple[str, ...]:
        return _unique(message.action for message in self.requests if message.action)

    @cached_property
    def response_actions(self) -> tuple[str, ...]:
        return _unique(message.action for message in self.responses if message.action)

    @cached_property
    def actions(self) -> tuple[str, ...]:
        """Every action that names this transaction, either way (detection tie-breaks)."""
        return self.request_actions + self.response_actions

    def request_action(self, root: str | None = None) -> str:
        """The action of a request whose payload is ``root`` (default: the first request).

        KeyError when the transaction has no request of that root with an action, so a builder
        never sends a made-up action.
        """
        return _action_of(self.requests, root, self.id)

    def response_action(self, root: str | None = None) -> str:
        """The action of a response whose payload is ``root`` (default: the first response)."""
        return _action_of(self.responses, root, self.id)

    @property
    def display(self) -> str:
        return f"{self.id} {self.name}" if self.id else self.name


def _unique(values: Iterable[str | None]) -> tuple[str, ...]:
    return tuple(dict.fromkeys(value for value in values if value))


def _action_of(messages: tuple[MessageSpec, ...], root: str | None, transaction: str | None) -> str:
    for message in messages:
        if message.action and (root is None or message.root == root):
            return message.action
    raise KeyError(f"{transaction or 'generic'}: no action for {root or 'its messages'}")
