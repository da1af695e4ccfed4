"""The simulator's MLLP side: the HL7 v2 actors, which messages each takes, and the session
that answers one client connection (on :class:`~ihe_test_util.transport.mllp_server.MllpServer`).

One port serves both v2 actors; the message type (MSH-9) picks the transaction, using the
message types the transaction catalogue lists for it. Every message gets exactly one reply, in
order: an unsupported message type is answered ACK AR (ERR-3 200), bytes that are no HL7 v2
message ACK AR (ERR-3 100), a failure inside the simulator ACK AE (ERR-3 207), never silence.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass

from ihe_test_util.ihe.catalogue import spec_for
from ihe_test_util.sim.context import ActorContext
from ihe_test_util.sim.hl7v2 import actors
from ihe_test_util.sim.hl7v2.wire import Er7Error, Received, Reply, V2Failure, render

logger = logging.getLogger("ihe_test_util.sim.hl7v2")

V2Handler = Callable[[Received, ActorContext], Reply]


@dataclass(frozen=True)
class V2Actor:
    name: str
    title: str


@dataclass(frozen=True)
class V2Service:
    """A transaction an actor serves: the catalogue's request message types (``ADT^A01``),
    or only those in ``only``."""

    transaction: str
    actor: str
    handler: V2Handler
    only: tuple[str, ...] = ()

    @property
    def message_types(self) -> tuple[str, ...]:
        types = [m.root.removeprefix("HL7v2:") for m in spec_for(self.transaction).requests]
        return tuple(t for t in types if not self.only or t in self.only)


V2_ACTORS: tuple[V2Actor, ...] = (
    V2Actor("pix-v2", "PIX Manager (HL7 v2)"),
    V2Actor("pdq-v2", "PDQ Supplier (HL7 v2)"),
)
V2_SERVICES: tuple[V2Service, ...] = (
    V2Service("ITI-8", "pix-v2", actors.feed),
    V2Service("ITI-9", "pix-v2", actors.pix_query),
    # PDQ cancel (QCN^J01) is not implemented: the supplier keeps no continuation state.
    V2Service("ITI-21", "pdq-v2", actors.pdq_query, only=("QBP^Q22",)),
)


def v2_transactions_of(actor: str) -> list[str]:
    return [s.transaction for s in V2_SERVICES if s.actor == actor]


def v2_actor_named(name: str) -> V2Actor | None:
    """A v2 actor by name (``pix-v2``) or by a transaction it serves (``ITI-9``)."""
    wanted = name.strip().lower()
    for actor in V2_ACTORS:
        if actor.name == wanted:
            return actor
    for service in V2_SERVICES:
        if service.transaction.lower() == wanted:
            return v2_actor_named(service.actor)
    return None


def service_for(message_type: str) -> V2Service | None:
    return next((s for s in V2_SERVICES if message_type in s.message_types), None)


class V2Session:
    """The messages of one MLLP client connection, answered in order."""

    def __init__(self, ctx: ActorContext, peer: tuple[str, int] = ("", 0)) -> None:
        self.ctx = ctx
        self.peer = peer

    def handle(self, message: bytes) -> bytes:
        received: Received | None = None
        try:
            received = Received(message)
            reply = self._dispatch(received)
        except Er7Error as exc:
            reply = Reply(failure=V2Failure("AR", "100", f"not an HL7 v2 message: {exc}"))
        except V2Failure as failure:
            reply = Reply(failure=failure)
        except Exception:  # a bug in an actor must still give the client an answer
            logger.exception("internal error while answering an HL7 v2 message")
            reply = Reply(failure=V2Failure("AE", "207", "internal error in the simulator; "
                                            "see its log"))
        answer = render(self.ctx, message, reply, received)
        if logger.isEnabledFor(logging.INFO):
            kind = "^".join(p for p in received.message_type if p) if received else "(junk)"
            code = reply.failure.code if reply.failure is not None else reply.code
            logger.info("MLLP %s:%s %s -> %s%s", *self.peer, kind, code,
                        f" {reply.query_status}" if reply.query_status else "")
        return answer

    def _dispatch(self, received: Received) -> Reply:
        code, trigger = received.message_type
        kind = f"{code}^{trigger}" if trigger else code
        service = service_for(kind)
        if service is None:
            known = ", ".join(t.replace("^", " ") for s in V2_SERVICES for t in s.message_types)
            if any(t.startswith(f"{code}^") for s in V2_SERVICES for t in s.message_types):
                raise V2Failure("AR", "201", f"event {code} {trigger} is not supported (this "
                                f"simulator takes {known})", "MSH^1^9^1^2")
            spelled = kind.replace("^", " ") or "(none)"
            raise V2Failure("AR", "200", f"message type {spelled} is not supported (this "
                            f"simulator takes {known})", "MSH^1^9")
        with self.ctx.store.transaction():
            return service.handler(received, self.ctx)

    def close(self) -> None:
        """Nothing is held per connection."""


__all__ = ["V2_ACTORS", "V2_SERVICES", "V2Actor", "V2Session", "v2_actor_named",
           "v2_transactions_of"]
