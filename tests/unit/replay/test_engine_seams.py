"""The replay engine through its injected collaborators: no network, no real comparer.

Fakes stand in at the seams the engine declares (``Sender``, ``Comparer``, ``Regenerator``,
the runner's ``load``/``make_sender``): skipped dependants name their reason, a transport
error or a request that cannot be regenerated is an ``error`` result and the run goes on, and
a bug in one cassette's worker neither loses the other cassettes' results nor passes for
regressions (exit 70).
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from click.testing import CliRunner

from ihe_test_util.errors import EndpointUnreachable
from ihe_test_util.ihe.idmap import RunSpace
from ihe_test_util.model import Cassette, Headers, Interaction, InteractionMeta, Request, Response
from ihe_test_util.replay.engine import CassetteReplay
from ihe_test_util.replay.runner import PlannedCassette, ReplayEngine, ReplayPlan, run_replay
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.results import Comparison, ExchangeResult, Outcome
from ihe_test_util.safexml import parse_xml

XML = Headers([("Content-Type", "application/xml")])
#: A value the server assigned in exchange #0 and the client sends back in exchange #1.
ASSIGNED = "urn:uuid:0aa1b2c3-d4e5-4f60-8a7b-9c0d1e2f3a4b"
FRESH = "urn:uuid:f1e2d3c4-b5a6-4978-8695-a4b3c2d1e0f9"
FRESH_ANSWER = f"<ack><assigned>{FRESH}</assigned></ack>".encode()


def _exchange(path: str, request: bytes, response: bytes, step: str) -> Interaction:
    return Interaction(Request("POST", f"http://recorded.example/{path}", XML, request),
                       Response(200, "OK", XML, response),
                       InteractionMeta(transaction="raw", step=step))


def chained_cassette() -> Cassette:
    """#0 registers and is told an id; #1 queries by that id; #2 needs nothing."""
    return Cassette((
        _exchange("register", b"<register><name>Alice</name></register>",
                  f"<ack><assigned>{ASSIGNED}</assigned></ack>".encode(), "register"),
        _exchange("query", f"<query><ref>{ASSIGNED}</ref></query>".encode(),
                  b"<found><name>Alice</name></found>", "query"),
        _exchange("ping", b"<ping/>", b"<pong/>", "ping"),
    ))


Answer = Callable[[Request], Response]


@dataclass
class FakeSender:
    """Answers by URL path; a path listed in ``fail`` raises a transport error instead."""

    answers: Mapping[str, Answer]
    fail: frozenset[str] = frozenset()
    sent: list[Request] = field(default_factory=list)

    def send(self, request: Request) -> tuple[Response, float]:
        self.sent.append(request)
        path = request.uri.rsplit("/", 1)[-1]
        if path in self.fail:
            raise EndpointUnreachable("connection refused", url=request.uri)
        return self.answers[path](request), 1.5


def fixed(body: bytes) -> Answer:
    return lambda request: Response(200, "OK", XML, body)


def server(assigns: bytes) -> dict[str, Answer]:
    """A server for :func:`chained_cassette` whose register answer is ``assigns``."""
    return {"register": fixed(assigns), "query": fixed(b"<found><name>Alice</name></found>"),
            "ping": fixed(b"<pong/>")}


@dataclass
class FakeComparer:
    """Equal bodies pass, others are changed; remembers which recorded bodies it saw.

    Further keywords the seam may pass (such as a shared message reader) are accepted and
    not needed: equality of bytes is all these tests compare.
    """

    seen: list[bytes] = field(default_factory=list)

    def __call__(
        self, recorded: Response, replayed: Response, *, transaction: str | None,
        recorded_request: Request | None, replayed_request: Request | None,
        cassette: str | None, value_map: Mapping[str, str], **more: object,
    ) -> Comparison:
        self.seen.append(recorded.body)
        outcome = Outcome.PASS if recorded.body == replayed.body else Outcome.CHANGED
        return Comparison(outcome, transaction, None, None)


class PassThrough:
    """Regenerates nothing (no identity space: nothing is set aside)."""

    value_map: Mapping[str, str] = {}
    value_roles: Mapping[str, frozenset[str]] = {}
    space: RunSpace | None = None

    def regenerate(self, request: Request, transaction: str | None, **_: object) -> Request:
        return request


class ParsingRegenerator(PassThrough):
    """Reads each request's XML with the hardened parser, as the real regeneration does."""

    def regenerate(self, request: Request, transaction: str | None, **_: object) -> Request:
        parse_xml(request.body, source=request.uri)
        return request


