"""Every resource the simulator's FHIR actors answer in a MHD + PDQm + PIXm session is valid
FHIR R4 for a third-party library (fhir.resources), in JSON and in XML; and XML written by that
library is read by the simulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
import requests

from ihe_test_util.sim import Simulator

from .fhir_sim_support import FHIR_XML, fhir_session, patient
from .fhir_validation import Validator


@pytest.fixture(scope="module")
def validator() -> Validator:
    return Validator()


@pytest.fixture(scope="module")
def sim() -> Iterator[Simulator]:
    with Simulator(profile="compatible") as running:  # ids, tags and links of the upgrade too
        yield running


def test_every_json_answer_of_a_session_is_valid_fhir(sim: Simulator,
                                                      validator: Validator) -> None:
    answers = fhir_session(sim.url_for("fhir"))
    checked = set()
    for answer in answers:
        if not answer.headers["Content-Type"].startswith("application/fhir+json"):
            continue
        model = validator.json(answer.resource)
        checked.add(type(model).__name__)
        for entry in answer.resource.get("entry", []):
            if "resource" in entry:
                checked.add(type(validator.json(entry["resource"])).__name__)
    assert {"Patient", "Bundle", "Parameters", "DocumentReference", "List",
            "OperationOutcome"} <= checked


@pytest.mark.parametrize(("path", "resource_type"), [
    ("Patient?family=recorder", "Bundle"),
    ("DocumentReference?patient.identifier=urn:oid:1.3.6.1.4.1.21367.2005.3.7|REC-1",
     "Bundle"),
    ("List?patient.identifier=urn:oid:1.3.6.1.4.1.21367.2005.3.7|REC-1", "Bundle"),
    ("Patient/$ihe-pix?sourceIdentifier=urn:oid:1.3.6.1.4.1.21367.2005.3.7|REC-1",
     "Parameters"),
    ("Patient/nobody", "OperationOutcome"),
    ("metadata", "CapabilityStatement"),
])
def test_xml_answers_are_valid_fhir_xml(sim: Simulator, validator: Validator, path: str,
                                        resource_type: str) -> None:
    if not requests.get(f"{sim.url_for('fhir')}/Patient", params={"family": "recorder"},
                        timeout=30).json().get("total"):
        fhir_session(sim.url_for("fhir"))
    answer = requests.get(f"{sim.url_for('fhir')}/{path}", headers={"Accept": FHIR_XML},
                          timeout=30)
    assert answer.headers["Content-Type"].startswith(FHIR_XML)
    model = validator.xml(resource_type, answer.content)
    assert type(model).__name__ == resource_type


def test_the_simulator_reads_xml_the_library_writes(sim: Simulator,
                                                    validator: Validator) -> None:
    body = validator.to_xml(patient("1.2.840.99", "LIB-1", "Library", "Lou"))
    answer = requests.put(f"{sim.url_for('fhir')}/Patient", data=body, timeout=30,
                          params={"identifier": "urn:oid:1.2.840.99|LIB-1"},
                          headers={"Content-Type": FHIR_XML, "Accept": FHIR_XML})
    assert answer.status_code == 201, answer.text
    created = validator.xml("Patient", answer.content)
    assert created.name[0].family == "Library" and created.name[0].given == ["Lou"]
    assert created.address[0].line == ["1 Main St"]
