"""Exchanges that complete together are written with one rewrite, each caller numbered."""

from __future__ import annotations

import threading
import time
from pathlib import Path

import pytest

from ihe_test_util.cassette import CassetteWriter, load_cassette
from ihe_test_util.cassette.store import GroupCommit
from ihe_test_util.errors import CassetteError
from ihe_test_util.model import Interaction, Request, Response


def interaction(number: int) -> Interaction:
    return Interaction(Request("POST", f"http://h/{number}", body=b"q%d" % number),
                       Response(200, "OK", body=b"a%d" % number))


def test_concurrent_commits_share_rewrites_and_get_their_own_numbers(tmp_path: Path) -> None:
    writer = CassetteWriter(tmp_path / "c.yaml")
    rewrites = []
    extend = writer.extend

    def counting(interactions: list[Interaction]) -> None:
        rewrites.append(len(interactions))
        while len(rewrites) == 1 and rewrites[0] + len(commits._pending) < 16:
            time.sleep(0)  # yield only: a slow disk, the first write lasts until all others wait
        extend(interactions)

    writer.extend = counting  # type: ignore[method-assign]
    commits = GroupCommit(writer)
    numbers: dict[int, int] = {}
    start = threading.Barrier(16)

    def client(number: int) -> None:
        start.wait()
        numbers[number] = commits.commit(interaction(number))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(numbers.values()) == list(range(1, 17))
    assert len(rewrites) == 2 and sum(rewrites) == 16  # the waiting ones went together
    recorded = load_cassette(tmp_path / "c.yaml").interactions
    for number, position in numbers.items():  # each number is the exchange's place
        assert recorded[position - 1].request.uri == f"http://h/{number}"


def test_a_failed_write_fails_every_caller_of_the_batch(tmp_path: Path) -> None:
    target = tmp_path / "taken"
    target.mkdir()  # a folder where the cassette file should be: the rename fails
    commits = GroupCommit(CassetteWriter(target))
    with pytest.raises(CassetteError, match="cannot write cassette"):
        commits.commit(interaction(1))
    with pytest.raises(CassetteError):  # and the next one is not stuck behind it
        commits.commit(interaction(2))