def replay(cassette: Cassette, sender: FakeSender, *, comparer: FakeComparer | None = None,
           regenerator: PassThrough | None = None,
           kept: list[ExchangeResult] | None = None) -> list[ExchangeResult]:
    def keep(result: ExchangeResult, request: Request, response: Response) -> None:
        assert kept is not None
        kept.append(result)

    run = CassetteReplay(
        cassette_id="chain.yaml", cassette=cassette, targets=TargetMap.parse([]),
        sender=sender, comparer=comparer or FakeComparer(),
        regenerator=regenerator or PassThrough(), keep=keep if kept is not None else None,
    )
    return list(run.run())


def test_a_correlated_value_is_carried_into_the_dependent_request() -> None:
    """The control for the skips below: the fakes do reach the dependent exchange."""
    sender = FakeSender(server(FRESH_ANSWER))
    results = replay(chained_cassette(), sender)
    assert [r.outcome for r in results] == [Outcome.CHANGED, Outcome.PASS, Outcome.PASS]
    assert sender.sent[1].body == f"<query><ref>{FRESH}</ref></query>".encode()


def test_a_dependent_of_an_exchange_that_failed_is_skipped_with_the_reason() -> None:
    sender = FakeSender(server(b"<ack/>"), fail=frozenset({"register"}))
    kept: list[ExchangeResult] = []
    results = replay(chained_cassette(), sender, kept=kept)
    assert [(r.index, r.outcome) for r in results] == [
        (0, Outcome.ERROR), (1, Outcome.SKIPPED), (2, Outcome.PASS)]
    skipped = results[1]
    assert skipped.error is not None
    assert skipped.error.type == "DependencyNotReplayed"
    assert skipped.error.message == (
        f"needs {ASSIGNED!r} from exchange #0: exchange #0 that assigned it was not replayed")
    assert skipped.replayed_uri is None and skipped.name == "query"
    assert [r.uri.rsplit("/", 1)[-1] for r in sender.sent] == ["register", "ping"]
    assert [r.index for r in kept] == [2]  # only exchanges that were replayed are kept


def test_a_value_missing_from_the_new_response_skips_its_dependent_with_where_it_looked() -> None:
    sender = FakeSender(server(b"<ack><other>nothing assigned</other></ack>"))
    results = replay(chained_cassette(), sender)
    assert [r.outcome for r in results] == [Outcome.CHANGED, Outcome.SKIPPED, Outcome.PASS]
    error = results[1].error
    assert error is not None and error.type == "DependencyNotReplayed"
    assert error.message == (
        f"needs {ASSIGNED!r} from exchange #0: not found at /ack[1]/assigned[1] in the replayed "
        "response of exchange #0")
    assert [r.uri.rsplit("/", 1)[-1] for r in sender.sent] == ["register", "ping"]


def test_a_transport_error_is_an_error_result_and_the_run_goes_on() -> None:
    sender = FakeSender(server(FRESH_ANSWER),
                        fail=frozenset({"query"}))
    comparer = FakeComparer()
    results = replay(chained_cassette(), sender, comparer=comparer)
    assert [r.outcome for r in results] == [Outcome.CHANGED, Outcome.ERROR, Outcome.PASS]
    failed = results[1]
    assert failed.error is not None
    assert failed.error.type == "EndpointUnreachable"
    assert failed.error.message == "http://recorded.example/query: connection refused"
    assert failed.replayed_uri == "http://recorded.example/query"
    assert failed.differences == () and failed.duration_replayed_ms is None
    assert b"<found><name>Alice</name></found>" not in comparer.seen  # nothing to compare


def test_malformed_recorded_xml_is_a_regeneration_error_and_the_run_goes_on() -> None:
    broken = _exchange("broken", b"<register><name>Alice</register>", b"<ack/>", "broken")
    cassette = Cassette((broken, *chained_cassette().interactions[1:]))
    sender = FakeSender({**server(b"<ack/>"), "broken": fixed(b"<ack/>")})
    results = replay(cassette, sender, regenerator=ParsingRegenerator())
    assert [r.outcome for r in results] == [Outcome.ERROR, Outcome.PASS, Outcome.PASS]
    error = results[0].error
    assert error is not None and error.type == "RegenerationError"
    assert "http://recorded.example/broken" in error.message
    assert "malformed XML" in error.message
    assert [r.uri.rsplit("/", 1)[-1] for r in sender.sent] == ["query", "ping"]


# -- the runner: cassettes in parallel threads ------------------------------------------------


class Boom(RuntimeError):
    """A bug somewhere below the runner (not a tool error)."""


