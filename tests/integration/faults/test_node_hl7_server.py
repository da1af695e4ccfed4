"""``ihe replay`` against a real buggy MLLP peer, node-hl7-server 2.5.0 (npm, a separate node
process): on a reused connection it answers the Nth message with N ACKs, the first being the
ACK of the connection's first message. Replay must report that, not hang and not slide the
surplus ACKs onto later messages: the message answered out of step is an ``error`` naming it,
the connection is replaced, and the next message (on a fresh connection, answered once) passes.
"""

from __future__ import annotations

import json
from pathlib import Path

from ihe_test_util.cassette import save_cassette
from ihe_test_util.model import Cassette, Interaction, InteractionMeta, Request
from ihe_test_util.transport.http import TransportOptions
from ihe_test_util.transport.mllp import MLLP_METHOD, MllpTransport

from .mllp_fault_server import control_id
from .node_hl7_server import node_hl7_server
from .test_mllp_faults import RECORDED_AT, adt, ihe

MESSAGES = 6


def test_replay_reports_the_surplus_acks_of_node_hl7_server_and_stays_aligned(
        tmp_path: Path) -> None:
    messages = [adt(f"NODE-{n}") for n in range(1, MESSAGES + 1)]
    with node_hl7_server() as server:
        # the recording: one connection per message, so each got its one ACK
        interactions = []
        for message in messages:
            with MllpTransport(TransportOptions(timeout=10)) as transport:
                reply, elapsed = transport.send(Request(MLLP_METHOD, server.url, body=message))
            msa = [line for line in reply.body.split(b"\r") if line.startswith(b"MSA|")]
            assert msa == [b"MSA|AA|" + control_id(message)]
            interactions.append(Interaction(
                Request(MLLP_METHOD, RECORDED_AT, body=message), reply,
                InteractionMeta(transaction="ITI-8", step=control_id(message).decode(),
                                duration_ms=elapsed)))
        save_cassette(tmp_path / "cassettes" / "node.yaml", Cassette(tuple(interactions)))
        # the replay: one connection for the cassette, as any MLLP client keeps it open
        run = ihe("replay", "cassettes", "--target", server.url, "--timeout", "5",
                  "--report-json", "out/run.json", "--junit", "out/junit.xml",
                  "--markdown", "out/run.md", "--html", "out/run.html", cwd=tmp_path)
    assert run.returncode == 3, run.stdout + run.stderr + "".join(server.log)
    assert "Traceback" not in run.stderr and "internal error" not in run.stderr
    report = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
    outcomes = [item["outcome"] for item in report["exchanges"]]
    # 1st on a connection: one ACK (pass); 2nd: two ACKs, the first answering the 1st message
    # (error, connection replaced); and again on the next connection
    assert outcomes == ["pass", "error"] * (MESSAGES // 2), report["exchanges"]
    for item in report["exchanges"][1::2]:
        error = item["error"]
        assert error["type"] == "MllpFramingError"
        first_line = error["message"].splitlines()[0]
        assert "the reply answers an earlier message" in first_line, first_line
        assert "out of step" in first_line
    for name in ("junit.xml", "run.md", "run.html"):
        assert (tmp_path / "out" / name).is_file()
