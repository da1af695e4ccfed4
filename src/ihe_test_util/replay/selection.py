"""Which exchanges a run replays: cassette discovery, stable ids, and ``--shard I/N``."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

from ihe_test_util.errors import UsageError


@dataclass(frozen=True)
class Shard:
    """``--shard I/N``: this machine replays the I-th of N disjoint, stable slices (1-based)."""

    index: int
    count: int

    @classmethod
    def parse(cls, spec: str) -> Shard:
        index_text, sep, count_text = spec.partition("/")
        try:
            index, count = int(index_text), int(count_text)
        except ValueError:
            index = count = 0
        if not sep or count < 1 or not 1 <= index <= count:
            raise UsageError(
                f"--shard {spec!r}: expected I/N with 1 <= I <= N", hint="e.g. --shard 2/4",
            )
        return cls(index, count)

    def owns(self, cassette_id: str) -> bool:
        """Whole cassettes go to one shard: exchanges inside depend on each other.

        Assignment hashes the cassette's stable id, so adding a cassette moves no other one.
        """
        digest = hashlib.sha256(cassette_id.encode("utf-8")).digest()
        return int.from_bytes(digest[:8], "big") % self.count == self.index - 1


def cassette_id(path: Path, root: Path) -> str:
    """Path relative to the run's root with forward slashes: stable across OSes."""
    try:
        relative = path.resolve().relative_to(root.resolve())
    except ValueError:
        relative = Path(path.name)
    return str(PurePosixPath(*relative.parts))


def run_root(paths: list[Path]) -> Path:
    """The directory exchange ids are relative to: the common parent of the given paths."""
    resolved = [p.resolve() if p.is_dir() else p.resolve().parent for p in paths]
    if not resolved:
        return Path.cwd()
    common = resolved[0]
    for path in resolved[1:]:
        while common not in (path, *path.parents):
            common = common.parent
    return common


def exchange_id(cassette: str, index: int) -> str:
    return f"{cassette}#{index}"
