"""The one MLLP server: messages of a connection in order, one session per connection, a
message in hand answered before stop() closes the connections, junk closes only its
connection."""

from __future__ import annotations

import socket
import threading
from typing import ClassVar

import pytest

from ihe_test_util.errors import TransportError
from ihe_test_util.model import Request
from ihe_test_util.transport.mllp import MLLP_METHOD, MllpTransport
from ihe_test_util.transport.mllp_server import MllpServer

MESSAGE = b"MSH|^~\\&|A|B|C|D|20300101||ADT^A01|{n}|P|2.5\r"


class Counting:
    """Answers each message with its number on this connection."""

    opened: ClassVar[list[Counting]] = []

    def __init__(self, gate: threading.Event | None = None,
                 arrived: threading.Event | None = None) -> None:
        self.count = 0
        self.closed = False
        self.gate = gate
        self.arrived = arrived
        Counting.opened.append(self)

    def handle(self, message: bytes) -> bytes:
        self.count += 1
        if self.arrived is not None:
            self.arrived.set()
        if self.gate is not None:
            self.gate.wait(timeout=30)
        return message.replace(b"ADT^A01", b"ACK^A01") + b"MSA|AA|%d\r" % self.count

    def close(self) -> None:
        self.closed = True


def send(transport: MllpTransport, url: str, n: int) -> bytes:
    request = Request(MLLP_METHOD, url, body=MESSAGE.replace(b"{n}", str(n).encode()))
    return transport.send(request)[0].body


def test_one_session_per_connection_messages_in_order() -> None:
    Counting.opened.clear()
    with MllpServer(lambda peer: Counting()) as server:
        with MllpTransport() as first, MllpTransport() as second:
            replies = [send(first, server.url, 1), send(first, server.url, 2),
                       send(second, server.url, 3), send(first, server.url, 4)]
    assert [r.rsplit(b"|", 1)[1] for r in replies] == [b"1\r", b"2\r", b"1\r", b"3\r"]
    assert len(Counting.opened) == 2 and all(s.closed for s in Counting.opened)


def test_stop_lets_a_message_in_hand_get_its_reply() -> None:
    gate, arrived = threading.Event(), threading.Event()
    server = MllpServer(lambda peer: Counting(gate, arrived)).start()
    replies: list[bytes] = []

    def client() -> None:
        with MllpTransport() as transport:
            replies.append(send(transport, server.url, 1))

    thread = threading.Thread(target=client)
    thread.start()
    assert arrived.wait(timeout=30)
    stopper = threading.Thread(target=server.stop)
    stopper.start()
    gate.set()
    stopper.join(timeout=30)
    thread.join(timeout=30)
    assert replies and replies[0].endswith(b"MSA|AA|1\r")
    with pytest.raises(TransportError), MllpTransport() as transport:
        send(transport, server.url, 2)  # stopped: nothing listens


def test_junk_closes_only_that_connection() -> None:
    with MllpServer(lambda peer: Counting()) as server:
        port = int(server.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as rude:
            rude.sendall(b"GET / HTTP/1.1\r\n\r\n")
            assert rude.recv(100) == b""  # closed without an answer
        with MllpTransport() as transport:
            assert send(transport, server.url, 1).endswith(b"MSA|AA|1\r")
