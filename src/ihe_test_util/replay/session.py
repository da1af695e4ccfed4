"""Assembling a real replay: cassette store, HTTP transport, regeneration, comparer.

The engine (:mod:`.engine`, :mod:`.runner`) takes its collaborators as arguments so it can
be driven from the CLI, the pytest plugin or a test; this module is the one place that
chooses the production ones.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from ihe_test_util.cassette import Redactor, fill_request, placeholders_in_request, secret_values
from ihe_test_util.config import Settings, TlsSettings
from ihe_test_util.ihe.idmap import IdMap
from ihe_test_util.ihe.regenerate import regenerate_request
from ihe_test_util.model import Request, Response
from ihe_test_util.replay.engine import Comparer
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.results import Comparison
from ihe_test_util.transport.http import HttpTransport, TransportOptions
from ihe_test_util.transport.wssecurity import SecurityHeader


@dataclass
class CassetteRegenerator:
    """One per cassette: fresh ids through a shared :class:`IdMap`, secrets filled back."""

    settings: Settings
    security: SecurityHeader | None = None
    fresh_patients: bool = False
    id_map: IdMap = field(default_factory=IdMap)

    def regenerate(self, request: Request, transaction: str | None) -> Request:
        # Regenerate first: it removes the recorded WS-Security header (and with it any
        # saml/wsse placeholder), so only secrets the request still needs are looked up.
        request = regenerate_request(request, self.id_map, transaction=transaction,
                                     security=self.security,
                                     fresh_patients=self.fresh_patients).request
        names = placeholders_in_request(request)
        if names:
            request = fill_request(request, secret_values(self.settings, names))
        return request

    @property
    def value_map(self) -> Mapping[str, str]:
        return self.id_map.items()


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
        cassette: str | None, value_map: Mapping[str, str],
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
            cassette=cassette, value_map=value_map,
        )


def production_comparer(settings: Settings) -> Comparer:
    """The comparer with ``[[rules]]`` from the configuration (ConfigError on a bad rule),
    comparing redacted exchanges."""
    from ihe_test_util.compare import load_rules

    return RuleBoundComparer(load_rules(settings.rules) if settings.rules else None,
                             Redactor.from_settings(settings))


def make_transport(options: TransportOptions) -> HttpTransport:
    return HttpTransport(options)


__all__ = [
    "CassetteRegenerator",
    "RuleBoundComparer",
    "TargetMap",
    "make_transport",
    "production_comparer",
    "transport_options",
]
