"""Settings: defaults < config file < ``IHE_*`` environment variables < command-line flags.

The file is ``ihe.toml`` (or the ``[tool.ihe]`` table of ``pyproject.toml``)::

    timeout = 30            # seconds, connect and read
    fail_on = "changed"     # regression | changed | never
    jobs = 4
    cassette_dir = "cassettes"

    [redact]
    headers = ["X-Api-Key"]            # redacted on top of Authorization, Cookie, ...

    [secrets]                          # named placeholders, filled from the environment only
    saml_signing_key = { env = "IHE_SAML_KEY_PEM" }

    [env.baseline]                     # one table per environment
    url = "https://registry.example:8443"
    actors = { registry = "https://registry.example/xdsregistry" }
    tls = { verify = "ca.pem", cert = "client.pem", key = "client.key" }

    [saml]                             # WS-Security / XUA: re-issued and signed on every send
    issuer = "https://idp.example"
    subject = "dr.house"
    certificate = "certs/saml.pem"     # public certificate (a path)
    key = { env = "IHE_SAML_KEY" }     # the private key: PEM text, or a path, in that variable

    [hooks]                            # commands around a replay run (a reset / purge API)
    before_replay = ["./reset-staging.sh --all"]   # each: a string split like a shell (shlex),
    after_replay = [["curl", "-fsS", "-X", "POST", "https://staging/purge"]]  # or an argv array
    timeout = 300                      # seconds per command

    [[correlate]]                      # server-assigned values to carry into later requests
    transaction = "ITI-55"
    response = "//hl7:subject1/hl7:patient/hl7:id/@extension"

    [[rules]]                          # comparer rules, validated by ihe_test_util.compare
    noise = "//hl7:creationTime/@value"

Unknown keys are errors that name the key: a typo must never be silently ignored.
"""

from __future__ import annotations

import os
import shlex
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from ihe_test_util.errors import ConfigError
from ihe_test_util.results import FailOn

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

CONFIG_FILE_NAME = "ihe.toml"

TOP_LEVEL_KEYS = {
    "timeout", "fail_on", "jobs", "cassette_dir", "redact", "secrets", "env", "rules", "saml",
    "correlate", "hooks",
}
HOOK_KEYS = {"before_replay", "after_replay", "timeout"}
SAML_KEYS = {
    "issuer", "subject", "audience", "certificate", "key", "lifetime_minutes", "subject_id",
    "organization", "organization_id", "home_community_id",
}
ENV_KEYS = {"url", "actors", "tls", "headers"}
TLS_KEYS = {"verify", "cert", "key"}
REDACT_KEYS = {"headers"}

#: Environment variables read as overrides, with the key they set.
ENVIRONMENT_OVERRIDES = {
    "IHE_TIMEOUT": "timeout",
    "IHE_FAIL_ON": "fail_on",
    "IHE_JOBS": "jobs",
    "IHE_CASSETTE_DIR": "cassette_dir",
    "IHE_REDACT_HEADERS": "redact.headers",
}


@dataclass(frozen=True)
class TlsSettings:
    """``verify``: True (system CAs), False (insecure: warn loudly) or a CA bundle path."""

    verify: bool | str = True
    cert: str | None = None
    key: str | None = None


@dataclass(frozen=True)
class Environment:
    name: str
    url: str | None = None
    actors: Mapping[str, str] = field(default_factory=dict)
    tls: TlsSettings = field(default_factory=TlsSettings)
    headers: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class SamlSettings:
    """How to issue the SAML assertion of WS-Security headers. The key comes only from an
    environment variable (its PEM text or a path), never from the file."""

    issuer: str
    subject: str
    certificate: str
    key_env: str
    audience: str | None = None
    lifetime_minutes: float = 15.0
    subject_id: str | None = None
    organization: str | None = None
    organization_id: str | None = None
    home_community_id: str | None = None


