"""Atomic report files: whole or nothing, permissions, symlinks, special files."""

from __future__ import annotations

import os
import stat
import threading
from pathlib import Path

import pytest

from ihe_test_util.report.atomic import NEW_FILE_MODE, atomic_text_file

posix_modes = pytest.mark.skipif(os.name != "posix", reason="POSIX permission bits")


@posix_modes
def test_new_file_is_readable_by_others(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    with atomic_text_file(path) as out:
        out.write("x")
    assert path.read_text() == "x"
    assert stat.S_IMODE(path.stat().st_mode) == NEW_FILE_MODE
    assert os.listdir(tmp_path) == ["r.json"]


@posix_modes
def test_existing_mode_is_kept(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("old")
    path.chmod(0o600)
    with atomic_text_file(path) as out:
        out.write("new")
    assert path.read_text() == "new" and stat.S_IMODE(path.stat().st_mode) == 0o600


def test_exception_keeps_the_old_file(tmp_path: Path) -> None:
    path = tmp_path / "r.json"
    path.write_text("old")
    with pytest.raises(RuntimeError), atomic_text_file(path) as out:
        out.write("half")
        raise RuntimeError("interrupted")
    assert path.read_text() == "old" and os.listdir(tmp_path) == ["r.json"]


def test_symlink_target_is_replaced_and_link_kept(tmp_path: Path) -> None:
    target = tmp_path / "real.md"
    target.write_text("old")
    link = tmp_path / "link.md"
    try:
        link.symlink_to(target)
    except OSError:  # pragma: no cover - Windows without the symlink privilege
        pytest.skip("symlinks not permitted here")
    with atomic_text_file(link) as out:
        out.write("new")
    assert link.is_symlink() and target.read_text() == "new"


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="named pipes are POSIX")
def test_named_pipe_is_written_directly(tmp_path: Path) -> None:
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    received: list[str] = []
    reader = threading.Thread(target=lambda: received.append(fifo.read_text()))
    reader.start()
    with atomic_text_file(fifo) as out:
        out.write("through the pipe")
    reader.join(timeout=10)
    assert received == ["through the pipe"]
    assert stat.S_ISFIFO(fifo.stat().st_mode)
