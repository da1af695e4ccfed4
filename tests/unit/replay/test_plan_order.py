"""The plan keeps the order the cassettes were given in; shards stay a stable partition."""

from __future__ import annotations

from pathlib import Path

from ihe_test_util.cassette import find_cassettes, load_cassette, save_cassette
from ihe_test_util.model import Cassette, Interaction, Request, Response
from ihe_test_util.replay.runner import plan_replay
from ihe_test_util.replay.selection import Shard
from ihe_test_util.serve.index import PlaybackIndex

NAMES = ("register.yaml", "submit.yaml", "more/a.yaml", "more/b.yaml", "more/c.yaml")


def _cassettes(folder: Path) -> None:
    for name in NAMES:
        save_cassette(folder / name, Cassette((Interaction(
            Request("POST", f"http://127.0.0.1:1/{name}", body=b"q"),
            Response(200, "OK", body=b"a")),)))


def test_plan_follows_the_order_given(tmp_path: Path) -> None:
    _cassettes(tmp_path)
    plan = plan_replay([tmp_path / "submit.yaml", tmp_path / "register.yaml", tmp_path / "more"],
                       find=find_cassettes, load=load_cassette)
    assert [c.id for c in plan.cassettes] == [
        "submit.yaml", "register.yaml", "more/a.yaml", "more/b.yaml", "more/c.yaml"]


def test_shards_do_not_depend_on_the_order_given(tmp_path: Path) -> None:
    _cassettes(tmp_path)
    forward = [tmp_path / name for name in NAMES]
    owned: list[list[str]] = []
    for index in (1, 2, 3):
        ids = [[c.id for c in plan_replay(paths, find=find_cassettes, load=load_cassette,
                                          shard=Shard(index, 3)).cassettes]
               for paths in (forward, forward[::-1])]
        assert ids[0] == ids[1][::-1]  # the same cassettes, each in the order given
        owned.append(ids[0])
    assert sorted(i for ids in owned for i in ids) == sorted(NAMES)


def test_serve_indexes_cassettes_in_the_order_given(tmp_path: Path) -> None:
    _cassettes(tmp_path)
    index = PlaybackIndex.load([tmp_path / "submit.yaml", tmp_path / "register.yaml"])
    assert index.cassettes == (tmp_path / "submit.yaml", tmp_path / "register.yaml")
    assert [e.cassette.name for e in index.entries] == ["submit.yaml", "register.yaml"]
