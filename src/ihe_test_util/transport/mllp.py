"""Sending one HL7v2 message over MLLP (``mllp://`` / ``mllps://``) and reading its one reply.

MLLP wraps each message as ``<VT> message <FS><CR>``. A cassette stores the message *without*
that framing (CLI contract, "Version 1.1 additions"), so :class:`MllpTransport` adds it on the
way out and removes it on the way in; the bytes between the blocks are kept exactly.

The framing is written here, small and synchronous, rather than taken from python-hl7: its
``hl7.mllp`` streams are asyncio-only, and its blocking ``hl7.client.MLLPClient`` returns
whatever one ``recv`` gives (no end-block search, no timeouts, no size bound), which cannot tell
a cut-off reply from a whole one. python-hl7 serves the test suite as an independent peer.

A reply must be attributed to the message it answers: any byte the peer sends that is not the
one reply being waited for (a second reply, a late reply after a timeout, junk) is an error and
the connection is dropped, so it can never be taken for the reply to a later message.
"""

from __future__ import annotations

import select
import socket
import ssl
import time
import weakref
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ihe_test_util.errors import (
    EndpointTimeout,
    EndpointUnreachable,
    MllpFramingError,
    TlsError,
    TransportError,
    UsageError,
)
from ihe_test_util.model import Headers, Request, Response
from ihe_test_util.transport.http import TransportOptions, warn_insecure

START_BLOCK = b"\x0b"
END_BLOCK = b"\x1c\r"
#: ``request.method`` of an MLLP exchange in a cassette (vcrpy needs one; HTTP never uses it).
MLLP_METHOD = "MLLP"
#: ``response.status`` of an MLLP reply in a cassette: MLLP has no status, vcrpy needs one.
MLLP_STATUS = 200
MLLP_REASON = "OK"
SCHEMES = ("mllp", "mllps")
#: The IANA port of HL7 over MLLP, used when a URL names none.
DEFAULT_PORT = 2575
#: The largest reply accepted: bounds memory against a peer that never sends the end block.
MAX_MESSAGE_BYTES = 16 * 1024 * 1024
_READ_CHUNK = 64 * 1024
_REMEMBERED_IDS = 64  # control ids of the last messages on a connection
_BETWEEN_FRAMES = b"\r\n"  # tolerated before a start block (some peers end frames with LF)


@dataclass(frozen=True)
class MllpAddress:
    """Where an ``mllp(s)://host:port`` URL points."""

    host: str
    port: int
    tls: bool

    @classmethod
    def parse(cls, url: str) -> MllpAddress:
        parts = urlsplit(url)
        if parts.scheme.lower() not in SCHEMES or not parts.hostname:
            raise UsageError(f"{url!r} is not an MLLP URL", hint="write it as mllp://host:port "
                             "or mllps://host:port")
        try:
            port = parts.port or DEFAULT_PORT
        except ValueError:
            raise UsageError(f"{url!r} has an invalid port") from None
        return cls(parts.hostname, port, parts.scheme.lower() == "mllps")


def frame(message: bytes) -> bytes:
    """``message`` wrapped for the wire."""
    return START_BLOCK + message + END_BLOCK


class FrameReader:
    """Reads whole frames from one connection; keeps what arrived after a frame's end."""

    def __init__(self, sock: socket.socket, url: str, *,
                 max_bytes: int = MAX_MESSAGE_BYTES) -> None:
        self.sock = sock
        self.url = url
        self.max_bytes = max_bytes
        self.buffer = bytearray()

    def read_frame(self, deadline: float, timeout: float) -> bytes:
        """The next message without its framing; a :class:`TransportError` when there is none
        by ``deadline`` (``time.monotonic()``), the peer closes, or the bytes are not a frame."""
        scanned = 0
        while True:
            start = self._start_of_frame()
            if start is not None:
                end = self.buffer.find(END_BLOCK, max(start + 1, scanned))
                if end >= 0:
                    message = bytes(self.buffer[start + 1:end])
                    del self.buffer[:end + len(END_BLOCK)]
                    return message
                scanned = max(start + 1, len(self.buffer) - len(END_BLOCK) + 1)
                if len(self.buffer) - start - 1 > self.max_bytes:
                    raise MllpFramingError(
                        f"reply exceeds {self.max_bytes} bytes without an end block <FS><CR>",
                        url=self.url, hint="the peer may not speak MLLP, or the message is "
                        "larger than this tool accepts")
            if not self._receive(deadline, timeout):
                if self.buffer.strip(_BETWEEN_FRAMES):
                    raise MllpFramingError(
                        f"the peer closed the connection in the middle of a reply "
                        f"({len(self.buffer)} bytes received, no end block <FS><CR>)",
                        url=self.url)
                raise TransportError("the peer closed the connection without replying",
                                     url=self.url, hint="the peer may have rejected the "
                                     "message or the connection; check its log")

    def _start_of_frame(self) -> int | None:
        stripped = self.buffer.lstrip(_BETWEEN_FRAMES)
        if not stripped:
            return None
        if stripped[:1] != START_BLOCK:
            junk = bytes(stripped[:40])
            raise MllpFramingError(
                f"reply does not begin with the start block <VT>: {junk!r}", url=self.url,
                hint="is this an MLLP port? (an HTTP or TLS port answers differently)")
        return len(self.buffer) - len(stripped)

    def _receive(self, deadline: float, timeout: float) -> bool:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise _timeout(self.url, timeout, self.buffer)
        self.sock.settimeout(remaining)
        try:
            chunk = self.sock.recv(_READ_CHUNK)
        except TimeoutError:
            raise _timeout(self.url, timeout, self.buffer) from None
        except ssl.SSLError as exc:
            raise TlsError(f"TLS failure while reading: {exc}", url=self.url) from None
        except OSError as exc:
            raise EndpointUnreachable(f"connection lost while reading: {exc}",
                                      url=self.url) from None
        self.buffer += chunk
        return bool(chunk)


