"""``ihe serve`` for HL7 v2 over MLLP: the cassette's ``mllp://`` exchanges answered on an
MLLP port (the one MLLP server, :mod:`ihe_test_util.transport.mllp_server`).

A message is matched like an HTTP request (:func:`~ihe_test_util.serve.shape.er7_shape`: the
fields the catalogue says a sender makes up per message, MSH-7, MSH-10, the QPD-2 query tag,
EVN-2, are blanked), through the same index and the same response order as the HTTP side. The
recorded reply is made consistent with the message it answers: the catalogue's HL7 v2 echoes
(MSA-2 = its MSH-10, QAK-1 and the echoed QPD's query tag = its QPD-2) are set from it, and
the reply's own MSH-7 and MSH-10 are fresh. A message nothing matches is answered ACK ``AR``
with an ERR segment naming the closest recorded message and the first difference, and shown
as one console line, like an HTTP miss.
"""

from __future__ import annotations

import logging
from collections.abc import Callable

from ihe_test_util.ihe.builders.hl7v2 import ack
from ihe_test_util.ihe.catalogue import GENERIC_HL7V2, spec_for
from ihe_test_util.ihe.er7 import Er7Error, Er7Text, FieldRef, decode_er7
from ihe_test_util.ihe.identifiers import DEFAULT_IDS
from ihe_test_util.ihe.idmap import IdMap
from ihe_test_util.ihe.specs import TransactionSpec, ValueKind
from ihe_test_util.model import Headers, Request
from ihe_test_util.serve.explain import Explainer, Mismatch
from ihe_test_util.serve.index import PlaybackIndex
from ihe_test_util.serve.order import ResponseOrder
from ihe_test_util.serve.shape import RequestShape, shape_of
from ihe_test_util.transport.mllp import MLLP_METHOD
from ihe_test_util.transport.mllp_server import MllpServer

logger = logging.getLogger("ihe_test_util.serve")

#: Fields of a recorded reply a server makes up for every reply: made fresh when serving.
FRESH_REPLY_FIELDS = ((FieldRef("MSH", 7), ValueKind.TIMESTAMP),
                      (FieldRef("MSH", 10), ValueKind.HL7V2_ID))
#: The ERR-3 code of a no-match (HL7 table 0357: application internal error).
NO_MATCH_ERROR = "207"


class MllpPlayback:
    """Answers HL7 v2 messages from the index; shares the response order (and so
    ``--strict-order``) and the miss reporting with the HTTP side."""

    def __init__(self, index: PlaybackIndex, order: ResponseOrder, explainer: Explainer,
                 on_miss: Callable[[Mismatch], None]) -> None:
        self.index = index
        self.order = order
        self.explainer = explainer
        self.on_miss = on_miss

    def answer(self, message: bytes) -> bytes:
        try:
            return self._answer(message)
        except Exception:  # a bug must still give the client an acknowledgment
            logger.exception("internal error while answering an HL7 v2 message")
            return ack(message, "AE", "internal error in ihe serve; see its log")

    def _answer(self, message: bytes) -> bytes:
        shape = shape_of(Request(MLLP_METHOD, "mllp:", Headers(), message))
        if not shape.hl7v2:
            mismatch = Mismatch(shape, None, 0.0, ("not an HL7 v2 message",), ())
            self.on_miss(mismatch)
            return ack(message, "AR", "ihe serve: not an HL7 v2 message (no MSH segment)",
                       error_code="100")
        candidates = self.index.lookup(shape)
        if not candidates:
            mismatch = self.explainer.explain(shape)
            logger.warning("%s", mismatch.reason_text())
            self.on_miss(mismatch)
            return ack(message, "AR", ack_text(mismatch), error_code=NO_MATCH_ERROR)
        choice = self.order.choose(candidates)
        if choice.entry is None:
            reason = choice.refusal or "refused"
            logger.warning("refused an HL7 v2 %s: %s", shape.transaction or "message", reason)
            self.on_miss(Mismatch(shape, candidates[0], 1.0, (reason,), ()))
            return ack(message, "AR", f"ihe serve: {reason}", error_code=NO_MATCH_ERROR)
        entry = choice.entry
        logger.info("MLLP %s -> %s", shape.transaction or "HL7 v2 message", entry.label)
        return fix_reply(entry.interaction.response.body, message, _spec(entry.shape))


