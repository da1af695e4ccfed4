"""The shape of one catalogue entry: what the comparer must know about a transaction.

Everything here is plain data (strings in the pattern language of
:mod:`ihe_test_util.ihe.patterns`), so the catalogue reads as a table and user rules from
``ihe.toml`` can extend an entry with the same vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Family = Literal["xds", "hl7v3", "hl7v2", "fhir", "soap", "xml", "json"]


@dataclass(frozen=True)
class Unordered:
    """Children of ``parent`` that match ``children`` are compared regardless of their order.

    They are paired by ``key`` (XPath expressions evaluated on each child, as strings); children
    with equal keys (or no key) are paired by content. Keys that read an identifier attribute
    (an entryUUID) are compared through the identifier renaming, never literally.
    """

    parent: str
    children: str = "*"
    key: tuple[str, ...] = ()


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
    """One transaction (or a generic fallback, ``id`` None): detection hints and comparer rules.

    ``request_roots`` / ``response_roots`` are detection keys: ``{namespace}local`` of the
    payload element for XML, ``HL7v2:CODE^TRIGGER`` (MSH-9) for ER7, ``{fhir ns}Type`` for FHIR.
    ``actions`` (wsa:Action / SOAPAction) and ``path_hints`` (request path substrings) only
    break ties, because real systems send wrong actions.
    """

    id: str | None
    name: str
    family: Family
    request_roots: tuple[str, ...] = ()
    response_roots: tuple[str, ...] = ()
    actions: tuple[str, ...] = ()
    path_hints: tuple[str, ...] = ()
    verdicts: tuple[Verdict, ...] = ()
    noise: tuple[str, ...] = ()
    identifiers: tuple[str, ...] = ()
    unordered: tuple[Unordered, ...] = ()
    echoes: tuple[Echo, ...] = ()
    binary: tuple[str, ...] = ()

    @property
    def display(self) -> str:
        return f"{self.id} {self.name}" if self.id else self.name