@dataclass
class ExplodingComparer(FakeComparer):
    """Raises for one cassette once ``go`` is set; the other cassettes compare normally."""

    victim: str = ""
    go: threading.Event = field(default_factory=threading.Event)

    def __call__(
        self, recorded: Response, replayed: Response, *, transaction: str | None,
        recorded_request: Request | None, replayed_request: Request | None,
        cassette: str | None, value_map: Mapping[str, str], **more: object,
    ) -> Comparison:
        if cassette == self.victim:
            self.go.wait()
            raise Boom(f"comparer bug in {cassette}")
        return super().__call__(
            recorded, replayed, transaction=transaction, recorded_request=recorded_request,
            replayed_request=replayed_request, cassette=cassette, value_map=value_map, **more)


def _runner(comparer: FakeComparer, senders: list[FakeSender]) -> ReplayEngine:
    def make_sender() -> FakeSender:
        sender = FakeSender(server(FRESH_ANSWER))
        senders.append(sender)
        return sender

    return ReplayEngine(load=lambda path: chained_cassette(), make_sender=make_sender,
                        comparer=comparer, make_regenerator=PassThrough,
                        targets=TargetMap.parse([]))


def _plan(*names: str) -> ReplayPlan:
    return ReplayPlan(Path("cassettes"),
                      tuple(PlannedCassette(Path(name), name, 3) for name in names))


@pytest.mark.parametrize("victim", ["a.yaml", "b.yaml", "c.yaml"])
def test_a_worker_exception_keeps_every_other_cassettes_results_then_surfaces(
    victim: str,
) -> None:
    comparer = ExplodingComparer(victim=victim)
    received: list[ExchangeResult] = []

    def on_result(result: ExchangeResult) -> None:
        received.append(result)
        if sum(r.cassette != victim for r in received) == 6:
            comparer.go.set()  # the bug strikes only once the others are all through

    senders: list[FakeSender] = []
    with pytest.raises(Boom, match=f"comparer bug in {victim}"):
        run_replay(_plan("a.yaml", "b.yaml", "c.yaml"), _runner(comparer, senders), jobs=2,
                   on_result=on_result)
    others = sorted((r.cassette, r.index) for r in received if r.cassette != victim)
    assert others == [(name, index) for name in ("a.yaml", "b.yaml", "c.yaml") if name != victim
                      for index in range(3)]
    assert all(r.outcome is not Outcome.ERROR for r in received)


def test_a_worker_exception_does_not_stop_the_cassettes_still_running() -> None:
    """The bug strikes first; the cassettes already running or queued still finish."""
    comparer = ExplodingComparer(victim="a.yaml")
    comparer.go.set()
    received: list[ExchangeResult] = []
    with pytest.raises(Boom):
        run_replay(_plan("a.yaml", "b.yaml", "c.yaml"), _runner(comparer, []), jobs=2,
                   on_result=received.append)
    assert sorted((r.cassette, r.index) for r in received) == [
        (name, index) for name in ("b.yaml", "c.yaml") for index in range(3)]


def test_results_reach_the_consumer_on_the_calling_thread() -> None:
    threads: set[str] = set()
    summary = run_replay(_plan("a.yaml", "b.yaml"), _runner(FakeComparer(), []), jobs=2,
                         on_result=lambda r: threads.add(threading.current_thread().name))
    assert threads == {threading.current_thread().name}
    assert summary.counts[Outcome.PASS] == 4 and summary.counts[Outcome.CHANGED] == 2


def test_a_worker_exception_in_ihe_replay_exits_70_after_reporting_the_others(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Exit 70 is the contract's "internal error": never 1 ("regressions") or 0."""
    from ihe_test_util.cassette import save_cassette
    from ihe_test_util.cli.main import cli
    from ihe_test_util.replay import session

    folder = tmp_path / "cassettes"
    folder.mkdir()
    for name in ("a.yaml", "b.yaml"):
        save_cassette(folder / name, chained_cassette())
    comparer = ExplodingComparer(victim="a.yaml")
    comparer.go.set()
    monkeypatch.setattr(session, "production_comparer", lambda settings: comparer)
    changed = {"register": fixed(FRESH_ANSWER), "query": fixed(b"<found/>"),
               "ping": fixed(b"<pong>again</pong>")}  # every answer differs: each is printed
    monkeypatch.setattr(session, "make_transport", lambda options: FakeSender(changed))
    monkeypatch.chdir(tmp_path)
    result = CliRunner().invoke(cli, ["--no-color", "replay", str(folder), "--jobs", "2",
                                      "--target", "http://127.0.0.1:9"])
    assert result.exit_code == 70, result.output
    assert "internal error: Boom: comparer bug in a.yaml" in result.output
    assert "Traceback" not in result.output
    for index in range(3):
        assert f"changed b.yaml#{index} " in result.output
