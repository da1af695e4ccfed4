"""Replacing a file so readers see the old one or the whole new one, never a part.

Cassettes and reports are both written this way: a hidden temporary file in the same folder
(same file system, so the rename is atomic), flushed and fsynced, then ``os.replace``d over the
target (atomic on POSIX and Windows), then the folder itself is fsynced on POSIX so the rename
survives a crash. An interrupted write leaves the previous file untouched.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

#: Permissions of a newly created file (mkstemp alone would leave 0600).
NEW_FILE_MODE = 0o644


def temp_path_beside(path: Path, suffix: str = ".tmp") -> Path:
    """A new empty hidden file in ``path``'s folder."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    return Path(name)


@contextlib.contextmanager
def atomic_file(path: Path, *, buffering: int = -1) -> Iterator[BinaryIO]:
    """Yield a binary stream whose content replaces ``path`` when the block succeeds.

    On an exception the temporary file is removed and ``path`` is left as it was. A symlink
    is followed (its target is replaced, the link stays) and an existing file keeps its
    permissions. A path that exists but is not a regular file (``/dev/stdout``, a named pipe)
    cannot be replaced and is written directly.
    """
    if path.exists() and not path.is_file():
        with path.open("wb") as direct:
            yield direct
        return
    path = path.resolve()
    temporary = temp_path_beside(path)
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else NEW_FILE_MODE
        with temporary.open("wb", buffering=buffering) as stream:
            yield stream
            stream.flush()
            os.fsync(stream.fileno())
        temporary.chmod(mode)
        temporary.replace(path)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    fsync_folder(path.parent)


def fsync_folder(folder: Path) -> None:
    """Make a rename durable (POSIX only; Windows has no directory handles to fsync)."""
    if os.name != "posix":  # pragma: no cover - Windows
        return
    try:
        descriptor = os.open(folder, os.O_RDONLY)
    except OSError:  # pragma: no cover - unusual file systems
        return
    try:
        with contextlib.suppress(OSError):
            os.fsync(descriptor)
    finally:
        os.close(descriptor)
