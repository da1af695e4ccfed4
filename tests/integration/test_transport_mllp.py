"""MLLP transport against real sockets on 127.0.0.1: python-hl7's server, and scripted raw peers
that misbehave (junk, a reply cut off, oversize, a second reply, no reply at all)."""

from __future__ import annotations

import socket
import ssl
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ihe_test_util.errors import (
    EndpointTimeout,
    EndpointUnreachable,
    MllpFramingError,
    TlsError,
    TransportError,
)
from ihe_test_util.model import Request
from ihe_test_util.transport.http import TransportOptions
from ihe_test_util.transport.mllp import MLLP_METHOD, MllpTransport, frame

from .mllp_peer import Hl7Peer
from .transport_servers import free_port, make_pki, tls_context

ADT = (b"MSH|^~\\&|SND|FAC|RCV|FAC|20100716125745||ADT^A01|371601|P^T|2.3.1\r"
       b"EVN|A01|20100716125745\rPID|1||306563^^^MPI||Bob^Barker\r")
ACK = b"MSH|^~\\&|RCV|FAC|SND|FAC|20240101||ACK^A01|9|P|2.3.1\rMSA|AA|371601\r"


def request(url: str, body: bytes = ADT) -> Request:
    return Request(method=MLLP_METHOD, uri=url, body=body)


#: what a scripted peer does after reading one framed message: returns False to stop serving
Script = Callable[[socket.socket], bool]


@contextmanager
def raw_peer(*scripts: Script, context: ssl.SSLContext | None = None) -> Iterator[str]:
    """Accepts connections; for each message received runs the next script. Holds a connection
    open (never replying) until the test ends when a script returns False."""
    listener = socket.create_server(("127.0.0.1", 0))
    port = listener.getsockname()[1]
    done = threading.Event()
    todo = list(scripts)

    def serve() -> None:
        while todo:
            try:
                conn, _ = listener.accept()
            except OSError:
                return
            if context is not None:
                try:
                    conn = context.wrap_socket(conn, server_side=True)
                except (ssl.SSLError, OSError):
                    conn.close()
                    return
            with conn:
                buffer = b""
                while todo:
                    chunk = conn.recv(65536)
                    if not chunk:
                        break
                    buffer += chunk
                    while b"\x1c\r" in buffer and todo:
                        _, buffer = buffer.split(b"\x1c\r", 1)
                        if not todo.pop(0)(conn):
                            done.wait()
                            return

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"mllp{'s' if context else ''}://127.0.0.1:{port}"
    finally:
        done.set()
        listener.close()
        thread.join()


def answer(data: bytes) -> Script:
    def script(conn: socket.socket) -> bool:
        conn.sendall(data)
        return True
    return script


def hang_up(data: bytes) -> Script:
    def script(conn: socket.socket) -> bool:
        conn.sendall(data)
        conn.shutdown(socket.SHUT_WR)
        return True
    return script


def never_answer(conn: socket.socket) -> bool:
    return False


def test_round_trip_with_python_hl7_server_many_messages_one_connection() -> None:
    with Hl7Peer() as peer, MllpTransport(TransportOptions(timeout=10)) as transport:
        replies = [transport.send(request(peer.url))[0] for _ in range(3)]
    assert len(peer.received) == 3
    assert peer.received[0].replace("\r", "\n").strip() == ADT.decode().replace("\r", "\n").strip()
    for reply in replies:
        assert reply.body.startswith(b"MSH|^~\\&|RCV|FAC|SND|FAC|")
        assert b"\rMSA|AA|371601" in reply.body
        assert not reply.body.startswith(b"\x0b") and not reply.body.endswith(b"\x1c\r")


def test_reply_bytes_kept_exactly_and_split_reads_joined() -> None:
    def trickle(conn: socket.socket) -> bool:
        data = frame(ACK)
        for i in range(0, len(data), 7):  # the end block split across two segments
            conn.sendall(data[i:i + 7])
        return True

    with raw_peer(trickle, answer(b"\n" + frame(ACK))) as url, MllpTransport() as transport:
        assert transport.send(request(url))[0].body == ACK
        assert transport.send(request(url))[0].body == ACK  # LF between frames tolerated


