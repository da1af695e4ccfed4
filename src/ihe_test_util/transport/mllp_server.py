"""The one MLLP server: a listener on ``host:port``, a thread per client connection, framed
messages in, framed replies out (the recording proxy runs on it; serve and the simulator's v2
actors can too).

Each connection gets its own :class:`MllpSession` from the ``open_session`` factory, so state
that belongs to one client connection (the recording proxy's one upstream connection) lives
there. Messages of one connection are handled in order, one at a time: MLLP has no request
ids, so a reply is only attributable by its place in the stream. Frames are read with the
client's :class:`~ihe_test_util.transport.mllp.FrameReader` (same framing rules, same size
bound). A client that sends bytes that are not a frame, or closes in the middle of one, loses
its connection; the server goes on.
"""

from __future__ import annotations

import contextlib
import logging
import socket
import ssl
import threading
import time
from collections.abc import Callable
from types import TracebackType
from typing import Protocol, TypeVar

from ihe_test_util.errors import EndpointTimeout, TransportError, UsageError
from ihe_test_util.transport.mllp import MAX_MESSAGE_BYTES, FrameReader, frame

logger = logging.getLogger("ihe_test_util.transport.mllp_server")

#: Seconds a client connection may stay idle between messages before it is closed.
DEFAULT_IDLE_TIMEOUT = 60.0
ServerT = TypeVar("ServerT", bound="MllpServer")


class MllpSession(Protocol):
    """What the server does with the messages of one client connection."""

    def handle(self, message: bytes) -> bytes | None:
        """The reply to ``message`` (without framing), or None to send nothing."""

    def close(self) -> None:
        """The client connection ended (release what the session holds)."""


class MllpServer:
    """``with MllpServer(lambda peer: MySession()) as server: server.url`` (``mllp://``)."""

    port_hint = "choose another port (0 picks a free one)"

    def __init__(self, open_session: Callable[[tuple[str, int]], MllpSession], *,
                 host: str = "127.0.0.1", port: int = 0,
                 idle_timeout: float = DEFAULT_IDLE_TIMEOUT,
                 max_message_bytes: int = MAX_MESSAGE_BYTES,
                 tls: ssl.SSLContext | None = None) -> None:
        self.open_session = open_session
        self.host = host
        self.port = port
        self.idle_timeout = idle_timeout
        self.max_message_bytes = max_message_bytes
        self.tls = tls
        self._listener: socket.socket | None = None
        self._accepting: threading.Thread | None = None
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._busy: set[socket.socket] = set()  # connections with a message in hand

    @property
    def url(self) -> str:
        scheme = "mllps" if self.tls is not None else "mllp"
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{scheme}://{host}:{self.port}"

    def start(self: ServerT) -> ServerT:
        if self._listener is not None:
            return self
        try:
            listener = socket.create_server((self.host, self.port), reuse_port=False)
        except OSError as exc:
            raise UsageError(f"cannot listen on {self.host}:{self.port}: "
                             f"{exc.strerror or exc}", hint=self.port_hint) from None
        listener.settimeout(0.1)
        self._listener = listener
        self.port = int(listener.getsockname()[1])
        self._stopping.clear()
        self._accepting = threading.Thread(target=self._accept_loop, daemon=True,
                                           name=f"mllp-accept:{self.port}")
        self._accepting.start()
        return self

    def stop(self, *, drain_timeout: float = 5.0) -> None:
        """Stop accepting; a message being handled gets its reply (up to ``drain_timeout``
        s); then every connection is closed."""
        listener = self._listener
        if listener is None:
            return
        self._stopping.set()
        if self._accepting is not None:
            self._accepting.join(timeout=5)
        listener.close()
        self._listener = None
        deadline = time.monotonic() + drain_timeout
        with self._lock:
            idle = [s for s in self._connections if s not in self._busy]
        for sock in idle:
            _shutdown(sock)
        while time.monotonic() < deadline:
            with self._lock:
                if not self._busy:
                    break
            time.sleep(0.01)
        with self._lock:
            remaining = list(self._connections.items())
        for sock, _ in remaining:
            _shutdown(sock)
        for _, thread in remaining:
            thread.join(timeout=2)

    def __enter__(self: ServerT) -> ServerT:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self.stop()

    def _accept_loop(self) -> None:
        listener = self._listener
        assert listener is not None
        while not self._stopping.is_set():
            try:
                sock, peer = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            thread = threading.Thread(target=self._serve, args=(sock, peer), daemon=True,
                                      name=f"mllp-conn:{peer[1]}")
            with self._lock:
                self._connections[sock] = thread
            thread.start()

    def _serve(self, sock: socket.socket, peer: tuple[str, int]) -> None:
        session: MllpSession | None = None
        conn = sock
        try:
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if self.tls is not None:
                conn = self.tls.wrap_socket(sock, server_side=True)
            session = self.open_session(peer)
            reader = FrameReader(conn, f"mllp://{peer[0]}:{peer[1]}",
                                 max_bytes=self.max_message_bytes)
            while not self._stopping.is_set():
                try:
                    message = reader.read_frame(time.monotonic() + self.idle_timeout,
                                                self.idle_timeout)
                except EndpointTimeout:
                    return  # idle too long
                except TransportError as exc:
                    if reader.buffer.strip(b"\r\n"):
                        logger.info("MLLP client %s: %s", peer, exc.message)
                    return
                with self._lock:
                    self._busy.add(sock)
                try:
                    reply = session.handle(message)
                    if reply is not None:
                        conn.sendall(frame(reply))
                finally:
                    with self._lock:
                        self._busy.discard(sock)
        except (OSError, ssl.SSLError) as exc:
            logger.info("MLLP client %s: connection lost: %s", peer, exc)
        finally:
            if session is not None:
                try:
                    session.close()
                except Exception:  # a session's cleanup never takes the server down
                    logger.exception("closing the MLLP session of %s failed", peer)
            try:
                conn.close()
            finally:
                with self._lock:
                    self._connections.pop(sock, None)
                    self._busy.discard(sock)


def _shutdown(sock: socket.socket) -> None:
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)


__all__ = ["DEFAULT_IDLE_TIMEOUT", "MllpServer", "MllpSession"]
