"""The FHIR side of the simulator, under ``/fhir`` on the same port as the SOAP actors: the route
table (which request goes to which actor and transaction) and the dispatcher.

Answers are FHIR JSON or XML as negotiated; every failure is an OperationOutcome with the status
the transaction names (unknown resource types and ids 404, wrong methods 405), never a
traceback.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from ihe_test_util import __version__
from ihe_test_util.ihe.catalogue import fhir_request_path, spec_for
from ihe_test_util.sim.context import ActorContext
from ihe_test_util.sim.fhir import documents, patients
from ihe_test_util.sim.fhir.common import FhirScope
from ihe_test_util.sim.fhir.wire import (
    FhirCall,
    FhirError,
    FhirReply,
    operation_outcome,
    read_call,
    render,
    render_error,
)
from ihe_test_util.transport.endpoint import HttpAnswer, HttpCall

logger = logging.getLogger("ihe_test_util.sim")

#: Where the FHIR actors live on the simulator's port.
FHIR_PREFIX = "/fhir"

Handler = Callable[..., "FhirReply | HttpAnswer"]


@dataclass(frozen=True)
class FhirActor:
    name: str
    title: str


@dataclass(frozen=True)
class FhirService:
    """An actor serving a transaction: a handler per interaction (``(method, shape)``, the
    shapes of :class:`~ihe_test_util.ihe.specs.FhirRoute`), for the catalogue's routes of that
    transaction whose resource type is in ``only`` when given (what the simulator
    implements)."""

    transaction: str
    actor: str
    handlers: tuple[tuple[str, str, Handler], ...]
    only: tuple[str, ...] = ()


@dataclass(frozen=True)
class Route:
    """One dispatch row: an interaction of the catalogue at an actor, and its handler
    (``transaction`` None: a plain FHIR interaction no IHE transaction names)."""

    transaction: str | None
    actor: str
    method: str
    resource: str | None
    shape: str
    handler: Handler


FHIR_ACTORS: tuple[FhirActor, ...] = (
    FhirActor("mhd-recipient", "MHD Document Recipient"),
    FhirActor("mhd-responder", "MHD Document Responder"),
    FhirActor("pdqm", "PDQm Patient Demographics Supplier"),
    FhirActor("pixm", "PIXm Patient Identifier Cross-reference Manager"),
)

SERVICES: tuple[FhirService, ...] = (
    FhirService("ITI-65", "mhd-recipient", (("POST", "base", documents.provide),)),
    # MHD 4 finds SubmissionSets as List; DocumentManifest (MHD 3) is not implemented.
    FhirService("ITI-66", "mhd-responder", (
        ("GET", "type", documents.find_lists), ("POST", "search", documents.find_lists),
        ("GET", "instance", documents.read_list)), only=("List",)),
    FhirService("ITI-67", "mhd-responder", (
        ("GET", "type", documents.find_document_references),
        ("POST", "search", documents.find_document_references),
        ("GET", "instance", documents.read_document_reference))),
    FhirService("ITI-68", "mhd-responder", (("GET", "instance", documents.retrieve),)),
    FhirService("ITI-78", "pdqm", (
        ("GET", "type", patients.search), ("POST", "search", patients.search),
        ("GET", "instance", patients.read))),
    FhirService("ITI-119", "pdqm", (("POST", "$match", patients.match),)),
    FhirService("ITI-83", "pixm", (
        ("GET", "$ihe-pix", patients.ihe_pix), ("POST", "$ihe-pix", patients.ihe_pix))),
    FhirService("ITI-104", "pixm", (
        ("PUT", "type", patients.feed_update), ("PUT", "instance", patients.feed_update_by_id),
        ("DELETE", "type", patients.feed_delete))),
)

#: Interactions the simulator answers that no IHE transaction names: a plain Patient create
#: (ITI-104 feeds with a conditional update; clients often create first).
PLAIN_ROUTES: tuple[Route, ...] = (
    Route(None, "pixm", "POST", "Patient", "type", patients.feed_create),
)


def _routes(service: FhirService) -> tuple[Route, ...]:
    spec = spec_for(service.transaction)
    handlers = {(method, shape): handler for method, shape, handler in service.handlers}
    rows = [Route(service.transaction, service.actor, route.method, route.resource,
                  route.shape, handlers[(route.method, route.shape)])
            for route in spec.fhir_routes
            if (route.method, route.shape) in handlers
            and (not service.only or route.resource in service.only)]
    missing = set(handlers) - {(r.method, r.shape) for r in rows}
    if missing:  # the catalogue no longer has an interaction this table answers
        raise RuntimeError(f"{service.transaction}: no catalogue route for {sorted(missing)}")
    return tuple(rows)


#: Every interaction the FHIR actors answer, derived from :data:`SERVICES` and the catalogue.
ROUTES: tuple[Route, ...] = (*(row for s in SERVICES for row in _routes(s)), *PLAIN_ROUTES)


def fhir_transactions_of(actor: str) -> list[str]:
    """Transaction ids a FHIR actor serves, in table order."""
    return list(dict.fromkeys(r.transaction for r in ROUTES
                              if r.actor == actor and r.transaction))


def is_fhir_path(path: str) -> bool:
    return path == FHIR_PREFIX or path.startswith(FHIR_PREFIX + "/")


class FhirApp:
    """Answers the FHIR calls of the simulator's port (``/fhir/...``)."""

    def __init__(self, ctx: ActorContext, *, max_body_bytes: int) -> None:
        self.ctx = ctx
        self.max_body_bytes = max_body_bytes

    def handle(self, http: HttpCall) -> HttpAnswer:
        fmt = "json"
        try:
            call = read_call(http, FHIR_PREFIX)
            fmt = call.format
            if call.method == "GET" and call.parts == ("metadata",):
                return render(capability_statement(call), fmt)
            route, arguments = self._route(call)
            scope = FhirScope(self.ctx, call, self.max_body_bytes)
            with self.ctx.store.transaction():
                reply = route.handler(scope, *arguments)
            if isinstance(reply, HttpAnswer):
                return reply
            return render(reply.resource, fmt, reply.status, reply.headers)
        except FhirError as error:
            return render_error(error, fmt)
        except Exception:  # a bug in an actor must still give the client a proper answer
            logger.exception("internal error while answering %s %s", http.method, http.path)
            return render(operation_outcome([{
                "severity": "fatal", "code": "exception",
                "diagnostics": "internal error in the simulator; see its log"}]), fmt, 500)

    def problem(self, status: int, reason: str) -> HttpAnswer:
        return render(operation_outcome([{"severity": "error", "code": (
            "too-long" if status == 413 else "timeout" if status == 408 else "invalid"),
            "diagnostics": reason}]), "json", status)

    def _route(self, call: FhirCall) -> tuple[Route, list[str]]:
        where = fhir_request_path("/".join(call.parts))
        if call.parts and where.resource is None:
            known = sorted({r.resource for r in ROUTES if r.resource})
            raise FhirError(404, "not-supported", f"resource type {call.parts[0]!r} is not "
                            f"supported here; this server has {', '.join(known)}")
        method = "GET" if call.method == "HEAD" else call.method
        candidates = [r for r in ROUTES if r.resource == where.resource
                      and r.shape == where.shape]
        for route in candidates:
            if route.method == method:
                return route, [where.id] if where.id is not None else []
        if candidates:
            allowed = sorted({r.method for r in candidates})
            raise FhirError(405, "not-supported", f"{call.method} is not supported on "
                            f"/{'/'.join(call.parts)}; use {', '.join(allowed)}")
        raise FhirError(404, "not-found", f"no FHIR interaction at /{'/'.join(call.parts)}")


