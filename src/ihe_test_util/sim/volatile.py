"""The values a real endpoint makes up on every response: message ids, timestamps, entryUUIDs.

They are exactly the noise a regression harness must see through, so the simulator produces
them fresh each time. Both sources are injectable so tests can pin them when they need to.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timezone


def _utc_now() -> datetime:
    return datetime.now(timezone.utc)


@dataclass(frozen=True)
class Volatility:
    """Source of fresh identifiers and the current time."""

    new_uuid: Callable[[], uuid.UUID] = field(default=uuid.uuid4)
    clock: Callable[[], datetime] = field(default=_utc_now)

    def urn_uuid(self) -> str:
        """``urn:uuid:...``: wsa:MessageID and registry-assigned entryUUIDs."""
        return f"urn:uuid:{self.new_uuid()}"

    def plain_uuid(self) -> str:
        """A bare UUID string (HL7v3 message id roots, MIME Content-IDs)."""
        return str(self.new_uuid())

    def hl7_timestamp(self) -> str:
        """HL7 TS to the second (``YYYYMMDDHHMMSS``), as creationTime carries it."""
        return self.clock().strftime("%Y%m%d%H%M%S")
