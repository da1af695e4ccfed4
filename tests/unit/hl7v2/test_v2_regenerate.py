"""Replay regeneration of HL7 v2 requests: MSH-7, MSH-10 and QPD-2 fresh, nothing else."""

from __future__ import annotations

import datetime as dt
import uuid

from ihe_test_util.ihe.catalogue import regeneration_rules
from ihe_test_util.ihe.er7 import FieldRef, read_field
from ihe_test_util.ihe.identifiers import IdGenerator
from ihe_test_util.ihe.idmap import IdMap, RunSpace
from ihe_test_util.ihe.regenerate import apply_id_map, regenerate_request
from ihe_test_util.ihe.specs import ValueKind
from ihe_test_util.model import Request
from ihe_test_util.transport.mllp import MLLP_METHOD
from tests.conftest import corpus_file


def ids() -> IdGenerator:
    counter = iter(range(1, 10_000))
    return IdGenerator(clock=lambda: dt.datetime(2031, 2, 3, 4, 5, 6, tzinfo=dt.timezone.utc),
                       uuid_factory=lambda: uuid.UUID(int=next(counter) * 7919))


def request(relative: str) -> Request:
    body = corpus_file(relative).read_bytes().replace(b"\r\n", b"\r").replace(b"\n", b"\r")
    return Request(method=MLLP_METHOD, uri="mllp://127.0.0.1:2575", body=body)


def test_catalogue_declares_the_v2_fields() -> None:
    assert [r.xpath for r in regeneration_rules("ITI-8")] == ["MSH-7", "MSH-10"]
    assert [r.xpath for r in regeneration_rules("ITI-21")] == ["MSH-7", "MSH-10", "QPD-2"]
    assert [r.xpath for r in regeneration_rules("ITI-9")] == ["MSH-7", "MSH-10", "QPD-2"]
    assert regeneration_rules("ITI-9")[2].kind is ValueKind.HL7V2_ID


def test_a_query_gets_fresh_msh7_msh10_and_query_tag_and_keeps_every_other_byte() -> None:
    recorded = request("ITI-21/PDQ_ID_Query.hl7")
    id_map = IdMap(ids())
    fresh = regenerate_request(recorded, id_map)
    assert fresh.transaction == "ITI-21"
    text, old = fresh.request.body.decode(), recorded.body.decode()
    changed = {str(c.location): (c.old, c.new) for c in fresh.changes}
    assert set(changed) == {"MSH-7", "MSH-10", "QPD-2"}
    assert changed["MSH-7"] == ("20070428150301", "20310203040506")
    for ref, (before, after) in changed.items():
        assert read_field(text, FieldRef.parse(ref)) == after
        assert len(after) <= 20 and after != before
        old = old.replace(f"|{before}|", f"|{after}|", 1)
    assert text == old  # nothing else moved: separators, encoding characters, terminators
    assert id_map.items()["18204@1.2.840.114350.1.13.28.1.18.5.999"] == changed["QPD-2"][1]


def test_values_are_consistent_within_a_cassette_and_fresh_across_replays() -> None:
    recorded = request("ITI-8/A01.hl7")
    id_map = IdMap(ids())
    first = regenerate_request(recorded, id_map).request.body
    assert regenerate_request(recorded, id_map).request.body == first
    assert regenerate_request(recorded, IdMap()).request.body != first


def test_letter_prefix_of_a_query_tag_is_kept() -> None:
    body = (b"MSH|^~\\&|A|B|C|D|20200101||QBP^Q23^QBP_Q21|MSG42|P|2.5\r"
            b"QPD|IHE PIX Query|QRY10501108|79471^^^HZLN^PI\rRCP|I\r")
    fresh = regenerate_request(Request(MLLP_METHOD, "mllp://h:1", body=body), IdMap(ids()))
    tag = read_field(fresh.request.body.decode(), FieldRef.parse("QPD-2"))
    assert tag is not None and tag.startswith("QRY") and tag != "QRY10501108"
    control = read_field(fresh.request.body.decode(), FieldRef.parse("MSH-10"))
    assert control is not None and control.startswith("MSG") and len(control) == 12


def test_apply_id_map_substitutes_global_values_in_er7() -> None:
    id_map = IdMap(ids(), space=RunSpace(1))  # the run created the patient (a v3 feed)
    id_map.fresh("79471", ValueKind.PATIENT_ID, creates=True)
    body = b"MSH|^~\\&|A|B|C|D|20200101||QBP^Q23|1|P|2.5\rQPD|Q|T|79471^^^HZLN^PI\r"
    applied = apply_id_map(Request(MLLP_METHOD, "mllp://h:1", body=body), id_map)
    assert b"79471-R" in applied.body and b"|79471^" not in applied.body
