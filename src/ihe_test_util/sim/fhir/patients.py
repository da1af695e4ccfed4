"""PDQm Supplier (ITI-78 search and read, ITI-119 ``$match``) and PIXm Manager (ITI-83
``$ihe-pix``, ITI-104 patient feed) on the patients the PIX Manager and PDQ Supplier keep.

The store holds a patient as identifiers plus demographics in the form every protocol's actor
reads (an HL7 v3 ``patientPerson`` and its matching facets); this module translates a FHIR
Patient to and from that form, so a patient fed by ITI-44 is found by PDQm and a patient fed
by ITI-104 by PDQ v3 and PIX v3. Error answers follow ITI TF-2 3.83.4.2.3 (PIXm) and
3.78.4.2.3 (PDQm): OperationOutcome with the status the profile names.
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

from lxml import etree

from ihe_test_util.ihe.cx import PatientId
from ihe_test_util.ihe.vocabulary import (
    FHIR_GENDER_TO_V3,
    FHIR_MATCH_GRADE_EXTENSION,
    PIXM_SOURCE_DOMAIN_UNKNOWN,
    PIXM_SOURCE_PATIENT_UNKNOWN,
    PIXM_TARGET_SYSTEM_UNKNOWN,
    V3_GENDER_TO_FHIR,
)
from ihe_test_util.ihe.vocabulary import OID_URN_PREFIX as OID
from ihe_test_util.safexml import parse_xml
from ihe_test_util.sim.demographics import Criteria, matches, person_facets, stored_person
from ihe_test_util.sim.fhir.common import (
    FhirScope,
    fhir_identifier,
    identifier_id,
    oid_of,
    token_id,
)
from ihe_test_util.sim.fhir.wire import (
    FhirError,
    FhirReply,
    Page,
    SortKey,
    issue,
    operation_outcome,
)
from ihe_test_util.sim.hl7v3 import h, hl7_element, sub
from ihe_test_util.sim.profiles import Deviation
from ihe_test_util.sim.store import PatientRecord

_TELECOM_USE = {"HP": "home", "WP": "work", "MC": "mobile", "H": "home", "TMP": "temp"}
_TELECOM_USE_V3 = {v: k for k, v in _TELECOM_USE.items() if len(k) == 2}
_NAME_USE = {"L": "official", "P": "nickname", "A": "anonymous"}
_NAME_USE_V3 = {v: k for k, v in _NAME_USE.items()}
_ADDRESS_PARTS = (("city", "city"), ("state", "state"), ("postalCode", "postalCode"),
                  ("country", "country"))
#: FHIR address search parameters -> the address facet they match.
_ADDRESS_PARAMETERS = {"address-city": "city", "address-state": "state",
                       "address-postalcode": "postalCode", "address-country": "country"}
_DATE_PREFIXES = ("eq", "ne", "gt", "lt", "ge", "le", "sa", "eb", "ap")


# -- FHIR Patient <-> the stored patient --------------------------------------------------------


def patient_resource(scope: FhirScope, record: PatientRecord) -> dict[str, Any]:
    """A stored patient as a FHIR Patient (identifiers from the identifier index)."""
    person = parse_xml(record.person_xml, source="simulator state")
    resource: dict[str, Any] = {"resourceType": "Patient", "id": scope.patient_id(record.pid),
                                "identifier": [fhir_identifier(pid) for pid in record.ids],
                                "active": True}
    names = [_fhir_name(name) for name in person.findall(h("name"))]
    if any(names):
        resource["name"] = [n for n in names if n]
    telecoms = [_fhir_telecom(t) for t in person.findall(h("telecom"))]
    if any(telecoms):
        resource["telecom"] = [t for t in telecoms if t]
    gender = person.find(h("administrativeGenderCode"))
    code = (gender.get("code") or "").upper() if gender is not None else ""
    if code:
        resource["gender"] = V3_GENDER_TO_FHIR.get(code, "unknown")
    birth = person.find(h("birthTime"))
    if birth is not None and (birth.get("value") or "").strip():
        resource["birthDate"] = _fhir_date(birth.get("value", "").strip())
    addresses = [_fhir_address(a) for a in person.findall(h("addr"))]
    if any(addresses):
        resource["address"] = [a for a in addresses if a]
    return resource


def _texts(element: etree._Element, local: str) -> list[str]:
    return [(e.text or "").strip() for e in element.findall(h(local)) if (e.text or "").strip()]


def _fhir_name(name: etree._Element) -> dict[str, Any]:
    found: dict[str, Any] = {}
    use = _NAME_USE.get(name.get("use") or "")
    if use:
        found["use"] = use
    family = _texts(name, "family")
    if family:
        found["family"] = " ".join(family)
    for part in ("given", "prefix", "suffix"):
        values = _texts(name, part)
        if values:
            found[part] = values
    return found


def _fhir_telecom(telecom: etree._Element) -> dict[str, Any]:
    value = (telecom.get("value") or "").strip()
    if not value:
        return {}
    scheme, colon, rest = value.partition(":")
    systems = {"tel": "phone", "mailto": "email", "fax": "fax"}
    system = systems.get(scheme.lower()) if colon else None
    found: dict[str, Any] = {"system": system or "other", "value": rest if system else value}
    use = _TELECOM_USE.get((telecom.get("use") or "").split(" ")[0])
    if use:
        found["use"] = use
    return found


def _fhir_address(addr: etree._Element) -> dict[str, Any]:
    found: dict[str, Any] = {}
    lines = _texts(addr, "streetAddressLine")
    if lines:
        found["line"] = lines
    for v3, fhir in _ADDRESS_PARTS:
        values = _texts(addr, v3)
        if values:
            found[fhir] = values[0]
    return found


def _fhir_date(value: str) -> str:
    digits = value[:8]
    return "-".join(p for p in (digits[:4], digits[4:6], digits[6:8]) if p)


def _v3_date(value: str) -> str:
    return value.replace("-", "")[:8]


def person_of(patient: dict[str, Any]) -> etree._Element:
    """A FHIR Patient's demographics as the HL7 v3 ``patientPerson`` the store keeps."""
    person = hl7_element("patientPerson", {"classCode": "PSN", "determinerCode": "INSTANCE"})
    for name in _list(patient.get("name")):
        element = sub(person, "name")
        use = _NAME_USE_V3.get(str(name.get("use", "")))
        if use:
            element.set("use", use)
        for part in ("prefix", "given"):
            for value in _strings(name.get(part)):
                sub(element, part).text = value
        if isinstance(name.get("family"), str) and name["family"].strip():
            sub(element, "family").text = name["family"].strip()
        for value in _strings(name.get("suffix")):
            sub(element, "suffix").text = value
    for telecom in _list(patient.get("telecom")):
        text = telecom.get("value")
        if isinstance(text, str) and text.strip():
            scheme = {"phone": "tel:", "email": "mailto:", "fax": "fax:"}.get(
                str(telecom.get("system", "")), "")
            element = sub(person, "telecom", value=f"{scheme}{text.strip()}")
            use = _TELECOM_USE_V3.get(str(telecom.get("use", "")))
            if use:
                element.set("use", use)
    gender = patient.get("gender")
    if isinstance(gender, str) and gender:
        code = FHIR_GENDER_TO_V3.get(gender)
        if code:
            sub(person, "administrativeGenderCode", code=code)
    birth = patient.get("birthDate")
    if isinstance(birth, str) and birth.strip():
        sub(person, "birthTime", value=_v3_date(birth.strip()))
    for address in _list(patient.get("address")):
        element = sub(person, "addr")
        for line in _strings(address.get("line")):
            sub(element, "streetAddressLine").text = line
        for v3, fhir in _ADDRESS_PARTS:
            if isinstance(address.get(fhir), str) and address[fhir].strip():
                sub(element, v3).text = address[fhir].strip()
    return person


