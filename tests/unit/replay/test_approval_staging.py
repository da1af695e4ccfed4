"""``ihe approve`` changes the baseline as a whole or not at all, and writes no secret."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from ihe_test_util.cassette import Redactor, load_cassette, save_cassette
from ihe_test_util.errors import CassetteError
from ihe_test_util.model import Cassette, Headers, Interaction, Request, Response
from ihe_test_util.replay.approval import (
    Approval,
    ReplayedExchangeStore,
    kept_exchange_path,
    stage_approvals,
)
from ihe_test_util.results import ExchangeResult, Outcome

TOKEN = "tok-3c5e7a9b1d2f"


def _cassette(path: Path, answer: bytes) -> None:
    save_cassette(path, Cassette((Interaction(
        Request("POST", "http://h/p?access_token=[[ihe-secret:api_token]]",
                Headers([("Authorization", "Bearer [[ihe-secret:api_token]]")]), b"q"),
        Response(200, body=answer)),)))


def _kept(store: Path, cassette: str, answer: bytes) -> None:
    """What replay keeps: the request as sent (secrets filled), the server's echo."""
    kept = ReplayedExchangeStore(store, store.parent, Redactor(secrets={"api_token": TOKEN}))
    kept.start(store.parent)
    kept.keep(ExchangeResult(f"{cassette}#0", cassette, 0, Outcome.CHANGED),
              Request("POST", f"http://h/p?access_token={TOKEN}",
                      Headers([("Authorization", f"Bearer {TOKEN}")]), b"q"),
              Response(200, body=answer + f" seen Bearer {TOKEN}".encode()))
    kept.commit()


def _approvals(folder: Path, *names: str) -> list[Approval]:
    return [Approval(f"{name}#0", folder / name, 0, Outcome.CHANGED) for name in names]


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {path.name: path.read_bytes() for path in folder.iterdir() if path.is_file()}


def test_approved_cassettes_keep_the_recorded_placeholders_and_no_echoed_secret(
        tmp_path: Path) -> None:
    cassettes, store = tmp_path / "cassettes", tmp_path / "run.exchanges"
    _cassette(cassettes / "a.yaml", b"old")
    _kept(store, "a.yaml", b"new")
    recorded = load_cassette(cassettes / "a.yaml").interactions[0].request
    with stage_approvals(_approvals(cassettes, "a.yaml"), store,
                         Redactor(secrets={"api_token": TOKEN})) as staged:
        assert staged.commit() == [(cassettes / "a.yaml").resolve()]
    approved = load_cassette(cassettes / "a.yaml").interactions[0]
    assert approved.request.uri == recorded.uri
    assert approved.request.headers.get("Authorization") == "Bearer [[ihe-secret:api_token]]"
    assert approved.response.body == b"new seen Bearer [[ihe-secret:api_token]]"
    assert TOKEN.encode() not in (cassettes / "a.yaml").read_bytes()
    assert sorted(_snapshot(cassettes)) == ["a.yaml"]


def test_a_failure_part_way_leaves_every_cassette_as_it_was(tmp_path: Path) -> None:
    cassettes, store = tmp_path / "cassettes", tmp_path / "run.exchanges"
    _cassette(cassettes / "a.yaml", b"old a")
    _cassette(cassettes / "b.yaml", b"old b")
    _kept(store, "a.yaml", b"new a")  # b's replayed exchange is missing
    before = _snapshot(cassettes)
    with pytest.raises(CassetteError, match="replayed exchange missing"):
        stage_approvals(_approvals(cassettes, "a.yaml", "b.yaml"), store)
    assert _snapshot(cassettes) == before  # a was not approved alone; no staged file left


def test_staged_cassettes_are_invisible_until_commit_and_discarded_on_leaving(
        tmp_path: Path) -> None:
    cassettes, store = tmp_path / "cassettes", tmp_path / "run.exchanges"
    _cassette(cassettes / "a.yaml", b"old")
    os.chmod(cassettes / "a.yaml", 0o600)
    _kept(store, "a.yaml", b"new")
    before = _snapshot(cassettes)
    with stage_approvals(_approvals(cassettes, "a.yaml"), store) as staged:
        assert len(_snapshot(cassettes)) == 2
        assert _snapshot(cassettes)["a.yaml"] == before["a.yaml"]
    assert _snapshot(cassettes) == before
    (cassettes / ".a.yaml.left-by-kill.approving").write_bytes(b"stale")
    with stage_approvals(_approvals(cassettes, "a.yaml"), store) as staged:
        staged.commit()
    assert sorted(_snapshot(cassettes)) == ["a.yaml"]  # the stale one is gone too
    assert (cassettes / "a.yaml").stat().st_mode & 0o777 == 0o600
    assert b"new" in (cassettes / "a.yaml").read_bytes()
    assert kept_exchange_path(store, "a.yaml", 0).is_file()
