"""What every FHIR actor of the simulator shares: server-assigned ids, returned resources (with
the profile's noise), searchset Bundles and identifier tokens.

Ids are derived from the store's own keys so that the SOAP and FHIR sides name the same
objects: a Patient is the store's patient number, a DocumentReference / Binary / List the
entryUUID of its registry object. ``compatible`` spells them differently (Deviation
FHIR_ID_FORMAT), as another server would.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode, urlsplit

from ihe_test_util.ihe.cx import PatientId
from ihe_test_util.ihe.vocabulary import OID_URN_PREFIX
from ihe_test_util.sim.context import ActorContext
from ihe_test_util.sim.fhir.wire import FhirCall, FhirError, Page, count_of, sort_items
from ihe_test_util.sim.profiles import Deviation

#: The tag FHIR_META_TAG adds (a system of the simulator's own, under the .invalid TLD).
SIM_TAG = {"system": "http://ihe-test-utility.invalid/sim-tag", "code": "upgraded"}
_PATIENT_NAMESPACE = uuid.UUID("5b0f1ac2-77a5-4cf1-9d43-6f1a8a3c0b21")


@dataclass(frozen=True)
class FhirScope:
    """One FHIR request being answered: the actor context and the call."""

    ctx: ActorContext
    call: FhirCall
    max_body_bytes: int

    def has(self, deviation: Deviation) -> bool:
        return self.ctx.has(deviation)

    # -- ids -----------------------------------------------------------------------------------

    def patient_id(self, number: int) -> str:
        """The Patient id of the store's patient ``number``: six digits at least (``000042``:
        long enough for replay to carry it forward, shorter ids collide by chance)."""
        if self.has(Deviation.FHIR_ID_FORMAT):
            return str(uuid.uuid5(_PATIENT_NAMESPACE, str(number)))
        return f"{number:06d}"

    def patient_number(self, fhir_id: str) -> int | None:
        """The store's patient number of a Patient id (None: no such patient)."""
        if self.has(Deviation.FHIR_ID_FORMAT):
            return next((p.pid for p in self.ctx.store.patients()
                         if self.patient_id(p.pid) == fhir_id), None)
        if not fhir_id.isdigit() or self.patient_id(int(fhir_id)) != fhir_id:
            return None
        number = int(fhir_id)
        return number if self.ctx.store.patient(number) is not None else None

    def object_id(self, entry_uuid: str) -> str:
        """The FHIR id of a registry object (DocumentReference, List, Binary)."""
        value = uuid.UUID(entry_uuid.removeprefix("urn:uuid:"))
        return value.hex if self.has(Deviation.FHIR_ID_FORMAT) else str(value)

    @staticmethod
    def entry_uuid(fhir_id: str) -> str | None:
        """The entryUUID a FHIR id names (either spelling), None when it is no UUID."""
        try:
            return f"urn:uuid:{uuid.UUID(fhir_id)}"
        except ValueError:
            return None

    @staticmethod
    def reference_id(reference: str, resource: str) -> str | None:
        """The id in a reference to a ``resource`` (``Patient/1``, or an absolute URL ending
        so, whatever its host: a proxy in front of this server has another), else None."""
        path = urlsplit(reference).path if "://" in reference else reference
        parts = [p for p in path.split("/") if p]
        if len(parts) >= 2 and parts[-2] == resource:
            return parts[-1]
        if len(parts) >= 4 and parts[-4] == resource and parts[-2] == "_history":
            return parts[-3]
        return None

    def absolute(self, relative: str) -> str:
        return f"{self.call.base}/{relative}"

    # -- resources -----------------------------------------------------------------------------

    def returned(self, resource: dict[str, Any]) -> dict[str, Any]:
        """``resource`` as the actor returns it (FHIR_META_TAG adds its tag)."""
        if self.has(Deviation.FHIR_META_TAG):
            meta = dict(resource.get("meta", {}))
            meta["tag"] = [*meta.get("tag", []), dict(SIM_TAG)]
            ordered: dict[str, Any] = {"resourceType": resource["resourceType"]}
            if "id" in resource:
                ordered["id"] = resource["id"]
            ordered["meta"] = meta
            ordered.update((k, v) for k, v in resource.items() if k not in ordered)
            return ordered
        return resource

    def searchset(self, page: Page, *, sortable: bool = True,
                  ordered: bool = False) -> dict[str, Any]:
        """The searchset Bundle of ``page``: total, links, sorted and paged entries
        (``ordered``: the items come in an order the transaction defines, kept as it is)."""
        call = self.call
        count, offset = count_of(call)
        spec = call.first("_sort") if sortable else None
        items = page.items
        if spec and self.has(Deviation.FHIR_SORT_IGNORED):
            sort_items(items, spec, page.sort_keys)  # still refuses what it cannot sort by
        elif spec:
            items = sort_items(items, spec, page.sort_keys)
        elif self.has(Deviation.FHIR_ENTRY_ORDER) and not ordered:
            items = list(reversed(items))
        shown = items[offset:] if count is None else items[offset:offset + count]
        bundle: dict[str, Any] = {
            "resourceType": "Bundle", "id": self.ctx.volatility.plain_uuid(),
            "meta": {"lastUpdated": self.timestamp()},
            "type": "searchset", "total": len(items), "link": self._links(len(items), count,
                                                                           offset),
        }
        entries = [page.entry(item) for item in shown]
        if entries:
            bundle["entry"] = entries
        return bundle

    def _links(self, total: int, count: int | None, offset: int) -> list[dict[str, str]]:
        call = self.call
        params = [(k, v) for k, v in call.params if k != "_offset"]
        if self.has(Deviation.FHIR_BUNDLE_LINKS):
            params.sort()
            links = [{"relation": "self", "url": self._url(params + (
                [("_offset", str(offset))] if offset else []))},
                {"relation": "first", "url": self._url(params)}]
        else:
            links = [{"relation": "self", "url": call.url}]
        if count is not None and offset + count < total:
            links.append({"relation": "next",
                          "url": self._url([*params, ("_offset", str(offset + count))])})
        return links

    def _url(self, params: list[tuple[str, str]]) -> str:
        path = "/".join(self.call.parts)
        query = urlencode(params, safe="|:/$")
        return f"{self.call.base}/{path}" + (f"?{query}" if query else "")

    def timestamp(self) -> str:
        return self.ctx.volatility.clock().strftime("%Y-%m-%dT%H:%M:%SZ")

    def match_entry(self, resource: dict[str, Any], relative: str) -> dict[str, Any]:
        return {"fullUrl": self.absolute(relative), "resource": self.returned(resource),
                "search": {"mode": "match"}}


