"""The simulator's state: patients (PIX/PDQ), registry objects (XDS) and documents.

One SQLite database, in memory by default or in a file (``--state FILE``) so a simulator can be
stopped and started between recording and replaying. The server is threaded; one lock
serialises access, and :meth:`Store.transaction` makes an actor's check-then-write atomic.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ihe_test_util.errors import UsageError
from ihe_test_util.ihe.cx import PatientId

SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS patients (
    pid INTEGER PRIMARY KEY AUTOINCREMENT,
    person_xml BLOB NOT NULL,
    facets TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS patient_ids (
    root TEXT NOT NULL,
    extension TEXT NOT NULL,
    authority_name TEXT,
    pid INTEGER NOT NULL REFERENCES patients(pid),
    seq INTEGER NOT NULL,
    PRIMARY KEY (root, extension)
);
CREATE TABLE IF NOT EXISTS domains (
    root TEXT PRIMARY KEY
);
CREATE TABLE IF NOT EXISTS registry_objects (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    entry_uuid TEXT NOT NULL UNIQUE,
    kind TEXT NOT NULL,
    unique_id TEXT,
    patient_id TEXT,
    status TEXT NOT NULL,
    source TEXT,
    target TEXT,
    assoc_type TEXT,
    facets TEXT NOT NULL,
    xml BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS registry_by_unique_id ON registry_objects(kind, unique_id);
CREATE INDEX IF NOT EXISTS registry_by_patient ON registry_objects(kind, patient_id);
CREATE TABLE IF NOT EXISTS documents (
    unique_id TEXT PRIMARY KEY,
    repository_id TEXT NOT NULL,
    mime_type TEXT NOT NULL,
    content BLOB NOT NULL,
    hash TEXT NOT NULL,
    size INTEGER NOT NULL
);
"""


@dataclass(frozen=True)
class PatientRecord:
    pid: int
    ids: tuple[PatientId, ...]
    person_xml: bytes
    facets: Mapping[str, Any]


@dataclass(frozen=True)
class RegistryRecord:
    """One registry object as stored: indexed columns plus the ebRIM XML."""

    entry_uuid: str
    kind: str  # DocumentEntry | SubmissionSet | Folder | Association
    status: str
    xml: bytes
    unique_id: str | None = None
    patient_id: str | None = None
    source: str | None = None
    target: str | None = None
    assoc_type: str | None = None
    facets: Mapping[str, list[str]] = field(default_factory=dict)
    seq: int = 0


@dataclass(frozen=True)
class StoredDocument:
    unique_id: str
    repository_id: str
    mime_type: str
    content: bytes
    hash: str
    size: int


