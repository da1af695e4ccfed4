"""PIX v2 Manager (ITI-8 Patient Identity Feed, ITI-9 PIX Query) and PDQ v2 Supplier (ITI-21).

Same rules as the HL7 v3 actors (:mod:`ihe_test_util.sim.pix`, :mod:`ihe_test_util.sim.pdq`),
on the same store:

* ITI-8: ADT^A01 / A04 / A05 add a patient (or update the one that holds the ids), A08 updates
  a known one, A40 merges MRG-1 into the PID-3 patient (the subsumed id is gone afterwards, its
  other ids move to the survivor). Answer: ACK, MSA-1 AA, or AE with an ERR (ERR-3 101 required
  field missing, 204 unknown key identifier, 205 duplicate key identifier).
* ITI-9 (ITI TF-2 3.9.4.2.2.6): OK with one PID carrying the other ids; NF when the patient has
  none in the requested domains (QPD-4); AE / AE with ERR-2 ``QPD^1^3^1^1`` (unknown patient id),
  ``QPD^1^3^1^4`` (unknown domain) or ``QPD^1^4`` (unknown requested domain).
* ITI-21: every QPD-3 parameter (``@PID.5.1^Meyer``, ``*`` as wildcard) must match; RCP-2
  limits the number of patients; QPD-8 restricts (and filters) the returned ids' domains.
"""

from __future__ import annotations

from ihe_test_util.ihe.builders.hl7v2 import PDQ_PARAMETERS
from ihe_test_util.ihe.cx import PatientId, parse_cx, unescape
from ihe_test_util.ihe.vocabulary import V2_GENDER_TO_V3
from ihe_test_util.sim.context import ActorContext
from ihe_test_util.sim.demographics import Criteria, matches, person_facets, stored_person
from ihe_test_util.sim.hl7v2.person import person_of_pid, pid3, pid_ids, pid_segment
from ihe_test_util.sim.hl7v2.wire import Received, Reply, V2Failure
from ihe_test_util.sim.hl7v3 import words
from ihe_test_util.sim.profiles import Deviation
from ihe_test_util.sim.store import PatientRecord

ADD_EVENTS = ("A01", "A04", "A05")
UPDATE_EVENT = "A08"
MERGE_EVENT = "A40"
#: The response message types (MSH-9) of the queries, with their v2.5 message structures.
PIX_RESPONSE = "RSP^K23^RSP_K23"
PDQ_RESPONSE = "RSP^K22^RSP_K21"
#: QPD-3 field references -> the PDQ parameter name (the builders' table, read backwards).
_PDQ_FIELDS = {ref.lstrip("@"): name for name, ref in PDQ_PARAMETERS.items()}
#: Parameters the supplier cannot match on (it keeps no accounts, no mother's maiden name).
_UNSUPPORTED = frozenset({"account", "mothers_maiden_name"})
_ADDRESS = {"street": "streetAddressLine", "city": "city", "state": "state",
            "postal_code": "postalCode", "country": "country"}


# -- ITI-8 ---------------------------------------------------------------------------------


def feed(received: Received, ctx: ActorContext) -> Reply:
    """ITI-8: add, update or merge, by the trigger event."""
    _, event = received.message_type
    if received.segment_text("PID") is None:
        raise V2Failure("AE", "100", f"ADT^{event} without a PID segment", "PID")
    ids = pid_ids(received)
    if not ids:
        raise V2Failure("AE", "101", "PID-3 holds no identifier with an ISO assigning "
                        "authority (id^^^&OID&ISO)", "PID^1^3")
    owners = {n for n in (ctx.store.patient_for(pid) for pid in ids) if n is not None}
    if len(owners) > 1:
        raise V2Failure("AE", "205", "the PID-3 identifiers belong to different patients; "
                        "merge them first (ADT^A40)", "PID^1^3")
    owner = owners.pop() if owners else None
    if event == MERGE_EVENT:
        _merge(received, owner, ctx)
        return Reply()
    if event == UPDATE_EVENT and owner is None:
        raise V2Failure("AE", "204", "no patient with these identifiers to update (feed it "
                        "with ADT^A01, A04 or A05 first)", "PID^1^3^1^1")
    person = person_of_pid(received)
    facets = person_facets(person)
    xml = stored_person(person)
    if owner is None:
        ctx.store.add_patient(ids, xml, facets)
    else:
        ctx.store.update_patient(owner, xml, facets)
        for pid in ids:
            ctx.store.link_id(pid, owner)
    return Reply()


