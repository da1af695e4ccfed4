"""Replay one cassette, exchange by exchange, and yield a result for each.

Per exchange: substitute values correlated from earlier responses, regenerate what the
server must see fresh (message ids, uniqueIds, ...), send to the target, compare the new
response with the recorded one. Exchanges whose inputs could not be correlated are skipped
with the reason; transport failures are ``error`` results, never exceptions.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Protocol

from lxml import etree

from ihe_test_util.compare.foreign import has_foreign, set_aside
from ihe_test_util.errors import IheTestError, TransportError
from ihe_test_util.ihe.idmap import RunSpace, ValueRoles
from ihe_test_util.ihe.message import Message, MessageCache, Reader
from ihe_test_util.ihe.regenerate import Change, rewrite_request, substitute_er7
from ihe_test_util.ihe.specs import ValueKind
from ihe_test_util.ihe.tokens import Replacer
from ihe_test_util.model import Cassette, Interaction, Request, Response
from ihe_test_util.replay.capture_rules import CaptureRule
from ihe_test_util.replay.correlate import (
    Capture,
    MentionIndex,
    find_captures,
    find_rule_captures,
    request_strings,
    substitute_request,
    substitute_with,
)
from ihe_test_util.replay.selection import exchange_id
from ihe_test_util.replay.state_hints import (
    StateIndex,
    documents_needed,
    missing_kind,
    missing_state_hint,
    patients_needed,
)
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.results import Comparison, ExchangeError, ExchangeResult, Outcome


class Sender(Protocol):
    def send(self, request: Request) -> tuple[Response, float]: ...


class Comparer(Protocol):
    def __call__(
        self, recorded: Response, replayed: Response, *, transaction: str | None,
        recorded_request: Request | None, replayed_request: Request | None,
        cassette: str | None, value_map: Mapping[str, str], read: Reader,
    ) -> Comparison: ...


#: Called with each replayed exchange's result and the request/response actually exchanged
#: (``ihe approve`` needs the replayed responses; results carry no bodies).
ExchangeSink = Callable[[ExchangeResult, Request, Response], None]


class Regenerator(Protocol):
    """Per cassette: makes requests fresh, remembering recorded -> fresh values.

    ``read`` is the engine's per-cassette reader: a request already parsed (for correlation,
    detection) is not parsed again. ``to`` is the URL the request will be sent to (``wsa:To``
    names it). ``value_roles`` says where values replaced only at their rule paths were
    replaced; ``space`` is the run's identity space (its marker sets aside results of other
    runs; ``None``: no identity space, nothing is set aside).
    """

    def regenerate(self, request: Request, transaction: str | None, *, read: Reader,
                   to: str | None = None) -> Request: ...

    @property
    def value_map(self) -> Mapping[str, str]: ...

    @property
    def value_roles(self) -> Mapping[str, frozenset[str]]: ...

    @property
    def space(self) -> RunSpace | None: ...


def base_result(cassette_id: str, index: int, interaction: Interaction) -> ExchangeResult:
    """The parts of an exchange's result known before replaying it (outcome filled in later;
    ``skipped`` until then): what a report lists for an exchange a run did not get to."""
    return ExchangeResult(
        id=exchange_id(cassette_id, index), cassette=cassette_id, index=index,
        outcome=Outcome.SKIPPED, transaction=interaction.meta.transaction,
        name=interaction.meta.step, method=interaction.request.method,
        recorded_uri=interaction.request.uri,
        duration_recorded_ms=interaction.meta.duration_ms,
    )


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
    capture_rules: tuple[CaptureRule, ...] = ()
    #: What the run's cassettes create, for hints on failures for want of state, and this
    #: cassette's position in the run.
    state_index: StateIndex | None = None
    position: int | None = None
    correlated: dict[str, str] = field(default_factory=dict)
    unresolved: dict[str, str] = field(default_factory=dict)  # value -> reason
    #: Every message of this cassette's replay, parsed once: the recorded ones up front
    #: (correlation planning reads them, then the comparer), each replayed response when it
    #: arrives (comparison, then correlation). Entries go once their exchange is done.
    messages: MessageCache = field(default_factory=MessageCache)
    #: Which regenerated values each exchange mentions (the comparer gets only those).
    mentions: MentionIndex = field(default_factory=MentionIndex)
    _replacer: Replacer | None = field(default=None, init=False, repr=False)

    def run(self) -> Iterator[ExchangeResult]:
        interactions = self.cassette.interactions
        read = self.messages.read
        requests = [read(i.request, "recorded request").root for i in interactions]
        response_messages = [read(i.response, "recorded response") for i in interactions]
        responses = [message.root for message in response_messages]
        # URL path segments, query values, headers: where REST (FHIR) requests carry values
        extras = [request_strings(i.request) for i in interactions]
        headers = [i.response.headers for i in interactions]
        captures = find_captures(requests, responses, request_extras=extras,
                                 response_headers=headers)
        captures += find_rule_captures(
            self.capture_rules, [i.meta.transaction for i in interactions], requests, responses,
            known=(c.value for c in captures), request_extras=extras,
            response_messages=response_messages, response_headers=headers,
        )
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
            self.messages.forget(interaction.request, interaction.response, new_response)

    def value_map(self) -> dict[str, str]:
        """Recorded -> replayed values: regenerated by the client and correlated from servers.

        Only the regenerated part goes to the comparer: server-assigned ids are compared up
        to consistent renaming there, which holds even when a server reorders a list.
        """
        merged = dict(self.regenerator.value_map)
        merged.update(self.correlated)
        return merged

    def _correlator(self) -> Replacer:
        """Substitutes the correlated values; built again only when one was added (its
        expression compiles on first use, so not once per exchange)."""
        if self._replacer is None or len(self._replacer.mapping) != len(self.correlated):
            self._replacer = Replacer(dict(self.correlated))
        return self._replacer

    def _replay_one(self, index: int, interaction: Interaction) -> (
        tuple[ExchangeResult, Response | None]
    ):
        recorded = interaction.request
        transaction = interaction.meta.transaction
        base = self._base_result(index, interaction)
        read = self.messages.read
        correlated = recorded
        try:
            if self.correlated:
                replacer = self._correlator()

                def correlate(root: etree._Element, _: Message) -> list[Change] | None:
                    return [] if substitute_with(root, replacer) else None

                if read(recorded, "recorded request").kind == "hl7v2":  # ER7: in the text
                    correlated = substitute_er7(recorded, replacer.sub)
                else:
                    correlated = rewrite_request(recorded, correlate, "recorded request",
                                                 read=read)[0]
                    # the URL, headers and a JSON / form body: outside any XML tree
                    outside = substitute_request(
                        correlated, replacer, read(correlated, "recorded request"))
                    if outside is not correlated:
                        if correlated is not recorded:
                            self.messages.forget(correlated)
                        correlated = outside
            # wsa:To names the URL the request is sent to, not the recorded (proxy's) address.
            target = self.targets.rewrite(correlated.uri)
            request = self.regenerator.regenerate(correlated, transaction, read=read, to=target)
            request = request.evolve(uri=target)
        except IheTestError as exc:
            return self._error(base, "RegenerationError", str(exc)), None
        finally:
            if correlated is not recorded:  # a message of its own, read once by regeneration
                self.messages.forget(correlated)
        try:
            response, elapsed_ms = self.sender.send(request)
        except TransportError as exc:
            return self._error(base, type(exc).__name__, str(exc), uri=request.uri), None
        relevant = self.mentions.relevant(  # decoded bodies: a gzip recording names values too
            self.regenerator.value_map,
            read(recorded, "recorded request").raw or recorded.body,
            read(interaction.response, "recorded response").raw or interaction.response.body)
        space = self.regenerator.space
        if space is not None:  # patient ids may be inside documents no body scan reads
            for recorded_id, fresh_id in space.varied(ValueKind.PATIENT_ID).items():
                relevant.setdefault(recorded_id, fresh_id)
        roles = self.regenerator.value_roles
        comparison = self.comparer(
            interaction.response, response, transaction=transaction, recorded_request=recorded,
            replayed_request=request, cassette=self.cassette_id,
            value_map=ValueRoles(relevant, {k: roles[k] for k in relevant if k in roles},
                                 space.label if space is not None else None),
            read=self.messages.read,
        )
        self.messages.forget(request)
        notes = list(comparison.notes)
        hint = self._missing_state(index, recorded, response, comparison)
        if hint is not None:
            notes.append(hint)
        result = replace(
            base, outcome=comparison.outcome, transaction=comparison.transaction or transaction,
            replayed_uri=request.uri, verdict_recorded=comparison.verdict_recorded,
            verdict_replayed=comparison.verdict_replayed, differences=comparison.differences,
            noise_suppressed=comparison.noise_suppressed, duration_replayed_ms=elapsed_ms,
            notes=tuple(notes),
        )
        if self.keep is not None:
            self.keep(result, request, response)
        return result, response

    def _missing_state(self, index: int, recorded: Request, response: Response,
                       comparison: Comparison) -> str | None:
        """A hint when the target answered that it lacks a patient or document the recording
        had: which cassette creates it, or that none does."""
        if comparison.outcome not in (Outcome.REGRESSION, Outcome.CHANGED):
            return None
        before = set((comparison.verdict_recorded or {}).get("error_codes") or ())
        after = set((comparison.verdict_replayed or {}).get("error_codes") or ()) - before
        answer = self.messages.read(response, "replayed response").root
        recorded_answer = (comparison.verdict_recorded or {}).get("ack_code")
        kind = missing_kind(after, answer if recorded_answer in (None, "AA", "CA") else None)
        if kind is None:
            return None
        root = self.messages.read(recorded, "recorded request").root
        if root is None:
            return None
        keys = patients_needed(root) if kind == "patient" else documents_needed(root)
        return missing_state_hint(kind, keys, self.state_index, cassette=self.cassette_id,
                                  position=self.position, exchange=index)

    def _own_results(self, root: etree._Element | None) -> etree._Element | None:
        """``root``, or a copy without the result objects of earlier runs or the recording:
        a value is carried forward from this run's objects, as the comparer judges them."""
        space = self.regenerator.space
        if root is None or space is None:
            return root
        marker = space.label
        roles = self.regenerator.value_roles
        replaced = frozenset(k for k in self.regenerator.value_map if k not in roles)
        if not has_foreign(root, marker, replaced):
            return root
        own = copy.deepcopy(root)
        set_aside(own, marker, replaced)
        return own

    def _capture(self, capture: Capture, response: Response | None) -> None:
        if response is None:
            self.unresolved[capture.value] = (
                f"exchange #{capture.source} that assigned it was not replayed"
            )
            return
        message = self.messages.read(response, "replayed response")
        root = self._own_results(message.root)
        new_value = capture.resolve(root, self.value_map(), message, response.headers)
        if new_value is None:
            self.unresolved[capture.value] = (
                f"not found at {capture.describe()} in the replayed response of "
                f"exchange #{capture.source}"
            )
        else:
            self.correlated[capture.value] = new_value

    def _base_result(self, index: int, interaction: Interaction) -> ExchangeResult:
        return base_result(self.cassette_id, index, interaction)

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