def _list(value: Any) -> list[dict[str, Any]]:
    return [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []


def _strings(value: Any) -> list[str]:
    items = value if isinstance(value, list) else [value]
    return [v.strip() for v in items if isinstance(v, str) and v.strip()]


# -- ITI-78 Mobile Patient Demographics Query ----------------------------------------------------


def read(scope: FhirScope, fhir_id: str) -> FhirReply:
    """ITI-78 retrieve: ``GET Patient/{id}``."""
    number = scope.patient_number(fhir_id)
    record = scope.ctx.store.patient(number) if number is not None else None
    if record is None:
        raise FhirError(404, "not-found", f"Patient/{fhir_id} is not known")
    return FhirReply(scope.returned(patient_resource(scope, record)))


def search(scope: FhirScope) -> FhirReply:
    """ITI-78 search: ``GET Patient?family=...`` (every given parameter must hold)."""
    call = scope.call
    records = scope.ctx.store.patients()
    wanted_ids = [token for token in call.values("identifier") if token]
    for token in wanted_ids:
        records = [r for r in records if _has_identifier(r, token)]
    for value in call.values("_id"):
        records = [r for r in records if scope.patient_id(r.pid) in value.split(",")]
    for value in call.values("active"):
        if value not in ("true", "false"):
            raise FhirError(400, "invalid", f"active must be true or false, got {value!r}")
        if value == "false":
            records = []
    criteria = _criteria(scope)
    records = [r for r in records if matches(dict(r.facets), criteria)]
    for value in call.values("birthdate"):
        records = [r for r in records if _date_matches(str(r.facets.get("birth_time", "")),
                                                       value)]
    resources = {r.pid: patient_resource(scope, r) for r in records}
    page = Page(records, lambda r: scope.match_entry(resources[r.pid],
                                                     f"Patient/{scope.patient_id(r.pid)}"),
                {"family": SortKey(lambda r: _first(resources[r.pid], "family")),
                 "given": SortKey(lambda r: _first(resources[r.pid], "given")),
                 "birthdate": SortKey(lambda r: str(r.facets.get("birth_time", ""))),
                 "_id": SortKey(lambda r: f"{r.pid:012d}")})
    return FhirReply(scope.searchset(page))


def _first(resource: dict[str, Any], part: str) -> str:
    for name in resource.get("name", []):
        value = name.get(part)
        if isinstance(value, list):
            value = value[0] if value else ""
        if value:
            return str(value).lower()
    return ""


def _has_identifier(record: PatientRecord, token: str) -> bool:
    system, bar, value = token.partition("|")
    if not bar:
        return any(pid.extension == token for pid in record.ids)
    if not system.startswith(OID):
        return False
    root = system[len(OID):]
    return any(pid.root == root and (not value or pid.extension == value) for pid in record.ids)


def _criteria(scope: FhirScope) -> Criteria:
    call = scope.call
    name: dict[str, list[str]] = {"family": [], "given": []}
    for part in ("family", "given"):
        for key, value in call.params:
            base, _, modifier = key.partition(":")
            if base != part or not value.strip():
                continue
            if modifier not in ("", "exact", "contains"):
                raise FhirError(400, "not-supported", f"modifier :{modifier} of {part} is not "
                                "supported")
            text = value.strip().lower()
            pattern = text if modifier == "exact" else (
                f"*{text}*" if modifier == "contains" else f"{text}*")
            name[part].append(pattern)
    genders = call.values("gender")
    gender = ""
    if genders:
        gender = FHIR_GENDER_TO_V3.get(genders[0], "")
        if not gender and genders[0] != "unknown":
            raise FhirError(400, "code-invalid", f"gender {genders[0]!r} is not a FHIR "
                            "administrative gender")
        gender = gender or "?"  # unknown matches nobody with a recorded gender
    address: dict[str, list[str]] = {}
    for parameter, part in _ADDRESS_PARAMETERS.items():
        values = [v.strip().lower() for v in call.values(parameter) if v.strip()]
        if values:
            address[part] = values
    return Criteria(names=(name,) if name["family"] or name["given"] else (),
                    gender=gender, address=address or None)


def _date_matches(have: str, wanted: str) -> bool:
    prefix = wanted[:2] if wanted[:2] in _DATE_PREFIXES else "eq"
    value = _v3_date(wanted[2:] if wanted[:2] in _DATE_PREFIXES else wanted)
    if not value.isdigit() or len(value) not in (4, 6, 8):
        raise FhirError(400, "invalid", f"birthdate {wanted!r} is not a date (YYYY[-MM[-DD]])")
    if not have:
        return False
    head = have[:len(value)]
    compare = {"eq": head == value, "ap": head == value, "ne": head != value,
               "gt": head > value, "sa": head > value, "lt": head < value, "eb": head < value,
               "ge": head >= value, "le": head <= value}
    return compare[prefix]


# -- ITI-119 Patient Demographics Match ---------------------------------------------------------


def match(scope: FhirScope) -> FhirReply:
    """ITI-119 ``POST Patient/$match``: scored candidates for a Patient, best first."""
    parameters = scope.call.resource(scope.max_body_bytes)
    if parameters.get("resourceType") != "Parameters":
        raise FhirError(400, "invalid", "$match takes a Parameters resource, got "
                        f"{parameters.get('resourceType')}")
    items = _list(parameters.get("parameter"))
    patients = [p.get("resource") for p in items if p.get("name") == "resource"]
    if len(patients) != 1 or not isinstance(patients[0], dict) or patients[0].get(
            "resourceType") != "Patient":
        raise FhirError(400, "required", "$match needs exactly one parameter 'resource' "
                        "holding a Patient")
    only_certain = any(p.get("valueBoolean") is True for p in items
                       if p.get("name") == "onlyCertainMatches")
    counts = [p.get("valueInteger") for p in items if p.get("name") == "count"]
    count = counts[0] if counts else None
    if count is not None and (not isinstance(count, int) or count < 1):
        raise FhirError(400, "invalid", f"count must be a positive integer, got {count!r}")
    wanted = patients[0]
    scored = []
    for record in scope.ctx.store.patients():
        score, grade = _score(wanted, record)
        if grade is None or (only_certain and grade != "certain"):
            continue
        scored.append((score, grade, record))
    scored.sort(key=lambda item: (-item[0], item[2].pid))
    if count is not None:
        scored = scored[:count]

    def entry(item: tuple[float, str, PatientRecord]) -> dict[str, Any]:
        score, grade, record = item
        relative = f"Patient/{scope.patient_id(record.pid)}"
        return {"fullUrl": scope.absolute(relative),
                "resource": scope.returned(patient_resource(scope, record)),
                "search": {"extension": [{"url": FHIR_MATCH_GRADE_EXTENSION,
                                          "valueCode": grade}],
                           "mode": "match", "score": score}}

    return FhirReply(scope.searchset(Page(scored, entry), sortable=False, ordered=True))


def _score(wanted: dict[str, Any], record: PatientRecord) -> tuple[float, str | None]:
    """(score, match grade) of ``record`` for the Patient ``wanted``; grade None: no match."""
    ids = [pid for pid in (identifier_id(i) for i in _list(wanted.get("identifier"))) if pid]
    if ids and set(ids) & set(record.ids):
        return 1.0, "certain"
    facets = person_facets(person_of(wanted))
    checks: list[bool] = []
    for name in facets["names"]:
        have = record.facets.get("names", [])
        checks.append(any(set(name["family"]) <= set(h_["family"]) for h_ in have)
                      if name["family"] else True)
        checks.append(any(set(name["given"]) <= set(h_["given"]) for h_ in have)
                      if name["given"] else True)
        break
    if facets["gender"]:
        checks.append(record.facets.get("gender") == facets["gender"])
    if facets["birth_time"]:
        checks.append(record.facets.get("birth_time") == facets["birth_time"])
    if not checks:
        return 0.0, None
    score = round(sum(checks) / len(checks), 2)
    if score == 1.0 and len(checks) >= 3:
        return 0.9, "probable"
    if score >= 0.5:
        return round(score * 0.8, 2), "possible"
    return score, None


# -- ITI-83 Mobile Patient Identifier Cross-reference Query --------------------------------------


def ihe_pix(scope: FhirScope) -> FhirReply:
    """ITI-83 ``GET Patient/$ihe-pix?sourceIdentifier=...&targetSystem=...`` (or ``POST`` with
    the same parameters in a Parameters resource)."""
    call = scope.call
    if call.method == "POST":
        call = replace(call, params=call.params + _operation_parameters(scope))
    sources = call.values("sourceIdentifier")
    if len(sources) != 1:
        raise FhirError(400, "invalid", "exactly one sourceIdentifier (system|value) is "
                        f"required, got {len(sources)}")
    system, bar, value = sources[0].partition("|")
    domains = scope.ctx.store.known_domains()
    root = system[len(OID):] if system.startswith(OID) else None
    if not bar or not value or root is None or root not in domains:
        raise FhirError(*PIXM_SOURCE_DOMAIN_UNKNOWN)
    wanted = PatientId(value, root, check=False)
    targets = []
    for target in call.values("targetSystem"):
        for item in target.split(","):
            target_root = item[len(OID):] if item.startswith(OID) else None
            if target_root is None or target_root not in domains:
                raise FhirError(*PIXM_TARGET_SYSTEM_UNKNOWN)
            targets.append(target_root)
    owner = scope.ctx.store.patient_for(wanted)
    if owner is None:
        raise FhirError(*PIXM_SOURCE_PATIENT_UNKNOWN)
    found = [pid for pid in scope.ctx.store.ids_of(owner)
             if pid != wanted and (not targets or pid.root in targets)]
    if found and scope.has(Deviation.PIXM_DROPS_IDENTIFIER):
        found = found[:-1]
    parameters: list[dict[str, Any]] = [
        {"name": "targetIdentifier", "valueIdentifier": fhir_identifier(pid)} for pid in found]
    parameters.append({"name": "targetId", "valueReference": {
        "reference": f"Patient/{scope.patient_id(owner)}"}})
    return FhirReply({"resourceType": "Parameters", "parameter": parameters})


def _operation_parameters(scope: FhirScope) -> tuple[tuple[str, str], ...]:
    """The parameters of a Parameters body as query-style (name, token) pairs."""
    body = scope.call.resource(scope.max_body_bytes)
    if body.get("resourceType") != "Parameters":
        raise FhirError(400, "invalid", "the operation takes a Parameters resource, got "
                        f"{body.get('resourceType')}")
    found = []
    for item in _list(body.get("parameter")):
        name = str(item.get("name", ""))
        identifier = item.get("valueIdentifier")
        if isinstance(identifier, dict):
            found.append((name, f"{identifier.get('system', '')}|{identifier.get('value', '')}"))
        for key in ("valueUri", "valueString", "valueCode"):
            if isinstance(item.get(key), str):
                found.append((name, item[key]))
    return tuple(found)


# -- ITI-104 Patient Identity Feed FHIR ----------------------------------------------------------


def feed_update(scope: FhirScope) -> FhirReply:
    """ITI-104 add or revise: ``PUT Patient?identifier=system|value`` (conditional update)."""
    tokens = scope.call.values("identifier")
    if len(tokens) != 1:
        raise FhirError(400, "invalid", "a conditional update needs exactly one identifier "
                        "parameter (system|value)")
    condition = token_id(tokens[0], "identifier")
    patient = _patient_body(scope)
    ids = _fed_ids(patient)
    if condition not in ids:
        raise FhirError(400, "invalid", f"the Patient does not carry the identifier "
                        f"{tokens[0]} of the condition")
    survivor = _replaced_by(scope, patient)
    if survivor is not None:
        return _merge(scope, condition, survivor)
    return _store(scope, patient, ids)


def _replaced_by(scope: FhirScope, patient: dict[str, Any]) -> int | None:
    """The surviving patient of a merge (``active`` false and a ``replaced-by`` link), or
    None when the update is no merge."""
    links = [link for link in _list(patient.get("link")) if link.get("type") == "replaced-by"]
    if not links or patient.get("active") is not False:
        return None
    other = links[0].get("other") or {}
    number = None
    reference = other.get("reference") if isinstance(other, dict) else None
    if isinstance(reference, str):
        fhir_id = scope.reference_id(reference, "Patient")
        number = scope.patient_number(fhir_id) if fhir_id is not None else None
    pid = identifier_id(other.get("identifier")) if isinstance(other, dict) else None
    if number is None and pid is not None:
        number = scope.ctx.store.patient_for(pid)
    if number is None:
        raise FhirError(404, "not-found", "the replaced-by Patient of the merge is not known")
    return number


def _merge(scope: FhirScope, subsumed_id: PatientId, survivor: int) -> FhirReply:
    """ITI-104 merge: the subsumed patient's identifiers move to the survivor, which remains."""
    store = scope.ctx.store
    subsumed = store.patient_for(subsumed_id)
    if subsumed is None:
        raise FhirError(404, "not-found", "the Patient to merge (the condition's identifier) "
                        "is not known")
    if subsumed == survivor:
        raise FhirError(409, "conflict", "the Patient to merge is the replaced-by Patient")
    for pid in store.ids_of(subsumed):
        store.link_id(pid, survivor)
    store.delete_patient(subsumed)
    record = store.patient(survivor)
    assert record is not None
    return FhirReply(scope.returned(patient_resource(scope, record)))


def feed_update_by_id(scope: FhirScope, fhir_id: str) -> FhirReply:
    """ITI-104 revise by id: ``PUT Patient/{id}`` (the Patient must exist: no client ids)."""
    number = scope.patient_number(fhir_id)
    if number is None:
        raise FhirError(404, "not-found", f"Patient/{fhir_id} is not known; this server "
                        "assigns ids: feed new patients with PUT Patient?identifier=...")
    patient = _patient_body(scope)
    if patient.get("id") not in (None, fhir_id):
        raise FhirError(400, "invalid", f"Patient.id {patient.get('id')!r} does not match "
                        f"the URL (Patient/{fhir_id})")
    ids = _fed_ids(patient)
    owners = {n for n in (scope.ctx.store.patient_for(pid) for pid in ids) if n is not None}
    if owners - {number}:
        raise FhirError(409, "conflict", "an identifier of this Patient belongs to another "
                        "patient")
    return _store(scope, patient, ids)


def feed_delete(scope: FhirScope) -> FhirReply:
    """ITI-104 delete: ``DELETE Patient?identifier=system|value``."""
    tokens = scope.call.values("identifier")
    if len(tokens) != 1:
        raise FhirError(400, "invalid", "a conditional delete needs exactly one identifier "
                        "parameter (system|value)")
    owner = scope.ctx.store.patient_for(token_id(tokens[0], "identifier"))
    if owner is not None:
        scope.ctx.store.delete_patient(owner)
    return FhirReply(operation_outcome([issue(
        "informational", "deleted" if owner is not None else "no patient matched: nothing "
        "deleted", severity="information")]))


def feed_create(scope: FhirScope) -> FhirReply:
    """ITI-104 as a create: ``POST Patient`` (``If-None-Exist: identifier=...`` honoured)."""
    patient = _patient_body(scope)
    ids = _fed_ids(patient)
    condition = scope.call.headers.get("If-None-Exist")
    if condition:
        name, _, token = condition.partition("=")
        if name.strip() != "identifier":
            raise FhirError(400, "not-supported", "If-None-Exist supports identifier=... only")
        owner = scope.ctx.store.patient_for(token_id(token.strip(), "If-None-Exist"))
        if owner is not None:
            record = scope.ctx.store.patient(owner)
            assert record is not None
            return FhirReply(scope.returned(patient_resource(scope, record)))
    if any(scope.ctx.store.patient_for(pid) is not None for pid in ids):
        raise FhirError(409, "duplicate", "a Patient with one of these identifiers exists; "
                        "update it with PUT Patient?identifier=system|value")
    return _store(scope, patient, ids)


def _patient_body(scope: FhirScope) -> dict[str, Any]:
    patient = scope.call.resource(scope.max_body_bytes)
    if patient.get("resourceType") != "Patient":
        raise FhirError(400, "invalid", f"expected a Patient, got {patient.get('resourceType')}")
    return patient


def _fed_ids(patient: dict[str, Any]) -> list[PatientId]:
    ids: list[PatientId] = []
    for index, identifier in enumerate(_list(patient.get("identifier"))):
        system = identifier.get("system")
        if isinstance(system, str):
            oid_of(system, f"Patient.identifier[{index}].system")
        pid = identifier_id(identifier)
        if pid is None:
            raise FhirError(400, "required", f"Patient.identifier[{index}] needs a urn:oid: "
                            "system and a value")
        ids.append(pid)
    if not ids:
        raise FhirError(400, "required", "the Patient has no identifier")
    return ids


def _store(scope: FhirScope, patient: dict[str, Any], ids: list[PatientId]) -> FhirReply:
    store = scope.ctx.store
    owners = {n for n in (store.patient_for(pid) for pid in ids) if n is not None}
    if len(owners) > 1:
        raise FhirError(409, "conflict", "the identifiers belong to different patients")
    person = person_of(patient)
    facets, xml = person_facets(person), stored_person(person)
    if owners:
        number = owners.pop()
        store.update_patient(number, xml, facets)
        for pid in ids:
            store.link_id(pid, number)
        status = 200
    else:
        number = store.add_patient(ids, xml, facets)
        status = 201
    record = store.patient(number)
    assert record is not None
    fhir_id = scope.patient_id(number)
    return FhirReply(scope.returned(patient_resource(scope, record)), status,
                     (("Location", scope.absolute(f"Patient/{fhir_id}")),))
