"""Everything a recording resolves before its first request: endpoint URLs (files, ``--env``
actors, overrides), transport and TLS options, headers with their secrets, WS-Security, the
redaction and the cassette path. Any problem here stops the run with nothing sent.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from pathlib import Path

from ihe_test_util.config import Settings, TlsSettings
from ihe_test_util.errors import CassetteError, UsageError
from ihe_test_util.record.problems import Problems
from ihe_test_util.record.scenario import Scenario, secrets_in
from ihe_test_util.record.secrets import RecordingRedactor, SecretResolver
from ihe_test_util.record.variables import MissingVariable, Value, VariableError
from ihe_test_util.transport.http import TransportOptions
from ihe_test_util.transport.security_config import security_header
from ihe_test_util.transport.wssecurity import SecurityHeader


@dataclass
class RecordPlan:
    """Everything resolved before the first request: URLs, transport, security, redaction."""

    scenario: Scenario
    urls: dict[str, str]
    options: TransportOptions
    headers: tuple[tuple[str, str], ...]
    security: SecurityHeader | None
    redactor: RecordingRedactor
    cassette: Path

    @classmethod
    def make(cls, scenario: Scenario, settings: Settings, *, env: str | None,
             overrides: Mapping[str, str], cassette: Path | None, timeout: float | None,
             insecure: bool, environ: Mapping[str, str] | None) -> RecordPlan:
        environment = settings.environment(env) if env is not None else None
        static = scenario.static_variables()
        urls = _endpoint_urls(scenario, static, environment.actors if environment else None,
                              env, overrides)
        resolver = SecretResolver(settings, static, environ)
        headers = [(name, value) for name, value in (environment.headers.items()
                                                     if environment else ())]
        headers += [(name, resolver.fill(value)) for name, value in scenario.headers.items()]
        secret_headers = tuple(name for name, value in scenario.headers.items()
                               if secrets_in(value))
        security = security_header(settings.saml, environ=environ,
                                   base=settings.folder)
        tls = environment.tls if environment else TlsSettings()
        options = TransportOptions(
            timeout=timeout or settings.timeout, verify=False if insecure else tls.verify,
            cert=tls.cert, key=tls.key,
        )
        target = cassette or (Path(scenario.cassette) if scenario.cassette else
                              Path(settings.cassette_dir) / f"{scenario.name}.yaml")
        _check_writable(target)
        redactor = RecordingRedactor.for_settings(settings, resolver.configured(), secret_headers)
        return cls(scenario, urls, options, tuple(headers), security, redactor, target)


def _check_writable(path: Path) -> None:
    """Fail before the first request when the cassette could not be written afterwards."""
    if path.is_dir():
        raise CassetteError("is a folder, not a cassette file", path=path,
                            hint="give a file name such as cassettes/name.yaml")
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise CassetteError(f"cannot create the folder: {exc.strerror or exc}",
                            path=path) from None
    if not os.access(path.parent, os.W_OK):
        raise CassetteError("the folder is not writable", path=path)


def check_endpoint_names(scenario: Scenario, names: Iterable[str]) -> None:
    """Overrides given by a person must name endpoints of the scenario (typos are errors);
    :func:`record_scenario` itself ignores extra names (``ihe demo`` passes every actor)."""
    unknown = sorted(set(names) - set(scenario.endpoints))
    if unknown:
        raise UsageError(
            f"--endpoint {unknown[0]}: the scenario has no endpoint {unknown[0]!r}",
            hint=f"its endpoints are: {', '.join(scenario.endpoints)}")


def _endpoint_urls(scenario: Scenario, static: Mapping[str, Value],
                   actors: Mapping[str, str] | None, env: str | None,
                   overrides: Mapping[str, str]) -> dict[str, str]:
    problems = Problems(scenario.located)
    used = {step.endpoint for step in scenario.steps}
    urls: dict[str, str] = {}
    for name, raw in scenario.endpoints.items():
        if name not in used:
            continue
        path = ("endpoints", name)
        if name in overrides:
            url = overrides[name]
        else:
            try:
                url = SecretResolver(Settings(), static).fill(str(raw))
            except (MissingVariable, VariableError) as exc:
                problems.add(path, f"cannot fill in {raw!r}: {exc}")
                continue
            if url.startswith("env:"):
                actor = url[len("env:"):]
                if actors is None:
                    problems.add(path, f"{url} takes the URL of actor {actor!r} from an "
                                 "environment, but no --env was given",
                                 hint=f"use --env NAME or --endpoint {name}=URL")
                    continue
                if actor not in actors:
                    known = ", ".join(sorted(actors)) or "none"
                    problems.add(path, f"environment {env!r} has no actor {actor!r} "
                                 f"(actors: {known})",
                                 hint=f"add {actor} = \"https://...\" to [env.{env}.actors]")
                    continue
                url = actors[actor]
        if not url.lower().startswith(("http://", "https://", "mllp://", "mllps://")):
            problems.add(path, f"{url!r} is not an http(s) or mllp(s) URL")
            continue
        urls[name] = url
    problems.raise_if_any()
    return urls
