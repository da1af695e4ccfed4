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
class Route:
    """One FHIR interaction: method and path pattern (``{id}`` is a variable) -> handler."""

    transaction: str
    actor: str
    method: str
    pattern: tuple[str, ...]
    handler: Handler

    def match(self, parts: tuple[str, ...]) -> list[str] | None:
        if len(parts) != len(self.pattern):
            return None
        found = []
        for part, expected in zip(parts, self.pattern, strict=True):
            if expected == "{id}":
                if part.startswith(("$", "_")):
                    return None
                found.append(part)
            elif part != expected:
                return None
        return found


FHIR_ACTORS: tuple[FhirActor, ...] = (
    FhirActor("mhd-recipient", "MHD Document Recipient"),
    FhirActor("mhd-responder", "MHD Document Responder"),
    FhirActor("pdqm", "PDQm Patient Demographics Supplier"),
    FhirActor("pixm", "PIXm Patient Identifier Cross-reference Manager"),
)

ROUTES: tuple[Route, ...] = (
    Route("ITI-65", "mhd-recipient", "POST", (), documents.provide),
    Route("ITI-66", "mhd-responder", "GET", ("List",), documents.find_lists),
    Route("ITI-66", "mhd-responder", "GET", ("List", "{id}"), documents.read_list),
    Route("ITI-67", "mhd-responder", "GET", ("DocumentReference",),
          documents.find_document_references),
    Route("ITI-67", "mhd-responder", "GET", ("DocumentReference", "{id}"),
          documents.read_document_reference),
    Route("ITI-68", "mhd-responder", "GET", ("Binary", "{id}"), documents.retrieve),
    Route("ITI-78", "pdqm", "GET", ("Patient",), patients.search),
    Route("ITI-78", "pdqm", "GET", ("Patient", "{id}"), patients.read),
    Route("ITI-119", "pdqm", "POST", ("Patient", "$match"), patients.match),
    Route("ITI-83", "pixm", "GET", ("Patient", "$ihe-pix"), patients.ihe_pix),
    Route("ITI-104", "pixm", "PUT", ("Patient",), patients.feed_update),
    Route("ITI-104", "pixm", "POST", ("Patient",), patients.feed_create),
)


def fhir_transactions_of(actor: str) -> list[str]:
    """Transaction ids a FHIR actor serves, in table order."""
    return list(dict.fromkeys(r.transaction for r in ROUTES if r.actor == actor))


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
        candidates = [(r, found) for r in ROUTES if (found := r.match(call.parts)) is not None]
        for route, found in candidates:
            if route.method == call.method or (call.method == "HEAD" and route.method == "GET"):
                return route, found
        if candidates:
            allowed = sorted({r.method for r, _ in candidates})
            raise FhirError(405, "not-supported", f"{call.method} is not supported on "
                            f"/{'/'.join(call.parts)}; use {', '.join(allowed)}")
        kind = call.parts[0] if call.parts else ""
        known = sorted({r.pattern[0] for r in ROUTES if r.pattern})
        if kind and kind not in known:
            raise FhirError(404, "not-supported", f"resource type {kind!r} is not supported "
                            f"here; this server has {', '.join(known)}")
        raise FhirError(404, "not-found", f"no FHIR interaction at /{'/'.join(call.parts)}")


def capability_statement(call: FhirCall) -> dict[str, Any]:
    """What ``GET /fhir/metadata`` answers: the resource types and interactions served."""
    resources: dict[str, dict[str, Any]] = {}
    for route in ROUTES:
        if not route.pattern:
            continue
        entry = resources.setdefault(route.pattern[0], {"type": route.pattern[0],
                                                        "interaction": []})
        if route.pattern[-1].startswith("$"):
            continue  # operations need canonical OperationDefinition URLs: not listed
        code = {"GET": "search-type" if len(route.pattern) == 1 else "read",
                "PUT": "update", "POST": "create"}[route.method]
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
