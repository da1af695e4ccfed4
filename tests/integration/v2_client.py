"""python-hl7 as the HL7 v2 client of the simulator's MLLP port: its asyncio ``hl7.mllp``
streams (an independent implementation of the framing), one connection for many messages."""

from __future__ import annotations

import asyncio
import contextlib
from types import TracebackType
from urllib.parse import urlsplit

import hl7
from hl7.mllp import open_hl7_connection

from ihe_test_util.ihe.builders.hl7v2 import Er7Message


class V2Client:
    """``with V2Client(sim.mllp_url) as client: reply = client.send(message)``"""

    def __init__(self, url: str) -> None:
        parts = urlsplit(url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 2575
        self._loop = asyncio.new_event_loop()
        self._reader: object = None
        self._writer: object = None

    def __enter__(self) -> V2Client:
        self._reader, self._writer = self._loop.run_until_complete(
            asyncio.wait_for(open_hl7_connection(self.host, self.port, encoding="utf-8"), 10))
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._writer.close()  # type: ignore[attr-defined]
        with contextlib.suppress(OSError):
            self._loop.run_until_complete(self._writer.wait_closed())  # type: ignore[attr-defined]
        self._loop.close()

    def send(self, message: str | bytes | Er7Message) -> hl7.Message:
        """Send one message, wait for its one reply (a 10 s deadline against a hang)."""
        if isinstance(message, Er7Message):
            message = message.body
        text = message.decode("utf-8") if isinstance(message, bytes) else message
        text = "\r".join(line for line in text.replace("\r\n", "\r").replace("\n", "\r")
                         .split("\r") if line.strip())
        return self._loop.run_until_complete(asyncio.wait_for(self._exchange(text), 10))

    async def _exchange(self, text: str) -> hl7.Message:
        self._writer.writemessage(hl7.parse(text))  # type: ignore[attr-defined]
        await self._writer.drain()  # type: ignore[attr-defined]
        return await self._reader.readmessage()  # type: ignore[attr-defined,no-any-return]


def field(message: hl7.Message, ref: str) -> str:
    """A whole field (``MSA-1``, ``ERR-2``) or a component (``PID-5.2``), '' when absent."""
    segment, _, rest = ref.partition("-")
    numbers = [int(p) for p in rest.split(".")]
    try:
        value = message.segment(segment)(numbers[0])
        for number in numbers[1:]:
            value = value(1)(number) if not isinstance(value, str) else ""
        return str(value)
    except (KeyError, IndexError):
        return ""


def segments(message: hl7.Message, name: str) -> list[hl7.Segment]:
    try:
        return list(message.segments(name))
    except KeyError:
        return []
