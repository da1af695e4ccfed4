"""Reading and writing cassette files: atomic replacement and interaction-by-interaction recording.

Every write goes to a temporary file in the cassette's folder, is flushed and fsynced, and is
then renamed over the target with ``os.replace`` (atomic on POSIX and Windows). A reader,
a crash or a kill therefore sees the previous file or the complete new one, never a mix.
:class:`CassetteWriter` keeps that guarantee while appending in time proportional to what is
appended, not to the cassette (see there).
"""

from __future__ import annotations

import contextlib
import gc
import os
import threading
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from datetime import datetime, timezone
from itertools import chain
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING, BinaryIO

from ihe_test_util import __version__
from ihe_test_util.atomicfile import atomic_file, fsync_folder
from ihe_test_util.cassette.format import (
    DOCUMENT_TAIL,
    document_head,
    document_lines,
    interaction_lines,
    read_cassette,
)
from ihe_test_util.cassette.serializer import compose_file
from ihe_test_util.errors import CassetteError, IheTestError
from ihe_test_util.model import Cassette, CassetteMeta, Interaction

if TYPE_CHECKING:
    from ihe_test_util.cassette.redact import Redactor

CASSETTE_SUFFIXES = (".yaml", ".yml")
_COPY_CHUNK = 1024 * 1024
_WRITE_BUFFER = 1024 * 1024


def load_cassette(path: Path) -> Cassette:
    """Read a cassette (ours or any vcrpy one); raises CassetteError naming file and line."""
    path = Path(path)
    with _garbage_collection_paused():
        return read_cassette(compose_file(path), path)


