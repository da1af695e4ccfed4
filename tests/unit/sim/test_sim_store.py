"""Simulator state: SQLite in memory or in a file, atomic per transaction."""

from __future__ import annotations

from pathlib import Path

import pytest

from ihe_test_util.errors import UsageError
from ihe_test_util.ihe.cx import PatientId
from ihe_test_util.sim.store import RegistryRecord, Store, StoredDocument


def test_state_file_round_trip(tmp_path: Path) -> None:
    path = tmp_path / "state.sqlite"
    store = Store(path)
    number = store.add_patient([PatientId("a", "1.2"), PatientId("b", "1.3")], b"<p/>",
                               {"gender": "F"})
    store.add_objects([RegistryRecord("urn:uuid:1", "DocumentEntry", "approved", b"<x/>",
                                      unique_id="9.9", patient_id="a^^^&1.2&ISO",
                                      facets={"classCode": ["c^^s"]})])
    store.put_document(StoredDocument("9.9", "1.1", "text/plain", b"\x00bytes", "h", 6))
    store.close()
    reopened = Store(path)
    assert reopened.patient_for(PatientId("b", "1.3")) == number
    record = reopened.objects(unique_ids=["9.9"])[0]
    assert (record.entry_uuid, record.facets) == ("urn:uuid:1", {"classCode": ["c^^s"]})
    document = reopened.document("9.9")
    assert document is not None and document.content == b"\x00bytes"
    reopened.close()


def test_transaction_rolls_back_on_error() -> None:
    store = Store()
    with pytest.raises(RuntimeError), store.transaction():
        store.add_patient([PatientId("a", "1.2")], b"<p/>", {})
        raise RuntimeError("half way")
    assert store.patient_for(PatientId("a", "1.2")) is None
    with store.transaction():
        store.add_patient([PatientId("a", "1.2")], b"<p/>", {})
    assert store.patient_for(PatientId("a", "1.2")) is not None


def test_ids_move_and_domains_stay_known() -> None:
    store = Store()
    one = store.add_patient([PatientId("a", "1.2")], b"<p/>", {})
    two = store.add_patient([PatientId("b", "1.3")], b"<p/>", {})
    store.link_id(PatientId("b", "1.3"), one)
    assert [p.extension for p in store.ids_of(one)] == ["a", "b"]
    store.unlink_id(PatientId("b", "1.3"))
    store.delete_patient(two)
    assert store.known_domains() == {"1.2", "1.3"}
    assert [p.pid for p in store.patients()] == [one]


def test_not_a_state_file(tmp_path: Path) -> None:
    path = tmp_path / "junk"
    path.write_bytes(b"x" * 4096)
    with pytest.raises(UsageError, match="not a simulator state file"):
        Store(path)


def test_other_schema_version(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as db:
        db.execute("CREATE TABLE t (x)")
        db.execute("PRAGMA user_version = 99")
    db.close()
    with pytest.raises(UsageError, match="schema version 99"):
        Store(path)
