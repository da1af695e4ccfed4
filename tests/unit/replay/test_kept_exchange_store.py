"""The folder of replayed exchanges beside a report changes only when a run completes."""

from __future__ import annotations

from pathlib import Path

import pytest

from ihe_test_util.errors import UsageError
from ihe_test_util.model import Request, Response
from ihe_test_util.replay.approval import MANIFEST, ReplayedExchangeStore, kept_exchange_path
from ihe_test_util.results import ExchangeResult, Outcome


def _result(index: int) -> ExchangeResult:
    return ExchangeResult(id=f"c.yaml#{index}", cassette="c.yaml", index=index,
                          outcome=Outcome.PASS, name=f"step {index}")


def _run(folder: Path, *indexes: int, commit: bool) -> ReplayedExchangeStore:
    store = ReplayedExchangeStore.beside(folder / "run.json")
    with store:
        store.start(folder)
        for index in indexes:
            store.keep(_result(index), Request("POST", "http://x/"), Response(200, body=b"ok"))
        if commit:
            store.commit()
    return store


def _files(folder: Path) -> set[str]:
    return {str(path.relative_to(folder)) for path in folder.rglob("*") if path.is_file()}


def test_a_completed_run_replaces_the_previous_folder(tmp_path: Path) -> None:
    _run(tmp_path, 0, 1, commit=True)
    _run(tmp_path, 2, commit=True)
    assert _files(tmp_path) == {f"run.exchanges/{MANIFEST}", "run.exchanges/c.yaml/2.yaml"}


def test_an_interrupted_run_leaves_the_previous_folder_and_no_staging(tmp_path: Path) -> None:
    _run(tmp_path, 0, commit=True)
    before = {name: (tmp_path / name).read_bytes() for name in _files(tmp_path)}
    _run(tmp_path, 5, 6, commit=False)
    assert {name: (tmp_path / name).read_bytes() for name in _files(tmp_path)} == before
    assert [path.name for path in tmp_path.iterdir()] == ["run.exchanges"]


def test_a_late_exchange_after_the_run_ended_is_not_written(tmp_path: Path) -> None:
    store = _run(tmp_path, commit=False)
    store.keep(_result(3), Request("POST", "http://x/"), Response(200))
    assert list(tmp_path.iterdir()) == []


def test_a_folder_it_did_not_write_is_refused_before_the_run(tmp_path: Path) -> None:
    mine = tmp_path / "run.exchanges"
    mine.mkdir()
    (mine / "notes.txt").write_text("mine", encoding="utf-8")
    with pytest.raises(UsageError, match="not written by ihe replay"):
        ReplayedExchangeStore.beside(tmp_path / "run.json").start(tmp_path)
    assert _files(tmp_path) == {"run.exchanges/notes.txt"}


def test_the_kept_exchange_paths_are_those_approve_reads(tmp_path: Path) -> None:
    _run(tmp_path, 4, commit=True)
    assert kept_exchange_path(tmp_path / "run.exchanges", "c.yaml", 4).is_file()


def test_staging_left_by_a_killed_run_is_removed_by_the_next_run(tmp_path: Path) -> None:
    killed = ReplayedExchangeStore.beside(tmp_path / "run.json")
    killed.start(tmp_path)  # never committed nor discarded: the process was SIGKILLed
    _run(tmp_path, 1, commit=True)
    assert _files(tmp_path) == {f"run.exchanges/{MANIFEST}", "run.exchanges/c.yaml/1.yaml"}