@contextmanager
def _garbage_collection_paused() -> Iterator[None]:
    """Loading allocates tens of thousands of acyclic objects; the cyclic collector would scan
    the whole heap again and again meanwhile (3x the load time in a busy process)."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            gc.enable()


def save_cassette(path: Path, cassette: Cassette, *, redactor: Redactor | None = None) -> None:
    """Write ``cassette`` to ``path`` atomically, redacting secrets first when asked."""
    if redactor is not None:
        cassette = replace(
            cassette, interactions=tuple(redactor.interaction(i) for i in cassette.interactions),
        )
    atomic_write(Path(path), document_lines(cassette))


def atomic_write(path: Path, chunks: Iterable[str | bytes]) -> None:
    """Write ``chunks`` (text is UTF-8 encoded) atomically over ``path`` (see atomicfile)."""
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CassetteError(f"cannot create folder: {exc.strerror or exc}", path=path) from None
    try:
        with atomic_file(Path(path), buffering=_WRITE_BUFFER) as stream:
            for chunk in chunks:
                stream.write(chunk.encode("utf-8") if isinstance(chunk, str) else chunk)
    except OSError as exc:
        raise CassetteError(f"cannot write cassette: {exc.strerror or exc}", path=path) from None


def now_utc() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="seconds").replace("+00:00", "Z")


class CassetteWriter:
    """Records a cassette interaction by interaction; the file on disk is always complete.

    An interrupted recording keeps all completed exchanges: the cassette's name always
    refers to a complete file (ending in ``version: 1``), the previous one or the new one.
    ``append`` is thread-safe. Nothing is written until the first interaction, so a
    recording that fails at once leaves the previous file alone; leaving the ``with`` block
    normally with no interaction writes an empty cassette.

    Appends cost what they add, not the size of the cassette (a proxy recording thousands of
    exchanges would otherwise slow down with every one): the writer keeps a hidden *spare*
    copy beside the cassette (``.NAME.spare``), one append behind it. An append brings the
    spare up to date in place (the previous append's items, the new ones, the tail), fsyncs
    it, and swaps the two names atomically (the cassette is hard-linked aside, the spare is
    renamed over it, the old cassette becomes the spare). A crash at any moment leaves the
    cassette name on one complete file. Where hard links are not available every append
    rewrites the whole file instead. :meth:`close` (or leaving the ``with`` block) removes
    the spare.
    """

    def __init__(
        self, path: Path, meta: CassetteMeta | None = None, redactor: Redactor | None = None,
    ) -> None:
        self.path = Path(path)
        meta = meta or CassetteMeta()
        self.meta = replace(
            meta, tool_version=meta.tool_version or __version__,
            recorded_at=meta.recorded_at or now_utc(),
        )
        self._redactor = redactor
        self._lock = threading.Lock()
        self._count = 0
        self._tail_offset = 0  # where DOCUMENT_TAIL starts in the file we last wrote
        self._spare_offset: int | None = None  # where it starts in the spare (None: no spare)
        self._swap = True  # False once hard links failed: rewrite the whole file instead

    def __enter__(self) -> CassetteWriter:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        with self._lock:
            if self._count == 0 and exc_type is None:
                atomic_write(self.path, document_lines(Cassette(meta=self.meta)))
        self.close()

    @property
    def count(self) -> int:
        """Interactions written so far."""
        return self._count

    def close(self) -> None:
        """Remove the spare copy (a later append would make a new one)."""
        with self._lock:
            if self._count > 1:
                target = self.path.resolve()
                for leftover in (_spare_of(target), _aside_of(target)):
                    with contextlib.suppress(FileNotFoundError):
                        leftover.unlink()
            self._spare_offset = None

    def append(self, interaction: Interaction) -> None:
        self.extend([interaction])

    def extend(self, interactions: Sequence[Interaction]) -> None:
        """Append several interactions in one write (:class:`GroupCommit` batches exchanges
        that complete together)."""
        if self._redactor is not None:
            interactions = [self._redactor.interaction(i) for i in interactions]
        if not interactions:
            return
        with self._lock:
            item = _CountedBytes(chain.from_iterable(interaction_lines(i) for i in interactions))
            tail = [DOCUMENT_TAIL.encode("utf-8")]
            if self._count == 0:
                head = document_head(self.meta, empty=False).encode("utf-8")
                atomic_write(self.path, chain([head], item, tail))
                self._tail_offset = len(head) + item.size
            elif self._swap and self._swapped(item):
                pass
            else:
                atomic_write(self.path, chain(self._previous_items(), item, tail))
                self._tail_offset += item.size
            self._count += len(interactions)

    def _swapped(self, item: _CountedBytes) -> bool:
        """Append through the spare and swap names; False (nothing changed) where the file
        system has no hard links."""
        target = self.path.resolve()
        spare, aside = _spare_of(target), _aside_of(target)
        try:
            with contextlib.suppress(FileNotFoundError):
                aside.unlink()  # left by a crash between the renames
            try:
                aside.hardlink_to(target)  # the current cassette, kept for the next swap
            except OSError:  # no hard links here (FAT, some network shares)
                self._swap = False
                return False
            if self._spare_offset is None or not spare.is_file():
                with spare.open("wb") as stream:  # first use: a full copy, once
                    self._write_spare(stream, 0, item)
                spare.chmod(target.stat().st_mode & 0o777)
            else:
                with spare.open("r+b") as stream:
                    stream.seek(self._spare_offset)
                    self._write_spare(stream, self._spare_offset, item)
            spare.replace(target)  # the cassette is now the spare, brought up to date
        except OSError as exc:
            self._spare_offset = None  # the spare's state is unknown: copy afresh next time
            raise CassetteError(f"cannot write cassette: {exc.strerror or exc}",
                                path=self.path) from None
        # The append is done; the old cassette becomes the spare, one append behind.
        try:
            aside.replace(spare)
        except OSError:
            self._spare_offset = None  # no spare: the next append makes a full copy
        else:
            self._spare_offset = self._tail_offset
        fsync_folder(target.parent)
        self._tail_offset += item.size
        return True

    def _write_spare(self, stream: BinaryIO, start: int, item: Iterable[bytes]) -> None:
        """From ``start``: what the cassette holds past it (before its tail), ``item``, the
        tail; the file ends there, durably."""
        for chunk in chain(self._previous_items(start), item, [DOCUMENT_TAIL.encode("utf-8")]):
            stream.write(chunk)
        stream.truncate()
        stream.flush()
        os.fsync(stream.fileno())

    def _previous_items(self, start: int = 0) -> Iterator[bytes]:
        """The file as last written, from ``start`` up to (without) its tail."""
        remaining = self._tail_offset - start
        with self.path.open("rb") as previous:
            previous.seek(start)
            while remaining:
                chunk = previous.read(min(_COPY_CHUNK, remaining))
                if not chunk:
                    raise CassetteError("cassette changed on disk while recording",
                                        path=self.path)
                remaining -= len(chunk)
                yield chunk


def _spare_of(target: Path) -> Path:
    return target.with_name(f".{target.name}.spare")


def _aside_of(target: Path) -> Path:
    return target.with_name(f".{target.name}.aside")


class GroupCommit:
    """Appends exchanges that complete at the same time with one atomic write.

    Each append is a durable write (fsyncs and renames), so concurrent clients would queue
    behind each other's writes. Instead, the first caller
    writes everything waiting (and keeps going while more arrives); every caller returns only
    once its own exchange is on disk, with its number in the cassette.
    """

    def __init__(self, writer: CassetteWriter) -> None:
        self.writer = writer
        self._lock = threading.Lock()
        self._pending: list[tuple[Interaction, _Ticket]] = []
        self._writing = False

    def commit(self, interaction: Interaction) -> int:
        ticket = _Ticket()
        with self._lock:
            self._pending.append((interaction, ticket))
            lead = not self._writing
            self._writing = True
        if lead:
            self._write_pending()
        ticket.done.wait()
        if ticket.error is not None:
            raise ticket.error
        return ticket.number

    def _write_pending(self) -> None:
        while True:
            with self._lock:
                batch, self._pending = self._pending, []
                if not batch:
                    self._writing = False
                    return
            try:
                self.writer.extend([interaction for interaction, _ in batch])
            except IheTestError as exc:
                _release(batch, 0, exc)
            except BaseException:  # never leave a client waiting for a write that died
                with self._lock:
                    batch += self._pending
                    self._pending, self._writing = [], False
                _release(batch, 0, CassetteError("the cassette write failed unexpectedly",
                                                   path=self.writer.path))
                raise
            else:
                _release(batch, self.writer.count - len(batch) + 1, None)


def _release(batch: list[tuple[Interaction, _Ticket]], first: int,
             error: IheTestError | None) -> None:
    for offset, (_, ticket) in enumerate(batch):
        ticket.number = first + offset
        ticket.error = error
        ticket.done.set()


class _Ticket:
    def __init__(self) -> None:
        self.done = threading.Event()
        self.number = 0
        self.error: IheTestError | None = None


class _CountedBytes:
    """UTF-8 encodes text chunks as they are written and counts the bytes."""

    def __init__(self, chunks: Iterable[str]) -> None:
        self._chunks = chunks
        self.size = 0

    def __iter__(self) -> Iterator[bytes]:
        for chunk in self._chunks:
            data = chunk.encode("utf-8")
            self.size += len(data)
            yield data


def find_cassettes(paths: Sequence[Path]) -> list[Path]:
    """Cassette files in the order given: a file at its position, a folder's cassettes
    (``*.yaml``, ``*.yml``, found recursively) sorted at its position; each file once, where
    it first appears. The order is the replay order: a patient feed given before the
    submissions that need it is replayed first."""
    found: dict[Path, None] = {}
    for path in map(Path, paths):
        if path.is_file():
            found.setdefault(path, None)
        elif path.is_dir():
            for candidate in sorted(
                candidate for candidate in path.rglob("*")
                if candidate.suffix.lower() in CASSETTE_SUFFIXES and candidate.is_file()
                and not candidate.name.startswith(".")
            ):
                found.setdefault(candidate, None)
        else:
            raise CassetteError("no such cassette file or folder", path=path)
    return list(found)
