"""The recorded interactions of one or more cassettes, indexed once by match key.

Looking a request up is one dictionary access (:meth:`PlaybackIndex.lookup`), whatever the
number of interactions: vcrpy compares every request with every recorded one, which makes a
1,000-interaction playback quadratic.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit

from ihe_test_util.cassette import find_cassettes, load_cassette
from ihe_test_util.errors import CassetteError
from ihe_test_util.model import Interaction
from ihe_test_util.serve.negotiation import JSON, XML, response_format
from ihe_test_util.serve.shape import RequestShape, shape_of

MatchKey = tuple[str, str, str, str, str]


@dataclass(eq=False)
class RecordedEntry:
    """One recorded interaction: where it comes from, its match key, its response."""

    cassette: Path
    number: int  # its index in the cassette (0-based: the run report's ``cassette#index``)
    interaction: Interaction
    shape: RequestShape
    #: Where the recorded server was (``http://host:port``, from the cassette's request URIs,
    #: Host headers and absolute Location headers): absolute URLs to it in a response are
    #: rewritten to the stub's own base.
    origins: tuple[str, ...] = ()

    @property
    def transaction(self) -> str | None:
        return self.interaction.meta.transaction or self.shape.transaction

    @property
    def label(self) -> str:
        """``demo.yaml#4 (ITI-18 'find documents')``: the exchange as replay, the run report
        and ``ihe approve --only`` number it (its index among the cassette's interactions)."""
        what = " ".join(part for part in (
            self.transaction, f"'{self.interaction.meta.step}'"
            if self.interaction.meta.step else None) if part)
        return f"{self.cassette.name}#{self.number}" + (f" ({what})" if what else "")


@dataclass(frozen=True)
class PathSummary:
    """What is served at one path: how many interactions, which transactions."""

    path: str
    interactions: int
    transactions: tuple[str, ...]


class PlaybackIndex:
    """Match key -> the recorded interactions with that key, in cassette order."""

    def __init__(self, entries: Sequence[RecordedEntry], cassettes: Sequence[Path] = ()) -> None:
        self.entries = tuple(entries)
        self.cassettes = tuple(cassettes)
        grouped: dict[MatchKey, list[RecordedEntry]] = {}
        for entry in self.entries:
            grouped.setdefault(entry.shape.key, []).append(entry)
        self._by_key = {key: tuple(found) for key, found in grouped.items()}

    @classmethod
    def load(cls, paths: Sequence[Path]) -> PlaybackIndex:
        """Index every interaction of the cassettes named (folders are searched recursively).

        An unreadable or invalid cassette raises :class:`CassetteError` naming file and line.
        """
        files = find_cassettes(paths)
        if not files:
            raise CassetteError("no cassettes (*.yaml, *.yml) found in "
                                + ", ".join(map(str, paths)))
        entries: list[RecordedEntry] = []
        for path in files:
            cassette = load_cassette(path)
            origins = recorded_origins(cassette.interactions)
            entries.extend(
                RecordedEntry(path, number, interaction, shape_of(interaction.request), origins)
                for number, interaction in enumerate(cassette.interactions)
            )
        if not entries:
            raise CassetteError("the cassettes hold no interactions to serve",
                                path=files[0] if len(files) == 1 else None)
        return cls(entries, files)

    def lookup(self, shape: RequestShape) -> tuple[RecordedEntry, ...]:
        """The recorded interactions whose request means the same as ``shape`` (maybe none).

        The format the client asks for is part of the key (:mod:`.negotiation`); a client
        without a preference is answered from a recording that asked for JSON (FHIR's default),
        else XML, and a client that asks for a format from a recording that did not ask, if
        its response is in that format.
        """
        found = self._by_key.get(shape.key, ())
        if found or shape.soap:
            return found
        method, path, action, digest, wanted = shape.key
        if not wanted:
            for other in (JSON, XML):
                found = self._by_key.get((method, path, action, digest, other), ())
                if found:
                    return found
            return ()
        return tuple(entry for entry in self._by_key.get((method, path, action, digest, ""), ())
                     if response_format(entry.interaction.response.content_type) == wanted)

    def __len__(self) -> int:
        return len(self.entries)

    def mllp(self) -> PathSummary | None:
        """The HL7 v2 (``mllp://``) interactions, served on the MLLP port; None if none."""
        found = [entry for entry in self.entries if entry.shape.hl7v2]
        if not found:
            return None
        return PathSummary("mllp", len(found), tuple(dict.fromkeys(
            entry.transaction for entry in found if entry.transaction)))

    def paths(self) -> list[PathSummary]:
        """Per HTTP path (sorted): number of interactions and their transactions."""
        counts: dict[str, int] = {}
        transactions: dict[str, dict[str, None]] = {}
        for entry in self.entries:
            if entry.shape.hl7v2:
                continue
            path = entry.shape.path
            counts[path] = counts.get(path, 0) + 1
            if entry.transaction:
                transactions.setdefault(path, {})[entry.transaction] = None
        return [PathSummary(path, counts[path], tuple(transactions.get(path, {})))
                for path in sorted(counts)]


def recorded_origins(interactions: Sequence[Interaction]) -> tuple[str, ...]:
    """``scheme://host:port`` of the recorded server(s), longest first: the origins of the
    HTTP request URIs, of the Host headers the client sent (a server behind the recording
    proxy builds its URLs from it) and of absolute ``Location`` / ``Content-Location``
    headers (a server configured with its own public base)."""
    found: dict[str, None] = {}
    for interaction in interactions:
        request = urlsplit(interaction.request.uri)
        if request.scheme not in ("http", "https") or not request.netloc:
            continue
        found[f"{request.scheme}://{request.netloc}"] = None
        host = (interaction.request.headers.get("Host") or "").strip()
        if host:
            found[f"{request.scheme}://{host}"] = None
        for name in ("Location", "Content-Location"):
            where = urlsplit((interaction.response.headers.get(name) or "").strip())
            if where.scheme in ("http", "https") and where.netloc:
                found[f"{where.scheme}://{where.netloc}"] = None
    return tuple(sorted(found, key=len, reverse=True))
