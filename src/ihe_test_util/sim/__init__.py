"""The embedded reference IHE endpoint (``ihe sim``): PIX Manager, PDQ Supplier, XDS.b Registry
and Repository, XCPD Responding Gateway on one localhost port (FHIR actors under /fhir; PIX v2
and PDQ v2 on an MLLP port), with upgrade profiles.

    from ihe_test_util.sim import Simulator
    with Simulator(profile="baseline") as sim:
        sim.url_for("registry")   # http://127.0.0.1:54321/xds/registry
        sim.mllp_url              # mllp://127.0.0.1:54322 (ITI-8, ITI-9, ITI-21)
"""

from __future__ import annotations

from ihe_test_util.sim.profiles import PROFILES, Deviation, Profile, get_profile
from ihe_test_util.sim.server import Simulator
from ihe_test_util.sim.transactions import ACTORS, TRANSACTIONS

__all__ = ["ACTORS", "PROFILES", "TRANSACTIONS", "Deviation", "Profile", "Simulator",
           "get_profile"]