class Store:
    """Thread-safe access to the simulator state (``path=None`` keeps it in memory)."""

    def __init__(self, path: Path | str | None = None) -> None:
        self.path = Path(path) if path is not None else None
        self._lock = threading.RLock()
        self._depth = 0
        target = str(self.path) if self.path is not None else ":memory:"
        try:
            self._db = sqlite3.connect(target, check_same_thread=False, isolation_level=None)
            version = self._db.execute("PRAGMA user_version").fetchone()[0]
            tables = self._db.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]
        except sqlite3.DatabaseError as exc:
            raise UsageError(
                f"{target}: not a simulator state file ({exc})",
                hint="pass a new file name to --state, or the file a simulator wrote before",
            ) from None
        if tables and version != SCHEMA_VERSION:
            self._db.close()
            raise UsageError(
                f"{target}: state file has schema version {version}, this simulator "
                f"writes version {SCHEMA_VERSION}",
                hint="start with a fresh --state file",
            )
        self._db.executescript(_SCHEMA)
        self._db.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def transaction(self) -> Iterator[Store]:
        """Hold the lock and one SQLite transaction: all writes inside commit or none do."""
        with self._lock:
            outermost = self._depth == 0
            if outermost:
                self._db.execute("BEGIN IMMEDIATE")
            self._depth += 1
            try:
                yield self
            except BaseException:
                self._depth -= 1
                if outermost:
                    self._db.execute("ROLLBACK")
                raise
            self._depth -= 1
            if outermost:
                self._db.execute("COMMIT")

    def _rows(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, params).fetchall()

    def _exec(self, sql: str, params: Sequence[Any] = ()) -> int:
        with self._lock:
            cursor = self._db.execute(sql, params)
            return int(cursor.lastrowid or 0)

    # -- patients ------------------------------------------------------------------------

    def patient_for(self, pid: PatientId) -> int | None:
        rows = self._rows(
            "SELECT pid FROM patient_ids WHERE root = ? AND extension = ?",
            (pid.root, pid.extension),
        )
        return int(rows[0][0]) if rows else None

    def patient(self, number: int) -> PatientRecord | None:
        rows = self._rows("SELECT person_xml, facets FROM patients WHERE pid = ?", (number,))
        if not rows:
            return None
        return PatientRecord(number, self.ids_of(number), rows[0][0], json.loads(rows[0][1]))

    def ids_of(self, number: int) -> tuple[PatientId, ...]:
        rows = self._rows(
            "SELECT root, extension, authority_name FROM patient_ids WHERE pid = ? ORDER BY seq",
            (number,),
        )
        return tuple(PatientId(r[1], r[0], r[2], check=False) for r in rows)

    def patients(self) -> list[PatientRecord]:
        rows = self._rows("SELECT pid FROM patients ORDER BY pid")
        return [p for p in (self.patient(int(r[0])) for r in rows) if p is not None]

    def known_domains(self) -> set[str]:
        """Assigning authorities ever fed: a domain stays known when its ids are merged away."""
        return {str(r[0]) for r in self._rows("SELECT root FROM domains")}

    def add_patient(
        self, ids: Iterable[PatientId], person_xml: bytes, facets: Mapping[str, Any],
    ) -> int:
        number = self._exec(
            "INSERT INTO patients (person_xml, facets) VALUES (?, ?)",
            (person_xml, json.dumps(facets, sort_keys=True)),
        )
        for pid in ids:
            self.link_id(pid, number)
        return number

    def update_patient(self, number: int, person_xml: bytes, facets: Mapping[str, Any]) -> None:
        self._exec(
            "UPDATE patients SET person_xml = ?, facets = ? WHERE pid = ?",
            (person_xml, json.dumps(facets, sort_keys=True), number),
        )

    def link_id(self, pid: PatientId, number: int) -> None:
        """Attach ``pid`` to patient ``number`` (moving it if another patient held it)."""
        seq = self._rows("SELECT coalesce(max(seq), 0) + 1 FROM patient_ids")[0][0]
        self._exec(
            "INSERT INTO patient_ids (root, extension, authority_name, pid, seq) "
            "VALUES (?, ?, ?, ?, ?) ON CONFLICT(root, extension) DO UPDATE SET pid = excluded.pid",
            (pid.root, pid.extension, pid.assigning_authority_name, number, seq),
        )
        self._exec("INSERT OR IGNORE INTO domains (root) VALUES (?)", (pid.root,))

    def unlink_id(self, pid: PatientId) -> None:
        self._exec(
            "DELETE FROM patient_ids WHERE root = ? AND extension = ?", (pid.root, pid.extension),
        )

    def delete_patient(self, number: int) -> None:
        self._exec("DELETE FROM patient_ids WHERE pid = ?", (number,))
        self._exec("DELETE FROM patients WHERE pid = ?", (number,))

    # -- registry ------------------------------------------------------------------------

    def add_objects(self, records: Iterable[RegistryRecord]) -> None:
        for r in records:
            self._exec(
                "INSERT INTO registry_objects (entry_uuid, kind, unique_id, patient_id, status, "
                "source, target, assoc_type, facets, xml) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (r.entry_uuid, r.kind, r.unique_id, r.patient_id, r.status, r.source, r.target,
                 r.assoc_type, json.dumps(dict(r.facets), sort_keys=True), r.xml),
            )

    def set_status(self, entry_uuid: str, status: str) -> None:
        self._exec(
            "UPDATE registry_objects SET status = ? WHERE entry_uuid = ?", (status, entry_uuid),
        )

    def objects(
        self, *, kind: str | None = None, entry_uuids: Iterable[str] | None = None,
        unique_ids: Iterable[str] | None = None, patient_id: str | None = None,
        statuses: Iterable[str] | None = None,
    ) -> list[RegistryRecord]:
        """Registry objects matching every given filter, in registration order."""
        where: list[str] = []
        params: list[Any] = []
        if kind is not None:
            where.append("kind = ?")
            params.append(kind)
        for column, values in (("entry_uuid", entry_uuids), ("unique_id", unique_ids),
                               ("status", statuses)):
            if values is not None:
                listed = list(values)
                where.append(f"{column} IN ({', '.join('?' * len(listed)) or 'NULL'})")
                params.extend(listed)
        if patient_id is not None:
            where.append("patient_id = ?")
            params.append(patient_id)
        clause = f" WHERE {' AND '.join(where)}" if where else ""
        return [_record(row) for row in self._rows(
            "SELECT entry_uuid, kind, status, xml, unique_id, patient_id, source, target, "
            f"assoc_type, facets, seq FROM registry_objects{clause} ORDER BY seq", params,
        )]

    def associations_of(self, entry_uuids: Iterable[str]) -> list[RegistryRecord]:
        """Associations whose source or target is one of ``entry_uuids``."""
        listed = list(entry_uuids)
        marks = ", ".join("?" * len(listed)) or "NULL"
        return [_record(row) for row in self._rows(
            "SELECT entry_uuid, kind, status, xml, unique_id, patient_id, source, target, "
            "assoc_type, facets, seq FROM registry_objects WHERE kind = 'Association' AND "
            f"(source IN ({marks}) OR target IN ({marks})) ORDER BY seq", listed + listed,
        )]

    # -- repository ----------------------------------------------------------------------

    def put_document(self, document: StoredDocument) -> None:
        self._exec(
            "INSERT INTO documents (unique_id, repository_id, mime_type, content, hash, size) "
            "VALUES (?, ?, ?, ?, ?, ?)",
            (document.unique_id, document.repository_id, document.mime_type, document.content,
             document.hash, document.size),
        )

    def document(self, unique_id: str) -> StoredDocument | None:
        rows = self._rows(
            "SELECT unique_id, repository_id, mime_type, content, hash, size FROM documents "
            "WHERE unique_id = ?", (unique_id,),
        )
        if not rows:
            return None
        r = rows[0]
        return StoredDocument(r[0], r[1], r[2], bytes(r[3]), r[4], int(r[5]))


def _record(row: tuple[Any, ...]) -> RegistryRecord:
    return RegistryRecord(
        entry_uuid=row[0], kind=row[1], status=row[2], xml=bytes(row[3]), unique_id=row[4],
        patient_id=row[5], source=row[6], target=row[7], assoc_type=row[8],
        facets=json.loads(row[9]), seq=int(row[10]),
    )
