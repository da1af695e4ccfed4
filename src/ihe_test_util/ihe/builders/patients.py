"""Patients as plain values: names, addresses, demographics (identifiers: :mod:`..cx`).

The same :class:`PatientDemographics` feeds an ITI-44 registration, the traits of an ITI-47 or
ITI-55 query, the CCD template and the ``sourcePatientInfo`` slot of an ITI-41 submission.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ihe_test_util.errors import UsageError
from ihe_test_util.ihe.cx import PatientId

__all__ = ["GENDERS", "Address", "PatientDemographics", "PatientId", "PersonName"]

#: HL7 AdministrativeGender codes (also PID-8 in sourcePatientInfo).
GENDERS = frozenset({"M", "F", "O", "U", "UN"})
_HL7_DATE = re.compile(r"^\d{4}(\d{2}(\d{2})?)?$")


@dataclass(frozen=True)
class PersonName:
    family: str
    given: tuple[str, ...] = ()
    prefix: str | None = None
    suffix: str | None = None

    def xpn(self) -> str:
        """HL7 v2 XPN: ``family^given^middle^suffix^prefix`` (for PID-5)."""
        given = [*self.given, "", ""]
        return "^".join([self.family, given[0], given[1], self.suffix or "", self.prefix or ""]
                        ).rstrip("^")


@dataclass(frozen=True)
class Address:
    street: str | None = None
    city: str | None = None
    state: str | None = None
    postal_code: str | None = None
    country: str | None = None

    def xad(self) -> str:
        """HL7 v2 XAD: ``street^^city^state^zip^country`` (for PID-11)."""
        parts = [self.street, "", self.city, self.state, self.postal_code, self.country]
        return "^".join(part or "" for part in parts).rstrip("^")


@dataclass(frozen=True)
class PatientDemographics:
    """A patient: identifiers (the first is the primary one) and optional demographics.

    For a query (ITI-47/55) every field is optional and only the ones given are sent.
    """

    ids: tuple[PatientId, ...] = ()
    name: PersonName | None = None
    gender: str | None = None
    birth_date: str | None = None
    address: Address | None = None
    telecom: tuple[str, ...] = field(default_factory=tuple)
    mothers_maiden_name: str | None = None

    def __post_init__(self) -> None:
        if self.gender is not None and self.gender not in GENDERS:
            raise UsageError(f"gender {self.gender!r} is not an HL7 AdministrativeGender code",
                             hint="use one of " + ", ".join(sorted(GENDERS)))
        if self.birth_date is not None and not _HL7_DATE.match(self.birth_date):
            raise UsageError(f"birth date {self.birth_date!r} is not YYYY[MM[DD]]",
                             hint="write 19771208 for 8 December 1977")

    @property
    def primary_id(self) -> PatientId:
        if not self.ids:
            raise UsageError("this patient has no identifier",
                             hint="give at least one id (value and assigning authority OID)")
        return self.ids[0]

    def source_patient_info(self) -> list[str]:
        """The ``sourcePatientInfo`` slot values (PID-3, PID-5, PID-7, PID-8, PID-11)."""
        values = [f"PID-3|{pid.cx()}" for pid in self.ids]
        if self.name is not None:
            values.append(f"PID-5|{self.name.xpn()}")
        if self.birth_date:
            values.append(f"PID-7|{self.birth_date}")
        if self.gender:
            values.append(f"PID-8|{self.gender}")
        if self.address is not None:
            values.append(f"PID-11|{self.address.xad()}")
        return values
