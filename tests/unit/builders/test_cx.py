"""One patient-id type and one CX grammar: examples, round trips, and the corpus's real ids."""

from __future__ import annotations

import re
from dataclasses import astuple
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st
from lxml import etree

from ihe_test_util.errors import UsageError, XmlInputError
from ihe_test_util.ihe import vocabulary
from ihe_test_util.ihe.builders import PatientId as BuilderPatientId
from ihe_test_util.ihe.cx import PatientId, escape, format_cx, parse_cx, unescape
from ihe_test_util.safexml import parse_xml
from ihe_test_util.sim import store as sim_store

OID = "1.3.6.1.4.1.21367.2005.3.7"


def test_builders_and_simulator_share_the_one_type() -> None:
    assert BuilderPatientId is PatientId
    assert sim_store.PatientId is PatientId  # the store imports it, defines no copy


def test_field_order_is_extension_then_root() -> None:
    pid = PatientId("P-1", OID, "HIMSS2005")
    assert (pid.extension, pid.root, pid.assigning_authority_name) == ("P-1", OID, "HIMSS2005")
    assert pid.cx() == f"P-1^^^&{OID}&ISO"
    assert format_cx(pid, namespace=True) == f"P-1^^^HIMSS2005&{OID}&ISO"


def test_the_authority_name_is_a_label_not_identity() -> None:
    assert PatientId("P-1", OID, "A") == PatientId("P-1", OID, "B") == PatientId("P-1", OID)
    assert len({PatientId("P-1", OID, "A"), PatientId("P-1", OID)}) == 1
    assert PatientId("P-1", OID) != PatientId("P-1", "1.2.3")


def test_user_input_is_checked_received_input_is_kept() -> None:
    with pytest.raises(UsageError, match="not an OID"):
        PatientId("1", "ACME")
    with pytest.raises(UsageError, match="needs a value"):
        PatientId("", OID)
    assert PatientId("1", "ACME", check=False).root == "ACME"
    with pytest.raises(UsageError, match="not an OID"):
        PatientId.parse("1^^^&ACME&ISO")


@pytest.mark.parametrize(("text", "expected"), [
    ("123^^^&1.2.3&ISO", ("123", "1.2.3", None)),
    ("  123^^^&1.2.3&ISO \n", ("123", "1.2.3", None)),
    ("79653^^^HZLN&2.16.840.1.113883.3.37&ISO^PI", ("79653", "2.16.840.1.113883.3.37", "HZLN")),
    ("000-00-0000^^^&2.16.840.1.113883.4.1&ISO^SS", ("000-00-0000", "2.16.840.1.113883.4.1",
                                                    None)),
    ("A\\T\\B^^^&1.2&ISO", ("A&B", "1.2", None)),
    ("a^^^&1.2&ISO&extra", ("a", "1.2", None)),
])
def test_lenient_on_what_systems_send(text: str, expected: tuple[str, str, str | None]) -> None:
    parsed = parse_cx(text)
    assert parsed is not None and astuple(parsed) == expected


@pytest.mark.parametrize("text", [
    "SR7", "SR7^^^fj34r", "SR7^^^&1.2.260&L", "SR7^^^&1.2.260", "^^^&1.2&ISO", 'SR7^^^&&ISO',
    '""^^^&2.71&ISO', "'593603^^^&2.16.756&ISO''%20and%20611%3d611--%20",
    "13^^^&amp;2.16.578&amp;ISO",
])
def test_strict_where_it_must_be(text: str) -> None:
    assert parse_cx(text) is None


def test_the_xds_rule_refuses_other_components() -> None:
    assert parse_cx("SR7^^^&1.2.260&ISO", strict=True) == PatientId("SR7", "1.2.260")
    assert parse_cx("SR7^^^NS&1.2.260&ISO^^", strict=True) == PatientId("SR7", "1.2.260")
    assert parse_cx("79653^^^HZLN&1.2&ISO^PI", strict=True) is None
    assert parse_cx("79653^5^M10^&1.2&ISO", strict=True) is None
    assert parse_cx("79653^5^M10^&1.2&ISO") == PatientId("79653", "1.2")