# -- identifiers -------------------------------------------------------------------------------


def fhir_identifier(pid: PatientId) -> dict[str, str]:
    """A patient id as a FHIR Identifier (``urn:oid:`` system)."""
    return {"system": f"{OID_URN_PREFIX}{pid.root}", "value": pid.extension}


def token_id(token: str, parameter: str) -> PatientId:
    """An identifier search token ``system|value`` with an OID system, as a PatientId."""
    system, bar, value = token.partition("|")
    if not bar or not system or not value:
        raise FhirError(400, "invalid", f"{parameter} must be system|value, got {token!r}")
    return PatientId(value, oid_of(system, parameter), check=False)


def oid_of(system: str, parameter: str) -> str:
    """The OID of a ``urn:oid:`` system (other systems cannot name an assigning authority)."""
    if not system.startswith(OID_URN_PREFIX) or len(system) <= len(
            OID_URN_PREFIX):
        raise FhirError(400, "code-invalid", f"{parameter}: system {system!r} is not a "
                        f"{OID_URN_PREFIX} URI", details=None)
    return system[len(OID_URN_PREFIX):]


def identifier_id(identifier: Any) -> PatientId | None:
    """A FHIR Identifier with a ``urn:oid:`` system as a PatientId (None otherwise)."""
    if not isinstance(identifier, dict):
        return None
    system, value = identifier.get("system"), identifier.get("value")
    if not isinstance(system, str) or not isinstance(value, str) or not value.strip():
        return None
    if not system.startswith(OID_URN_PREFIX):
        return None
    return PatientId(value.strip(), system[len(OID_URN_PREFIX):], check=False)
