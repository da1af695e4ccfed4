"""Write a report file so that readers see the old file or the whole new one, never a part.

The mechanism (temporary file beside the target, fsync, ``os.replace``) is shared with the
cassette store in :mod:`ihe_test_util.atomicfile`; reports only add the text layer.
"""

from __future__ import annotations

import contextlib
import io
from collections.abc import Iterator
from pathlib import Path
from typing import TextIO

from ihe_test_util.atomicfile import NEW_FILE_MODE, atomic_file, temp_path_beside

__all__ = ["NEW_FILE_MODE", "atomic_text_file", "temp_path_beside"]


@contextlib.contextmanager
def atomic_text_file(path: Path) -> Iterator[TextIO]:
    """Yield a UTF-8 text file (LF line ends) that replaces ``path`` on success.

    On an exception ``path`` is left untouched. Symlinks are followed; ``/dev/stdout`` or a
    named pipe is written directly (see :func:`ihe_test_util.atomicfile.atomic_file`).
    """
    with atomic_file(path) as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="\n")
        yield text
        text.flush()
        text.detach()  # the binary stream stays open for atomic_file to fsync and close