class _Connection:
    def __init__(self, sock: socket.socket, url: str) -> None:
        self.sock = sock
        self.reader = FrameReader(sock, url)
        #: MSH-10 of the messages sent on this connection, to recognise a stale reply
        self.sent_ids: deque[bytes] = deque(maxlen=_REMEMBERED_IDS)

    def unsolicited(self) -> bytes | None:
        """Bytes the peer sent since the last reply (None: it closed the connection)."""
        pending = bytes(self.reader.buffer)
        while select.select([self.sock], [], [], 0)[0] or (
            isinstance(self.sock, ssl.SSLSocket) and self.sock.pending()
        ):
            try:
                self.sock.setblocking(False)
                chunk = self.sock.recv(_READ_CHUNK)
            except (BlockingIOError, ssl.SSLWantReadError):
                break
            except OSError:
                return None
            if not chunk:
                return None if not pending.strip(_BETWEEN_FRAMES) else pending
            pending += chunk
        return pending.strip(_BETWEEN_FRAMES) and pending

    def close(self) -> None:
        self.sock.close()


class MllpTransport:
    """Sends HL7v2 messages over MLLP, one connection per peer kept open between messages.

    Like :class:`~ihe_test_util.transport.http.HttpTransport` it turns a
    :class:`~ihe_test_util.model.Request` into a :class:`~ihe_test_util.model.Response` (body =
    the reply without framing, status :data:`MLLP_STATUS`). Messages to one peer go in order on
    one connection, so use one instance from one thread at a time.
    """

    def __init__(self, options: TransportOptions | None = None, *,
                 max_message_bytes: int = MAX_MESSAGE_BYTES, warn: bool = True) -> None:
        """``warn=False``: the caller already warned that certificates are not checked."""
        self.options = options or TransportOptions()
        self.max_message_bytes = max_message_bytes
        self._connections: dict[MllpAddress, _Connection] = {}
        self._tls_context: ssl.SSLContext | None = None
        # a transport dropped without close() (the replay engine makes one per cassette)
        # still closes its sockets, without a ResourceWarning
        self._finalizer = weakref.finalize(self, _close_all, self._connections)
        if warn and self.options.verify is False:
            warn_insecure()

    def send(self, request: Request) -> tuple[Response, float]:
        """Send ``request.body`` framed to ``request.uri``; return the reply and the elapsed
        milliseconds. A :class:`TransportError` (with the URL) when no single reply came."""
        address = MllpAddress.parse(request.uri)
        url = request.uri
        timeout = self.options.timeout
        started = time.perf_counter()
        deadline = time.monotonic() + timeout
        connection = self._connection(address, url)
        try:
            _send_all(connection.sock, frame(request.body), url, deadline)
            body = connection.reader.read_frame(deadline, timeout)
            _check_answers(connection, request.body, body, url)
        except TransportError:
            self._drop(address)
            raise
        response = Response(status=MLLP_STATUS, reason=MLLP_REASON, headers=Headers(),
                            body=body)
        return response, (time.perf_counter() - started) * 1000.0

    def close(self) -> None:
        self._finalizer()

    def __enter__(self) -> MllpTransport:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _connection(self, address: MllpAddress, url: str) -> _Connection:
        connection = self._connections.get(address)
        if connection is not None:
            extra = connection.unsolicited()
            if extra is None:  # the peer closed an idle connection: open a new one
                self._drop(address)
            elif extra:
                self._drop(address)
                raise MllpFramingError(
                    f"the peer sent {len(extra)} bytes nobody asked for after its last reply "
                    f"(a second reply to the previous message?): {extra[:60]!r}", url=url,
                    hint="the connection was closed so that no later message gets this "
                    "reply; a fresh one is opened for the next message")
            else:
                return connection
        sock = self._connect(address, url)
        connection = _Connection(sock, url)
        connection.reader.max_bytes = self.max_message_bytes
        self._connections[address] = connection
        return connection

    def _drop(self, address: MllpAddress) -> None:
        connection = self._connections.pop(address, None)
        if connection is not None:
            connection.close()

    def _connect(self, address: MllpAddress, url: str) -> socket.socket:
        opts = self.options
        connect_timeout = opts.connect_timeout or opts.timeout
        try:
            sock = socket.create_connection((address.host, address.port),
                                            timeout=connect_timeout)
        except TimeoutError:
            raise EndpointTimeout(f"no connection within {connect_timeout:g} s", url=url,
                                  hint="check host and port, or raise --timeout") from None
        except OSError as exc:
            raise EndpointUnreachable(f"cannot connect: {exc.strerror or exc}", url=url,
                                      hint="is the MLLP listener running on that port?") from None
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if not address.tls:
            return sock
        try:
            return self._tls().wrap_socket(sock, server_hostname=address.host)
        except ssl.SSLError as exc:
            sock.close()
            raise TlsError(f"TLS handshake failed: {exc}", url=url, hint=_tls_hint(opts)) from None
        except OSError as exc:
            sock.close()
            raise EndpointUnreachable(f"connection lost during the TLS handshake: {exc}",
                                      url=url) from None

    def _tls(self) -> ssl.SSLContext:
        if self._tls_context is None:
            self._tls_context = tls_context(self.options)
        return self._tls_context


