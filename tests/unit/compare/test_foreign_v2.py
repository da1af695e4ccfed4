"""HL7 v2 query results judged against this run's patients: PID groups of earlier replays are
set aside (with their QAK hit counts), a PDQ by values no cassette of the run varied is worded."""

from __future__ import annotations

from ihe_test_util.compare.foreign import aside_note, has_foreign, isolation_note, set_aside
from ihe_test_util.ihe.er7 import parse_er7

MINE, OTHER = "1234ABCD", "0000BEEF"
_MSH = "MSH|^~\\&|PDQ|IHE|HIS|HOSPITAL|20261202105441||{type}|1|P|2.5"


def _k22(*ids: str) -> bytes:
    groups = [f"PID|{n}||{pid}^^^&1.2.3&ISO^PI||Meyer^Hans||19700101|M\rQRI|100"
              for n, pid in enumerate(ids, 1)]
    return "\r".join([_MSH.format(type="RSP^K22^RSP_K21"), "MSA|AA|Q1",
                      f"QAK|Q1|OK||{len(ids)}|{len(ids)}|0", "QPD|IHE PDQ Query|Q1|@PID.5.1^Meyer",
                      *groups]).encode()


def test_pid_groups_of_earlier_replays_are_set_aside() -> None:
    root = parse_er7(_k22(f"PAT1-R{MINE}", f"PAT1-R{OTHER}", "PAT9"))
    assert has_foreign(root, MINE, frozenset())
    aside = set_aside(root, MINE, frozenset())
    assert [(a.what, a.origin) for a in aside] == [("PID", f"run {OTHER}")]
    kept = [pid.findtext("PID.3/PID.3.1") for pid in root.iterchildren("PID")]
    assert kept == [f"PAT1-R{MINE}", "PAT9"]  # unknown origin still counts
    assert root.findtext("QAK/QAK.4") == "2" and root.findtext("QAK/QAK.5") == "2"
    note = aside_note(aside)
    assert note is not None and f"1 PID of earlier replays (run {OTHER})" in note


def test_an_ack_has_no_result_objects() -> None:
    ack = parse_er7(f"{_MSH.format(type='ACK^A01^ACK')}\rMSA|AA|1".encode())
    assert not has_foreign(ack, MINE, frozenset())


def test_a_pdq_by_fixed_demographics_that_grew_is_worded() -> None:
    request = parse_er7(("\r".join([_MSH.format(type="QBP^Q22^QBP_Q21"),
                                     "QPD|IHE PDQ Query|Q1|@PID.5.1^Meyer~@PID.8^M",
                                     "RCP|I"])).encode())
    note = isolation_note(request, request, {"result_count": 1}, {"result_count": 3})
    assert note is not None
    assert "QPD-3 parameters Meyer, M" in note and "ITI-8 A01/A04/A05" in note
    assert isolation_note(request, request, {"result_count": 3}, {"result_count": 3}) is None