@dataclass(frozen=True)
class HookSettings:
    """``[hooks]``: argv of each command run before / after a replay run, never via a shell."""

    before_replay: tuple[tuple[str, ...], ...] = ()
    after_replay: tuple[tuple[str, ...], ...] = ()
    timeout: float = 300.0


@dataclass(frozen=True)
class Settings:
    source: str | None = None
    timeout: float = 30.0
    fail_on: FailOn = FailOn.CHANGED
    jobs: int = 1
    cassette_dir: str = "cassettes"
    redact_headers: tuple[str, ...] = ()
    secrets: Mapping[str, str] = field(default_factory=dict)
    environments: Mapping[str, Environment] = field(default_factory=dict)
    rules: tuple[Mapping[str, Any], ...] = ()
    saml: SamlSettings | None = None
    correlate: tuple[Mapping[str, Any], ...] = ()
    hooks: HookSettings = field(default_factory=HookSettings)

    def evolve(self, **changes: Any) -> Settings:
        return replace(self, **changes)

    @property
    def folder(self) -> Path | None:
        """The configuration file's folder: relative paths in it (certificates) start here."""
        return Path(self.source).parent if self.source else None

    def environment(self, name: str) -> Environment:
        try:
            return self.environments[name]
        except KeyError:
            known = ", ".join(sorted(self.environments)) or "none defined"
            raise ConfigError(
                f"unknown environment {name!r} (known: {known})", source=self.source,
                key=f"env.{name}", hint=f"add an [env.{name}] table to {CONFIG_FILE_NAME}",
            ) from None

    def secret(self, name: str, environ: Mapping[str, str] | None = None) -> str:
        """Resolve a named secret from the environment variable it references."""
        environ = os.environ if environ is None else environ
        variable = self.secrets.get(name)
        if variable is None:
            raise ConfigError(
                f"secret {name!r} is not configured", source=self.source, key=f"secrets.{name}",
                hint=f'add  {name} = {{ env = "VARIABLE" }}  under [secrets]',
            )
        value = environ.get(variable)
        if value is None:
            raise ConfigError(
                f"secret {name!r} references environment variable {variable}, which is not set",
                source=self.source, key=f"secrets.{name}",
            )
        return value


def find_config_file(start: Path) -> Path | None:
    """``ihe.toml`` in ``start``, else a ``pyproject.toml`` there that has ``[tool.ihe]``."""
    candidate = start / CONFIG_FILE_NAME
    if candidate.is_file():
        return candidate
    pyproject = start / "pyproject.toml"
    if pyproject.is_file():
        try:
            data = tomllib.loads(pyproject.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError):
            return None
        if "ihe" in data.get("tool", {}):
            return pyproject
    return None


def load_settings(
    path: Path | None = None, *, cwd: Path | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """Build settings from the file (explicit ``path`` or discovered) and the environment."""
    environ = os.environ if environ is None else environ
    if path is None:
        path = find_config_file(cwd or Path.cwd())
    raw: dict[str, Any] = {}
    source: str | None = None
    if path is not None:
        source = str(path)
        raw = _read_table(path)
    raw = _apply_environment(raw, environ)
    return _build(raw, source)


def _read_table(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("configuration file not found", source=str(path)) from None
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"cannot read configuration file: {exc}", source=str(path)) from None
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"invalid TOML: {exc}", source=str(path)) from None
    if path.name == "pyproject.toml":
        table = data.get("tool", {}).get("ihe")
        if not isinstance(table, dict):
            raise ConfigError("no [tool.ihe] table", source=str(path))
        return dict(table)
    return data


def _apply_environment(raw: dict[str, Any], environ: Mapping[str, str]) -> dict[str, Any]:
    merged = dict(raw)
    for variable, key in ENVIRONMENT_OVERRIDES.items():
        if variable not in environ:
            continue
        value: Any = environ[variable]
        if key == "redact.headers":
            redact = dict(merged.get("redact", {}))
            redact["headers"] = [h.strip() for h in str(value).split(",") if h.strip()]
            merged["redact"] = redact
        else:
            merged[key] = _coerce_env(variable, key, str(value))
    return merged


