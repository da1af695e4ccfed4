"""Typed values from the (filled-in) ``with`` mapping of a step, each error naming its field.

The JSON Schema has checked the shape of the file; these functions check the *values* once the
variables are in (a CSV cell can hold anything) and turn them into the builders' dataclasses.
A problem is a :class:`FieldError` carrying the path inside ``with``, so the message can name
the line of the scenario, or the CSV column that fed the value.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from ihe_test_util.errors import UsageError
from ihe_test_util.ihe.builders import (
    Address,
    Author,
    Code,
    Device,
    PatientDemographics,
    PatientId,
    PersonName,
    Wrapper,
)
from ihe_test_util.ihe.builders.hl7v3 import DEFAULT_RECEIVER, DEFAULT_SENDER
from ihe_test_util.ihe.builders.patients import GENDERS
from ihe_test_util.ihe.identifiers import is_oid
from ihe_test_util.ihe.vocabulary import OID_URN_PREFIX
from ihe_test_util.record.data import not_a_regular_file
from ihe_test_util.record.variables import Path as TreePath

_HL7_DATE = re.compile(r"^\d{4}(\d{2}(\d{2})?)?$")


class FieldError(Exception):
    """A value in ``with`` that cannot be used; ``path`` is relative to ``with``."""

    def __init__(self, path: TreePath, message: str, hint: str | None = None) -> None:
        super().__init__(message)
        self.path = path
        self.message = message
        self.hint = hint


def mapping(value: Any, path: TreePath) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise FieldError(path, f"expected a mapping, got {describe(value)}")
    return value


def text(value: Any, path: TreePath, *, allow_empty: bool = False) -> str:
    """One text value (numbers are written as they read: 19770429 -> '19770429')."""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise FieldError(path, f"expected one text value, got {describe(value)}")
    result = str(value).strip()
    if not result and not allow_empty:
        raise FieldError(path, "is empty")
    return result


def optional_text(data: Mapping[str, Any], key: str, path: TreePath) -> str | None:
    return text(data[key], (*path, key)) if key in data else None


def texts(value: Any, path: TreePath) -> tuple[str, ...]:
    """One or several text values (a list, or one value)."""
    if isinstance(value, list):
        return tuple(text(item, (*path, index)) for index, item in enumerate(value))
    return (text(value, path),)


def integer(value: Any, path: TreePath, *, minimum: int | None = None) -> int:
    if isinstance(value, bool):
        raise FieldError(path, f"expected a whole number, got {describe(value)}")
    try:
        number = int(str(value).strip())
    except ValueError:
        raise FieldError(path, f"expected a whole number, got {describe(value)}") from None
    if minimum is not None and number < minimum:
        raise FieldError(path, f"must be at least {minimum}, got {number}")
    return number


def boolean(value: Any, path: TreePath) -> bool:
    if isinstance(value, bool):
        return value
    lowered = str(value).strip().lower()
    if lowered in ("true", "yes", "1"):
        return True
    if lowered in ("false", "no", "0"):
        return False
    raise FieldError(path, f"expected true or false, got {describe(value)}")


def oid(value: Any, path: TreePath) -> str:
    result = text(value, path)
    if not is_oid(result.removeprefix(OID_URN_PREFIX)):
        raise FieldError(path, f"{result!r} is not an OID", hint="write it like 1.2.840.113619")
    return result


def choice(value: Any, path: TreePath, allowed: Sequence[str], what: str) -> str:
    result = text(value, path)
    if result not in allowed:
        raise FieldError(path, f"unknown {what} {result!r}; use one of {', '.join(allowed)}")
    return result


def patient_id(value: Any, path: TreePath) -> PatientId:
    try:
        return PatientId.parse(text(value, path))
    except UsageError as exc:
        raise FieldError(path, exc.message, exc.hint) from None


def demographics(value: Any, path: TreePath, *, need_id: bool) -> PatientDemographics:
    """A patient mapping (see the schema's ``patient``); ``need_id`` for feeds and submissions."""
    data = mapping(value, path)
    ids: list[PatientId] = []
    if "id" in data:
        ids.append(patient_id(data["id"], (*path, "id")))
    if "ids" in data:
        raw = data["ids"] if isinstance(data["ids"], list) else [data["ids"]]
        ids.extend(patient_id(item, (*path, "ids", index)) for index, item in enumerate(raw))
    if need_id and not ids:
        raise FieldError(path, "the patient needs an id (id: or ids:)",
                         hint="write id: IHE-0001^^^&1.3.6.1.4.1.21367.13.20.1000&ISO")
    name = None
    if "family" in data:
        name = PersonName(
            text(data["family"], (*path, "family")),
            texts(data["given"], (*path, "given")) if "given" in data else (),
            optional_text(data, "prefix", path), optional_text(data, "suffix", path),
        )
    elif "given" in data:
        raise FieldError((*path, "given"), "a given name needs a family name too")
    gender = optional_text(data, "gender", path)
    if gender is not None and gender not in GENDERS:
        raise FieldError((*path, "gender"), f"{gender!r} is not an HL7 AdministrativeGender "
                         f"code; use one of {', '.join(sorted(GENDERS))}")
    birth = optional_text(data, "birth_date", path)
    if birth is not None and not _HL7_DATE.match(birth):
        raise FieldError((*path, "birth_date"), f"{birth!r} is not a date YYYY[MM[DD]]",
                         hint="write 19770429 for 29 April 1977")
    address = None
    if "address" in data:
        where = (*path, "address")
        parts = mapping(data["address"], where)
        address = Address(**{key: optional_text(parts, key, where) for key in (
            "street", "city", "state", "postal_code", "country")})
    return PatientDemographics(
        ids=tuple(ids), name=name, gender=gender, birth_date=birth, address=address,
        telecom=texts(data["telecom"], (*path, "telecom")) if "telecom" in data else (),
        mothers_maiden_name=optional_text(data, "mothers_maiden_name", path),
    )


def wrapper(data: Mapping[str, Any], path: TreePath) -> Wrapper:
    if "wrapper" not in data:
        return Wrapper()
    where = (*path, "wrapper")
    given = mapping(data["wrapper"], where)

    def device(default: Device, id_key: str, org_key: str) -> Device:
        root = oid(given[id_key], (*where, id_key)) if id_key in given else default.id_root
        org = oid(given[org_key], (*where, org_key)) if org_key in given else \
            default.organization_root
        return Device(root, org, default.telecom)

    return Wrapper(
        sender=device(DEFAULT_SENDER, "sender", "sender_organization"),
        receiver=device(DEFAULT_RECEIVER, "receiver", "receiver_organization"),
        processing_code=choice(given["processing_code"], (*where, "processing_code"),
                               ("P", "D", "T"), "processing code")
        if "processing_code" in given else "P",
    )


def code(value: Any, path: TreePath) -> Code:
    data = mapping(value, path)
    missing = [key for key in ("code", "scheme", "display") if key not in data]
    if missing:
        raise FieldError(path, f"a code needs {', '.join(missing)}")
    return Code(text(data["code"], (*path, "code")), text(data["scheme"], (*path, "scheme")),
                text(data["display"], (*path, "display"), allow_empty=True))


def author(value: Any, path: TreePath) -> Author | None:
    if value is False:
        return None
    data = mapping(value, path)
    default = Author()
    return Author(
        person=optional_text(data, "person", path) if "person" in data else default.person,
        institutions=texts(data["institutions"], (*path, "institutions"))
        if "institutions" in data else default.institutions,
        roles=texts(data["roles"], (*path, "roles")) if "roles" in data else (),
        specialties=texts(data["specialties"], (*path, "specialties"))
        if "specialties" in data else (),
    )


def file_path(value: Any, path: TreePath, base: Path) -> Path:
    """A file named relative to the scenario's folder, which must exist."""
    name = text(value, path)
    resolved = (base / name) if not Path(name).is_absolute() else Path(name)
    problem = not_a_regular_file(resolved)
    if problem is not None:
        raise FieldError(path, problem)
    if not resolved.is_file():
        raise FieldError(path, f"file {name!r} not found (looked in {base})",
                         hint="paths are relative to the scenario file")
    return resolved


def describe(value: Any) -> str:
    if value is None:
        return "nothing (null)"
    if isinstance(value, bool):
        return f"boolean {str(value).lower()}"
    if isinstance(value, list):
        return f"a list of {len(value)}"
    if isinstance(value, Mapping):
        return "a mapping"
    return f"{type(value).__name__} {value!r}"
