"""ER7 field references and edits: one field changes, every other byte stays."""

from __future__ import annotations

import pytest

from ihe_test_util.ihe.er7 import (
    Er7Error,
    FieldRef,
    edit_er7,
    parse_er7,
    read_field,
    replace_field,
)
from tests.conftest import corpus_file

ADT = ("MSH|^~\\&|SEND|FAC|RECV|FAC|20200101120000||ADT^A01^ADT_A01|MSG0001|P|2.5|||\r"
       "EVN|A01|20200101\r"
       "PID|1||79^^^H&1.2&ISO~88^^^K&2.3&ISO||Doe^John||19700101|M|||||\r")


@pytest.mark.parametrize(("text", "expected"), [
    ("MSH-10", FieldRef("MSH", 10)),
    ("PID-3[2].1", FieldRef("PID", 3, repetition=2, component=1)),
    ("PID[2]-5.1", FieldRef("PID", 5, occurrence=2, component=1)),
    ("PID-3.4.2", FieldRef("PID", 3, component=4, subcomponent=2)),
    ("MSA-1", FieldRef("MSA", 1)),
])
def test_references_parse_and_print_back(text: str, expected: FieldRef) -> None:
    assert FieldRef.parse(text) == expected
    assert FieldRef.parse(str(expected)) == expected


@pytest.mark.parametrize("bad", ["PID", "PID-0", "pid-3", "PID-3.", "PID-3[0]", "MSH-x"])
def test_bad_references_say_how_to_write_one(bad: str) -> None:
    with pytest.raises(Er7Error, match="MSH-10"):
        FieldRef.parse(bad)


@pytest.mark.parametrize(("ref", "value"), [
    ("MSH-1", "|"), ("MSH-2", "^~\\&"), ("MSH-9.2", "A01"), ("MSH-10", "MSG0001"),
    ("PID-3", "79^^^H&1.2&ISO"), ("PID-3[2].1", "88"), ("PID-3[2].4.2", "2.3"),
    ("PID-5.2", "John"), ("PID-3[3]", None), ("ZZZ-1", None), ("PID-13", ""),
])
def test_read_field(ref: str, value: str | None) -> None:
    assert read_field(ADT, FieldRef.parse(ref)) == value


def test_replacing_a_field_keeps_every_other_byte() -> None:
    edited = replace_field(ADT, FieldRef.parse("MSH-10"), "X9")
    assert edited == ADT.replace("|MSG0001|", "|X9|")
    edited = replace_field(ADT, FieldRef.parse("PID-3[2].4.2"), "9.9.9")
    assert edited == ADT.replace("K&2.3&ISO", "K&9.9.9&ISO")


def test_missing_parts_are_added_with_empty_separators() -> None:
    edited = replace_field("MSH|^~\\&|A\nPID|1\n", FieldRef.parse("PID-3[2].4.2"), "1.2")
    assert edited == "MSH|^~\\&|A\nPID|1||~^^^&1.2\n"


def test_separators_come_from_msh() -> None:
    text = "MSH#*!\\$#A#B\rPID#1##7*!8*X$Y\r"
    assert read_field(text, FieldRef.parse("PID-3[2].2.1")) == "X"
    assert replace_field(text, FieldRef.parse("PID-3[2].2.2"), "Z") == text.replace("Y", "Z")


def test_a_missing_segment_or_the_separators_cannot_be_replaced() -> None:
    with pytest.raises(Er7Error, match="no QPD segment"):
        replace_field(ADT, FieldRef.parse("QPD-2"), "x")
    with pytest.raises(Er7Error, match="separators"):
        replace_field(ADT, FieldRef.parse("MSH-2"), "^~")


def test_latin1_messages_are_edited_byte_exactly() -> None:
    data = (ADT.replace("Doe^John", "M\xfcller^J\xf6rg")).encode("latin-1")
    edited = edit_er7(data, [(FieldRef.parse("MSH-10"), "NEW1")])
    assert edited == data.replace(b"MSG0001", b"NEW1")


def test_query_response_patients_are_groups() -> None:
    root = parse_er7(corpus_file("ITI-21/ok-1_Response.hl7").read_bytes())
    patients = root.findall("PID")
    assert len(patients) == 9
    assert [len(p.findall("QRI")) for p in patients] == [1] * 9
    assert root.find("DSC") is not None and root.find("DSC").getparent() is root
    feed = parse_er7(ADT.encode())
    assert [child.tag for child in feed] == ["MSH", "EVN", "PID"]
