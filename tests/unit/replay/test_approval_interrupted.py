"""``ihe approve`` of an interrupted run: a cassette the run did not replay to its end is not
approved (its later exchanges kept their recording, so chained values would no longer match)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ihe_test_util.errors import UsageError
from ihe_test_util.replay.approval import MANIFEST, plan_approvals
from ihe_test_util.results import NOT_RUN, ExchangeError, ExchangeResult, Outcome


def _result(cassette: str, index: int, outcome: Outcome, not_run: bool = False) -> (
        ExchangeResult):
    return ExchangeResult(id=f"{cassette}#{index}", cassette=cassette, index=index,
                          outcome=outcome,
                          error=ExchangeError(NOT_RUN, "not replayed") if not_run else None)


def _store(tmp_path: Path) -> Path:
    store = tmp_path / "run.exchanges"
    store.mkdir()
    (store / MANIFEST).write_text(json.dumps({"root": str(tmp_path)}), encoding="utf-8")
    return store


RESULTS = [
    _result("a.yaml", 0, Outcome.CHANGED), _result("a.yaml", 1, Outcome.SKIPPED, not_run=True),
    _result("a.yaml", 2, Outcome.SKIPPED, not_run=True),
    _result("b.yaml", 0, Outcome.CHANGED), _result("b.yaml", 1, Outcome.PASS),
]


def test_a_cassette_cut_short_by_an_interrupt_is_not_approved(tmp_path: Path) -> None:
    with pytest.raises(UsageError, match=r"a\.yaml was not replayed to its end .*2 exchange"
                                         r"\(s\) not run, from a\.yaml#1"):
        plan_approvals(RESULTS, _store(tmp_path))


def test_the_cassettes_replayed_to_their_end_can_still_be_approved(tmp_path: Path) -> None:
    approvals = plan_approvals(RESULTS, _store(tmp_path), only=["b.yaml#0"])
    assert [a.exchange_id for a in approvals] == ["b.yaml#0", "b.yaml#1"]
