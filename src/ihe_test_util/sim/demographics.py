"""Patient demographics as the PIX Manager keeps them and the PDQ Supplier matches on them.

A feed's ``patientPerson`` is stored as XML (what PDQ/XCPD answers show) together with
*facets*: lower-cased names, gender, birth date, address parts, which the matcher compares.
"""

from __future__ import annotations

from copy import deepcopy
from dataclasses import dataclass
from fnmatch import fnmatchcase
from typing import Any

from lxml import etree

from ihe_test_util.safexml import parse_xml
from ihe_test_util.sim.hl7v3 import h, words
from ihe_test_util.sim.xmlstyle import BASELINE_STYLE, serialize

#: patientPerson children the PIX Manager keeps for itself rather than echoing in PDQ answers:
#: identifiers are answered from the identifier index (they change with merges).
_NOT_ECHOED = ("asOtherIDs",)


def name_facets(name: etree._Element) -> dict[str, list[str]]:
    return {
        "family": words(part.text for part in name.findall(h("family"))),
        "given": words(part.text for part in name.findall(h("given"))),
    }


def person_facets(person: etree._Element) -> dict[str, Any]:
    """What the matcher compares, from an HL7v3 ``patientPerson``."""
    names = [name_facets(name) for name in person.findall(h("name"))]
    gender = person.find(h("administrativeGenderCode"))
    birth = person.find(h("birthTime"))
    addresses = [address_facets(addr) for addr in person.findall(h("addr"))]
    return {
        "names": [n for n in names if n["family"] or n["given"]],
        "gender": (gender.get("code") or "").upper() if gender is not None else "",
        "birth_time": (birth.get("value") or "").strip() if birth is not None else "",
        "addresses": addresses,
    }


def address_facets(addr: etree._Element) -> dict[str, list[str]]:
    return {
        part: words(e.text for e in addr.findall(h(part)))
        for part in ("streetAddressLine", "city", "postalCode", "state", "country")
    }


def stored_person(person: etree._Element) -> bytes:
    """The ``patientPerson`` to keep, spelled the simulator's way."""
    return serialize(deepcopy(person), BASELINE_STYLE)


def person_for_answer(person_xml: bytes) -> etree._Element:
    """A stored ``patientPerson`` ready to go into a PDQ/XCPD answer."""
    person = parse_xml(person_xml, source="simulator state")
    for local in _NOT_ECHOED:
        for element in person.findall(h(local)):
            person.remove(element)
    return person


@dataclass(frozen=True)
class Criteria:
    """Demographic query parameters (PDQ ITI-47, XCPD ITI-55), already normalised."""

    names: tuple[dict[str, list[str]], ...] = ()
    gender: str = ""
    birth_time: str = ""
    address: dict[str, list[str]] | None = None

    def is_empty(self) -> bool:
        return not (self.names or self.gender or self.birth_time or self.address)


def matches(facets: dict[str, Any], criteria: Criteria, *, use_birth_time: bool = True) -> bool:
    """Every given criterion must hold (names: any query name against any patient name)."""
    if criteria.gender and facets.get("gender") != criteria.gender:
        return False
    if use_birth_time and criteria.birth_time and not str(
        facets.get("birth_time", ""),
    ).startswith(criteria.birth_time):
        return False
    if criteria.names and not any(
        _name_matches(have, want) for want in criteria.names for have in facets.get("names", [])
    ):
        return False
    return not criteria.address or any(
        _address_matches(have, criteria.address) for have in facets.get("addresses", [])
    )


def _name_matches(have: dict[str, list[str]], want: dict[str, list[str]]) -> bool:
    """Each queried part must match one of the patient's; ``*`` is a wildcard (``Jo*``)."""
    return all(
        not want[part] or any(
            _part_matches(value, pattern) for pattern in want[part]
            for value in have.get(part, [])
        )
        for part in ("family", "given")
    )


def _part_matches(value: str, pattern: str) -> bool:
    if "*" not in pattern:
        return value == pattern
    return fnmatchcase(value, pattern.replace("[", "[[]").replace("?", "[?]"))


def _address_matches(have: dict[str, list[str]], want: dict[str, list[str]]) -> bool:
    return all(not values or set(values) <= set(have.get(part, []))
               for part, values in want.items())