def test_line_end_after_a_reply_keeps_the_connection_usable_for_a_large_message() -> None:
    large = ADT + b"NTE|1||" + b"x" * 2_000_000 + b"\r"
    with raw_peer(answer(frame(ACK) + b"\r\n"), answer(frame(ACK))) as url, \
            MllpTransport() as transport:
        assert transport.send(request(url))[0].body == ACK
        assert transport.send(request(url, large))[0].body == ACK


def test_junk_before_start_block_is_a_framing_error() -> None:
    with raw_peer(answer(b"HTTP/1.1 400 Bad Request\r\n\r\n")) as url, \
            MllpTransport() as transport, \
            pytest.raises(MllpFramingError, match="does not begin with the start block"):
        transport.send(request(url))


def test_peer_closing_mid_message_is_a_framing_error() -> None:
    with raw_peer(hang_up(b"\x0b" + ACK[:20])) as url, MllpTransport() as transport, \
            pytest.raises(MllpFramingError, match="closed the connection in the middle"):
        transport.send(request(url))


def test_peer_closing_without_reply_is_a_transport_error() -> None:
    with raw_peer(hang_up(b"")) as url, MllpTransport() as transport, \
            pytest.raises(TransportError, match="without replying"):
        transport.send(request(url))


def test_oversized_reply_is_bounded() -> None:
    with raw_peer(answer(b"\x0b" + b"A" * 5000)) as url, \
            MllpTransport(max_message_bytes=1000) as transport, \
            pytest.raises(MllpFramingError, match="exceeds 1000 bytes"):
        transport.send(request(url))


def test_peer_that_never_answers_times_out_at_the_deadline() -> None:
    with raw_peer(never_answer) as url, \
            MllpTransport(TransportOptions(timeout=0.2)) as transport, \
            pytest.raises(EndpointTimeout, match=r"no complete reply within 0\.2 s"):
        transport.send(request(url))


def test_second_reply_is_never_taken_for_the_next_message() -> None:
    twice = answer(frame(ACK) + frame(ACK.replace(b"AA", b"AE")))
    with raw_peer(twice, answer(frame(ACK))) as url, MllpTransport() as transport:
        assert transport.send(request(url))[0].body == ACK
        with pytest.raises(MllpFramingError, match="nobody asked for"):
            transport.send(request(url))
        # a fresh connection: the next message gets its own reply
        assert transport.send(request(url))[0].body == ACK


def test_reply_answering_an_earlier_message_is_out_of_step() -> None:
    second = ADT.replace(b"|371601|", b"|371602|")
    # the peer answers the second message with the first one's ACK again (a late duplicate)
    with raw_peer(answer(frame(ACK)), answer(frame(ACK)), answer(frame(ACK))) as url, \
            MllpTransport() as transport:
        assert transport.send(request(url))[0].body == ACK
        with pytest.raises(MllpFramingError, match=r"answers an earlier message .*'371601'"):
            transport.send(request(url, second))
        # not an error without an earlier message of that id on the (new) connection
        assert transport.send(request(url, second))[0].body == ACK


def test_connection_refused() -> None:
    with MllpTransport() as transport, pytest.raises(EndpointUnreachable, match="cannot connect"):
        transport.send(request(f"mllp://127.0.0.1:{free_port()}"))


def test_mllps_with_ca_and_client_certificate(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    server = tls_context(pki, require_client_cert=True)
    options = TransportOptions(verify=str(pki.ca), cert=str(pki.client_cert),
                               key=str(pki.client_key))
    with raw_peer(answer(frame(ACK)), context=server) as url, MllpTransport(options) as transport:
        assert url.startswith("mllps://")
        assert transport.send(request(url))[0].body == ACK


def test_mllps_untrusted_server_is_a_tls_error(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    with raw_peer(answer(frame(ACK)), context=tls_context(pki)) as url, \
            MllpTransport(TransportOptions(verify=str(pki.other_ca))) as transport, \
            pytest.raises(TlsError, match="TLS handshake failed"):
        transport.send(request(url))
