"""Fresh identifiers and timestamps in the shapes IHE messages use.

One :class:`IdGenerator` is the single source of "new" values for builders and for replay
regeneration, so tests can inject a fixed clock and deterministic UUIDs.
"""

from __future__ import annotations

import datetime as dt
import re
import uuid
from collections.abc import Callable

from ihe_test_util.errors import ConfigError

#: Longest OID an XDS uniqueId may be (ITI TF-3 4.2.3.2.26: 64 characters).
MAX_OID_LENGTH = 64
#: Root under which a UUID written as an integer is a globally unique OID (ITU-T X.667).
UUID_OID_ROOT = "2.25"

OID = re.compile(r"^[0-2](\.(0|[1-9][0-9]*))+$")
UUID = re.compile(r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$")
_TIMESTAMP = re.compile(r"^(?P<digits>\d{4,14})(?P<fraction>\.\d{1,6})?(?P<zone>[+-]\d{4})?$")

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def is_oid(value: str) -> bool:
    return bool(OID.match(value))


def is_uuid(value: str) -> bool:
    """A bare UUID, or one spelled ``urn:uuid:...`` / ``uuid:...`` (any case)."""
    return bool(UUID.match(strip_uuid_prefix(value)))


def strip_uuid_prefix(value: str) -> str:
    lowered = value.lower()
    for prefix in ("urn:uuid:", "uuid:"):
        if lowered.startswith(prefix):
            return value[len(prefix):]
    return value


class IdGenerator:
    """New UUIDs, OIDs under a root, and the current time (all injectable for tests)."""

    def __init__(
        self, *, oid_root: str = UUID_OID_ROOT, clock: Clock = utc_now,
        uuid_factory: Callable[[], uuid.UUID] = uuid.uuid4,
    ) -> None:
        if not is_oid(oid_root):
            raise ConfigError(f"OID root {oid_root!r} is not an OID (digits and dots)",
                              key="oid_root", hint='for example "1.2.826.0.1.3680043.2.1125"')
        room = MAX_OID_LENGTH - len(oid_root) - 1
        if room < 12:
            raise ConfigError(
                f"OID root {oid_root!r} leaves {room} digits in a 64-character uniqueId; "
                "at least 12 are needed to keep generated ids unique", key="oid_root",
                hint="use a shorter root",
            )
        self.oid_root = oid_root
        self._digits = min(room, 39)
        self.clock = clock
        self._uuid = uuid_factory

    def uuid(self) -> str:
        return str(self._uuid())

    def uuid_urn(self) -> str:
        return f"urn:uuid:{self._uuid()}"

    def oid(self) -> str:
        """A new OID under the root, at most 64 characters long."""
        return f"{self.oid_root}.{self._uuid().int % 10 ** self._digits}"

    def now(self) -> dt.datetime:
        return self.clock()

    def timestamp(self, digits: int = 14) -> str:
        """HL7 / XDS DTM in UTC: ``YYYYMMDDHHMMSS`` cut to ``digits`` digits."""
        return self.now().astimezone(dt.timezone.utc).strftime("%Y%m%d%H%M%S")[:digits]

    def timestamp_like(self, recorded: str) -> str:
        """The current time in the same shape as ``recorded`` (precision, fraction, zone).

        A value that is no timestamp at all (malformed ones occur in the wild) becomes a
        14-digit one.
        """
        match = _TIMESTAMP.match(recorded.strip())
        if match is None:
            return self.timestamp()
        now = self.now().astimezone(dt.timezone.utc)
        out = now.strftime("%Y%m%d%H%M%S")[: len(match["digits"])]
        if match["fraction"]:
            places = len(match["fraction"]) - 1
            out += "." + f"{now.microsecond:06d}"[:places]
        if match["zone"]:
            out += "+0000"
        return out


#: The generator used when a caller does not inject one.
DEFAULT_IDS = IdGenerator()
