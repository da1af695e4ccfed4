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

from ihe_test_util.cassette.redact import PLACEHOLDER_PATTERN, Redactor, placeholder
from ihe_test_util.config import Settings
from ihe_test_util.errors import ConfigError
from ihe_test_util.model import Headers, Request, Response
from ihe_test_util.record.variables import MissingVariable, Value, fill_text

SECRET_PREFIX = "secret."
#: Shorter values are not scrubbed from bodies: they would match by chance.
MIN_SCRUB_LENGTH = 6


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
        found = dict(self.used)
        for name in self.settings.secrets:
            try:
                found.setdefault(name, self.settings.secret(name, self.environ))
            except ConfigError:
                continue
        return found


class RecordingRedactor(Redactor):
    """The store's redaction, after literal secret values were replaced by their names."""

    def __init__(self, secrets: Mapping[str, str], extra_headers: tuple[str, ...] = ()) -> None:
        super().__init__(extra_headers)
        # longest first: a secret that contains another is replaced whole
        self._secrets = sorted(((v, n) for n, v in secrets.items() if v),
                               key=lambda item: -len(item[0]))
        self._body_secrets = [(v.encode("utf-8"), n) for v, n in self._secrets
                              if len(v) >= MIN_SCRUB_LENGTH]

    @classmethod
    def for_settings(cls, settings: Settings, secrets: Mapping[str, str],
                     secret_headers: tuple[str, ...] = ()) -> RecordingRedactor:
        """The configured ``[redact] headers`` plus the headers that carried a secret."""
        return cls(secrets, (*settings.redact_headers, *secret_headers))

    def request(self, request: Request) -> Request:
        body = self._scrub_bytes(request.body)
        return super().request(request.evolve(
            uri=self._scrub_text(request.uri), body=body,
            headers=_with_length(self._scrub_headers(request.headers), request.body, body)))

    def response(self, response: Response) -> Response:
        body = self._scrub_bytes(response.body)
        return super().response(response.evolve(
            body=body,
            headers=_with_length(self._scrub_headers(response.headers), response.body, body)))

    def _headers(self, headers: Headers) -> Headers:
        """Values that already name their secret keep it (``Bearer [[ihe-secret:token]]``):
        replay then needs the same ``[secrets]`` entry the scenario used."""
        redacted = super()._headers(headers)
        return Headers(
            (name, original if PLACEHOLDER_PATTERN.search(original) else new)
            for (name, original), (_, new) in zip(headers, redacted, strict=True)
        )

    def _scrub_text(self, text: str) -> str:
        for value, name in self._secrets:
            if value in text:
                text = text.replace(value, placeholder(name))
        return text

    def _scrub_headers(self, headers: Headers) -> Headers:
        if not self._secrets:
            return headers
        return Headers((name, self._scrub_text(value)) for name, value in headers)

    def _scrub_bytes(self, body: bytes) -> bytes:
        for value, name in self._body_secrets:
            if value in body:
                body = body.replace(value, placeholder(name).encode("ascii"))
        return body


def _with_length(headers: Headers, before: bytes, after: bytes) -> Headers:
    """A recorded ``Content-Length`` follows a body whose length the scrubbing changed."""
    if len(before) == len(after) or "Content-Length" not in headers:
        return headers
    return headers.with_value("Content-Length", str(len(after)))
