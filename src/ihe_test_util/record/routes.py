"""Where the recording proxy forwards: upstreams by path prefix.

``URL`` forwards every path to ``URL`` + path; ``/prefix=URL`` forwards paths under ``/prefix``
to ``URL`` + the rest of the path (``/xds=http://reg:8080/axis2`` sends ``/xds/registry`` to
``http://reg:8080/axis2/registry``); the longest matching prefix wins.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from urllib.parse import urlsplit

from ihe_test_util.errors import UsageError


@dataclass(frozen=True)
class Upstream:
    """Where requests under ``prefix`` go (``prefix`` empty: every path)."""

    prefix: str
    url: str

    @classmethod
    def parse(cls, spec: str) -> Upstream:
        """``URL`` or ``/prefix=URL``."""
        prefix, url = "", spec.strip()
        if url.startswith("/"):
            prefix, separator, url = url.partition("=")
            if not separator:
                raise UsageError(f"--upstream {spec}: a path prefix needs =URL",
                                 hint="write --upstream /xds=https://registry.example/xds")
            prefix = "/" + prefix.strip().strip("/")
        parts = urlsplit(url.strip())
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise UsageError(f"--upstream {spec}: {url!r} is not an http(s) URL",
                             hint="write --upstream https://registry.example or "
                                  "--upstream /xds=https://registry.example/xds")
        if parts.query or parts.fragment:
            raise UsageError(f"--upstream {spec}: the upstream URL cannot have a query or "
                             "fragment")
        return cls("" if prefix == "/" else prefix, url.strip().rstrip("/"))

    @property
    def name(self) -> str:
        """The endpoint name stored in the cassette: the prefix, or the upstream host."""
        return self.prefix.lstrip("/") or urlsplit(self.url).netloc

    def matches(self, path: str) -> bool:
        return not self.prefix or path == self.prefix or path.startswith(
            (self.prefix + "/", self.prefix + "?"))

    def target(self, path_and_query: str) -> str:
        rest = path_and_query[len(self.prefix):]
        return self.url + (rest if rest.startswith(("/", "?")) or not rest else "/" + rest)


class Routes:
    def __init__(self, upstreams: Sequence[Upstream]) -> None:
        if not upstreams:
            raise UsageError("the proxy needs at least one --upstream URL")
        prefixes = [u.prefix for u in upstreams]
        repeated = {p for p in prefixes if prefixes.count(p) > 1}
        if repeated:
            shown = ", ".join(sorted(p or "(no prefix)" for p in repeated))
            raise UsageError(f"--upstream: the same path prefix is given twice: {shown}")
        self.upstreams = sorted(upstreams, key=lambda u: -len(u.prefix))

    @classmethod
    def parse(cls, specs: Iterable[str]) -> Routes:
        return cls([Upstream.parse(spec) for spec in specs])

    def choose(self, path: str) -> Upstream | None:
        return next((u for u in self.upstreams if u.matches(path)), None)
