"""Write a report file so that readers see the old file or the whole new one, never a part."""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

#: Permissions of a newly created report (mkstemp would leave 0600).
NEW_FILE_MODE = 0o644


def temp_path_beside(path: Path, suffix: str) -> Path:
    """A new empty hidden file in ``path``'s folder (same file system, so cheap to rename)."""
    fd, name = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=suffix)
    os.close(fd)
    return Path(name)


@contextlib.contextmanager
def atomic_text_file(path: Path) -> Iterator[TextIO]:
    """Yield a text file that replaces ``path`` (fsync, then ``os.replace``) on success.

    On an exception the temporary file is removed and ``path`` is left untouched. A symlink is
    followed (its target is replaced, the link stays). A path that exists but is not a regular
    file -- ``/dev/stdout``, a named pipe -- cannot be replaced and is written directly.
    """
    if path.exists() and not path.is_file():
        with path.open("w", encoding="utf-8", newline="\n") as direct:
            yield direct
        return
    path = path.resolve()
    temp = temp_path_beside(path, ".tmp")
    try:
        mode = path.stat().st_mode & 0o777 if path.exists() else NEW_FILE_MODE
        with temp.open("w", encoding="utf-8", newline="\n") as handle:
            yield handle
            handle.flush()
            os.fsync(handle.fileno())
        temp.chmod(mode)
        temp.replace(path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_directory(path.parent)


def _fsync_directory(directory: Path) -> None:
    """Make the rename durable (POSIX only; Windows has no directory handles to fsync)."""
    if os.name != "posix":  # pragma: no cover
        return
    fd = os.open(directory, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