def test_root_pipe_id_form_for_users() -> None:
    assert PatientId.parse("1.2.3|123") == PatientId("123", "1.2.3")
    with pytest.raises(UsageError, match="CX"):
        PatientId.parse("just-an-id")


_TEXT = st.text(st.characters(blacklist_categories=("Cs",)), min_size=1, max_size=20).filter(
    lambda value: value == value.strip() and value != '""')
_OIDS = st.lists(st.integers(0, 10**6), min_size=1, max_size=8).map(
    lambda arcs: "1." + ".".join(map(str, arcs)))


@given(extension=_TEXT, root=_OIDS, name=st.none() | _TEXT)
def test_parse_format_round_trip(extension: str, root: str, name: str | None) -> None:
    original = PatientId(extension, root, name)
    parsed = parse_cx(format_cx(original, namespace=True))
    assert parsed is not None and astuple(parsed) == astuple(original)
    without_name = parse_cx(original.cx(), strict=True)
    assert without_name is not None
    assert astuple(without_name) == (extension, root, None)


@given(st.text(st.characters(blacklist_categories=("Cs",)), max_size=30))
def test_escape_round_trip(text: str) -> None:
    escaped = escape(text)
    assert not re.search(r"[|^~&]", escaped)
    assert unescape(escaped) == text


# -- the real corpus ------------------------------------------------------------------------

_PATIENT_SCHEMES = {vocabulary.DOCUMENT_ENTRY_PATIENT_ID, vocabulary.SUBMISSION_SET_PATIENT_ID,
                    vocabulary.FOLDER_PATIENT_ID}
_PATIENT_SLOTS = {"$XDSDocumentEntryPatientId", "$XDSSubmissionSetPatientId",
                  "$XDSFolderPatientId"}
# Independent of the parser: a CX with only CX.1 and CX.4 (namespace optional, OID, ISO).
_XDS_CX = re.compile(r"(?P<id>[^^&\\]+)\^\^\^(?P<ns>[^&^]*)&(?P<root>[0-2](\.\d+)+)&ISO")


def _xds_patient_ids(corpus: Path) -> list[str]:
    found: list[str] = []
    for path in sorted(corpus.rglob("*.xml")):
        try:
            root = parse_xml(path.read_bytes(), source=str(path))
        except XmlInputError:
            continue
        for element in root.iter(etree.Element):
            local = etree.QName(element).localname
            if local == "ExternalIdentifier" and (
                    element.get("identificationScheme") in _PATIENT_SCHEMES):
                found.append(element.get("value") or "")
            elif local == "Slot" and element.get("name") in _PATIENT_SLOTS:
                found.extend((value.text or "").strip().strip("'")
                             for value in element.iter("{*}Value"))
    return found


def test_every_xds_patient_id_in_the_corpus(corpus: Path) -> None:
    values = _xds_patient_ids(corpus)
    assert len(values) > 40
    parsed_count = 0
    for value in values:
        shape = _XDS_CX.fullmatch(value.strip())
        parsed = parse_cx(value, strict=True)
        if shape is None:
            assert parsed is None, value
            continue
        parsed_count += 1
        assert parsed is not None, value
        assert astuple(parsed) == (shape["id"], shape["root"], shape["ns"] or None)
        assert format_cx(parsed, namespace=True) == value.strip()
    assert parsed_count > 40


def test_every_pid3_repetition_in_the_corpus(corpus: Path) -> None:
    repetitions = [
        repetition
        for path in sorted(corpus.rglob("*"))
        if path.is_file() and path.suffix in (".hl7", ".txt")
        for segment in re.split(r"\r\n|\r|\n", path.read_text("utf-8", "replace"))
        if segment.startswith("PID|") and segment.count("|") > 3
        for repetition in segment.split("|")[3].split("~")
    ]
    with_authority = [r for r in repetitions if "&ISO" in r and not r.startswith('""')]
    assert len(with_authority) > 10
    for repetition in with_authority:
        parsed = parse_cx(repetition)
        assert parsed is not None, repetition
        assert repetition.startswith(f"{parsed.extension}^")
        assert f"&{parsed.root}&ISO" in repetition
        assert parsed.cx().split("^")[0] == repetition.split("^")[0]
