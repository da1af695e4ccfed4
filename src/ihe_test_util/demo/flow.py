"""A representative multi-step IHE flow, recorded into a cassette against live endpoints.

Patient feed (ITI-44) -> PIX query (ITI-45) -> PDQ query (ITI-47) -> Provide and Register
(ITI-41) -> FindDocuments (ITI-18, ObjectRef) -> GetDocuments by the entryUUIDs the registry
assigned (ITI-18, LeafClass: a chained value) -> Retrieve (ITI-43). It is what ``ihe demo``
records and what the example cassettes under ``cassettes/`` hold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ihe_test_util import __version__
from ihe_test_util.cassette import CassetteWriter, Redactor
from ihe_test_util.ihe.builders import (
    BuiltMessage,
    DocumentRequest,
    PatientDemographics,
    PatientId,
    PersonName,
    StoredQuery,
    ccd_entry,
    iti18_stored_query,
    iti41_provide_and_register,
    iti43_retrieve,
    iti44_add,
    iti45_query,
    iti47_query,
)
from ihe_test_util.ihe.message import message_of
from ihe_test_util.ihe.namespaces import RIM
from ihe_test_util.model import CassetteMeta, Interaction, InteractionMeta, Response
from ihe_test_util.transport.http import HttpTransport

AFFINITY_DOMAIN = "1.3.6.1.4.1.21367.13.20.1000"
LOCAL_DOMAIN = "1.3.6.1.4.1.21367.13.20.2000"


@dataclass(frozen=True)
class FlowEndpoints:
    pix: str
    pdq: str
    registry: str
    repository: str
    repository_unique_id: str

    @classmethod
    def of(cls, urls: Mapping[str, str], repository_unique_id: str) -> FlowEndpoints:
        return cls(urls["pix"], urls["pdq"], urls["registry"], urls["repository"],
                   repository_unique_id)


def demo_patient(number: int = 1) -> PatientDemographics:
    return PatientDemographics(
        ids=(PatientId(f"IHEDEMO-{number:04d}", AFFINITY_DOMAIN),
             PatientId(f"LOCAL-{number:04d}", LOCAL_DOMAIN)),
        name=PersonName("Mohr", ("Alice",)), gender="F", birth_date="19770429",
    )


def record_xds_flow(
    path: Path, endpoints: FlowEndpoints, *, patient: PatientDemographics | None = None,
    documents: int = 2, on_step: Callable[[str, Response], None] | None = None,
) -> Path:
    """Run the flow against ``endpoints`` and write every exchange to ``path`` as it completes."""
    patient = patient or demo_patient()
    pid = patient.primary_id
    meta = CassetteMeta(tool_version=__version__, name=path.stem)
    with HttpTransport() as transport, CassetteWriter(path, meta, Redactor()) as writer:

        def step(name: str, message: BuiltMessage, url: str) -> Response:
            request = message.to_request(url)
            response, elapsed = transport.send(request)
            writer.append(Interaction(request, response, InteractionMeta(
                transaction=message.transaction, step=name, endpoint=url, duration_ms=elapsed,
            )))
            if on_step is not None:
                on_step(name, response)
            return response

        step("register patient", iti44_add(patient), endpoints.pix)
        step("PIX query", iti45_query(PatientId(pid.extension, pid.root),
                                      data_sources=(LOCAL_DOMAIN,)), endpoints.pix)
        step("PDQ query", iti47_query(PatientDemographics(
            name=patient.name, gender=patient.gender, birth_date=patient.birth_date)),
            endpoints.pdq)
        entries = [ccd_entry(patient, title=f"Summary {n + 1}") for n in range(documents)]
        step("provide and register", iti41_provide_and_register(pid, entries),
             endpoints.repository)
        found = step("find documents", iti18_stored_query(StoredQuery(
            "FindDocuments", {
                "XDSDocumentEntryPatientId": pid.cx(),
                "XDSDocumentEntryStatus": ["urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"],
            }, return_type="ObjectRef")), endpoints.registry)
        uuids = _object_refs(found)
        listed = step("get documents", iti18_stored_query(StoredQuery(
            "GetDocuments", {"XDSDocumentEntryEntryUUID": uuids})), endpoints.registry)
        unique_ids = _document_unique_ids(listed)
        step("retrieve documents", iti43_retrieve([
            DocumentRequest(uid, endpoints.repository_unique_id) for uid in unique_ids
        ]), endpoints.repository)
    return path


def _object_refs(response: Response) -> list[str]:
    root = message_of(response).root
    if root is None:
        return []
    return [str(ref.get("id")) for ref in root.iter(f"{{{RIM}}}ObjectRef")]


def _document_unique_ids(response: Response) -> list[str]:
    root = message_of(response).root
    if root is None:
        return []
    scheme = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"
    return [
        str(identifier.get("value"))
        for identifier in root.iter(f"{{{RIM}}}ExternalIdentifier")
        if identifier.get("identificationScheme") == scheme
    ]
