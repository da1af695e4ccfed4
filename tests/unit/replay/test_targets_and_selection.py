from __future__ import annotations

from pathlib import Path

import pytest

from ihe_test_util.errors import UsageError
from ihe_test_util.replay.selection import Shard, cassette_id, exchange_id, run_root
from ihe_test_util.replay.targets import TargetMap, origin_of


def test_single_target_keeps_path_and_query() -> None:
    targets = TargetMap.parse(["http://127.0.0.1:9000"])
    assert targets.rewrite("https://reg.example/xds/registry?x=1") == (
        "http://127.0.0.1:9000/xds/registry?x=1"
    )


def test_origin_specific_targets() -> None:
    targets = TargetMap.parse([
        "http://reg.example:8080=http://127.0.0.1:9000",
        "https://pix.example=http://127.0.0.1:9001",
    ])
    assert targets.rewrite("http://reg.example:8080/a") == "http://127.0.0.1:9000/a"
    assert targets.rewrite("https://PIX.example:443/b") == "http://127.0.0.1:9001/b"
    assert targets.rewrite("http://other.example/c") == "http://other.example/c"
    assert targets.describe() == {
        "http://reg.example:8080": "http://127.0.0.1:9000",
        "https://pix.example:443": "http://127.0.0.1:9001",
    }


def test_origin_target_wins_over_default() -> None:
    targets = TargetMap.parse(["http://a.example=http://127.0.0.1:1", "http://127.0.0.1:2"])
    assert targets.rewrite("http://a.example/x") == "http://127.0.0.1:1/x"
    assert targets.rewrite("http://b.example/x") == "http://127.0.0.1:2/x"


@pytest.mark.parametrize("spec", ["ftp://x", "=http://x", "http://a=", "http://h:notaport"])
def test_bad_targets(spec: str) -> None:
    with pytest.raises(UsageError):
        TargetMap.parse([spec])


def test_two_default_targets_rejected() -> None:
    with pytest.raises(UsageError, match="twice"):
        TargetMap.parse(["http://a", "http://b"])


def test_origin_normalisation() -> None:
    assert origin_of("HTTP://Example.org/path") == "http://example.org:80"
    assert origin_of("https://[::1]:8443/") == "https://[::1]:8443"


def test_shards_partition_cassettes() -> None:
    ids = [f"suite/c{i}.yaml" for i in range(200)]
    shards = [Shard.parse(f"{i}/4") for i in range(1, 5)]
    owners = [[s.owns(c) for s in shards].count(True) for c in ids]
    assert owners == [1] * len(ids)
    sizes = [sum(s.owns(c) for c in ids) for s in shards]
    assert min(sizes) > 20  # roughly balanced


@pytest.mark.parametrize("spec", ["0/4", "5/4", "x/y", "3", "1/0"])
def test_bad_shards(spec: str) -> None:
    with pytest.raises(UsageError):
        Shard.parse(spec)


def test_ids_are_relative_posix_paths(tmp_path: Path) -> None:
    nested = tmp_path / "a" / "b.yaml"
    nested.parent.mkdir()
    nested.write_text("x")
    root = run_root([tmp_path])
    assert cassette_id(nested, root) == "a/b.yaml"
    assert exchange_id("a/b.yaml", 3) == "a/b.yaml#3"
    assert run_root([nested]) == nested.parent.resolve()
