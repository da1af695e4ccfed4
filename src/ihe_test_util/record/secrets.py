"""Secrets while recording: resolved from ``[secrets]`` only, and never written to a cassette.

``${secret.NAME}`` may appear in a scenario's ``headers``, never in a message body (the SAML
assertion of WS-Security comes from ``[saml]`` and is redacted by the store).
:class:`SecretResolver` looks the values up in the configuration (environment variables) and
remembers them; :class:`RecordingRedactor` then replaces every occurrence of a known secret
value, in headers and bodies of requests *and* responses (a server may echo a token), by its
named placeholder ``[[ihe-secret:NAME]]`` -- the name replay fills it back from -- before the
cassette store's own redaction (Authorization, Cookie, SAML, private keys) runs.
"""

from __future__ import annotations

from collections.abc import Mapping

from ihe_test_util.cassette.redact import Redactor, configured_secrets
from ihe_test_util.config import Settings
from ihe_test_util.record.variables import MissingVariable, Value, fill_text

SECRET_PREFIX = "secret."


class SecretResolver:
    """Resolves ``${secret.NAME}`` (and plain variables) and remembers every secret used."""

    def __init__(self, settings: Settings, variables: Mapping[str, Value],
                 environ: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.variables = variables
        self.environ = environ
        self.used: dict[str, str] = {}

    def lookup(self, name: str) -> Value:
        if name.startswith(SECRET_PREFIX):
            secret = name[len(SECRET_PREFIX):]
            value = self.settings.secret(secret, self.environ)
            self.used[secret] = value
            return value
        if name not in self.variables:
            raise MissingVariable(name)
        return self.variables[name]

    def fill(self, text: str) -> str:
        value = fill_text(text, self.lookup) if "${" in text else text
        return value if isinstance(value, str) else " ".join(value)

    def configured(self) -> dict[str, str]:
        """Every ``[secrets]`` entry whose environment variable is set (scrubbed too)."""
        return {**configured_secrets(self.settings, self.environ), **self.used}


class RecordingRedactor(Redactor):
    """The store's redaction with the secret values the recording used (the scrubbing itself
    is :class:`~ihe_test_util.cassette.redact.Redactor`'s, shared with replay and reports)."""

    def __init__(self, secrets: Mapping[str, str], extra_headers: tuple[str, ...] = ()) -> None:
        super().__init__(extra_headers, secrets)

    @classmethod
    def for_settings(cls, settings: Settings, secrets: Mapping[str, str],
                     secret_headers: tuple[str, ...] = ()) -> RecordingRedactor:
        """The configured ``[redact] headers`` plus the headers that carried a secret."""
        return cls(secrets, (*settings.redact_headers, *secret_headers))
