"""What every actor handler receives: state, profile, identity and the source of volatile values."""

from __future__ import annotations

from dataclasses import dataclass, field

from ihe_test_util.ihe.vocabulary import OID_URN_PREFIX
from ihe_test_util.sim.hl7v3 import Endpoint
from ihe_test_util.sim.profiles import Deviation, Profile
from ihe_test_util.sim.store import Store
from ihe_test_util.sim.volatile import Volatility
from ihe_test_util.sim.xmlstyle import ALTERNATE_STYLE, BASELINE_STYLE, Style


@dataclass(frozen=True)
class SimIdentity:
    """Stable identifiers of this endpoint (UUID-derived OIDs under 2.25, owned by nobody)."""

    device_oid: str = "2.25.268534901050878427300744966277590209366"
    repository_unique_id: str = "2.25.333644530990670259413458082862070224584"
    home_community_oid: str = "2.25.247714569432177708776357627982453163085"

    @property
    def home_community_id(self) -> str:
        return f"{OID_URN_PREFIX}{self.home_community_oid}"

    @property
    def endpoint(self) -> Endpoint:
        return Endpoint(self.device_oid)


@dataclass(frozen=True)
class ActorContext:
    store: Store
    profile: Profile
    identity: SimIdentity = field(default_factory=SimIdentity)
    volatility: Volatility = field(default_factory=Volatility)

    def has(self, deviation: Deviation) -> bool:
        return self.profile.has(deviation)

    @property
    def style(self) -> Style:
        return ALTERNATE_STYLE if self.has(Deviation.ALTERNATE_XML_STYLE) else BASELINE_STYLE
