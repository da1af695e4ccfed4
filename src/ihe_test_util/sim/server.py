"""The HTTP side of the simulator: one threaded server, one path per actor, bounded reads.

Nothing a client sends can make it hang or leak a traceback: reads time out, bodies have a size
limit (checked before reading), and every failure becomes a SOAP 1.2 fault.
"""

from __future__ import annotations

import logging
from pathlib import Path
from urllib.parse import urlsplit

from lxml import etree

from ihe_test_util import __version__
from ihe_test_util.errors import UsageError
from ihe_test_util.ihe.namespaces import WSA
from ihe_test_util.sim.context import ActorContext, SimIdentity
from ihe_test_util.sim.fhir.app import FhirApp, is_fhir_path
from ihe_test_util.sim.hl7v2 import V2_ACTORS, V2Session, v2_actor_named, v2_transactions_of
from ihe_test_util.sim.profiles import Profile, get_profile
from ihe_test_util.sim.reply import render_reply
from ihe_test_util.sim.store import Store
from ihe_test_util.sim.transactions import (
    ACTORS,
    Actor,
    actor_at,
    actor_named,
    transaction_for,
    transactions_of,
)
from ihe_test_util.sim.volatile import Volatility
from ihe_test_util.transport.endpoint import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_READ_TIMEOUT,
    HttpAnswer,
    HttpApp,
    HttpCall,
    LocalEndpoint,
)
from ihe_test_util.transport.mllp_server import MllpServer
from ihe_test_util.transport.soap_server import (
    FaultReply,
    SoapReply,
    SoapRequest,
    parse_request,
    render_fault_for,
)

logger = logging.getLogger("ihe_test_util.sim")

__all__ = ["DEFAULT_MAX_BODY_BYTES", "DEFAULT_READ_TIMEOUT", "SimApp", "Simulator", "index_text"]


class SimApp(HttpApp):
    """Request bytes in, response bytes out: dispatch, SOAP handling, faults."""

    def __init__(self, ctx: ActorContext, *, max_body_bytes: int) -> None:
        self.ctx = ctx
        self.max_body_bytes = max_body_bytes
        self.fhir = FhirApp(ctx, max_body_bytes=max_body_bytes)
        self.mllp_url: str | None = None  # set when the v2 actors listen

    def handle(self, call: HttpCall) -> HttpAnswer:
        if is_fhir_path(urlsplit(call.path).path):
            return self.fhir.handle(call)
        if call.method == "POST":
            return self.answer(call.path, call.content_type, call.body,
                               call.headers.get("Content-Encoding"))
        path = urlsplit(call.path).path
        if call.method == "GET" and path.rstrip("/") == "":
            text = index_text(self.ctx.profile, call.base_url, self.mllp_url)
            return HttpAnswer(200, text.encode(), "text/plain; charset=utf-8")
        status = 405 if actor_at(path) else 404
        message = "use POST with a SOAP 1.2 request" if status == 405 else "no such path"
        return HttpAnswer(status, message.encode(), "text/plain; charset=utf-8",
                          (("Allow", "POST"),) if status == 405 else ())

    def problem(self, status: int, reason: str, call: HttpCall) -> HttpAnswer:
        if is_fhir_path(urlsplit(call.path).path):
            return self.fhir.problem(status, reason)
        return self.fault(FaultReply("Sender", reason, http_status=status))

    def answer(self, path: str, content_type: str | None, body: bytes,
               content_encoding: str | None = None) -> HttpAnswer:
        actor = actor_at(urlsplit(path).path)
        if actor is None:
            paths = ", ".join(dict.fromkeys(a.path for a in ACTORS))
            return self.fault(FaultReply(
                "Sender", f"no IHE actor at {urlsplit(path).path!r}; actors are at {paths}",
                http_status=404,
            ))
        request: SoapRequest | None = None
        try:
            request = parse_request(body, content_type, max_bytes=self.max_body_bytes,
                                    content_encoding=content_encoding)
            reply = self._dispatch(actor, request)
            return render_reply(reply, request, style=self.ctx.style,
                                volatility=self.ctx.volatility)
        except FaultReply as fault:
            if fault.relates_to is None and request is not None:
                fault.relates_to = request.message_id
            return self.fault(fault)
        except Exception:  # a bug in an actor must still give the client a proper answer
            logger.exception("internal error while answering a request to %s", actor.path)
            return self.fault(FaultReply(
                "Receiver", "internal error in the simulator; see its log",
                relates_to=request.message_id if request is not None else None,
            ))

    def _dispatch(self, actor: Actor, request: SoapRequest) -> SoapReply:
        transaction = transaction_for(actor, request.action)
        if transaction is None:
            elsewhere = [a.path for a in ACTORS if transaction_for(a, request.action)]
            hint = f" (it is served at {elsewhere[0]})" if elsewhere else ""
            raise FaultReply(
                "Sender", f"action {request.action!r} is not supported by the "
                f"{actor.title} at {actor.path}{hint}",
                subcode=(WSA, "ActionNotSupported"), problem_action=request.action,
            )
        root = etree.QName(request.body)
        if (root.namespace, root.localname) != transaction.body:
            namespace, local = transaction.body
            raise FaultReply(
                "Sender", f"action {request.action} expects a {{{namespace}}}{local} body, "
                f"found {root.text}",
            )
        with self.ctx.store.transaction():
            return transaction.handler(request, self.ctx)

    def fault(self, fault: FaultReply) -> HttpAnswer:
        """``fault`` in the client's SOAP version: a SOAP 1.1 envelope gets a SOAP 1.1
        VersionMismatch (with the Upgrade header naming SOAP 1.2), never a SOAP 1.2 fault it
        could not read."""
        return render_fault_for(fault, fault.soap_version,
                                message_id=self.ctx.volatility.urn_uuid(),
                                xml_declaration=self.ctx.style.xml_declaration)


