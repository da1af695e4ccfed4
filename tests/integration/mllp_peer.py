"""A real HL7v2 peer for tests: python-hl7's asyncio MLLP server on 127.0.0.1, in a thread.

It is written with another library than the harness's own framing (``hl7.mllp``), so a
round trip proves the two agree on the wire. ADT^* is answered with ACK (MSA-1 = ``ack_code``),
QBP^Q22 with RSP^K22 holding one PID group; MSA-2 echoes the request's MSH-10 and QAK-1 its
QPD-2, MSH-7 and MSH-10 of the reply are fresh (the comparer's noise).
"""

from __future__ import annotations

import asyncio
import itertools
import threading
from types import TracebackType

import hl7
from hl7.mllp import HL7StreamReader, HL7StreamWriter, start_hl7_server

PID = ("PID|1||79007^^^HZLN&2.16.840.1.113883.3.37.4.1.1.2.511.1&ISO^PI||"
       "Beckenbauer^Michael^Joachim^^^^L||19350331|M")


class Hl7Peer:
    """``with Hl7Peer(ack_code="AE") as peer: ... peer.url``"""

    def __init__(self, ack_code: str = "AA") -> None:
        self.ack_code = ack_code
        self.received: list[str] = []
        self.connections = 0  # client connections accepted so far
        self.port = 0
        self._ids = itertools.count(1)
        self._loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, name="hl7-peer", daemon=True)
        self._server: asyncio.base_events.Server | None = None

    @property
    def url(self) -> str:
        return f"mllp://127.0.0.1:{self.port}"

    def __enter__(self) -> Hl7Peer:
        self._thread.start()
        self._ready.wait()
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join()

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        self._server = self._loop.run_until_complete(
            start_hl7_server(self._client, "127.0.0.1", 0, encoding="utf-8"))
        self.port = self._server.sockets[0].getsockname()[1]
        self._ready.set()
        try:
            self._loop.run_forever()
        finally:
            self._server.close()
            self._loop.run_until_complete(self._server.wait_closed())
            self._loop.close()

    async def _client(self, reader: HL7StreamReader, writer: HL7StreamWriter) -> None:
        self.connections += 1
        try:
            while True:
                try:
                    message = await reader.readmessage()
                except asyncio.IncompleteReadError:
                    return
                self.received.append(str(message))
                writer.writemessage(self.reply(message))
                await writer.drain()
        finally:
            writer.close()

    def reply(self, message: hl7.Message) -> hl7.Message:
        msh = message.segment("MSH")
        kind, trigger = str(msh(9)(1)(1)), str(msh(9)(1)(2))
        control_id = str(msh(10))
        header = (f"MSH|^~\\&|{msh(5)}|{msh(6)}|{msh(3)}|{msh(4)}|2030010112{next(self._ids):04d}"
                  f"||{{type}}|R{next(self._ids)}|P|{msh(12)}")
        msa = f"MSA|{self.ack_code}|{control_id}"
        if kind == "QBP" and trigger == "Q22":
            qpd = message.segment("QPD")
            status = "OK" if self.ack_code == "AA" else "AE"
            segments = [header.format(type="RSP^K22^RSP_K21"), msa,
                        f"QAK|{qpd(2)}|{status}", str(qpd)]
            if status == "OK":
                segments.append(PID)
        else:
            segments = [header.format(type=f"ACK^{trigger}^ACK"), msa]
        return hl7.parse("\r".join(segments))
