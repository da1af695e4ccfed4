from __future__ import annotations

from ihe_test_util.ihe.builders import (
    PatientDemographics,
    PatientId,
    PersonName,
    ccd_entry,
    iti41_provide_and_register,
    iti44_add,
    iti44_revise,
)
from ihe_test_util.ihe.idmap import IdMap
from ihe_test_util.ihe.regenerate import regenerate_request

PATIENT = PatientDemographics(ids=(PatientId("FRESH-1", "1.2.3.4"),),
                              name=PersonName("Doe", ("Jo",)), gender="F",
                              birth_date="19800101")


def test_added_patients_get_new_ids_used_by_later_requests() -> None:
    id_map = IdMap()
    add = iti44_add(PATIENT).to_request("http://127.0.0.1/pix")
    submit = iti41_provide_and_register(PATIENT.primary_id, [ccd_entry(PATIENT)]).to_request(
        "http://127.0.0.1/xds")
    new_add = regenerate_request(add, id_map, fresh_patients=True).request
    new_id = id_map.get("FRESH-1")
    assert new_id is not None and new_id != "FRESH-1"
    assert new_id.encode() in new_add.body and b'extension="FRESH-1"' not in new_add.body
    new_submit = regenerate_request(submit, id_map, fresh_patients=True).request
    assert f"{new_id}^^^&amp;1.2.3.4&amp;ISO".encode() in new_submit.body


def test_without_the_option_patient_ids_stay() -> None:
    id_map = IdMap()
    add = iti44_add(PATIENT).to_request("http://127.0.0.1/pix")
    assert b'extension="FRESH-1"' in regenerate_request(add, id_map).request.body
    assert id_map.get("FRESH-1") is None


def test_revise_is_not_a_new_patient() -> None:
    id_map = IdMap()
    revise = iti44_revise(PATIENT).to_request("http://127.0.0.1/pix")
    body = regenerate_request(revise, id_map, fresh_patients=True).request.body
    assert b'extension="FRESH-1"' in body