def _coerce_env(variable: str, key: str, value: str) -> Any:
    try:
        if key == "timeout":
            return float(value)
        if key == "jobs":
            return int(value)
    except ValueError:
        raise ConfigError(f"{value!r} is not a number", source=variable) from None
    return value


def _check_keys(table: Mapping[str, Any], allowed: set[str], source: str | None, prefix: str) -> (
    None
):
    for key in table:
        if key not in allowed:
            dotted = f"{prefix}{key}"
            raise ConfigError(
                "unknown key", source=source, key=dotted,
                hint=f"allowed here: {', '.join(sorted(allowed))}",
            )


def _expect(value: Any, kind: type | tuple[type, ...], source: str | None, key: str, what: str) -> (
    Any
):
    if isinstance(value, bool) and kind in (int, float, (int, float)):
        raise ConfigError(f"expected {what}, got a boolean", source=source, key=key)
    if not isinstance(value, kind):
        raise ConfigError(
            f"expected {what}, got {type(value).__name__} {value!r}", source=source, key=key,
        )
    return value


def _build(raw: Mapping[str, Any], source: str | None) -> Settings:
    _check_keys(raw, TOP_LEVEL_KEYS, source, "")
    timeout = float(_expect(raw.get("timeout", 30.0), (int, float), source, "timeout", "seconds"))
    if timeout <= 0:
        raise ConfigError("must be greater than 0", source=source, key="timeout")
    fail_on_raw = _expect(raw.get("fail_on", "changed"), str, source, "fail_on", "a string")
    try:
        fail_on = FailOn(fail_on_raw)
    except ValueError:
        raise ConfigError(
            f"{fail_on_raw!r} is not one of regression, changed, never", source=source,
            key="fail_on",
        ) from None
    jobs = int(_expect(raw.get("jobs", 1), int, source, "jobs", "an integer"))
    if jobs < 1:
        raise ConfigError("must be at least 1", source=source, key="jobs")
    cassette_dir = _expect(raw.get("cassette_dir", "cassettes"), str, source, "cassette_dir",
                           "a path")
    redact = _expect(raw.get("redact", {}), dict, source, "redact", "a table")
    _check_keys(redact, REDACT_KEYS, source, "redact.")
    headers = _expect(redact.get("headers", []), list, source, "redact.headers", "a list")
    for item in headers:
        _expect(item, str, source, "redact.headers", "header names")
    secrets = _build_secrets(_expect(raw.get("secrets", {}), dict, source, "secrets", "a table"),
                             source)
    envs_raw = _expect(raw.get("env", {}), dict, source, "env", "a table of environments")
    environments = {name: _build_env(name, table, source) for name, table in envs_raw.items()}
    rules_raw = _expect(raw.get("rules", []), list, source, "rules", "an array of tables")
    for index, rule in enumerate(rules_raw):
        _expect(rule, dict, source, f"rules[{index}]", "a table")
    correlate_raw = _expect(raw.get("correlate", []), list, source, "correlate",
                            "an array of tables")
    for index, rule in enumerate(correlate_raw):
        _expect(rule, dict, source, f"correlate[{index}]", "a table")
    saml_raw = raw.get("saml")
    saml = None if saml_raw is None else _build_saml(
        _expect(saml_raw, dict, source, "saml", "a table"), source)
    hooks = _build_hooks(_expect(raw.get("hooks", {}), dict, source, "hooks", "a table"), source)
    return Settings(
        source=source, timeout=timeout, fail_on=fail_on, jobs=jobs, cassette_dir=cassette_dir,
        redact_headers=tuple(headers), secrets=secrets, environments=environments,
        rules=tuple(rules_raw), saml=saml, correlate=tuple(correlate_raw), hooks=hooks,
    )


