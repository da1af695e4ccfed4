"""The comparer on HL7 v2 query responses: patients in another order pass; dropped ones and
changed codes are verdicts."""

from __future__ import annotations

import re
from pathlib import Path

from ihe_test_util.compare import compare_responses
from ihe_test_util.model import Response
from ihe_test_util.results import Outcome
from tests.conftest import corpus_file


def response(body: bytes) -> Response:
    return Response(status=200, reason="OK", body=body)


def groups(relative: str) -> tuple[bytes, list[bytes], bytes]:
    """Head (up to the first PID), the patient groups, and the tail (DSC)."""
    data = corpus_file(relative).read_bytes()
    head, _, rest = data.partition(b"\rPID|")
    parts = [b"PID|" + part for part in rest.split(b"\rPID|")]
    last, _, tail = parts[-1].partition(b"\rDSC|")
    parts[-1] = last
    return head + b"\r", parts, (b"DSC|" + tail) if tail else b""


def renumbered(parts: list[bytes]) -> bytes:
    """Groups joined with PID-1 set ids 1..n in their new order."""
    return b"\r".join(re.sub(rb"^PID\|\d+\|", b"PID|%d|" % (i + 1), p)
                      for i, p in enumerate(parts))


def compare(recorded: bytes, replayed: bytes, transaction: str = "ITI-21") -> object:
    return compare_responses(response(recorded), response(replayed), transaction=transaction)


def test_pdq_patients_in_another_order_pass() -> None:
    for relative in ("ITI-21/ok-1_Response.hl7", "ITI-21/PDQ_Response.hl7",
                     "ITI-21/msg-11.hl7", "ITI-21/PDQ_with_PID4_Response.hl7"):
        head, parts, tail = groups(relative)
        recorded = head + renumbered(parts) + (b"\r" + tail if tail else b"\r")
        replayed = head + renumbered(parts[::-1]) + (b"\r" + tail if tail else b"\r")
        result = compare(recorded, replayed)
        assert result.outcome is Outcome.PASS, (relative, result.differences)


def test_a_dropped_patient_is_a_regression_naming_the_count() -> None:
    head, parts, tail = groups("ITI-21/ok-1_Response.hl7")
    recorded = head + renumbered(parts) + b"\r" + tail
    replayed = head + renumbered(parts[1:][::-1]) + b"\r" + tail
    result = compare(recorded, replayed)
    assert result.outcome is Outcome.REGRESSION
    assert result.verdict_recorded["result_count"] == 9
    assert result.verdict_replayed["result_count"] == 8


def test_a_changed_patient_in_another_order_is_named_by_its_field() -> None:
    head, parts, tail = groups("ITI-21/ok-1_Response.hl7")
    recorded = head + renumbered(parts) + b"\r" + tail
    changed = [parts[0].replace(b"Beckenbauer^Michael", b"Beckenbauer^Franz"), *parts[1:]]
    replayed = head + renumbered(changed[::-1]) + b"\r" + tail
    result = compare(recorded, replayed)
    assert result.outcome is Outcome.CHANGED
    assert [d.path for d in result.differences] == ["/HL7v2/PID[1]/PID.5/PID.5.2"]


def test_pid3_repetitions_are_a_set() -> None:
    data = corpus_file("ITI-21/PDQ_Maximal_Query_Response.hl7").read_bytes()
    first = b"305013^^^ABCD&2.16.840.1.113883.3.37.4.1.1.2.2.1&ISO"
    second = b"234234243^^^HZLN&2.16.840.1.113883.3.37.4.1.1.2.411.1&ISO"
    swapped = data.replace(first + b"~" + second, second + b"~" + first)
    assert swapped != data
    assert compare(data, swapped).outcome is Outcome.PASS


def test_qak2_and_msa1_are_verdicts() -> None:
    data = corpus_file("ITI-9/ok-1_Response.hl7").read_bytes()
    nf = data.replace(b"|OK\r", b"|NF\r", 1)
    assert compare(data, nf, "ITI-9").outcome is Outcome.REGRESSION
    ae = data.replace(b"MSA|AA|", b"MSA|AE|")
    assert compare(data, ae, "ITI-9").outcome is Outcome.REGRESSION


def test_ihe_diff_passes_a_pdq_answer_in_another_order(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ihe_test_util.cli.main import cli

    head, parts, tail = groups("ITI-21/ok-1_Response.hl7")
    recorded, replayed = tmp_path / "recorded.hl7", tmp_path / "replayed.hl7"
    recorded.write_bytes(head + renumbered(parts) + b"\r" + tail)
    replayed.write_bytes(head + renumbered(parts[3:] + parts[:3]) + b"\r" + tail)
    result = CliRunner().invoke(cli, ["--no-color", "diff", str(recorded), str(replayed)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    dropped = tmp_path / "dropped.hl7"
    dropped.write_bytes(head + renumbered(parts[1:]) + b"\r" + tail)
    result = CliRunner().invoke(cli, ["--no-color", "diff", str(recorded), str(dropped)],
                                env={"COLUMNS": "200"})
    assert result.exit_code == 1 and "result_count" in result.output
