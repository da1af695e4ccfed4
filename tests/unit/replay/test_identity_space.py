"""The run's identity space: patients a run creates get this run's ids and demographics, the
same way in every cassette of the run; ids the harness generates carry the run's marker."""

from __future__ import annotations

import uuid

from ihe_test_util.ihe.builders import (
    PatientDemographics,
    PatientId,
    PersonName,
    ccd_entry,
    iti41_provide_and_register,
    iti44_add,
    iti44_revise,
    iti47_query,
    iti55_discovery,
)
from ihe_test_util.ihe.idmap import IdMap, RunSpace, marker_of
from ihe_test_util.ihe.regenerate import regenerate_request
from ihe_test_util.ihe.specs import ValueKind

PATIENT = PatientDemographics(ids=(PatientId("FRESH-1", "1.2.3.4"),),
                              name=PersonName("Doe", ("Jo",)), gender="F",
                              birth_date="19800101")
OTHER = PatientDemographics(ids=(PatientId("KNOWN-7", "1.2.3.4"),),
                            name=PersonName("Known", ("Al",)), gender="M",
                            birth_date="19700202")


def test_added_patients_get_this_runs_ids_used_by_later_requests() -> None:
    space = RunSpace(0x1234ABCD)
    id_map = IdMap(space=space)
    add = iti44_add(PATIENT).to_request("http://127.0.0.1/pix")
    submit = iti41_provide_and_register(PATIENT.primary_id, [ccd_entry(PATIENT)]).to_request(
        "http://127.0.0.1/xds")
    new_add = regenerate_request(add, id_map).request
    assert id_map.get("FRESH-1") == "FRESH-1-R1234ABCD"
    assert b'extension="FRESH-1-R1234ABCD"' in new_add.body
    assert b'extension="FRESH-1"' not in new_add.body
    new_submit = regenerate_request(submit, id_map).request
    assert b"FRESH-1-R1234ABCD^^^&amp;1.2.3.4&amp;ISO" in new_submit.body
    assert marker_of("FRESH-1-R1234ABCD^^^&1.2.3.4&ISO") == "1234ABCD"


def test_another_cassette_of_the_run_uses_the_same_patient() -> None:
    space = RunSpace(7)
    regenerate_request(iti44_add(PATIENT).to_request("http://h/pix"), IdMap(space=space))
    later = IdMap(space=space)  # the next cassette: it does not feed the patient itself
    query = iti47_query(PatientDemographics(name=PersonName("Do*"), birth_date="1980"))
    body = regenerate_request(query.to_request("http://h/pdq"), later).request.body
    family = space.varied(ValueKind.FAMILY_NAME)["Doe"]
    assert family.endswith("-Doe") and family != "Doe"
    assert f"<family>{family[:-3]}Do*</family>".encode() in body  # wildcard keeps its prefix
    assert b'value="1980"' not in body
    assert later.items()["FRESH-1"] == "FRESH-1-R00000007"  # the comparer maps it back


def test_xcpd_query_for_a_created_patient_asks_for_this_runs_demographics() -> None:
    space = RunSpace(99)
    id_map = IdMap(space=space)
    regenerate_request(iti44_add(PATIENT).to_request("http://h/pix"), id_map)
    query = iti55_discovery(PATIENT, home_community_id="1.2.3")
    body = regenerate_request(query.to_request("http://h/xcpd"), id_map).request.body
    born = id_map.items()["19800101"]
    assert born != "19800101" and born.endswith("0101") and f'value="{born}"'.encode() in body
    assert b">Doe<" not in body


def test_patients_the_run_did_not_create_stay_as_recorded() -> None:
    space = RunSpace(5)
    id_map = IdMap(space=space)
    regenerate_request(iti44_add(PATIENT).to_request("http://h/pix"), id_map)
    revise = regenerate_request(iti44_revise(OTHER).to_request("http://h/pix"), id_map)
    assert b'extension="KNOWN-7"' in revise.request.body and b">Known<" in revise.request.body
    query = iti47_query(PatientDemographics(name=PersonName("Known")))
    assert b">Known<" in regenerate_request(query.to_request("http://h/pdq"),
                                            id_map).request.body