def ack_text(mismatch: Mismatch) -> str:
    """What MSA-3 / ERR-8 say about a no-match (the ACK builder keeps 200 characters): the
    closest recorded message first, then the first differences."""
    if mismatch.closest is None:
        return "ihe serve: no recorded message matches; nothing is recorded"
    why = [*mismatch.reasons, *(str(d) for d in mismatch.differences)]
    return (f"ihe serve: no recorded message matches; closest {mismatch.closest.label}"
            + (f": {'; '.join(why)}" if why else ""))


def fix_reply(reply: bytes, message: bytes, spec: TransactionSpec) -> bytes:
    """The recorded ``reply`` made consistent with ``message`` (the one it answers now): the
    catalogue's echoes set from it, the reply's own MSH-7 and MSH-10 fresh; every other byte
    as recorded. A reply that is not ER7 is sent as recorded."""
    try:
        text, codec = decode_er7(reply)
        fixed = Er7Text(text)
        request = Er7Text(decode_er7(message)[0])
    except Er7Error:
        return reply
    for echo in spec.echoes:
        target, source = _echo_ref(echo.response), _echo_ref(echo.request)
        if target is None or source is None:
            continue
        if isinstance(target, str) and isinstance(source, str):
            # a whole segment echoed (QPD): it matched up to the values a sender makes up,
            # so those are the ones to copy
            pairs = [(ref, ref) for ref in _regenerated(spec) if ref.segment == source]
        elif isinstance(target, FieldRef) and isinstance(source, FieldRef):
            pairs = [(target, source)]
        else:
            continue
        for to, of in pairs:
            value = request.read(of)
            if value is not None and fixed.read(to) is not None:
                fixed.replace(to, value)
    ids = IdMap()
    for ref, kind in FRESH_REPLY_FIELDS:
        old = fixed.read(ref)
        if old:
            fixed.replace(ref, DEFAULT_IDS.timestamp_like(old) if kind is ValueKind.TIMESTAMP
                          else ids.fresh(old, kind))
    return fixed.text().encode(codec, errors="replace")


def _echo_ref(path: str) -> FieldRef | str | None:
    """A catalogue echo path (``/HL7v2/MSA/MSA.2``, ``/HL7v2/QPD``) as a field reference, or
    the segment name when the echo is a whole segment."""
    steps = [step for step in path.split("/") if step and step != "HL7v2"]
    if len(steps) == 1:
        return steps[0]
    if len(steps) == 2:
        try:
            return FieldRef.parse(steps[1].replace(".", "-", 1))
        except Er7Error:
            return None
    return None


def _regenerated(spec: TransactionSpec) -> list[FieldRef]:
    return [FieldRef.parse(rule.xpath) for rule in spec.regeneration]


def _spec(shape: RequestShape) -> TransactionSpec:
    try:
        return spec_for(shape.transaction) if shape.transaction else GENERIC_HL7V2
    except KeyError:
        return GENERIC_HL7V2


class _Session:
    def __init__(self, playback: MllpPlayback) -> None:
        self.playback = playback

    def handle(self, message: bytes) -> bytes | None:
        return self.playback.answer(message)

    def close(self) -> None:
        pass


class MllpPlaybackServer(MllpServer):
    """The MLLP port of ``ihe serve``: every client connection answered by ``playback``."""

    port_hint = "choose another --mllp-port (0 picks a free one)"

    def __init__(self, playback: MllpPlayback, *, host: str = "127.0.0.1",
                 port: int = 0) -> None:
        super().__init__(lambda peer: _Session(playback), host=host, port=port)


__all__ = ["MllpPlayback", "MllpPlaybackServer", "ack_text", "fix_reply"]
