"""The simulator's catalogue: which actor lives at which path and serves which transactions.

One table, read by the HTTP server for dispatch, by ``ihe sim`` for the URLs it prints and by
docs/simulator.md. It holds only the simulator's own behaviour (actors, paths, handlers, which
requests of a transaction it implements); the spec facts (request actions and body roots) come
from the transaction catalogue (:mod:`ihe_test_util.ihe.catalogue`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from lxml import etree

from ihe_test_util.ihe.catalogue import spec_for
from ihe_test_util.sim import pdq, pix, xcpd, xds_query, xds_retrieve, xds_submit
from ihe_test_util.sim.context import ActorContext
from ihe_test_util.sim.fhir.app import FHIR_ACTORS, FHIR_PREFIX, ROUTES, fhir_transactions_of
from ihe_test_util.transport.soap_server import SoapReply, SoapRequest

Handler = Callable[[SoapRequest, ActorContext], SoapReply]


@dataclass(frozen=True)
class Actor:
    name: str
    path: str
    title: str


@dataclass(frozen=True)
class Service:
    """An actor serving a transaction with a handler: every request of the catalogue entry, or
    only those whose body root's local name is in ``only`` (what the simulator implements)."""

    transaction: str
    actor: str
    handler: Handler
    only: tuple[str, ...] = ()


@dataclass(frozen=True)
class Transaction:
    """One dispatch row: an action at an actor, the body root it expects, and its handler."""

    id: str
    actor: str
    action: str
    body: tuple[str, str]  # (namespace, local name) of the request body root
    handler: Handler
    title: str


ACTORS: tuple[Actor, ...] = (
    Actor("pix", "/pix", "PIX Manager"),
    Actor("pdq", "/pdq", "PDQ Supplier"),
    Actor("registry", "/xds/registry", "XDS.b Document Registry"),
    Actor("repository", "/xds/repository", "XDS.b Document Repository"),
    Actor("xcpd", "/xcpd", "XCPD Responding Gateway"),
    # The FHIR actors share one base URL; sim/fhir/app.py routes their requests.
    *(Actor(actor.name, FHIR_PREFIX, actor.title) for actor in FHIR_ACTORS),
)
#: ``url_for("fhir")``: the FHIR base every FHIR actor answers at.
FHIR_ALIAS = "fhir"

SERVICES: tuple[Service, ...] = (
    Service("ITI-44", "pix", pix.feed),
    Service("ITI-45", "pix", pix.query),
    # PDQ continuation and cancel (QUQI_IN000003UV01) are not implemented.
    Service("ITI-47", "pdq", pdq.query, only=("PRPA_IN201305UV02",)),
    Service("ITI-41", "repository", xds_submit.provide_and_register),
    Service("ITI-43", "repository", xds_retrieve.retrieve),
    Service("ITI-18", "registry", xds_query.stored_query),
    Service("ITI-42", "registry", xds_submit.register),
    Service("ITI-55", "xcpd", xcpd.discover),
)


def _rows(service: Service) -> tuple[Transaction, ...]:
    spec = spec_for(service.transaction)
    rows = []
    for message in spec.requests:
        root = etree.QName(message.root)
        if message.action and (not service.only or root.localname in service.only):
            rows.append(Transaction(spec.id or service.transaction, service.actor,
                                    message.action, (root.namespace or "", root.localname),
                                    service.handler, spec.name))
    return tuple(rows)


#: Every (actor, action) the simulator answers, derived from :data:`SERVICES` and the catalogue.
TRANSACTIONS: tuple[Transaction, ...] = tuple(row for s in SERVICES for row in _rows(s))


def actor_at(path: str) -> Actor | None:
    """The SOAP actor at ``path`` (FHIR requests are routed before this is asked)."""
    normalised = "/" + path.strip("/")
    return next((a for a in ACTORS if a.path == normalised and a.path != FHIR_PREFIX), None)


def actor_named(name: str) -> Actor | None:
    """An actor by name (``registry``, ``pdqm``; ``fhir`` is the FHIR base) or by a
    transaction it serves (``ITI-18``, ``ITI-78``)."""
    wanted = name.strip().lower()
    if wanted == FHIR_ALIAS:
        return actor_named(FHIR_ACTORS[0].name)
    for actor in ACTORS:
        if actor.name == wanted:
            return actor
    for transaction in TRANSACTIONS:
        if transaction.id.lower() == wanted:
            return actor_named(transaction.actor)
    for route in ROUTES:
        if route.transaction and route.transaction.lower() == wanted:
            return actor_named(route.actor)
    return None


def transaction_for(actor: Actor, action: str) -> Transaction | None:
    return next(
        (t for t in TRANSACTIONS if t.actor == actor.name and t.action == action), None,
    )


def transactions_of(actor: Actor) -> list[str]:
    """Transaction ids served by ``actor``, in table order, without repeats."""
    if actor.path == FHIR_PREFIX:
        return fhir_transactions_of(actor.name)
    return list(dict.fromkeys(t.id for t in TRANSACTIONS if t.actor == actor.name))
