"""The simulator's FHIR actors through a real FHIR client: ``fhirclient`` (SMART on FHIR's Python
client, whose R4 models refuse resources they cannot parse) searches, reads and creates, and
follows the searchset's ``next`` link."""

from __future__ import annotations

import sys
from collections.abc import Iterator
from types import ModuleType
from typing import Any

import pytest

from ihe_test_util.sim import Simulator

from .fhir_sim_support import SESSION_DOMAIN, fhir_session
from .fhir_validation import fhirclient_folder


@pytest.fixture(scope="module")
def fhirclient() -> ModuleType:
    folder = str(fhirclient_folder())
    if folder not in sys.path:
        sys.path.append(folder)  # after the project's own packages (requests, certifi, ...)
    import fhirclient

    return fhirclient


@pytest.fixture(scope="module")
def server(fhirclient: ModuleType) -> Iterator[Any]:
    from fhirclient import client

    with Simulator() as sim:
        fhir_session(sim.url_for("fhir"))
        smart = client.FHIRClient(settings={"app_id": "ihe-test-util",
                                            "api_base": sim.url_for("fhir") + "/"})
        yield smart.server


def test_pdqm_search_sorted_and_read(server: Any) -> None:
    from fhirclient.models.patient import Patient

    search = Patient.where(struct={"family": "recorder", "_sort": "given"})
    found = list(search.perform_resources_iter(server))
    assert [p.name[0].given for p in found] == [["Remy"], ["Rita"]]
    again = Patient.read(found[1].id, server)
    assert again.birthDate.isostring == "1980-02-03"
    assert {(i.system, i.value) for i in again.identifier} >= {
        (f"urn:oid:{SESSION_DOMAIN}", "REC-1")}


def test_paging_through_next_links(server: Any) -> None:
    from fhirclient.models.patient import Patient

    bundles = list(Patient.where(struct={"family": "recorder", "_count": "1"}).perform_iter(
        server))  # the client follows the searchset's next links
    assert [b.total for b in bundles] == [2, 2]
    assert [b.entry[0].resource.name[0].given[0] for b in bundles] == ["Rita", "Remy"]


def test_mhd_document_references_and_create(server: Any) -> None:
    from fhirclient.models.documentreference import DocumentReference
    from fhirclient.models.patient import Patient

    documents = list(DocumentReference.where(struct={
        "patient.identifier": f"urn:oid:{SESSION_DOMAIN}|REC-1"}).perform_resources_iter(server))
    assert {d.status for d in documents} == {"current", "superseded"}
    current = next(d for d in documents if d.status == "current")
    assert current.relatesTo[0].code == "replaces"
    assert current.content[0].attachment.url.endswith(f"/Binary/{current.id}")
    created = Patient({"identifier": [{"system": "urn:oid:1.2.840.7", "value": "FC-1"}],
                       "name": [{"family": "Client", "given": ["Carl"]}]}).create(server)
    assert created["id"].isdigit() and len(created["id"]) == 6
    assert Patient.read(created["id"], server).name[0].family == "Client"
