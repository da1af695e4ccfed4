"""Disk-backed spool of rendered exchanges, read back in (cassette, index) order.

Exchanges finish in whatever order ``--jobs`` lets them, but every file report lists them by
cassette and index, so a report does not depend on scheduling. Holding them in a list would
make memory grow with the run; a temporary SQLite file (stdlib, sorts larger-than-memory data
with bounded cache) keeps it flat.
"""

from __future__ import annotations

import sqlite3
import tempfile
from collections.abc import Iterator
from pathlib import Path

from ihe_test_util.report.atomic import temp_path_beside

#: SQLite page cache per spool, in KiB (negative = KiB in SQLite's PRAGMA): bounds memory.
_CACHE_KIB = 2048


class DuplicateExchange(Exception):
    """The same exchange id was added twice to a spool that requires unique ids."""

    def __init__(self, exchange_id: str, first_source: str) -> None:
        super().__init__(exchange_id)
        self.exchange_id = exchange_id
        self.first_source = first_source


class ExchangeSpool:
    """Append rendered exchanges; iterate them sorted by cassette, then index, then arrival.

    The spool lives beside ``near`` (the report being written) and is deleted by ``close``.
    With ``unique_ids`` a second exchange with the same id raises :class:`DuplicateExchange`
    naming the source of the first one.
    """

    def __init__(self, near: Path, *, unique_ids: bool = False) -> None:
        if near.exists() and not near.is_file():  # /dev/stdout, a pipe: no folder to share
            near = Path(tempfile.gettempdir()) / near.name
        self._path = temp_path_beside(near.resolve(), ".spool")
        self._db: sqlite3.Connection | None = sqlite3.connect(self._path, isolation_level=None)
        self._unique = unique_ids
        self._seq = 0
        db = self._db
        db.execute(f"PRAGMA cache_size = -{_CACHE_KIB}")
        db.execute("PRAGMA journal_mode = OFF")
        db.execute("PRAGMA synchronous = OFF")
        db.execute("PRAGMA temp_store = FILE")
        db.execute(
            "CREATE TABLE spool (seq INTEGER PRIMARY KEY, cassette TEXT NOT NULL, "
            "idx INTEGER NOT NULL, id TEXT, source TEXT, payload TEXT NOT NULL)"
        )
        if unique_ids:
            db.execute("CREATE UNIQUE INDEX spool_id ON spool (id)")
        db.execute("BEGIN")

    def add(
        self, cassette: str, index: int, payload: str, *, exchange_id: str | None = None,
        source: str | None = None,
    ) -> None:
        db = self._connection()
        try:
            db.execute(
                "INSERT INTO spool VALUES (?, ?, ?, ?, ?, ?)",
                (self._seq + 1, cassette, index, exchange_id, source, payload),
            )
        except sqlite3.IntegrityError:
            if not self._unique or exchange_id is None:  # pragma: no cover - schema invariant
                raise
            row = db.execute("SELECT source FROM spool WHERE id = ?", (exchange_id,)).fetchone()
            raise DuplicateExchange(exchange_id, row[0] if row else "") from None
        self._seq += 1

    def __len__(self) -> int:
        return self._seq

    def ordered(self) -> Iterator[str]:
        """Payloads sorted by (cassette, index, arrival); streams, never loads them all."""
        db = self._connection()
        db.execute("CREATE INDEX IF NOT EXISTS spool_order ON spool (cassette, idx, seq)")
        for (payload,) in db.execute("SELECT payload FROM spool ORDER BY cassette, idx, seq"):
            yield payload

    def close(self) -> None:
        if self._db is not None:
            self._db.close()
            self._db = None
        self._path.unlink(missing_ok=True)

    def _connection(self) -> sqlite3.Connection:
        if self._db is None:
            raise RuntimeError("spool used after close()")
        return self._db
