"""HL7 v2 differences are shown as HL7 v2: field references and ER7 text."""

from __future__ import annotations

from ihe_test_util.compare import compare_responses
from ihe_test_util.model import Headers, Response
from ihe_test_util.results import DifferenceKind

HEAD = "MSH|^~\\&|PDQ|HOSP|APP|FAC|20261202100000||RSP^K22^RSP_K21|{id}|P|2.5\r" \
       "MSA|AA|Q1\rQAK|Q1|OK\r"


def er7(text: str, control: str = "1") -> Response:
    return Response(200, "", Headers({"Content-Type": "application/hl7-v2"}),
                    (HEAD.format(id=control) + text).encode())


def test_a_component_change_shows_the_whole_field_once() -> None:
    recorded = er7("PID|1||123^^^HOSP&1.2.3&ISO||Mayer^Hans^^^^^L||19700101|M\r")
    replayed = er7("PID|1||123^^^HOSP&1.2.3&ISO||Meyer^Hanz^^^^^L||19700101|M\r", "2")
    result = compare_responses(recorded, replayed)
    assert [(d.shown_path, d.recorded, d.replayed, d.description)
            for d in result.differences] == [
        ("PID-5", "Mayer^Hans^^^^^L", "Meyer^Hanz^^^^^L",
         "PID-5: Mayer^Hans^^^^^L -> Meyer^Hanz^^^^^L")]


def test_added_repetitions_and_segments_are_er7_text() -> None:
    recorded = er7("PID|1||123^^^HOSP&1.2.3&ISO||Mayer^Hans\r")
    replayed = er7("PID|1||123^^^HOSP&1.2.3&ISO~456^^^LAB&1.2.4&ISO||Mayer^Hans\r"
                   "PID|2||789^^^HOSP&1.2.3&ISO||Smith^Jo\r", "2")
    result = compare_responses(recorded, replayed)
    added = {d.shown_path: d.replayed for d in result.differences
             if d.kind is DifferenceKind.ADDED}
    assert added["PID[2]"] == "PID|2||789^^^HOSP&1.2.3&ISO||Smith^Jo", result.differences
    assert added["PID-3[2]"] == "456^^^LAB&1.2.4&ISO", result.differences
    for difference in result.differences:
        assert "<" not in (difference.recorded or "") + (difference.replayed or "")