def test_without_a_space_patient_ids_stay() -> None:
    id_map = IdMap()
    add = iti44_add(PATIENT).to_request("http://127.0.0.1/pix")
    assert b'extension="FRESH-1"' in regenerate_request(add, id_map).request.body
    assert id_map.get("FRESH-1") is None


def test_approved_ids_are_not_marked_twice() -> None:
    space = RunSpace(0xFF)
    id_map = IdMap(space=space)
    marked = PatientDemographics(ids=(PatientId("P-9-R0A0B0C0D", "1.2.3.4"),),
                                 name=PersonName("QWERT-Doe"), gender="F")
    regenerate_request(iti44_add(marked).to_request("http://h/pix"), id_map)
    assert id_map.get("P-9-R0A0B0C0D") == "P-9-R000000FF"
    assert id_map.get("QWERT-Doe") is not None and "QWERT" not in str(id_map.get("QWERT-Doe"))


def test_generated_ids_carry_the_run_marker() -> None:
    space = RunSpace(0xCAFE0001)
    other = RunSpace(0xCAFE0002)
    fresh = space.ids.uuid()
    assert uuid.UUID(fresh).version == 8
    assert marker_of(fresh) == "CAFE0001" and marker_of(f"urn:uuid:{fresh.upper()}") == "CAFE0001"
    oid = space.ids.oid()
    assert oid.startswith("2.25.") and marker_of(oid) == "CAFE0001" and space.owns(oid)
    assert not other.owns(oid)
    assert marker_of(str(uuid.uuid4())) is None  # version 4: never the harness's
    assert marker_of("2.25.1234") is None and marker_of("1.2.3.4") is None


def test_a_value_replaced_at_its_rule_path_is_stale_only_in_that_path_family() -> None:
    from ihe_test_util.compare.identifiers import ValueMap
    from ihe_test_util.ihe.idmap import ValueRoles

    values = ValueMap(ValueRoles({"1.2.3.4": "2.25.9", "1.2.3.99": "2.25.8"},
                                 {"1.2.3.4": frozenset({"*/id/@root"})}))
    assert values.stale("1.2.3.4", lambda: "device/id/@root") is None  # an unchanged device
    assert values.stale("1.2.3.4", lambda: "*/id/@root") == "2.25.9"
    assert values.stale("1.2.3.99", lambda: "anything/at/@all") == "2.25.8"  # replaced everywhere


def test_the_patient_id_inside_a_submitted_document_follows_with_hash_and_size() -> None:
    import hashlib

    from ihe_test_util.ihe.message import read_uncached
    from ihe_test_util.ihe.namespaces import RIM, XDSB, XOP

    space = RunSpace(0xABCDEF01)
    id_map = IdMap(space=space)
    regenerate_request(iti44_add(PATIENT).to_request("http://h/pix"), id_map)
    submit = iti41_provide_and_register(PATIENT.primary_id, [ccd_entry(PATIENT)]).to_request(
        "http://h/xds")
    message = read_uncached(regenerate_request(submit, id_map).request, "sent")
    assert message.root is not None
    document = next(message.root.iter(f"{{{XDSB}}}Document"))
    include = document.find(f"{{{XOP}}}Include")
    if include is not None:
        assert message.mime is not None
        cid = (include.get("href") or "").removeprefix("cid:")
        content = next(p.content for p in message.mime.attachments
                       if (p.content_id or "").strip("<>") == cid)
    else:
        import base64
        content = base64.b64decode(document.text or "")
    assert b'extension="FRESH-1-RABCDEF01"' in content  # CDA recordTarget/patientRole/id
    slots = {slot.get("name"): slot.findtext(f"{{{RIM}}}ValueList/{{{RIM}}}Value")
             for slot in message.root.iter(f"{{{RIM}}}Slot")}
    assert slots["hash"] == hashlib.sha1(content, usedforsecurity=False).hexdigest()
    assert slots["size"] == str(len(content))
    assert id_map.items().get("FRESH-1") == "FRESH-1-RABCDEF01"