def _build_hooks(table: Mapping[str, Any], source: str | None) -> HookSettings:
    _check_keys(table, HOOK_KEYS, source, "hooks.")
    timeout = float(_expect(table.get("timeout", 300), (int, float), source, "hooks.timeout",
                            "seconds"))
    if timeout <= 0:
        raise ConfigError("must be greater than 0", source=source, key="hooks.timeout")
    commands: dict[str, tuple[tuple[str, ...], ...]] = {}
    for phase in ("before_replay", "after_replay"):
        value = table.get(phase, [])
        items = [value] if isinstance(value, str) else _expect(
            value, list, source, f"hooks.{phase}", "a command or an array of commands")
        commands[phase] = tuple(_hook_argv(item, source, f"hooks.{phase}[{index}]")
                                for index, item in enumerate(items))
    return HookSettings(commands["before_replay"], commands["after_replay"], timeout)


def _hook_argv(item: Any, source: str | None, key: str) -> tuple[str, ...]:
    """A string is split like a POSIX shell would (quotes, escapes) but never run by one;
    an array of strings is the argv as written (Windows paths with backslashes)."""
    if isinstance(item, str):
        try:
            argv = shlex.split(item)
        except ValueError as exc:
            raise ConfigError(f"cannot split the command: {exc}", source=source, key=key,
                              hint="or write it as an argv array: [\"prog\", \"arg\"]") from None
    else:
        argv = _expect(item, list, source, key, "a command string or an argv array")
        for part in argv:
            _expect(part, str, source, key, "strings")
    if not argv or not argv[0]:
        raise ConfigError("empty command", source=source, key=key)
    return tuple(argv)


def _build_saml(table: Mapping[str, Any], source: str | None) -> SamlSettings:
    _check_keys(table, SAML_KEYS, source, "saml.")
    for required in ("issuer", "subject", "certificate", "key"):
        if required not in table:
            raise ConfigError("missing", source=source, key=f"saml.{required}",
                              hint="[saml] needs issuer, subject, certificate and key")
    key = table["key"]
    if not isinstance(key, dict) or set(key) != {"env"} or not isinstance(key["env"], str):
        raise ConfigError(
            "the SAML private key may only come from an environment variable", source=source,
            key="saml.key", hint='write  key = { env = "IHE_SAML_KEY" }  (PEM text or a path)',
        )
    text: dict[str, str | None] = {}
    for name in ("issuer", "subject", "certificate", "audience", "subject_id", "organization",
                 "organization_id", "home_community_id"):
        value = table.get(name)
        if value is not None:
            _expect(value, str, source, f"saml.{name}", "a string")
        text[name] = value
    lifetime = float(_expect(table.get("lifetime_minutes", 15), (int, float), source,
                             "saml.lifetime_minutes", "minutes"))
    if lifetime <= 0:
        raise ConfigError("must be greater than 0", source=source, key="saml.lifetime_minutes")
    return SamlSettings(
        issuer=str(text["issuer"]), subject=str(text["subject"]),
        certificate=str(text["certificate"]), key_env=key["env"], audience=text["audience"],
        lifetime_minutes=lifetime, subject_id=text["subject_id"],
        organization=text["organization"], organization_id=text["organization_id"],
        home_community_id=text["home_community_id"],
    )


def _build_secrets(table: Mapping[str, Any], source: str | None) -> dict[str, str]:
    secrets: dict[str, str] = {}
    for name, ref in table.items():
        key = f"secrets.{name}"
        if not isinstance(ref, dict) or set(ref) != {"env"} or not isinstance(ref["env"], str):
            raise ConfigError(
                "secrets may only reference environment variables", source=source, key=key,
                hint=f'write  {name} = {{ env = "VARIABLE" }}  and export VARIABLE',
            )
        secrets[name] = ref["env"]
    return secrets


