"""Fresh ids: OIDs fit a uniqueId, timestamps keep the recorded shape."""

from __future__ import annotations

import datetime as dt

import pytest

from ihe_test_util.errors import ConfigError
from ihe_test_util.ihe.identifiers import MAX_OID_LENGTH, IdGenerator, is_oid, is_uuid

NOW = dt.datetime(2026, 3, 1, 9, 8, 7, 654321, tzinfo=dt.timezone.utc)


def test_oids_are_unique_valid_and_short_enough() -> None:
    for root in ("2.25", "1.3.6.1.4.1.21367.13.20.1000.99.1234567890.1234"):
        ids = IdGenerator(oid_root=root)
        made = {ids.oid() for _ in range(500)}
        assert len(made) == 500
        assert all(is_oid(o) and o.startswith(root + ".") for o in made)
        assert max(len(o) for o in made) <= MAX_OID_LENGTH


def test_bad_roots_are_config_errors() -> None:
    with pytest.raises(ConfigError, match="not an OID"):
        IdGenerator(oid_root="urn:oid:1.2.3")
    with pytest.raises(ConfigError, match="shorter root"):
        IdGenerator(oid_root="1." + ".".join(["123456"] * 8))


@pytest.mark.parametrize(("recorded", "fresh"), [
    ("20091112115139", "20260301090807"),
    ("20091214", "20260301"),
    ("202092393350", "202603010908"),  # malformed in the wild: same number of digits
    ("20091112115139.1234", "20260301090807.6543"),
    ("20091112115139+0100", "20260301090807+0000"),
    ("not a time", "20260301090807"),
])
def test_timestamp_like_keeps_the_shape(recorded: str, fresh: str) -> None:
    assert IdGenerator(clock=lambda: NOW).timestamp_like(recorded) == fresh


def test_uuid_spellings() -> None:
    assert is_uuid("urn:uuid:31D7E4B5-C117-481E-9EE1-F32849E81BF8")
    assert is_uuid("uuid:31d7e4b5-c117-481e-9ee1-f32849e81bf8")
    assert is_uuid("31d7e4b5-c117-481e-9ee1-f32849e81bf8")
    assert not is_uuid("Document01")
