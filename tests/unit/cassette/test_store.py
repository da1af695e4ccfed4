"""Atomic writes, interaction-by-interaction recording, finding cassettes."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ihe_test_util.cassette import (
    CassetteWriter,
    Redactor,
    atomic_write,
    find_cassettes,
    load_cassette,
    save_cassette,
)
from ihe_test_util.errors import CassetteError
from ihe_test_util.model import (
    Cassette,
    CassetteMeta,
    Headers,
    Interaction,
    InteractionMeta,
    Request,
    Response,
)


def exchange(number: int) -> Interaction:
    return Interaction(
        Request("POST", f"http://h/{number}", Headers([("Authorization", "Basic s3cr3t")]),
                f"<q n='{number}'/>\r\n".encode()),
        Response(200, "OK", body=bytes([number % 256]) * 100),
        InteractionMeta(step=f"step {number}", duration_ms=float(number)),
    )


def test_a_failed_write_leaves_the_previous_file_and_no_temporary(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("previous\n")

    def chunks() -> Iterator[str]:
        yield "partial: "
        raise RuntimeError("disk on fire")

    with pytest.raises(RuntimeError):
        atomic_write(path, chunks())
    assert path.read_text() == "previous\n"
    assert [p.name for p in tmp_path.iterdir()] == ["c.yaml"]


def test_write_errors_are_cassette_errors(tmp_path: Path) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("")
    with pytest.raises(CassetteError) as caught:
        save_cassette(blocker / "sub" / "c.yaml", Cassette())
    assert "cannot create folder" in str(caught.value)


def test_writer_keeps_every_completed_interaction_on_disk(tmp_path: Path) -> None:
    path = tmp_path / "deep" / "rec.yaml"
    meta = CassetteMeta(name="rec", recorded_at="2024-01-01T00:00:00Z")
    with CassetteWriter(path, meta, redactor=Redactor()) as writer:
        for number in range(1, 4):
            writer.append(exchange(number))
            on_disk = load_cassette(path)
            assert len(on_disk.interactions) == number == writer.count
            assert on_disk.interactions[-1].meta.step == f"step {number}"
    cassette = load_cassette(path)
    assert cassette.meta.name == "rec" and cassette.meta.tool_version
    assert b"s3cr3t" not in path.read_bytes()
    # the incremental file is exactly what a one-shot save of the same interactions writes
    again = tmp_path / "again.yaml"
    save_cassette(again, cassette)
    assert again.read_bytes() == path.read_bytes()


def test_writer_without_interactions(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    path.write_text("previous\n")
    with pytest.raises(KeyboardInterrupt), CassetteWriter(path):
        raise KeyboardInterrupt
    assert path.read_text() == "previous\n"  # failed at once: previous file kept
    with CassetteWriter(path):
        pass
    assert load_cassette(path).interactions == ()


def test_concurrent_appends_are_all_kept(tmp_path: Path) -> None:
    path = tmp_path / "c.yaml"
    with CassetteWriter(path) as writer:
        threads = [threading.Thread(target=writer.append, args=(exchange(n),))
                   for n in range(20)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    uris = sorted(i.request.uri for i in load_cassette(path).interactions)
    assert uris == sorted(f"http://h/{n}" for n in range(20))


def test_find_cassettes(tmp_path: Path) -> None:
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ("a/one.yaml", "a/b/two.YML", "a/b/notes.txt", "a/.hidden.yaml", "z.yaml"):
        (tmp_path / name).write_text("x")
    explicit = tmp_path / "a" / "b" / "notes.txt"
    found = find_cassettes([tmp_path / "a", tmp_path / "z.yaml", explicit, tmp_path / "a"])
    # The order given; a folder's cassettes sorted at its position; each file once.
    assert found == [tmp_path / "a/b/two.YML", tmp_path / "a/one.yaml", tmp_path / "z.yaml",
                     explicit]
    with pytest.raises(CassetteError) as caught:
        find_cassettes([tmp_path / "missing"])
    assert "missing" in str(caught.value)


def test_find_cassettes_keeps_the_order_given_not_the_alphabet(tmp_path: Path) -> None:
    for name in ("register.yaml", "submit.yaml", "more/a.yaml", "more/b.yaml"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x")
    register, submit = tmp_path / "register.yaml", tmp_path / "submit.yaml"
    assert find_cassettes([submit, register]) == [submit, register]
    # An explicit file first, then its folder: the folder adds the others, in sorted order.
    assert find_cassettes([submit, tmp_path]) == [
        submit, tmp_path / "more/a.yaml", tmp_path / "more/b.yaml", register]
