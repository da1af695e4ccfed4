"""An independent SOAP client (zeep, from a WSDL) talks to the simulator's registry."""

from __future__ import annotations

from pathlib import Path

import pytest

from ihe_test_util.sim import Simulator

from .sim_support import PIX_ADD, PNR, Patient, feed_message, pnr_request, post

zeep = pytest.importorskip("zeep")

WSDL = Path(__file__).parent / "data" / "registry-iti18.wsdl"
BINDING = "{urn:ihe:iti:xds-b:2007}DocumentRegistry_Binding_Soap12"
PATIENT = Patient("1.2.260", "SR7")


def _service(url: str) -> object:
    # the wsaw:Action attributes in the WSDL make zeep add the WS-Addressing headers itself
    client = zeep.Client(str(WSDL))
    return client.create_service(BINDING, url)


def _find_documents(service: object, return_type: str) -> object:
    return service.DocumentRegistry_RegistryStoredQuery(  # type: ignore[attr-defined]
        ResponseOption={"returnType": return_type, "returnComposedObjects": True},
        AdhocQuery={"id": "urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d", "Slot": [
            {"name": "$XDSDocumentEntryPatientId", "ValueList": {"Value": [f"'{PATIENT.cx}'"]}},
            {"name": "$XDSDocumentEntryStatus", "ValueList": {
                "Value": ["('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')"]}},
        ]},
    )


@pytest.mark.parametrize("profile", ["baseline", "compatible"])
def test_zeep_runs_find_documents(profile: str) -> None:
    with Simulator(profile=profile) as sim:
        post(sim.url_for("pix"), PIX_ADD, feed_message(PATIENT))
        request, attachments = pnr_request(PATIENT)
        assert post(sim.url_for("repository"), PNR, request, attachments=attachments).status \
            .endswith(":Success")
        service = _service(sim.url_for("registry"))
        leaf = _find_documents(service, "LeafClass")
        assert leaf.status == "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
        [object_list] = leaf._value_1
        entries = [e for e in object_list if e.tag.endswith("ExtrinsicObject")]
        assert len(entries) == 1
        assert entries[0].get("status") == "urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"
        refs = _find_documents(service, "ObjectRef")
        [object_list] = refs._value_1
        assert [r.get("id") for r in object_list] == [entries[0].get("id")]


def test_zeep_sees_a_soap_fault() -> None:
    with Simulator() as sim:
        service = _service(sim.url_for("pix"))  # the registry's action at the PIX path
        with pytest.raises(zeep.exceptions.Fault) as caught:
            _find_documents(service, "LeafClass")
    assert "not supported" in caught.value.message
    assert caught.value.code is not None and caught.value.code.endswith("Sender")
