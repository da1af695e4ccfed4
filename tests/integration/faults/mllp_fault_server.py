"""A fault-injecting MLLP peer on 127.0.0.1 for the bad-peer tests.

Raw sockets, so every fault is exactly what a broken peer sends. A message is answered by its
``NTE`` segment: ``NTE|1||fault:NAME`` gets the fault ``NAME`` of :data:`MLLP_FAULTS`, any
other message one ACK (``MSA|AA|<MSH-10>|reply to <MSH-10>``), on a connection kept open for
the next message. Nothing here sleeps for a test: a stall waits until the server stops (the
end of the test), a trickle sends one byte per ``trickle_interval`` until the client hangs up,
a late reply comes after ``late_after`` seconds (set above the client's ``--timeout``), so how
long any of them lasts is bounded by the client's timeout.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress

VT, END = b"\x0b", b"\x1c\r"


def control_id(message: bytes) -> bytes:
    msh = message.split(b"\r", 1)[0].split(b"|")
    return msh[9] if len(msh) > 9 else b""


def ack(message: bytes, code: bytes = b"AA") -> bytes:
    """The ACK a good peer sends: MSA-2 the message's MSH-10, MSA-3 naming it (so a reply that
    lands on another exchange differs from that exchange's recording)."""
    ident = control_id(message)
    return (b"MSH|^~\\&|PEER|FAC|SND|FAC|20300101120000||ACK^A01^ACK|ACK-" + ident +
            b"|P|2.5\rMSA|" + code + b"|" + ident + b"|reply to " + ident + b"\r")


def framed(message: bytes) -> bytes:
    return VT + message + END


class _Peer:
    """One client connection and what a fault may do to it."""

    def __init__(self, sock: socket.socket, stop: threading.Event, interval: float,
                 late_after: float) -> None:
        self.sock = sock
        self.stop = stop
        self.interval = interval
        self.late_after = late_after
        self.previous: bytes | None = None  # the message before, on this connection

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def stall(self) -> None:
        """Send nothing more until the server stops."""
        self.stop.wait()

    def trickle(self, data: bytes) -> None:
        for index in range(len(data)):
            if self.stop.wait(self.interval):
                return
            try:
                self.sock.sendall(data[index:index + 1])
            except OSError:
                return


#: What each fault does with the message it got; True keeps serving the connection.
Fault = Callable[[_Peer, bytes], bool]


def _answer_twice(p: _Peer, message: bytes) -> bool:
    p.send(framed(ack(message)) + framed(ack(message, b"AE")))
    return True


def _no_answer(p: _Peer, message: bytes) -> bool:
    p.stall()
    return False


def _close_mid_reply(p: _Peer, message: bytes) -> bool:
    reply = framed(ack(message))
    p.send(reply[: len(reply) // 2])
    return False


def _close_without_reply(p: _Peer, message: bytes) -> bool:
    return False


def _bad_framing(p: _Peer, message: bytes) -> bool:
    p.send(b"HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n")
    return False


def _no_end_block(p: _Peer, message: bytes) -> bool:
    p.send(VT + ack(message))  # the whole message, no <FS><CR>
    p.stall()
    return False


def _stall_mid_reply(p: _Peer, message: bytes) -> bool:
    reply = framed(ack(message))
    p.send(reply[: len(reply) // 2])
    p.trickle(reply[len(reply) // 2:] * 1000)  # never completes within any timeout
    return False


def _late_reply(p: _Peer, message: bytes) -> bool:
    if not p.stop.wait(p.late_after):
        with suppress(OSError):
            p.send(framed(ack(message)))
    return True


def _earlier_ack(p: _Peer, message: bytes) -> bool:
    """Answers with the ACK of the message before (a peer one reply behind)."""
    p.send(framed(ack(p.previous if p.previous is not None else message)))
    return True


MLLP_FAULTS: dict[str, Fault] = {
    "answer-twice": _answer_twice,
    "no-answer": _no_answer,
    "close-mid-reply": _close_mid_reply,
    "close-without-reply": _close_without_reply,
    "bad-framing": _bad_framing,
    "no-end-block": _no_end_block,
    "stall-mid-reply": _stall_mid_reply,
    "late-reply": _late_reply,
    "earlier-ack": _earlier_ack,
}


def fault_of(message: bytes) -> str | None:
    for segment in message.split(b"\r"):
        if segment.startswith(b"NTE|") and b"fault:" in segment:
            return segment.split(b"fault:", 1)[1].decode()
    return None


class MllpFaultServer:
    def __init__(self, trickle_interval: float, late_after: float) -> None:
        self.listener = socket.create_server(("127.0.0.1", 0), backlog=64)
        self.port = self.listener.getsockname()[1]
        self.stop = threading.Event()
        self.interval = trickle_interval
        self.late_after = late_after
        self.received: list[bytes] = []
        self.connections = 0
        self._threads: list[threading.Thread] = []

    @property
    def url(self) -> str:
        return f"mllp://127.0.0.1:{self.port}"

    def serve(self) -> None:
        while not self.stop.is_set():
            try:
                sock, _ = self.listener.accept()
            except OSError:
                return
            self.connections += 1
            thread = threading.Thread(target=self._connection, args=(sock,), daemon=True)
            self._threads.append(thread)
            thread.start()

    def _connection(self, sock: socket.socket) -> None:
        peer = _Peer(sock, self.stop, self.interval, self.late_after)
        buffer = b""
        with sock:
            while not self.stop.is_set():
                try:
                    chunk = sock.recv(65536)
                except OSError:
                    return
                if not chunk:
                    return
                buffer += chunk
                while END in buffer:
                    raw, buffer = buffer.split(END, 1)
                    message = raw.lstrip(b"\r\n").removeprefix(VT)
                    self.received.append(message)
                    fault = fault_of(message)
                    try:
                        keep = (MLLP_FAULTS[fault](peer, message) if fault is not None
                                else _good(peer, message))
                    except OSError:
                        return
                    peer.previous = message
                    if not keep:
                        return


def _good(p: _Peer, message: bytes) -> bool:
    p.send(framed(ack(message)))
    return True


@contextmanager
def mllp_fault_server(trickle_interval: float = 0.2,
                      late_after: float = 2.0) -> Iterator[MllpFaultServer]:
    server = MllpFaultServer(trickle_interval, late_after)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.stop.set()
        with suppress(OSError):
            server.listener.shutdown(socket.SHUT_RDWR)  # wakes the accept() under way
        server.listener.close()
        thread.join(timeout=10)
        for worker in server._threads:
            worker.join(timeout=10)
