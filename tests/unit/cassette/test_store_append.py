"""CassetteWriter appends in time proportional to what is appended: the cassette is not
rewritten, the writer swaps it with a spare copy one append behind; the cassette name always
refers to a complete file, whatever fails."""

from __future__ import annotations

from pathlib import Path

import pytest

from ihe_test_util.cassette import CassetteWriter, load_cassette, save_cassette
from ihe_test_util.errors import CassetteError

from .test_store import exchange


def _writer_with_three(path: Path) -> CassetteWriter:
    writer = CassetteWriter(path)
    for number in range(1, 4):
        writer.append(exchange(number))
    return writer


def _hidden(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir() if p.name.startswith("."))


def test_appends_swap_two_files_instead_of_writing_a_new_one_each_time(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    inodes = []
    with CassetteWriter(path) as writer:
        for number in range(1, 8):
            writer.append(exchange(number))
            inodes.append(path.stat().st_ino)
            assert len(load_cassette(path).interactions) == number
        assert _hidden(tmp_path) == [".c.yaml.spare"]
    # from the second append on, the cassette alternates between the same two files
    assert inodes[3] == inodes[1] and inodes[4] == inodes[2] and inodes[5] == inodes[3]
    assert inodes[1] != inodes[2]
    assert _hidden(tmp_path) == []  # the spare is gone when the writer closes
    again = tmp_path / "again.yaml"
    save_cassette(again, load_cassette(path))
    assert again.read_bytes() == path.read_bytes()


def test_the_spare_is_exactly_the_cassette_one_append_behind(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    writer = CassetteWriter(path)
    for number in range(1, 5):
        writer.append(exchange(number))
    spare = load_cassette(tmp_path / ".c.yaml.spare")
    assert spare.interactions == load_cassette(path).interactions[:3]
    writer.close()
    assert _hidden(tmp_path) == []
    writer.append(exchange(5))  # a closed writer still appends (with a fresh spare)
    assert len(load_cassette(path).interactions) == 5


def test_a_failed_swap_leaves_the_previous_cassette_and_the_next_append_recovers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.yaml"
    writer = _writer_with_three(path)
    before = path.read_bytes()
    real_replace = Path.replace

    def first_rename_fails(self: Path, target: Path) -> Path:
        if self.name.endswith(".spare"):
            raise OSError(28, "No space left on device")
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", first_rename_fails)
    with pytest.raises(CassetteError, match="No space left"):
        writer.append(exchange(4))
    assert path.read_bytes() == before and writer.count == 3
    monkeypatch.setattr(Path, "replace", real_replace)
    writer.append(exchange(5))
    writer.close()
    uris = [i.request.uri for i in load_cassette(path).interactions]
    assert uris == ["http://h/1", "http://h/2", "http://h/3", "http://h/5"]
    assert _hidden(tmp_path) == []


def test_a_failure_between_the_renames_leaves_a_complete_cassette_and_recovers(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "c.yaml"
    writer = _writer_with_three(path)
    real_replace = Path.replace
    calls = []

    def second_rename_fails(self: Path, target: Path) -> Path:
        calls.append(self.name)
        if self.name.endswith(".aside"):
            raise OSError(28, "No space left on device")
        return real_replace(self, target)

    monkeypatch.setattr(Path, "replace", second_rename_fails)
    writer.append(exchange(4))  # the swap happened: the append is done, only the spare is lost
    assert len(load_cassette(path).interactions) == 4
    assert calls == [".c.yaml.spare", ".c.yaml.aside"]
    monkeypatch.setattr(Path, "replace", real_replace)
    writer.append(exchange(5))
    writer.close()
    uris = [i.request.uri for i in load_cassette(path).interactions]
    assert uris == [f"http://h/{n}" for n in range(1, 6)]
    assert _hidden(tmp_path) == []


def test_without_hard_links_every_append_rewrites_the_file(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    def no_links(self: Path, target: Path) -> None:
        raise OSError(1, "Operation not permitted")

    monkeypatch.setattr(Path, "hardlink_to", no_links)
    path = tmp_path / "c.yaml"
    with CassetteWriter(path) as writer:
        for number in range(1, 5):
            writer.append(exchange(number))
            assert len(load_cassette(path).interactions) == number
    assert _hidden(tmp_path) == []
    assert [i.request.uri for i in load_cassette(path).interactions] == \
        [f"http://h/{n}" for n in range(1, 5)]


def test_a_symlinked_cassette_stays_a_link_to_the_growing_file(tmp_path: Path) -> None:
    real = tmp_path / "real" / "c.yaml"
    real.parent.mkdir()
    real.write_text("")
    link = tmp_path / "link.yaml"
    link.symlink_to(real)
    with CassetteWriter(link) as writer:
        for number in range(1, 4):
            writer.append(exchange(number))
    assert link.is_symlink() and len(load_cassette(real).interactions) == 3
