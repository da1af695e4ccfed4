"""Why the tool could not run: a small exception tree.

A regression is a *result* (see :mod:`ihe_test_util.results`), never an exception. Exceptions
mean the tool itself could not do what was asked; the CLI maps them to exit codes::

    IheTestError                    base; every message says what to do about it
    ├── UsageError                  bad option or argument                   -> exit 2
    ├── ConfigError                 bad ihe.toml / [tool.ihe] / IHE_* value  -> exit 2
    │   └── ScenarioError           invalid scenario file: every problem     -> exit 2
    ├── CassetteError               unreadable or invalid cassette           -> exit 2
    ├── InputError                  malformed or hostile outside input       -> exit 2
    │   ├── XmlInputError           XML
    │   └── YamlInputError          YAML (callers re-raise it as CassetteError / ConfigError)
    ├── HookError                   a [hooks] command failed                 -> exit 3
    └── TransportError              no response obtained                     -> exit 3
        ├── EndpointUnreachable     connection refused / DNS failure
        ├── EndpointTimeout         connect or read timeout
        ├── TlsError                certificate or handshake failure
        └── MllpFramingError        MLLP bytes that are not one framed reply
"""

from __future__ import annotations

from pathlib import Path


class IheTestError(Exception):
    """Base class: the tool could not do what was asked."""

    exit_code: int = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        if self.hint:
            return f"{self.message}\n  hint: {self.hint}"
        return self.message


class UsageError(IheTestError):
    """A command was called with options or arguments that cannot work."""


class ConfigError(IheTestError):
    """The configuration (file, section or environment variable) is invalid.

    ``source`` names where the bad value came from (a file path, ``IHE_TIMEOUT``, ...) and
    ``key`` the dotted key, so the message can point at exactly what to fix.
    """

    def __init__(
        self, message: str, *, source: str | None = None, key: str | None = None,
        hint: str | None = None,
    ) -> None:
        where = ": ".join(part for part in (source, key) if part)
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.source = source
        self.key = key


class ScenarioError(ConfigError):
    """A scenario file is invalid; ``problems`` lists every one (``file:line: field: what``),
    so a user fixes them all in one go instead of one per run."""

    def __init__(self, source: str, problems: list[str], *, hint: str | None = None) -> None:
        count = len(problems)
        listing = "\n  ".join(problems)
        IheTestError.__init__(
            self, f"invalid scenario {source} ({count} problem{'s' if count != 1 else ''}):\n"
                  f"  {listing}", hint=hint)
        self.source = source
        self.key = None
        self.problems = list(problems)


class CassetteError(IheTestError):
    """A cassette cannot be read or written: names the file, the line and the problem."""

    def __init__(
        self, message: str, *, path: Path | str | None = None, line: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = str(path) if path is not None else ""
        if line is not None:
            where = f"{where}:{line}" if where else f"line {line}"
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.path = Path(path) if path is not None else None
        self.line = line


class InputError(IheTestError):
    """Outside input that is malformed or hostile, located by ``source`` and ``line``."""

    def __init__(
        self, message: str, *, source: str | None = None, line: int | None = None,
        hint: str | None = None,
    ) -> None:
        where = source or ""
        if line is not None:
            where = f"{where}:{line}" if where else f"line {line}"
        super().__init__(f"{where}: {message}" if where else message, hint=hint)
        self.source = source
        self.line = line


class XmlInputError(InputError):
    """XML that is malformed, too large, or hostile (DTDs, entities)."""


class YamlInputError(InputError):
    """YAML that is malformed, too large, or hostile (object tags, alias bombs).

    ``kind`` says which: ``syntax``, ``encoding``, ``tag``, ``alias`` or ``size``; ``problem``
    is the message without the location, for callers that re-raise it as their own error.
    """

    def __init__(
        self, problem: str, *, kind: str, source: str | None = None, line: int | None = None,
        hint: str | None = None,
    ) -> None:
        super().__init__(problem, source=source, line=line, hint=hint)
        self.problem = problem
        self.kind = kind


class HookError(IheTestError):
    """A ``[hooks]`` command failed (could not start, exited non-zero, timed out): the system
    under test is not in the state the run needs, so before a run nothing is sent."""

    exit_code = 3


class TransportError(IheTestError):
    """No response could be obtained from an endpoint."""

    exit_code = 3

    def __init__(self, message: str, *, url: str | None = None, hint: str | None = None) -> None:
        super().__init__(f"{url}: {message}" if url else message, hint=hint)
        self.url = url


class EndpointUnreachable(TransportError):
    """Connection refused, reset, or the host name does not resolve."""


class EndpointTimeout(TransportError):
    """The endpoint did not connect or answer within the timeout."""


class TlsError(TransportError):
    """TLS handshake or certificate verification failed."""


class MllpFramingError(TransportError):
    """An MLLP peer sent bytes that are not one framed reply: no start block, junk, a reply
    cut off or too large, or a reply nobody asked for."""
