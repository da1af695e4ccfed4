"""Reading a received HL7 v2 message and writing the simulator's acknowledgments and query
responses (ITI-8 ACK, ITI-9 RSP^K23, ITI-21 RSP^K22).

Replies start from :func:`ihe_test_util.ihe.builders.hl7v2.ack` (sender and receiver swapped,
MSA-1 the code, MSA-2 the request's MSH-10, an ERR naming the problem when the code is not AA);
query responses then get their message type, QAK (QAK-1 the request's QPD-2 query tag, QAK-2
OK / NF / AE), the request's QPD echoed and the PID segments. ERR-2 names the place of the
problem (``QPD^1^3^1^1``), ERR-3 the HL7 table 0357 code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ihe_test_util.ihe.builders.hl7v2 import SEGMENT_END, ack
from ihe_test_util.ihe.cx import unescape
from ihe_test_util.ihe.er7 import Er7Error, Er7Text, FieldRef, decode_er7, edit_er7
from ihe_test_util.ihe.identifiers import IdGenerator
from ihe_test_util.sim.context import ActorContext
from ihe_test_util.sim.profiles import Deviation


@dataclass
class V2Failure(Exception):
    """A request the actor refuses: MSA-1 ``code`` (AE: invalid content, AR: will not process),
    ERR-3 ``error`` (table 0357), ERR-2 ``location``, QAK-2 AE for queries."""

    code: str
    error: str
    text: str
    location: str = ""


class Received:
    """A received message, read field by field (values unescaped unless asked raw)."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        text, _ = decode_er7(data)
        self.er7 = Er7Text(text)  # raises Er7Error when it is no ER7 message

    def raw(self, ref: str) -> str:
        return self.er7.read(FieldRef.parse(ref)) or ""

    def value(self, ref: str) -> str:
        return unescape(self.raw(ref)).strip()

    def repetitions(self, segment: str, number: int, occurrence: int = 1) -> list[str]:
        """Every repetition of a field, raw (empty ones left out)."""
        found: list[str] = []
        for repetition in range(1, 1000):
            value = self.er7.read(FieldRef(segment, number, occurrence, repetition))
            if value is None:
                break
            if value.strip():
                found.append(value)
        return found

    def segment_text(self, segment: str) -> str | None:
        """A segment as sent (the first one with that id)."""
        prefix = segment + self.er7.separators.field
        return next((p for p in self.er7.pieces[::2] if p.startswith(prefix)), None)

    @property
    def message_type(self) -> tuple[str, str]:
        """MSH-9.1 and MSH-9.2 (the trigger event, else EVN-1)."""
        code = self.value("MSH-9.1").upper()
        trigger = self.value("MSH-9.2").upper() or self.value("EVN-1").upper()
        return code, trigger


@dataclass
class Reply:
    """What an actor answers: MSA-1, and for queries QAK-2, the response type and PIDs."""

    code: str = "AA"
    failure: V2Failure | None = None
    query_status: str | None = None  # QAK-2 for query responses
    message_type: str | None = None  # e.g. RSP^K23^RSP_K23 (None: the ACK as built)
    segments: list[str] = field(default_factory=list)  # after QAK and QPD


def render(ctx: ActorContext, request: bytes, reply: Reply, received: Received | None) -> bytes:
    """The reply's bytes (CR after each segment), deviations of the profile applied."""
    ids = IdGenerator(clock=ctx.volatility.clock, uuid_factory=ctx.volatility.new_uuid)
    failure = reply.failure
    code = failure.code if failure is not None else reply.code
    text = failure.text if failure is not None else ""
    body = ack(request, code, text, error_code=failure.error if failure else "207", ids=ids)
    edits: list[tuple[FieldRef, str]] = []
    if failure is not None and failure.location:
        edits.append((FieldRef("ERR", 2), failure.location))
    if reply.message_type:
        edits.append((FieldRef("MSH", 9), reply.message_type))
    if ctx.has(Deviation.V2_CONTROL_ID_FORMAT):
        edits.append((FieldRef("MSH", 10), ctx.volatility.plain_uuid()))
    if edits:
        body = edit_er7(body, edits)
    segments = [s for s in body.decode("utf-8").split(SEGMENT_END) if s]
    segments = [segments[0], *(s.rstrip("|") for s in segments[1:])]
    if reply.query_status is not None and received is not None:
        tag = received.raw("QPD-2")
        segments.append(f"QAK|{tag}|{reply.query_status}")
        qpd = received.segment_text("QPD")
        if qpd is not None:
            segments.append(qpd)
        segments.extend(reply.segments)
    if ctx.has(Deviation.V2_TRAILING_EMPTY_FIELDS):
        segments = [segments[0], *(s.rstrip("|") + "|||" for s in segments[1:])]
    return (SEGMENT_END.join(segments) + SEGMENT_END).encode("utf-8")


__all__ = ["Er7Error", "Received", "Reply", "V2Failure", "render"]