def _merge(received: Received, survivor: int | None, ctx: ActorContext) -> None:
    """ADT^A40: MRG-1's patient is merged into PID-3's (as ITI-44 merges do)."""
    if survivor is None:
        raise V2Failure("AE", "204", "the surviving patient (PID-3) is unknown", "PID^1^3^1^1")
    if received.segment_text("MRG") is None:
        raise V2Failure("AE", "100", "ADT^A40 without an MRG segment", "MRG")
    prior = parse_cx(received.raw("MRG-1"))
    if prior is None:
        raise V2Failure("AE", "101", "MRG-1 holds no identifier with an ISO assigning "
                        "authority (id^^^&OID&ISO)", "MRG^1^1")
    subsumed = ctx.store.patient_for(prior)
    if subsumed is None:
        raise V2Failure("AE", "204", f"the identifier to merge ({prior.extension} in {prior.root}) "
                        "is unknown",
                        "MRG^1^1^1^1")
    if subsumed == survivor:
        raise V2Failure("AE", "205", "the identifier to merge already belongs to the "
                        "surviving patient", "MRG^1^1")
    if ctx.has(Deviation.V2_MERGE_IGNORED):
        return
    ctx.store.unlink_id(prior)
    for pid in ctx.store.ids_of(subsumed):
        ctx.store.link_id(pid, survivor)
    ctx.store.delete_patient(subsumed)


# -- ITI-9 ---------------------------------------------------------------------------------


def pix_query(received: Received, ctx: ActorContext) -> Reply:
    """ITI-9: the other identifiers of the QPD-3 patient."""
    reply = Reply(message_type=PIX_RESPONSE, query_status="OK")
    try:
        wanted = _query_id(received)
        domains = ctx.store.known_domains()
        if wanted.root not in domains:
            raise V2Failure("AE", "204", f"unknown assigning authority {wanted.root}",
                            "QPD^1^3^1^4")
        requested = _domains(received, "QPD", 4, ctx, "QPD^1^4")
        owner = ctx.store.patient_for(wanted)
        if owner is None:
            raise V2Failure("AE", "204", f"unknown patient id {wanted.extension} in "
                            f"{wanted.root}", "QPD^1^3^1^1")
    except V2Failure as failure:
        return _failed(reply, failure)
    others = [pid for pid in ctx.store.ids_of(owner)
              if pid != wanted and (not requested or pid.root in requested)]
    if not others or ctx.has(Deviation.V2_KNOWN_PATIENT_NF):
        reply.query_status = "NF"
        return reply
    # PID-5 as ITI TF-2 3.9.4.2.2.6 asks: no name, an empty one of type S (pseudonym)
    reply.segments.append(f"PID|1||{pid3(others)}||~^^^^^^S")
    return reply


def _query_id(received: Received) -> PatientId:
    raw = received.raw("QPD-3")
    if not unescape(raw.split(received.er7.separators.component)[0]).strip():
        raise V2Failure("AE", "101", "QPD-3 names no patient id", "QPD^1^3^1^1")
    wanted = parse_cx(raw)
    if wanted is None:
        raise V2Failure("AE", "204", "QPD-3 names no assigning authority this manager knows: "
                        "give it as an ISO OID (id^^^&OID&ISO)", "QPD^1^3^1^4")
    return wanted


def _domains(received: Received, segment: str, number: int, ctx: ActorContext,
             location: str) -> set[str]:
    """The assigning authority OIDs of ``segment-number`` (``^^^&OID&ISO`` repetitions),
    each known to the store."""
    seps = received.er7.separators
    known = ctx.store.known_domains()
    roots: set[str] = set()
    for repetition in received.repetitions(segment, number):
        components = [*repetition.split(seps.component), "", "", "", ""]
        authority = [*components[3].split(seps.subcomponent), "", ""]
        root = unescape(authority[1]).strip()
        if root not in known:
            name = root or unescape(authority[0]).strip() or repetition
            raise V2Failure("AE", "204", f"unknown assigning authority {name}", location)
        roots.add(root)
    return roots