def _build_env(name: str, table: Any, source: str | None) -> Environment:
    prefix = f"env.{name}"
    _expect(table, dict, source, prefix, "a table")
    _check_keys(table, ENV_KEYS, source, prefix + ".")
    url = table.get("url")
    if url is not None:
        _expect(url, str, source, f"{prefix}.url", "a URL")
    actors = _expect(table.get("actors", {}), dict, source, f"{prefix}.actors", "a table")
    for actor, actor_url in actors.items():
        _expect(actor_url, str, source, f"{prefix}.actors.{actor}", "a URL")
    tls_raw = _expect(table.get("tls", {}), dict, source, f"{prefix}.tls", "a table")
    _check_keys(tls_raw, TLS_KEYS, source, f"{prefix}.tls.")
    verify = tls_raw.get("verify", True)
    _expect(verify, (bool, str), source, f"{prefix}.tls.verify", "true, false or a CA path")
    cert = tls_raw.get("cert")
    key = tls_raw.get("key")
    for label, value in (("cert", cert), ("key", key)):
        if value is not None:
            _expect(value, str, source, f"{prefix}.tls.{label}", "a file path")
    headers = _expect(table.get("headers", {}), dict, source, f"{prefix}.headers", "a table")
    for header, value in headers.items():
        _expect(value, str, source, f"{prefix}.headers.{header}", "a string")
    return Environment(
        name=name, url=url, actors=dict(actors), tls=TlsSettings(verify, cert, key),
        headers=dict(headers),
    )


# --- writing rules back (``ihe learn --write``, ``ihe review``) --------------------------------

def toml_string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, bar ``\\/`` which json never writes)."""
    import json

    return json.dumps(value, ensure_ascii=False)


def render_table(array: str, table: Mapping[str, str | Sequence[str]],
                 comments: Sequence[str] = ()) -> str:
    """One ``[[array]]`` table (``rules``, ``correlate``) preceded by ``# comment`` lines."""
    lines = [f"# {line}" for comment in comments for line in comment.splitlines()]
    lines.append(f"[[{array}]]")
    for key, value in table.items():
        if isinstance(value, str):
            lines.append(f"{key} = {toml_string(value)}")
        else:
            lines.append(f"{key} = [{', '.join(toml_string(v) for v in value)}]")
    return "\n".join(lines) + "\n"


def append_to_config(path: Path, fragment: str,
                     validate: Callable[[Settings], object] | None = None) -> str:
    """Append ``fragment`` (``[[rules]]`` / ``[[correlate]]`` tables) to a configuration file,
    atomically, after checking that the result still loads as settings and passes
    ``validate`` (the callers check the rules: ``compare.load_rules``); returns the text
    appended.

    In a ``pyproject.toml`` the tables go under ``[tool.ihe]`` (``[[tool.ihe.rules]]``). A file
    that does not exist is created. ConfigError (nothing written) if the result would not load.
    """
    from ihe_test_util.atomicfile import atomic_file

    existing = ""
    if path.exists():
        try:
            existing = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"cannot read configuration file: {exc}",
                              source=str(path)) from None
    if path.name == "pyproject.toml":
        fragment = fragment.replace("[[rules]]", "[[tool.ihe.rules]]").replace(
            "[[correlate]]", "[[tool.ihe.correlate]]")
    separator = "" if not existing or existing.endswith("\n\n") else (
        "\n" if existing.endswith("\n") else "\n\n")
    text = existing + separator + fragment
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"the result would not be valid TOML: {exc}", source=str(path)) from None
    table = data.get("tool", {}).get("ihe", {}) if path.name == "pyproject.toml" else data
    settings = _build(_apply_environment(dict(table), {}), str(path))
    if validate is not None:
        validate(settings)
    with atomic_file(path) as stream:
        stream.write(text.encode("utf-8"))
    return separator + fragment