def index_text(profile: Profile, base_url: str, mllp_url: str | None = None) -> str:
    """What ``GET /`` shows: the actors, their URLs and transactions."""
    lines = [f"ihe-test-utility simulator {__version__}, profile {profile.name}", ""]
    for actor in ACTORS:
        lines.append(f"{actor.title:28} {base_url}{actor.path}  "
                     f"{' '.join(transactions_of(actor))}")
    for v2 in V2_ACTORS if mllp_url else ():
        lines.append(f"{v2.title:28} {mllp_url}  {' '.join(v2_transactions_of(v2.name))}")
    return "\n".join(lines) + "\n"


class Simulator(LocalEndpoint):
    """An IHE endpoint on localhost: PIX Manager, PDQ Supplier, XDS.b Registry and Repository,
    XCPD Responding Gateway, the FHIR actors under /fhir, and PIX v2 / PDQ v2 on an MLLP port
    (:attr:`mllp_url`), behaving as ``profile`` says. A context manager::

        with Simulator(profile="baseline") as sim:
            requests.post(sim.url_for("registry"), ...)
    """

    server_name = f"ihe-sim/{__version__}"

    def __init__(
        self, profile: str | Profile = "baseline", state_path: Path | str | None = None,
        host: str = "127.0.0.1", port: int = 0, *,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
        read_timeout: float = DEFAULT_READ_TIMEOUT,
        identity: SimIdentity | None = None, volatility: Volatility | None = None,
        mllp_port: int | None = 0,
    ) -> None:
        super().__init__(host, port, read_timeout=read_timeout)
        #: TCP port of the HL7 v2 actors (MLLP); 0 picks a free one, None runs none.
        self.mllp_port = mllp_port
        self._mllp: MllpServer | None = None
        self.profile = get_profile(profile)
        self.state_path = Path(state_path) if state_path is not None else None
        self.max_body_bytes = max_body_bytes
        self.identity = identity or SimIdentity()
        self._volatility = volatility or Volatility()
        self._store: Store | None = None

    def _open_app(self) -> SimApp:
        store = Store(self.state_path)
        self._store = store
        ctx = ActorContext(store, self.profile, self.identity, self._volatility)
        if self.mllp_port is not None:
            mllp = MllpServer(lambda peer: V2Session(ctx, peer), host=self.host,
                              port=self.mllp_port)
            mllp.port_hint = "choose another --mllp-port (0 picks a free one)"
            try:
                self._mllp = mllp.start()
            except BaseException:
                store.close()
                self._store = None
                raise
        app = SimApp(ctx, max_body_bytes=self.max_body_bytes)
        app.mllp_url = self._mllp.url if self._mllp is not None else None
        return app

    def _close_app(self) -> None:
        if self._mllp is not None:
            self._mllp.stop()
            self._mllp = None
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- addresses --------------------------------------------------------------------------

    def url_for(self, actor: str) -> str:
        """URL of an actor by name (``pix``, ``pdq``, ``registry``, ``repository``, ``xcpd``,
        ``pix-v2``, ``pdq-v2``) or by a transaction it serves (``ITI-41``, ``ITI-9``: the
        HL7 v2 actors answer at :attr:`mllp_url`)."""
        found = actor_named(actor)
        if found is None:
            if v2_actor_named(actor) is not None and self.mllp_port is not None:
                return self.mllp_url
            names = ", ".join([a.name for a in ACTORS] + self._v2_names())
            raise UsageError(f"unknown actor {actor!r}", hint=f"actors are: {names}")
        return f"{self.base_url}{found.path}"

    def urls(self) -> dict[str, str]:
        """Actor name -> URL, for every actor."""
        return {name: self.url_for(name) for name in [a.name for a in ACTORS]
                + self._v2_names()}

    @property
    def transactions(self) -> dict[str, list[str]]:
        """Actor name -> transaction ids it serves."""
        found = {actor.name: transactions_of(actor) for actor in ACTORS}
        found.update({name: v2_transactions_of(name) for name in self._v2_names()})
        return found

    @property
    def mllp_url(self) -> str:
        """``mllp://host:port`` of the HL7 v2 actors (PIX v2 Manager, PDQ v2 Supplier)."""
        if self._mllp is None:
            raise UsageError("the simulator's MLLP port is not open",
                             hint="start the simulator (with mllp_port not None)")
        return self._mllp.url

    def _v2_names(self) -> list[str]:
        return [a.name for a in V2_ACTORS] if self.mllp_port is not None else []

    @property
    def store(self) -> Store:
        """The live state (tests inspect it); only while the simulator runs."""
        if self._store is None:
            raise UsageError("the simulator is not running")
        return self._store

