"""Plain immutable values for what travels on the wire: requests, responses, interactions.

Bodies are always ``bytes``: the exact octets sent or received. Headers keep their order,
their original spelling and repeated names (``Set-Cookie``), and are looked up
case-insensitively, because HTTP header names are case-insensitive.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field, replace
from typing import Any


class Headers:
    """An ordered, case-insensitive, multi-valued view of HTTP headers (immutable)."""

    __slots__ = ("_items",)

    def __init__(
        self, items: Iterable[tuple[str, str]] | Mapping[str, str | list[str]] = (),
    ) -> None:
        pairs: list[tuple[str, str]] = []
        if isinstance(items, Mapping):
            for name, value in items.items():
                if isinstance(value, list):
                    pairs.extend((str(name), str(v)) for v in value)
                else:
                    pairs.append((str(name), str(value)))
        else:
            pairs.extend((str(name), str(value)) for name, value in items)
        self._items: tuple[tuple[str, str], ...] = tuple(pairs)

    def get(self, name: str, default: str | None = None) -> str | None:
        """First value of ``name`` (case-insensitive), or ``default``."""
        lowered = name.lower()
        for key, value in self._items:
            if key.lower() == lowered:
                return value
        return default

    def get_all(self, name: str) -> list[str]:
        lowered = name.lower()
        return [value for key, value in self._items if key.lower() == lowered]

    def items(self) -> tuple[tuple[str, str], ...]:
        return self._items

    def names(self) -> list[str]:
        """Distinct names in first-seen order and original spelling."""
        seen: dict[str, str] = {}
        for key, _ in self._items:
            seen.setdefault(key.lower(), key)
        return list(seen.values())

    def as_multidict(self) -> dict[str, list[str]]:
        """``{name: [values]}`` in first-seen order: the shape vcrpy cassettes use."""
        result: dict[str, list[str]] = {}
        spelling: dict[str, str] = {}
        for key, value in self._items:
            canonical = spelling.setdefault(key.lower(), key)
            result.setdefault(canonical, []).append(value)
        return result

    def without(self, *names: str) -> Headers:
        drop = {name.lower() for name in names}
        return Headers([(k, v) for k, v in self._items if k.lower() not in drop])

    def with_value(self, name: str, value: str) -> Headers:
        """Replace every ``name`` header by one with ``value`` (keeps the first position)."""
        lowered = name.lower()
        out: list[tuple[str, str]] = []
        placed = False
        for key, old in self._items:
            if key.lower() == lowered:
                if not placed:
                    out.append((key, value))
                    placed = True
            else:
                out.append((key, old))
        if not placed:
            out.append((name, value))
        return Headers(out)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and self.get(name) is not None

    def __iter__(self) -> Iterator[tuple[str, str]]:
        return iter(self._items)

    def __len__(self) -> int:
        return len(self._items)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, Headers):
            return NotImplemented
        return self._items == other._items

    def __hash__(self) -> int:
        return hash(self._items)

    def __repr__(self) -> str:
        return f"Headers({list(self._items)!r})"


@dataclass(frozen=True)
class Request:
    method: str
    uri: str
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    def evolve(self, **changes: Any) -> Request:
        return replace(self, **changes)


@dataclass(frozen=True)
class Response:
    status: int
    reason: str = ""
    headers: Headers = field(default_factory=Headers)
    body: bytes = b""

    @property
    def content_type(self) -> str | None:
        return self.headers.get("Content-Type")

    def evolve(self, **changes: Any) -> Response:
        return replace(self, **changes)


@dataclass(frozen=True)
class InteractionMeta:
    """What we know about an exchange beyond the bytes (stored where vcrpy ignores it)."""

    transaction: str | None = None
    step: str | None = None
    endpoint: str | None = None
    duration_ms: float | None = None
    recorded_at: str | None = None
    captured: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Interaction:
    request: Request
    response: Response
    meta: InteractionMeta = field(default_factory=InteractionMeta)


CASSETTE_FORMAT_VERSION = 1


@dataclass(frozen=True)
class CassetteMeta:
    """Per-cassette facts stored at the top level, where vcrpy ignores them."""

    tool_version: str | None = None
    format_version: int = CASSETTE_FORMAT_VERSION
    recorded_at: str | None = None
    name: str | None = None


@dataclass(frozen=True)
class Cassette:
    """An ordered list of interactions plus metadata (vcrpy cassette format version 1)."""

    interactions: tuple[Interaction, ...] = ()
    meta: CassetteMeta = field(default_factory=CassetteMeta)
