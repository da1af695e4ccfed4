"""``--target`` with MLLP URLs: each protocol family has its own default target."""

from __future__ import annotations

import pytest

from ihe_test_util.errors import UsageError
from ihe_test_util.replay.targets import TargetMap, family_of, origin_of


def test_mllp_target_retargets_only_mllp_exchanges() -> None:
    targets = TargetMap.parse(["mllp://127.0.0.1:3575"])
    assert targets.rewrite("mllp://pix.example:2575") == "mllp://127.0.0.1:3575"
    assert targets.rewrite("http://reg.example/xds") == "http://reg.example/xds"


def test_one_default_per_family_in_one_run() -> None:
    targets = TargetMap.parse(["http://127.0.0.1:9000", "mllps://127.0.0.1:3575"])
    assert targets.rewrite("mllp://pix.example:2575") == "mllps://127.0.0.1:3575"
    assert targets.rewrite("https://reg.example/xds") == "http://127.0.0.1:9000/xds"
    assert targets.describe() == {"*": "http://127.0.0.1:9000",
                                  "mllp://*": "mllps://127.0.0.1:3575"}


def test_mllp_origin_targets_and_default_port() -> None:
    targets = TargetMap.parse(["mllp://rec=mllp://127.0.0.1:3575", "mllp://127.0.0.1:4000"])
    assert origin_of("MLLP://Rec") == "mllp://rec:2575"
    assert targets.rewrite("mllp://rec:2575") == "mllp://127.0.0.1:3575"
    assert targets.rewrite("mllp://other:2575") == "mllp://127.0.0.1:4000"


@pytest.mark.parametrize("specs, message", [
    (["mllp://a:1", "mllp://b:2"], "twice for mllp"),
    (["mllp://rec:2575=http://127.0.0.1:1"], "different protocols"),
    (["ftp://x"], "neither an http"),
])
def test_bad_mllp_targets(specs: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        TargetMap.parse(specs)


def test_family_of() -> None:
    assert [family_of(u) for u in ("http://a", "HTTPS://a", "mllp://a", "mllps://a:1")] == [
        "http", "http", "mllp", "mllp"]
    with pytest.raises(UsageError):
        family_of("ftp://a")