def capability_statement(call: FhirCall) -> dict[str, Any]:
    """What ``GET /fhir/metadata`` answers: the resource types and interactions served."""
    resources: dict[str, dict[str, Any]] = {}
    codes = {("GET", "type"): "search-type", ("POST", "search"): "search-type",
             ("GET", "instance"): "read", ("PUT", "type"): "update",
             ("PUT", "instance"): "update", ("DELETE", "type"): "delete",
             ("POST", "type"): "create"}
    for route in ROUTES:
        code = codes.get((route.method, route.shape))
        if route.resource is None or code is None:
            continue  # the transaction at the base; operations (no canonical URL here)
        entry = resources.setdefault(route.resource, {"type": route.resource,
                                                      "interaction": []})
        if {"code": code} not in entry["interaction"]:
            entry["interaction"].append({"code": code})
    listed = [{k: v for k, v in r.items() if v} for r in resources.values()]
    return {"resourceType": "CapabilityStatement", "status": "active",
            "date": "2026-01-01", "kind": "instance",
            "software": {"name": "ihe-test-utility simulator", "version": __version__},
            "implementation": {"description": "ihe sim FHIR actors", "url": call.base},
            "fhirVersion": "4.0.1", "format": ["json", "xml"],
            "rest": [{"mode": "server", "resource": listed,
                      "interaction": [{"code": "transaction"}]}]}
