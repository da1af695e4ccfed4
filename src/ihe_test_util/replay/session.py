"""Assembling a real replay: cassette store, HTTP / MLLP transport, regeneration, comparer.

The engine (:mod:`.engine`, :mod:`.runner`) takes its collaborators as arguments so that a
test can drive it with fakes; this module is the one place that chooses the production ones
(:func:`production_engine`), for ``ihe replay`` and the public API (docs/api.md) alike.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ihe_test_util.cassette import (
    Redactor,
    fill_request,
    load_cassette,
    placeholders_in_request,
    secret_values,
)
from ihe_test_util.config import Settings, TlsSettings
from ihe_test_util.ihe.idmap import IdMap, RunSpace
from ihe_test_util.ihe.message import Reader, read_uncached
from ihe_test_util.ihe.regenerate import regenerate_request
from ihe_test_util.model import Request, Response
from ihe_test_util.replay.capture_rules import load_capture_rules
from ihe_test_util.replay.engine import Comparer, ExchangeSink, Sender
from ihe_test_util.replay.runner import ReplayEngine
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.results import Comparison
from ihe_test_util.transport.content import decodable_accept_encoding
from ihe_test_util.transport.http import TransportOptions
from ihe_test_util.transport.security_config import security_header
from ihe_test_util.transport.senders import SchemeSender, family_of
from ihe_test_util.transport.wssecurity import SecurityHeader


@dataclass
class CassetteRegenerator:
    """One per cassette: fresh ids through a shared :class:`IdMap`, secrets filled back.

    ``space`` is the run's identity space, shared by the regenerators of one run (a private
    one when not given: the cassette is then a run of its own).
    """

    settings: Settings
    security: SecurityHeader | None = None
    fresh_patients: bool = True
    space: RunSpace = field(default_factory=RunSpace)
    id_map: IdMap = field(init=False)

    def __post_init__(self) -> None:
        self.id_map = IdMap(space=self.space)

    def regenerate(self, request: Request, transaction: str | None, *,
                   read: Reader = read_uncached, to: str | None = None) -> Request:
        # Regenerate first: it removes the recorded WS-Security header (and with it any
        # saml/wsse placeholder), so only secrets the request still needs are looked up.
        # wsa:To names where the request goes now, not the recorded (proxy's) address.
        request = regenerate_request(request, self.id_map, transaction=transaction,
                                     security=self.security, to=to,
                                     fresh_patients=self.fresh_patients, read=read).request
        names = placeholders_in_request(request)
        if names:
            request = fill_request(request, secret_values(self.settings, names))
        return request

    @property
    def value_map(self) -> Mapping[str, str]:
        """Recorded -> fresh values so far (a live read-only view: it only ever grows)."""
        return self.id_map.items()

    @property
    def value_roles(self) -> Mapping[str, frozenset[str]]:
        """Where values replaced only at their rule paths were replaced (path families)."""
        return self.id_map.roles()


def transport_options(settings: Settings, tls: TlsSettings | None, *, timeout: float | None,
                      insecure: bool, headers: Mapping[str, str] | None = None) -> (
    TransportOptions
):
    tls = tls or TlsSettings()
    return TransportOptions(
        timeout=timeout or settings.timeout,
        verify=False if insecure else tls.verify,
        cert=tls.cert, key=tls.key, headers=dict(headers or {}),
    )


@dataclass
class RuleBoundComparer:
    """The IHE comparer with the configured rules bound (matches the engine's Comparer).

    With a ``redactor`` the replayed exchange is compared redacted, like its recording: a
    token or assertion the server hands out is a placeholder on both sides, so it is neither
    a difference nor a value any report could show.
    """

    rules: object | None = None
    redactor: Redactor | None = None

    def __call__(
        self, recorded: Response, replayed: Response, *, transaction: str | None,
        recorded_request: Request | None, replayed_request: Request | None,
        cassette: str | None, value_map: Mapping[str, str], read: Reader = read_uncached,
    ) -> Comparison:
        from ihe_test_util.compare import compare_responses

        if self.redactor is not None:  # the recorded side too: cassettes of older versions
            recorded = self.redactor.response(recorded)
            replayed = self.redactor.response(replayed)
            if replayed_request is not None:
                replayed_request = self.redactor.request(replayed_request)
        return compare_responses(
            recorded, replayed, transaction=transaction, recorded_request=recorded_request,
            replayed_request=replayed_request, rules=self.rules,  # type: ignore[arg-type]
            cassette=cassette, value_map=value_map, read=read,
        )


def production_comparer(settings: Settings) -> Comparer:
    """The comparer with ``[[rules]]`` from the configuration (ConfigError on a bad rule),
    comparing redacted exchanges."""
    from ihe_test_util.compare import load_rules

    return RuleBoundComparer(load_rules(settings.rules) if settings.rules else None,
                             Redactor.from_settings(settings))


class ReplaySender(SchemeSender):
    """The replay's sender (:class:`SchemeSender`) with replay's ``Accept-Encoding``: the
    ``[env]`` header when one is configured (it overrides the recorded value), else the
    recorded value narrowed to the codings the comparer can read
    (:func:`decodable_accept_encoding`), so no comparison depends on compression."""

    def send(self, request: Request) -> tuple[Response, float]:
        if family_of(request.uri) == "http":
            request = request.evolve(headers=request.headers.with_value(
                "Accept-Encoding", self.accept_encoding(request)))
        return super().send(request)

    def accept_encoding(self, request: Request) -> str:
        for name, value in self.options.headers.items():
            if name.lower() == "accept-encoding":
                return value
        return decodable_accept_encoding(request.headers.get("Accept-Encoding"))


def make_transport(options: TransportOptions) -> Sender:
    return ReplaySender(options)


def production_engine(
    settings: Settings, targets: TargetMap, options: TransportOptions | None = None, *,
    fresh_patients: bool = True, keep: ExchangeSink | None = None,
    reference: TargetMap | None = None, space: RunSpace | None = None,
) -> ReplayEngine:
    """The engine ``ihe replay`` runs: real HTTP, the configured comparer rules, ``[[correlate]]``
    capture rules and SAML header, regeneration per cassette in one identity space for the run
    (``space``, a new one by default); with ``reference`` each exchange is replayed against that
    live old version too (the live differential). ConfigError on a bad setting.

    ``fresh_patients`` is kept for compatibility: patients a cassette creates always get this
    run's ids and demographics."""
    spaces = [RunSpace() if space is None else space]  # the current run's
    started = [False]

    def start_run() -> None:
        """Each run its own identity space (``ihe learn`` runs the engine N times)."""
        if started[0]:
            spaces[0] = RunSpace()
        started[0] = True
    options = options or transport_options(settings, None, timeout=None, insecure=False)
    comparer = production_comparer(settings)
    capture_rules = load_capture_rules(settings.correlate, settings.source)
    security = security_header(settings.saml, base=settings.folder)
    return ReplayEngine(
        load=load_cassette, make_sender=lambda: make_transport(options), comparer=comparer,
        make_regenerator=lambda: CassetteRegenerator(settings, security, space=spaces[0]),
        targets=targets, keep=keep, capture_rules=capture_rules, reference=reference,
        start_run=start_run,
    )


__all__ = [
    "CassetteRegenerator",
    "ReplaySender",
    "RuleBoundComparer",
    "SchemeSender",
    "TargetMap",
    "make_transport",
    "production_comparer",
    "production_engine",
    "transport_options",
]
