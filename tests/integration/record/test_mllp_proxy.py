"""The MLLP recording proxy in-process: one upstream connection per client connection, each
exchange on disk before the client has its reply, and upstream failures answered with an ACK
AR / AE that is reported and never recorded (an AE the upstream sent is recorded)."""

from __future__ import annotations

import socket
import threading
from pathlib import Path

from ihe_test_util.cassette import load_cassette
from ihe_test_util.cassette.store import CassetteWriter
from ihe_test_util.ihe.builders.hl7v2 import iti8_feed, iti21_query
from ihe_test_util.ihe.builders.patients import PatientDemographics, PatientId, PersonName
from ihe_test_util.ihe.er7 import FieldRef, read_field
from ihe_test_util.model import CassetteMeta, Request
from ihe_test_util.record.mllp_proxy import MllpRecordingProxy
from ihe_test_util.record.proxy import ProxyEvent, ProxyExchange, ProxyFailure
from ihe_test_util.transport.http import TransportOptions
from ihe_test_util.transport.mllp import MLLP_METHOD, MllpTransport

from ..mllp_peer import Hl7Peer
from ..transport_servers import free_port

PATIENT = PatientDemographics(ids=(PatientId("PAT2001", "1.2.3.4"),),
                              name=PersonName("Muster", ("Max",)))


def writer(tmp_path: Path) -> CassetteWriter:
    return CassetteWriter(tmp_path / "c.yaml", CassetteMeta(name="c"))


def field(reply: bytes, ref: str) -> str | None:
    return read_field(reply.decode(), FieldRef.parse(ref))


def test_each_message_is_on_disk_before_its_reply_and_one_upstream_connection_per_client(
        tmp_path: Path) -> None:
    events: list[ProxyEvent] = []
    with Hl7Peer() as peer:
        cassette = writer(tmp_path)
        with MllpRecordingProxy(peer.url, cassette, on_event=events.append) as proxy:
            on_disk: list[int] = []
            with MllpTransport() as client:
                for message in [iti8_feed(PATIENT), iti21_query({"family": "Muster"}),
                                iti8_feed(PATIENT, event="A08")]:
                    reply, _ = client.send(message.to_request(proxy.url))
                    on_disk.append(len(load_cassette(tmp_path / "c.yaml").interactions))
                    assert field(reply.body, "MSA-2") == message.values["messageControlId"]
            with MllpTransport() as second_client:
                second_client.send(iti8_feed(PATIENT).to_request(proxy.url))
    assert on_disk == [1, 2, 3]
    assert peer.connections == 2  # two client connections, two upstream connections
    interactions = load_cassette(tmp_path / "c.yaml").interactions
    assert [i.request.uri for i in interactions] == [peer.url] * 4
    assert [i.meta.transaction for i in interactions] == ["ITI-8", "ITI-21", "ITI-8", "ITI-8"]
    assert all(isinstance(e, ProxyExchange) for e in events)


def test_an_unreachable_upstream_gets_the_client_an_ack_ar_naming_it_and_nothing_recorded(
        tmp_path: Path) -> None:
    events: list[ProxyEvent] = []
    upstream = f"mllp://127.0.0.1:{free_port()}"
    cassette = writer(tmp_path)
    with MllpRecordingProxy(upstream, cassette, on_event=events.append,
                            options=TransportOptions(timeout=5)) as proxy, \
            MllpTransport() as client:
        message = iti8_feed(PATIENT)
        reply, _ = client.send(message.to_request(proxy.url))
        again, _ = client.send(iti8_feed(PATIENT).to_request(proxy.url))  # still serving
    assert field(reply.body, "MSA-1") == "AR"
    assert field(reply.body, "MSA-2") == message.values["messageControlId"]
    assert upstream in (field(reply.body, "MSA-3") or "")
    assert field(reply.body, "ERR-3.1") == "207"
    assert field(reply.body, "MSH-9") == "ACK^A01^ACK"
    assert field(again.body, "MSA-1") == "AR"
    assert proxy.failures == 2 and proxy.recorded == 0
    failures = [e for e in events if isinstance(e, ProxyFailure)]
    assert len(failures) == 2 and "ACK AR" in failures[0].message
    assert not (tmp_path / "c.yaml").exists() or not load_cassette(
        tmp_path / "c.yaml").interactions


def test_an_upstream_that_closes_without_replying_gets_an_ack_ae_then_the_proxy_goes_on(
        tmp_path: Path) -> None:
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]

    def rude() -> None:  # reads the first message, closes without a reply
        conn, _ = listener.accept()
        conn.recv(65536)
        conn.close()

    thread = threading.Thread(target=rude, daemon=True)
    thread.start()
    events: list[ProxyEvent] = []
    with MllpRecordingProxy(f"mllp://127.0.0.1:{port}", writer(tmp_path),
                            on_event=events.append) as proxy, MllpTransport() as client:
        reply, _ = client.send(iti8_feed(PATIENT).to_request(proxy.url))
    thread.join(timeout=10)
    listener.close()
    assert field(reply.body, "MSA-1") == "AE"
    assert "closed the connection without replying" in (field(reply.body, "MSA-3") or "")
    assert proxy.recorded == 0


def test_an_ae_the_upstream_sent_is_recorded_as_such(tmp_path: Path) -> None:
    with Hl7Peer(ack_code="AE") as peer, \
            MllpRecordingProxy(peer.url, writer(tmp_path)) as proxy, \
            MllpTransport() as client:
        reply, _ = client.send(Request(MLLP_METHOD, proxy.url, body=iti8_feed(PATIENT).body))
    assert field(reply.body, "MSA-1") == "AE"
    (recorded,) = load_cassette(tmp_path / "c.yaml").interactions
    assert recorded.response.body == reply.body


def test_an_mllp_proxy_takes_exactly_one_upstream(tmp_path: Path) -> None:
    from click.testing import CliRunner

    from ihe_test_util.cli.main import cli

    for upstreams, says in ((["mllp://127.0.0.1:2575", "http://127.0.0.1:8080"],
                             "exactly one --upstream"),
                            (["mllp://:2575"], "is not an MLLP URL")):
        args = ["--no-color", "record", "--proxy", "127.0.0.1:0", "--cassette",
                str(tmp_path / "c.yaml")]
        for upstream in upstreams:
            args += ["--upstream", upstream]
        result = CliRunner().invoke(cli, args, env={"COLUMNS": "200"})
        assert result.exit_code == 2, result.output
        assert says in result.stdout + result.stderr
    assert not (tmp_path / "c.yaml").exists()
