"""HL7 v2 feeds in the run's identity space: the catalogue's ITI-8 / ITI-21 identity rules
applied to the example cassette's messages (recorded from @medplum/hl7)."""

from __future__ import annotations

from ihe_test_util.cassette import load_cassette
from ihe_test_util.ihe.catalogue import regeneration_rules
from ihe_test_util.ihe.er7 import FieldRef, read_field
from ihe_test_util.ihe.idmap import IdMap, RunSpace, marker_of
from ihe_test_util.ihe.regenerate import regenerate_request
from ihe_test_util.ihe.specs import ValueKind
from ihe_test_util.model import Request
from tests.conftest import REPO_ROOT

CASSETTE = REPO_ROOT / "examples" / "cassettes" / "pix-pdq-v2.yaml"


def _requests() -> dict[str, Request]:
    cassette = load_cassette(CASSETTE)
    return {i.meta.step or "": i.request for i in cassette.interactions}


def _field(request: Request, ref: str) -> str | None:
    return read_field(request.body.decode(), FieldRef.parse(ref))


def test_the_catalogue_declares_the_v2_identity_rules() -> None:
    rules = regeneration_rules("ITI-8", fresh_patients=True)
    creating = {(r.xpath, r.kind) for r in rules if r.creates}
    assert ("PID-3[1].1", ValueKind.PATIENT_ID) in creating
    assert ("PID-5.1.1", ValueKind.FAMILY_NAME) in creating
    assert ("PID-7.1", ValueKind.BIRTH_DATE) in creating
    assert all(r.messages == ("ADT^A01", "ADT^A04", "ADT^A05") for r in rules if r.creates)
    assert not regeneration_rules("ITI-8", fresh_patients=False)[2:]  # serve never blanks them
    assert {r.kind for r in regeneration_rules("ITI-21", fresh_patients=True)[3:]} == {
        ValueKind.FAMILY_NAME, ValueKind.BIRTH_DATE}


def test_a_registered_patient_is_the_runs_in_every_later_message() -> None:
    sent = _requests()
    space = RunSpace(0x1234ABCD)
    id_map = IdMap(space=space)
    admit = regenerate_request(sent["admit Hans"], id_map).request
    assert _field(admit, "PID-3[1].1") == "PAT3001-R1234ABCD"
    assert _field(admit, "PID-3[2].1") == "OTH3001-R1234ABCD"
    assert marker_of(_field(admit, "PID-3[1]") or "") == space.label
    family = _field(admit, "PID-5.1")
    assert family is not None and family.endswith("-Meyer") and family != "Meyer"
    born = _field(admit, "PID-7") or ""
    assert born != "19700101" and born[4:] == "0101"
    assert _field(admit, "PID-5.2") == "Hans" and _field(admit, "PID-8") == "M"

    anna = regenerate_request(sent["admit Anna"], id_map).request
    update = regenerate_request(sent["update Anna"], id_map).request  # A08: the run's Anna
    for field in ("PID-3[1].1", "PID-5.1", "PID-7"):
        assert _field(update, field) == _field(anna, field)
    assert _field(update, "PID-5.3") == "Maria"

    pix = regenerate_request(sent["other ids of Hans"], IdMap(space=space)).request  # ITI-9
    assert _field(pix, "QPD-3.1") == "PAT3001-R1234ABCD"
    pdq = regenerate_request(sent["find the Meyers"], id_map).request  # ITI-21
    assert _field(pdq, "QPD-3.2") == family
    assert _field(pdq, "QPD-3.1") == "@PID.5.1"


def test_an_update_of_a_patient_the_run_did_not_register_is_sent_as_recorded() -> None:
    update = _requests()["update Anna"]
    fresh = regenerate_request(update, IdMap(space=RunSpace(7)))
    assert {c.location for c in fresh.changes} == {"MSH-7", "MSH-10"}
    for field in ("PID-3", "PID-5", "PID-7"):
        assert _field(fresh.request, field) == _field(update, field)


def test_a_query_parameter_of_another_field_is_not_varied() -> None:
    space = RunSpace(9)
    id_map = IdMap(space=space)
    regenerate_request(_requests()["admit Hans"], id_map)
    body = _requests()["find the Meyers"].body.replace(
        b"@PID.5.1^Meyer", b"@PID.5.1^Meyer~@PID.8^M~@PID.7^19700101~@PID.5.2^Hans")
    pdq = regenerate_request(_requests()["find the Meyers"].evolve(body=body), id_map).request
    assert _field(pdq, "QPD-3[1].2") == f"{space.varied(ValueKind.FAMILY_NAME)['Meyer']}"
    assert _field(pdq, "QPD-3[2].2") == "M"
    assert _field(pdq, "QPD-3[3].2") == space.varied(ValueKind.BIRTH_DATE)["19700101"]
    assert _field(pdq, "QPD-3[4].2") == "Hans"


def test_without_fresh_patients_nothing_of_the_patient_changes() -> None:
    admit = _requests()["admit Hans"]
    fresh = regenerate_request(admit, IdMap(space=RunSpace(3)), fresh_patients=False)
    assert {c.location for c in fresh.changes} == {"MSH-7", "MSH-10"}
