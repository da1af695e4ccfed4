"""A request that matches nothing is explained against the closest recorded request."""

from __future__ import annotations

from pathlib import Path

from ihe_test_util.ihe.builders import (
    PatientDemographics,
    PatientId,
    PersonName,
    StoredQuery,
    iti18_stored_query,
    iti45_query,
    iti47_query,
)
from ihe_test_util.model import Interaction, InteractionMeta, Request, Response
from ihe_test_util.serve.explain import SERVE_NS, Explainer, value_differences
from ihe_test_util.serve.index import RecordedEntry
from ihe_test_util.serve.shape import shape_of

BASE = "http://registry.example"
PATIENT = PatientId("IHEDEMO-0001", "1.3.6.1.4.1.21367.13.20.1000")
OTHER = PatientId("IHEDEMO-0002", PATIENT.root)


def _find(patient: PatientId, status: str = "Approved", path: str = "/xds/registry") -> Request:
    return iti18_stored_query(StoredQuery("FindDocuments", {
        "XDSDocumentEntryPatientId": patient.cx(),
        "XDSDocumentEntryStatus": [f"urn:oasis:names:tc:ebxml-regrep:StatusType:{status}"],
    }, return_type="ObjectRef")).to_request(BASE + path)


def _entries(*requests: tuple[Request, str]) -> list[RecordedEntry]:
    return [RecordedEntry(Path("flow.yaml"), number, Interaction(
        request, Response(200), InteractionMeta(step=step)), shape_of(request))
        for number, (request, step) in enumerate(requests)]


def _explainer() -> Explainer:
    return Explainer(_entries(
        (iti45_query(PATIENT).to_request(BASE + "/pix"), "PIX query"),
        (_find(PATIENT), "find approved"),
        (_find(PATIENT, "Deprecated"), "find deprecated"),
        (iti47_query(PatientDemographics(name=PersonName("Mohr", ("Alice",)))).to_request(
            BASE + "/pdq"), "PDQ query"),
    ))


def test_a_changed_patient_id_is_named_value_by_value() -> None:
    mismatch = _explainer().explain(shape_of(_find(OTHER)))
    assert mismatch.closest is not None and mismatch.closest.number == 1
    [difference] = mismatch.differences
    assert difference.location.endswith(
        "AdhocQuery/Slot[@name='$XDSDocumentEntryPatientId']/ValueList/Value")
    assert (difference.recorded, difference.received) == (f"'{PATIENT.cx()}'", f"'{OTHER.cx()}'")
    text = mismatch.reason_text()
    assert text.startswith("no recorded interaction matches this ITI-18 (POST /xds/registry, "
                           "action urn:ihe:iti:2007:RegistryStoredQuery). Closest: flow.yaml"
                           "#1 (ITI-18 'find approved'): ")
    assert f"recorded \"'{PATIENT.cx()}'\", received \"'{OTHER.cx()}'\"" in text
    assert 0.5 < mismatch.similarity < 1


def test_the_most_similar_request_of_the_best_tier_is_chosen() -> None:
    mismatch = _explainer().explain(shape_of(_find(OTHER, "Deprecated")))
    assert mismatch.closest is not None and mismatch.closest.number == 2
    hl7 = iti45_query(OTHER).to_request(BASE + "/pix")
    found = _explainer().explain(shape_of(hl7))
    assert found.closest is not None and found.closest.number == 0
    assert [d.location.rsplit("/", 1)[-1] for d in found.differences] == ["@extension"]


def test_path_and_action_differences_are_reasons() -> None:
    mismatch = _explainer().explain(shape_of(_find(PATIENT, path="/registry")))
    assert mismatch.closest is not None and mismatch.closest.number == 1
    assert mismatch.reasons == ("path: recorded /xds/registry, received /registry",)
    assert mismatch.differences == ()
    assert "Closest: flow.yaml#1 (ITI-18 'find approved'): path: recorded /xds/registry, " \
           "received /registry" in mismatch.reason_text()
    get = shape_of(Request("GET", BASE + "/xds/registry"))
    reasons = _explainer().explain(get).reasons
    assert any(r.startswith("method: recorded POST, received GET") for r in reasons)


def test_differences_pair_values_by_location_in_document_order() -> None:
    recorded = ("a/b = 1", "a/c = x", "a/c = y", "a/d = gone")
    received = ("a/b = 2", "a/c = y", "a/c = z", "a/e = new")
    found = [(d.location, d.recorded, d.received) for d in value_differences(recorded, received)]
    assert found == [("a/b", "1", "2"), ("a/c", "x", "z"), ("a/d", "gone", None),
                     ("a/e", None, "new")]
    assert [str(d) for d in value_differences(("a/d = gone",), ("a/e = new",))] == [
        "a/d: recorded 'gone', missing from the request",
        "a/e: not in the recording, received 'new'"]


def test_many_differences_are_counted_and_detail_lists_them() -> None:
    pdq = iti47_query(PatientDemographics(
        name=PersonName("Other", ("Bob", "Carl")), gender="M", birth_date="19800101",
        ids=(OTHER,))).to_request(BASE + "/pdq")
    mismatch = _explainer().explain(shape_of(pdq))
    assert mismatch.closest is not None and mismatch.closest.number == 3
    assert len(mismatch.differences) > 5
    assert f"and {len(mismatch.differences) - 5} more differences" in mismatch.reason_text()
    detail = mismatch.detail()
    assert detail.tag == f"{{{SERVE_NS}}}NoMatch"
    closest = detail.find(f"{{{SERVE_NS}}}Closest")
    assert closest is not None
    assert closest.get("interaction") == "3" and closest.get("step") == "PDQ query"
    assert len(closest.findall(f"{{{SERVE_NS}}}Difference")) == len(mismatch.differences)


def test_nothing_recorded() -> None:
    mismatch = Explainer([]).explain(shape_of(_find(PATIENT)))
    assert mismatch.closest is None
    assert mismatch.reason_text().endswith("; nothing is recorded")