def tls_context(options: TransportOptions) -> ssl.SSLContext:
    """The client TLS context for ``mllps://``: the same CA / client-certificate settings as
    HTTPS (``verify``: system CAs, a bundle file or directory, or False; ``cert``/``key``)."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    if options.verify is False:
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
    elif isinstance(options.verify, str):
        if Path(options.verify).is_dir():
            context.load_verify_locations(capath=options.verify)
        else:
            context.load_verify_locations(cafile=options.verify)
    if options.cert is not None:
        context.load_cert_chain(options.cert, options.key)
    return context


def _check_answers(connection: _Connection, message: bytes, reply: bytes, url: str) -> None:
    """A reply whose MSA-2 is the control id of an *earlier* message on this connection answers
    that message, not this one (a peer that acknowledges twice, late): an error, never a reply
    to compare. Other MSA-2 values are left to the comparer (an echo it checks)."""
    control_id = _field(message, b"MSH", 10)
    answered = _field(reply, b"MSA", 2)
    if answered and answered != control_id and answered in connection.sent_ids:
        raise MllpFramingError(
            f"the reply answers an earlier message (MSA-2 {answered.decode(errors='replace')!r}"
            f", this message's MSH-10 is {(control_id or b'').decode(errors='replace')!r}): "
            "the peer is out of step", url=url,
            hint="the peer sent more replies than messages; the connection was closed")
    if control_id:
        connection.sent_ids.append(control_id)


def _field(message: bytes, segment: bytes, number: int) -> bytes | None:
    """Field ``number`` of the first ``segment`` of an ER7 message, as bytes (None if absent).

    Enough ER7 for matching replies to messages; everything else reads messages with
    :mod:`ihe_test_util.ihe.er7`."""
    if not message.startswith(b"MSH") or len(message) < 4:
        return None
    separator = message[3:4]
    for line in message.replace(b"\n", b"\r").split(b"\r"):
        if line.startswith(segment + separator):
            fields = line.split(separator)
            index = number - 1 if segment == b"MSH" else number  # MSH-1 is the separator
            return fields[index] if index < len(fields) else None
    return None


def _send_all(sock: socket.socket, data: bytes, url: str, deadline: float) -> None:
    try:
        sock.settimeout(max(deadline - time.monotonic(), 0.001))
        sock.sendall(data)
    except TimeoutError:
        raise EndpointTimeout("the peer does not accept the message", url=url) from None
    except OSError as exc:
        raise EndpointUnreachable(f"connection lost while sending: {exc}", url=url) from None


def _timeout(url: str, timeout: float, received: bytes | bytearray = b"") -> EndpointTimeout:
    """The deadline passed: says what had come (nothing, or a reply without its end block:
    a peer that stalls or trickles, or never ends its frame)."""
    got = len(received) if received.strip(_BETWEEN_FRAMES) else 0
    what = (f"{got} bytes received, no end block <FS><CR>" if got else "nothing received")
    return EndpointTimeout(f"no complete reply within {timeout:g} s ({what})", url=url,
                           hint="the connection was closed so that a late reply cannot be "
                           "taken for the next message's; raise --timeout if the peer is slow")


def _tls_hint(options: TransportOptions) -> str:
    if isinstance(options.verify, str):
        return f"is the server's certificate signed by a CA in {options.verify}?"
    return "give the CA bundle that signed the server's certificate (tls.verify)"


def _close_all(connections: dict[MllpAddress, _Connection]) -> None:
    for connection in connections.values():
        connection.close()
    connections.clear()


__all__ = [
    "DEFAULT_PORT",
    "MAX_MESSAGE_BYTES",
    "MLLP_METHOD",
    "MLLP_STATUS",
    "SCHEMES",
    "FrameReader",
    "MllpAddress",
    "MllpTransport",
    "frame",
    "tls_context",
]
