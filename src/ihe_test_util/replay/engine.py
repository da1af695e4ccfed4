"""Replay one cassette, exchange by exchange, and yield a result for each.

Per exchange: substitute values correlated from earlier responses, regenerate what the
server must see fresh (message ids, uniqueIds, ...), send to the target, compare the new
response with the recorded one. Exchanges whose inputs could not be correlated are skipped
with the reason; transport failures are ``error`` results, never exceptions.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from ihe_test_util.errors import IheTestError, TransportError
from ihe_test_util.model import Cassette, Interaction, Request, Response
from ihe_test_util.replay.correlate import Capture, find_captures, resolve, substitute
from ihe_test_util.replay.messages import rewrite_request_xml, xml_of
from ihe_test_util.replay.selection import exchange_id
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.results import Comparison, ExchangeError, ExchangeResult, Outcome


class Sender(Protocol):
    def send(self, request: Request) -> tuple[Response, float]: ...


class Comparer(Protocol):
    def __call__(
        self, recorded: Response, replayed: Response, *, transaction: str | None,
        recorded_request: Request | None, replayed_request: Request | None,
        cassette: str | None, value_map: Mapping[str, str],
    ) -> Comparison: ...


#: Called with each replayed exchange's result and the request/response actually exchanged
#: (``ihe approve`` needs the replayed responses; results carry no bodies).
ExchangeSink = Callable[[ExchangeResult, Request, Response], None]


class Regenerator(Protocol):
    """Per cassette: makes requests fresh, remembering recorded -> fresh values."""

    def regenerate(self, request: Request, transaction: str | None) -> Request: ...

    @property
    def value_map(self) -> Mapping[str, str]: ...


@dataclass
class CassetteReplay:
    """The state of one cassette's replay: what was correlated, what could not be."""

    cassette_id: str
    cassette: Cassette
    targets: TargetMap
    sender: Sender
    comparer: Comparer
    regenerator: Regenerator
    keep: ExchangeSink | None = None
    correlated: dict[str, str] = field(default_factory=dict)
    unresolved: dict[str, str] = field(default_factory=dict)  # value -> reason

    def run(self) -> Iterator[ExchangeResult]:
        interactions = self.cassette.interactions
        requests = [xml_of(i.request) for i in interactions]
        responses = [xml_of(i.response) for i in interactions]
        captures = find_captures(requests, responses)
        produced: dict[int, list[Capture]] = {}
        needed: dict[int, list[Capture]] = {}
        for capture in captures:
            produced.setdefault(capture.source, []).append(capture)
            for consumer in capture.consumers:
                needed.setdefault(consumer, []).append(capture)
        for index, interaction in enumerate(interactions):
            missing = [c for c in needed.get(index, []) if c.value in self.unresolved]
            new_response: Response | None = None
            if missing:
                yield self._skipped(index, interaction, missing)
            else:
                result, new_response = self._replay_one(index, interaction)
                yield result
            for capture in produced.get(index, []):
                self._capture(capture, new_response)

    def value_map(self) -> dict[str, str]:
        merged = dict(self.regenerator.value_map)
        merged.update(self.correlated)
        return merged

    def _replay_one(self, index: int, interaction: Interaction) -> (
        tuple[ExchangeResult, Response | None]
    ):
        recorded = interaction.request
        transaction = interaction.meta.transaction
        base = self._base_result(index, interaction)
        try:
            request = recorded
            if self.correlated:
                values = dict(self.correlated)
                request = rewrite_request_xml(request, lambda root: substitute(root, values))
            request = self.regenerator.regenerate(request, transaction)
            request = request.evolve(uri=self.targets.rewrite(request.uri))
        except IheTestError as exc:
            return self._error(base, "RegenerationError", str(exc)), None
        try:
            response, elapsed_ms = self.sender.send(request)
        except TransportError as exc:
            return self._error(base, type(exc).__name__, str(exc), uri=request.uri), None
        comparison = self.comparer(
            interaction.response, response, transaction=transaction, recorded_request=recorded,
            replayed_request=request, cassette=self.cassette_id, value_map=self.value_map(),
        )
        result = replace(
            base, outcome=comparison.outcome, transaction=comparison.transaction or transaction,
            replayed_uri=request.uri, verdict_recorded=comparison.verdict_recorded,
            verdict_replayed=comparison.verdict_replayed, differences=comparison.differences,
            noise_suppressed=comparison.noise_suppressed, duration_replayed_ms=elapsed_ms,
        )
        if self.keep is not None:
            self.keep(result, request, response)
        return result, response

    def _capture(self, capture: Capture, response: Response | None) -> None:
        if response is None:
            self.unresolved[capture.value] = (
                f"exchange #{capture.source} that assigned it was not replayed"
            )
            return
        root = xml_of(response)
        new_value = resolve(root, capture.location, self.value_map()) if root is not None else None
        if new_value is None:
            self.unresolved[capture.value] = (
                f"not found at {capture.location.render()} in the replayed response of "
                f"exchange #{capture.source}"
            )
        else:
            self.correlated[capture.value] = new_value

    def _base_result(self, index: int, interaction: Interaction) -> ExchangeResult:
        """The parts of a result known before replaying (outcome filled in later)."""
        return ExchangeResult(
            id=exchange_id(self.cassette_id, index), cassette=self.cassette_id, index=index,
            outcome=Outcome.SKIPPED, transaction=interaction.meta.transaction,
            name=interaction.meta.step, method=interaction.request.method,
            recorded_uri=interaction.request.uri,
            duration_recorded_ms=interaction.meta.duration_ms,
        )

    @staticmethod
    def _error(base: ExchangeResult, kind: str, message: str, uri: str | None = None) -> (
        ExchangeResult
    ):
        return replace(base, outcome=Outcome.ERROR, replayed_uri=uri,
                       error=ExchangeError(kind, message))

    def _skipped(self, index: int, interaction: Interaction, missing: list[Capture]) -> (
        ExchangeResult
    ):
        reasons = "; ".join(
            f"needs {c.value!r} from exchange #{c.source}: {self.unresolved[c.value]}"
            for c in missing
        )
        return replace(
            self._base_result(index, interaction), outcome=Outcome.SKIPPED,
            error=ExchangeError("DependencyNotReplayed", reasons),
        )