def _failed(reply: Reply, failure: V2Failure) -> Reply:
    reply.failure = failure
    reply.query_status = "AE"
    return reply


# -- ITI-21 --------------------------------------------------------------------------------


def pdq_query(received: Received, ctx: ActorContext) -> Reply:
    """ITI-21: the patients matching every QPD-3 parameter."""
    reply = Reply(message_type=PDQ_RESPONSE, query_status="OK")
    try:
        parameters = _parameters(received)
        requested = _domains(received, "QPD", 8, ctx, "QPD^1^8")
        limit = _quantity(received)
    except V2Failure as failure:
        return _failed(reply, failure)
    criteria = _criteria(parameters)
    found: list[tuple[PatientRecord, list[PatientId]]] = []
    for record in ctx.store.patients():
        if not matches(dict(record.facets), criteria) or not _id_matches(record, parameters):
            continue
        ids = [pid for pid in record.ids if not requested or pid.root in requested]
        if ids:
            found.append((record, ids))
    if limit is not None:
        found = found[:limit]
    if not found:
        reply.query_status = "NF"
        return reply
    if ctx.has(Deviation.V2_REORDERED_RESULTS):
        found.reverse()
    birth = not ctx.has(Deviation.V2_BIRTH_DATE_DROPPED)
    for number, (record, ids) in enumerate(found, start=1):
        reply.segments.append(pid_segment(number, ids, record.person_xml, with_birth_date=birth))
    return reply


def _parameters(received: Received) -> dict[str, list[str]]:
    """QPD-3 as parameter name -> values (``@PID.5.1.1`` is read as ``@PID.5.1``)."""
    seps = received.er7.separators
    found: dict[str, list[str]] = {}
    for repetition in received.repetitions("QPD", 3):
        ref, _, value = repetition.partition(seps.component)
        field = ref.strip().lstrip("@")
        name = _PDQ_FIELDS.get(field)
        while name is None and field.endswith(".1") and field.count(".") > 1:
            field = field[:-2]
            name = _PDQ_FIELDS.get(field)
        if name is None:
            raise V2Failure("AE", "207", f"query parameter {ref.strip()!r} is not supported",
                            "QPD^1^3")
        if name in _UNSUPPORTED:
            raise V2Failure("AE", "207", f"query parameter {ref.strip()} ({name}) is not "
                            "supported by this supplier", "QPD^1^3")
        text = unescape(value).strip()
        if text:
            found.setdefault(name, []).append(text)
    if not found:
        raise V2Failure("AE", "101", "QPD-3 holds no query parameter", "QPD^1^3")
    return found


def _quantity(received: Received) -> int | None:
    text = received.value("RCP-2.1")
    if not text:
        return None
    if not text.isdigit() or int(text) < 1:
        raise V2Failure("AE", "102", f"RCP-2 quantity {text!r} is not a positive number",
                        "RCP^1^2^1^1")
    return int(text)


def _criteria(parameters: dict[str, list[str]]) -> Criteria:
    family = words(parameters.get("family", []))
    given = words(parameters.get("given", []))
    gender = ""
    if "gender" in parameters:
        gender = V2_GENDER_TO_V3.get(parameters["gender"][0].upper(), "?")
    birth = parameters.get("birth_date", [""])[0]
    address = {local: words(parameters[name]) for name, local in _ADDRESS.items()
               if name in parameters}
    return Criteria(names=({"family": family, "given": given},) if family or given else (),
                    gender=gender, birth_time=birth, address=address or None)


def _id_matches(record: PatientRecord, parameters: dict[str, list[str]]) -> bool:
    """``@PID.3.1`` (and ``@PID.3.4.2``, the id's authority): the patient has such an id."""
    values = parameters.get("id", [])
    roots = parameters.get("id_authority", [])
    if values:
        return all(any(pid.extension == value and (not roots or pid.root in roots)
                       for pid in record.ids) for value in values)
    return not roots or any(pid.root in roots for pid in record.ids)


__all__ = ["feed", "pdq_query", "pix_query"]
