"""The simulator's catalogue: which actor lives at which path and answers which actions.

One table, read by the HTTP server for dispatch, by ``ihe sim`` for the URLs it prints and by
docs/simulator.md. Request actions and body roots follow ITI TF-2 (see ihe-domain.md §2).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ihe_test_util.ihe.namespaces import HL7V3, LCM, QUERY, XDSB
from ihe_test_util.sim import pdq, pix, xcpd, xds_query, xds_retrieve, xds_submit
from ihe_test_util.sim.context import ActorContext
from ihe_test_util.transport.soap_server import SoapReply, SoapRequest

Handler = Callable[[SoapRequest, ActorContext], SoapReply]


@dataclass(frozen=True)
class Actor:
    name: str
    path: str
    title: str


@dataclass(frozen=True)
class Transaction:
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
)

TRANSACTIONS: tuple[Transaction, ...] = (
    Transaction("ITI-44", "pix", "urn:hl7-org:v3:PRPA_IN201301UV02",
                (HL7V3, "PRPA_IN201301UV02"), pix.feed, "Patient Identity Feed HL7v3: add"),
    Transaction("ITI-44", "pix", "urn:hl7-org:v3:PRPA_IN201302UV02",
                (HL7V3, "PRPA_IN201302UV02"), pix.feed, "Patient Identity Feed HL7v3: revise"),
    Transaction("ITI-44", "pix", "urn:hl7-org:v3:PRPA_IN201304UV02",
                (HL7V3, "PRPA_IN201304UV02"), pix.feed, "Patient Identity Feed HL7v3: merge"),
    Transaction("ITI-45", "pix", "urn:hl7-org:v3:PRPA_IN201309UV02",
                (HL7V3, "PRPA_IN201309UV02"), pix.query, "PIXV3 Query"),
    Transaction("ITI-47", "pdq", "urn:hl7-org:v3:PRPA_IN201305UV02",
                (HL7V3, "PRPA_IN201305UV02"), pdq.query, "Patient Demographics Query HL7v3"),
    Transaction("ITI-41", "repository", "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b",
                (XDSB, "ProvideAndRegisterDocumentSetRequest"), xds_submit.provide_and_register,
                "Provide and Register Document Set-b"),
    Transaction("ITI-43", "repository", "urn:ihe:iti:2007:RetrieveDocumentSet",
                (XDSB, "RetrieveDocumentSetRequest"), xds_retrieve.retrieve,
                "Retrieve Document Set"),
    Transaction("ITI-18", "registry", "urn:ihe:iti:2007:RegistryStoredQuery",
                (QUERY, "AdhocQueryRequest"), xds_query.stored_query, "Registry Stored Query"),
    Transaction("ITI-42", "registry", "urn:ihe:iti:2007:RegisterDocumentSet-b",
                (LCM, "SubmitObjectsRequest"), xds_submit.register, "Register Document Set-b"),
    Transaction("ITI-55", "xcpd", "urn:hl7-org:v3:PRPA_IN201305UV02:CrossGatewayPatientDiscovery",
                (HL7V3, "PRPA_IN201305UV02"), xcpd.discover, "Cross Gateway Patient Discovery"),
)


def actor_at(path: str) -> Actor | None:
    normalised = "/" + path.strip("/")
    return next((a for a in ACTORS if a.path == normalised), None)


def actor_named(name: str) -> Actor | None:
    """An actor by name (``registry``) or by a transaction it serves (``ITI-18``)."""
    wanted = name.strip().lower()
    for actor in ACTORS:
        if actor.name == wanted:
            return actor
    for transaction in TRANSACTIONS:
        if transaction.id.lower() == wanted:
            return actor_named(transaction.actor)
    return None


def transaction_for(actor: Actor, action: str) -> Transaction | None:
    return next(
        (t for t in TRANSACTIONS if t.actor == actor.name and t.action == action), None,
    )


def transactions_of(actor: Actor) -> list[str]:
    """Transaction ids served by ``actor``, in table order, without repeats."""
    return list(dict.fromkeys(t.id for t in TRANSACTIONS if t.actor == actor.name))
