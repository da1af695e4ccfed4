"""The simulator's HL7 v2 actors over MLLP: PIX v2 Manager (ITI-8, ITI-9) and PDQ v2 Supplier
(ITI-21), on the patient store the HL7 v3 and FHIR actors share."""

from __future__ import annotations

from ihe_test_util.sim.hl7v2.server import (
    V2_ACTORS,
    V2_SERVICES,
    V2Actor,
    V2Session,
    v2_actor_named,
    v2_transactions_of,
)

__all__ = ["V2_ACTORS", "V2_SERVICES", "V2Actor", "V2Session", "v2_actor_named",
           "v2_transactions_of"]
