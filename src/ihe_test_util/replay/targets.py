"""Where replayed requests go: ``--target URL`` and ``--target ORIGIN=URL`` (CLI contract).

``URL`` replaces scheme, host and port of every request of its protocol family (HTTP:
``http``/``https``; MLLP: ``mllp``/``mllps``) and keeps the recorded path and query;
``ORIGIN=URL`` does so only for requests recorded against ``ORIGIN``. A cassette may hold both
families, so each family has its own default target. Without targets, requests go where they
were recorded.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from ihe_test_util.errors import UsageError
from ihe_test_util.transport.mllp import DEFAULT_PORT as DEFAULT_MLLP_PORT
from ihe_test_util.transport.senders import family_of

_DEFAULT_PORTS = {"http": 80, "https": 443, "mllp": DEFAULT_MLLP_PORT,
                  "mllps": DEFAULT_MLLP_PORT}
#: how :meth:`TargetMap.describe` names a family's default target
_DEFAULT_KEY = {"http": "*", "mllp": "mllp://*"}


def origin_of(url: str) -> str:
    """``scheme://host:port`` with the port made explicit and host lower-cased."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        raise UsageError(
            f"{url!r} is neither an http(s) URL nor an mllp(s) URL",
            hint="write it as http://host:port, https://host or mllp://host:port",
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

    #: the HTTP default target (``--target http(s)://...``)
    default: str | None = None
    by_origin: Mapping[str, str] = field(default_factory=dict)
    #: the MLLP default target (``--target mllp(s)://...``)
    default_mllp: str | None = None

    @classmethod
    def parse(cls, specs: Iterable[str]) -> TargetMap:
        defaults: dict[str, str] = {}
        by_origin: dict[str, str] = {}
        for spec in specs:
            recorded, sep, target = spec.partition("=")
            if sep:
                if not recorded or not target:
                    raise UsageError(f"--target {spec!r}: expected ORIGIN=URL")
                origin, new = origin_of(recorded), origin_of(target)
                if family_of(origin) != family_of(new):
                    raise UsageError(f"--target {spec!r}: ORIGIN and URL speak different "
                                     "protocols", hint="an MLLP exchange can only be replayed "
                                     "over MLLP, an HTTP one over HTTP")
                by_origin[origin] = new
            else:
                target = origin_of(spec)
                family = family_of(target)
                if family in defaults:
                    raise UsageError(
                        f"--target URL given twice for {family}", hint="use ORIGIN=URL to send "
                        "different recorded origins to different places",
                    )
                defaults[family] = target
        return cls(default=defaults.get("http"), by_origin=by_origin,
                   default_mllp=defaults.get("mllp"))

    def rewrite(self, uri: str) -> str:
        recorded = origin_of(uri)
        default = self.default_mllp if family_of(recorded) == "mllp" else self.default
        target = self.by_origin.get(recorded, default)
        if target is None:
            return uri
        parts = urlsplit(uri)
        new = urlsplit(target)
        return urlunsplit((new.scheme, new.netloc, parts.path, parts.query, parts.fragment))

    def describe(self) -> dict[str, str]:
        """``recorded origin -> replayed origin`` for the run report's ``targets``."""
        described = dict(self.by_origin)
        for family, default in (("http", self.default), ("mllp", self.default_mllp)):
            if default is not None:
                described[_DEFAULT_KEY[family]] = default
        return described
