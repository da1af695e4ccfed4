"""``ihe replay --target mllp://...`` end to end: an ITI-8 feed and an ITI-21 query recorded
from python-hl7's MLLP server, replayed through the real CLI against a fresh one."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ihe_test_util.cassette import load_cassette, save_cassette
from ihe_test_util.model import Cassette, Interaction, InteractionMeta, Request
from ihe_test_util.transport.mllp import MLLP_METHOD, MllpTransport

from ...conftest import corpus_file
from ..mllp_peer import Hl7Peer
from .test_replay_cli import ihe, validate

pytestmark = pytest.mark.corpus
RECORDED_AT = "mllp://pix.example:2575"


def message(relative: str) -> bytes:
    """A corpus message with CR segment separators, as it goes on the wire."""
    text = corpus_file(relative).read_bytes().replace(b"\r\n", b"\r").replace(b"\n", b"\r")
    return text.rstrip(b"\r") + b"\r"


@pytest.fixture
def cassette(tmp_path: Path) -> Path:
    """Two MLLP exchanges recorded from an accepting peer, stored under another host."""
    sent = [("ITI-8", "feed", message("ITI-8/A01.hl7")),
            ("ITI-21", "query", message("ITI-21/PDQ_ID_Query.hl7"))]
    interactions = []
    with Hl7Peer() as peer, MllpTransport() as transport:
        for transaction, step, body in sent:
            request = Request(method=MLLP_METHOD, uri=peer.url, body=body)
            response, elapsed = transport.send(request)
            interactions.append(Interaction(
                request.evolve(uri=RECORDED_AT), response,
                InteractionMeta(transaction=transaction, step=step, duration_ms=elapsed)))
    path = tmp_path / "cassettes" / "pix-pdq-v2.yaml"
    path.parent.mkdir()
    save_cassette(path, Cassette(tuple(interactions)))
    return path


def test_cassette_keeps_one_segment_per_line_and_exact_bytes(cassette: Path) -> None:
    text = cassette.read_text(encoding="utf-8")
    assert "uri: mllp://pix.example:2575" in text
    assert "\n      EVN|A01|" in text  # a segment starts a line of the file
    loaded = load_cassette(cassette).interactions
    assert loaded[0].request.body == message("ITI-8/A01.hl7")
    assert loaded[1].response.body.startswith(b"MSH|^~\\&|")


def test_cassette_loads_in_vcrpy_with_the_exact_bodies(cassette: Path) -> None:
    from vcr.serialize import deserialize
    from vcr.serializers import yamlserializer

    requests, responses = deserialize(cassette.read_text(encoding="utf-8"), yamlserializer)
    assert [r.method for r in requests] == ["MLLP", "MLLP"]
    assert requests[0].uri == RECORDED_AT
    assert requests[0].body == message("ITI-8/A01.hl7")
    assert responses[1]["body"]["string"] == load_cassette(cassette).interactions[1].response.body


def replay(cassette: Path, *targets: str, expect_exit: int) -> list[dict[str, Any]]:
    """``ihe replay CASSETTE --target TARGET...`` through the CLI; the report's exchanges."""
    report = cassette.parent.parent / "run.json"
    options = [option for target in targets for option in ("--target", target)]
    result = ihe("replay", str(cassette), *options, "--report-json", str(report))
    assert result.returncode == expect_exit, result.stdout + result.stderr
    exchanges = validate(report)["exchanges"]
    assert isinstance(exchanges, list)
    return exchanges


def test_replay_against_a_peer_answering_the_same_passes(cassette: Path) -> None:
    with Hl7Peer() as peer:
        exchanges = replay(cassette, peer.url, expect_exit=0)
        received = list(peer.received)
    assert [e["outcome"] for e in exchanges] == ["pass", "pass"]
    assert [e["request"] for e in exchanges] == [
        {"method": "MLLP", "recorded_uri": RECORDED_AT, "replayed_uri": peer.url}] * 2
    assert [e["transaction"] for e in exchanges] == ["ITI-8", "ITI-21"]
    assert [r.split("\r")[0].split("|")[8] for r in received] == ["ADT^A01", "QBP^Q22^QBP_Q21"]


def test_replay_against_a_peer_answering_ae_is_a_regression(cassette: Path) -> None:
    with Hl7Peer(ack_code="AE") as peer:
        exchanges = replay(cassette, peer.url, expect_exit=1)
    assert [e["outcome"] for e in exchanges] == ["regression", "regression"]
    rules = [{(d["path"], d["recorded"], d["replayed"], d["rule"]) for d in e["differences"]}
             for e in exchanges]
    assert ("/HL7v2/MSA/MSA.1", "AA", "AE", "ITI-8 verdict msa_code") in rules[0]
    assert ("/HL7v2/QAK/QAK.2", "OK", "AE", "ITI-21 verdict query_response_code") in rules[1]


def test_replay_to_a_closed_port_is_an_error_per_exchange(cassette: Path) -> None:
    from ..transport_servers import free_port

    exchanges = replay(cassette, f"mllp://127.0.0.1:{free_port()}", expect_exit=3)
    assert [e["outcome"] for e in exchanges] == ["error", "error"]
    assert exchanges[0]["error"]["type"] == "EndpointUnreachable"


def test_a_cassette_with_http_and_mllp_exchanges_replays_each_over_its_own_transport(
    cassette: Path,
) -> None:
    from ihe_test_util.transport.http import HttpTransport

    from ..transport_servers import base_url, serve

    def status(body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        return 200, [("Content-Type", "application/json")], b'{"status": "up"}'

    feed, query = load_cassette(cassette).interactions
    with serve(routes={"status": status}) as server, HttpTransport() as http:
        probe = Request(method="GET", uri=f"{base_url(server)}/status")
        response, _ = http.send(probe)
        recorded = Interaction(probe.evolve(uri="http://app.example:8080/status"), response)
        save_cassette(cassette, Cassette((feed, recorded, query)))
        with Hl7Peer() as peer:
            exchanges = replay(cassette, base_url(server), peer.url, expect_exit=0)
    assert [e["outcome"] for e in exchanges] == ["pass"] * 3
    assert [e["request"]["replayed_uri"] for e in exchanges] == [
        peer.url, f"{base_url(server)}/status", peer.url]
