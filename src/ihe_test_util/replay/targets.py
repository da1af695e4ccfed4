"""Where replayed requests go: ``--target URL`` and ``--target ORIGIN=URL`` (CLI contract).

``URL`` replaces scheme, host and port of every request and keeps the recorded path and
query; ``ORIGIN=URL`` does so only for requests recorded against ``ORIGIN``. Without targets,
requests go where they were recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from ihe_test_util.errors import UsageError

_DEFAULT_PORTS = {"http": 80, "https": 443}


def origin_of(url: str) -> str:
    """``scheme://host:port`` with the port made explicit and host lower-cased."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise UsageError(
            f"{url!r} is not an http(s) URL", hint="write it as http://host:port or https://host",
        )
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:
        raise UsageError(f"{url!r} has an invalid port") from None
    host = parts.hostname.lower()
    if ":" in host:  # IPv6 literal
        host = f"[{host}]"
    return f"{parts.scheme}://{host}:{port}"


@dataclass(frozen=True)
class TargetMap:
    """Rewrites recorded request URIs to replay URIs."""

    default: str | None = None
    by_origin: Mapping[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, specs: Iterable[str]) -> TargetMap:
        default: str | None = None
        by_origin: dict[str, str] = {}
        for spec in specs:
            recorded, sep, target = spec.partition("=")
            if sep:
                if not recorded or not target:
                    raise UsageError(f"--target {spec!r}: expected ORIGIN=URL")
                by_origin[origin_of(recorded)] = origin_of(target)
            else:
                if default is not None:
                    raise UsageError(
                        "--target URL given twice", hint="use ORIGIN=URL to send different "
                        "recorded origins to different places",
                    )
                default = origin_of(spec)
        return cls(default=default, by_origin=by_origin)

    def rewrite(self, uri: str) -> str:
        recorded = origin_of(uri)
        target = self.by_origin.get(recorded, self.default)
        if target is None:
            return uri
        parts = urlsplit(uri)
        new = urlsplit(target)
        return urlunsplit((new.scheme, new.netloc, parts.path, parts.query, parts.fragment))

    def describe(self) -> dict[str, str]:
        """``recorded origin -> replayed origin`` for the run report's ``targets``."""
        described = dict(self.by_origin)
        if self.default is not None:
            described["*"] = self.default
        return described
