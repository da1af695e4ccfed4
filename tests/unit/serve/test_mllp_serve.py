"""serve for HL7 v2: matching that ignores what a sender makes up per message (the catalogue's
regeneration and noise fields), replies fixed up to echo the new message, ACK AR for a miss."""

from __future__ import annotations

from pathlib import Path

from ihe_test_util.ihe.catalogue import spec_for
from ihe_test_util.ihe.er7 import FieldRef, edit_er7, read_field
from ihe_test_util.model import Headers, Interaction, Request, Response
from ihe_test_util.serve.explain import Explainer
from ihe_test_util.serve.index import PlaybackIndex, RecordedEntry
from ihe_test_util.serve.mllp import ack_text, fix_reply
from ihe_test_util.serve.shape import shape_of

ADT = (b"MSH|^~\\&|HIS|HOSP|PIX|IHE|20260101120000||ADT^A01^ADT_A01|MSG0001|P|2.5\r"
       b"EVN|A01|20260101120000\r"
       b"PID|1||PAT1^^^&1.2.3&ISO^PI||Meyer^Hans||19700101|M\r")
QBP = (b"MSH|^~\\&|HIS|HOSP|PIX|IHE|20260101120000||QBP^Q23^QBP_Q21|MSG0002|P|2.5\r"
       b"QPD|IHE PIX Query|Q0001|PAT1^^^&1.2.3&ISO^PI\rRCP|I\r")
RSP = (b"MSH|^~\\&|PIX|IHE|HIS|HOSP|20260101120001||RSP^K23^RSP_K23|R0002|P|2.5\r"
       b"MSA|AA|MSG0002\rQAK|Q0001|OK\rQPD|IHE PIX Query|Q0001|PAT1^^^&1.2.3&ISO^PI\r"
       b"PID|1||OTH1^^^&1.2.4&ISO^PI\r")


def _shape(body: bytes):  # type: ignore[no-untyped-def]
    return shape_of(Request("MLLP", "mllp://127.0.0.1:2575", Headers(), body))


def _edited(body: bytes, **fields: str) -> bytes:
    return edit_er7(body, [(FieldRef.parse(ref.replace("_", "-")), value)
                           for ref, value in fields.items()])


def test_regenerated_and_noise_fields_do_not_count() -> None:
    recorded = _shape(ADT)
    assert recorded.hl7v2 and recorded.transaction == "ITI-8"
    fresh = _shape(_edited(ADT, MSH_7="20261202101010", MSH_10="X99", EVN_2="20261202101010"))
    assert fresh.key == recorded.key
    query = _shape(QBP)
    assert _shape(_edited(QBP, MSH_10="Z1", QPD_2="QNEW", MSH_7="2027")).key == query.key
    assert _shape(_edited(ADT, PID_5="Meier^Hans")).key != recorded.key
    assert _shape(_edited(QBP, QPD_3="PAT2^^^&1.2.3&ISO^PI")).key != query.key


def test_reply_echoes_the_new_message_and_keeps_the_rest() -> None:
    message = _edited(QBP, MSH_10="NEW-10", QPD_2="NEWTAG")
    reply = fix_reply(RSP, message, spec_for("ITI-9")).decode()
    assert read_field(reply, FieldRef.parse("MSA-2")) == "NEW-10"
    assert read_field(reply, FieldRef.parse("QAK-1")) == "NEWTAG"
    assert read_field(reply, FieldRef.parse("QPD-2")) == "NEWTAG"
    assert read_field(reply, FieldRef.parse("MSH-10")) not in (None, "R0002")
    assert reply.split("\r")[4] == "PID|1||OTH1^^^&1.2.4&ISO^PI"


def test_a_miss_names_the_closest_message_and_the_field() -> None:
    entries = [RecordedEntry(Path("v2.yaml"), number, Interaction(
        Request("MLLP", "mllp://h:1", Headers(), body), Response(200, "OK", Headers(), b"")),
        _shape(body)) for number, body in enumerate((ADT, QBP), start=1)]
    index = PlaybackIndex(entries)
    miss = _shape(_edited(ADT, PID_5="Meier^Hans", MSH_10="N1"))
    assert not index.lookup(miss)
    text = ack_text(Explainer(entries).explain(miss))
    assert text.startswith("ihe serve: no recorded message matches; closest v2.yaml#1 (ITI-8)")
    assert "PID-5.1: recorded 'Meyer', received 'Meier'" in text
