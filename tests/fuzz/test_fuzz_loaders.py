"""Fuzzing the file loaders: cassettes (and the replay of any cassette that loads, with a
sender that answers from the cassette, no network) and scenario files."""

from __future__ import annotations

import atexit
import itertools
import shutil
import tempfile
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ihe_test_util.cassette import load_cassette, save_cassette
from ihe_test_util.config import Settings
from ihe_test_util.errors import IheTestError
from ihe_test_util.model import Cassette, Request, Response
from ihe_test_util.record.loader import load_scenario
from ihe_test_util.replay.engine import CassetteReplay
from ihe_test_util.replay.session import CassetteRegenerator, production_comparer
from ihe_test_util.replay.targets import TargetMap

from . import seeds
from .conftest import bounded, fuzz_settings, mutated

#: a fuzzed cassette's repr is long: hypothesis warns about printing it on a failure
pytestmark = pytest.mark.filterwarnings("ignore:Generating overly large repr")

_FOLDER = Path(tempfile.mkdtemp(prefix="ihe-fuzz-"))
atexit.register(shutil.rmtree, _FOLDER, True)
_NAMES = itertools.count()


def _written(data: bytes, suffix: str) -> Path:
    path = _FOLDER / f"input-{next(_NAMES)}{suffix}"
    path.write_bytes(data)
    return path


class RecordedAnswers:
    """A sender that answers each request with the recorded response of the next exchange
    with its method and path (or the next one at all): replay with no network. ``alter``
    changes each answer on its way (a server answering garbage)."""

    def __init__(self, cassette: Cassette,
                 alter: Callable[[Response], Response] | None = None) -> None:
        self.pending = list(cassette.interactions)
        self.alter = alter or (lambda response: response)

    def send(self, request: Request) -> tuple[Response, float]:
        path = request.uri.split("?")[0].split("/", 3)[-1]
        for index, interaction in enumerate(self.pending):
            if (interaction.request.method, interaction.request.uri.split("?")[0].split(
                    "/", 3)[-1]) == (request.method, path):
                return self.alter(self.pending.pop(index).response), 1.0
        if self.pending:
            return self.alter(self.pending.pop(0).response), 1.0
        return Response(200, "OK", body=b""), 1.0


def replay_in_process(cassette: Cassette,
                      alter: Callable[[Response], Response] | None = None) -> list[str]:
    """Replay ``cassette`` as ``ihe replay`` would (regeneration, correlation, the comparer),
    its recorded answers (``alter``-ed) standing in for the server. Outcomes, in order."""
    settings = Settings()
    replay = CassetteReplay(
        cassette_id="fuzz.yaml", cassette=cassette, targets=TargetMap.parse([]),
        sender=RecordedAnswers(cassette, alter), comparer=production_comparer(settings),
        regenerator=CassetteRegenerator(settings))
    return [result.outcome.value for result in replay.run()]


def _load_and_replay(data: bytes) -> None:
    path = _written(data, ".yaml")
    try:
        try:
            cassette = load_cassette(path)
        except IheTestError:
            return  # ihe cassette check / ihe replay: a clean error naming file and line
        outcomes = replay_in_process(cassette)
        assert len(outcomes) == len(cassette.interactions)
    finally:
        path.unlink()


@fuzz_settings(short=12)
@given(mutated(seeds.cassette_texts()))
def test_fuzz_cassette_loader_and_replay(data: bytes) -> None:
    bounded(lambda: _load_and_replay(data))


@fuzz_settings(short=8)
@given(st.binary(max_size=4096))
def test_fuzz_cassette_loader_with_arbitrary_bytes(data: bytes) -> None:
    bounded(lambda: _load_and_replay(data))


_TEXT = st.text(st.characters(codec="utf-8"), max_size=40)


@st.composite
def edited_cassettes(draw: st.DrawFn) -> Cassette:
    """A recorded cassette whose bodies, URIs, methods and header values are fuzzed (written
    through the tool's own serializer: valid YAML, so the fuzz reaches check and replay)."""
    cassette = draw(st.sampled_from(seeds.cassettes()))
    interactions = list(cassette.interactions)
    for _ in range(draw(st.integers(1, 4))):
        index = draw(st.integers(0, len(interactions) - 1))
        interaction = interactions[index]
        request, response = interaction.request, interaction.response
        field = draw(st.sampled_from(["request body", "response body", "uri", "method",
                                      "request header", "response header", "status"]))
        if field == "request body":
            request = request.evolve(body=draw(mutated([request.body])))
        elif field == "response body":
            response = response.evolve(body=draw(mutated([response.body])))
        elif field == "uri":
            request = request.evolve(uri=request.uri + draw(_TEXT))
        elif field == "method":
            request = request.evolve(method=draw(_TEXT))
        elif field == "status":
            response = response.evolve(status=draw(st.integers(-1, 1000)))
        else:
            target = request if field == "request header" else response
            headers = target.headers.with_value(draw(st.sampled_from(
                ["Content-Type", "Content-Encoding", "SOAPAction", "X-Fuzz"])), draw(_TEXT))
            if field == "request header":
                request = request.evolve(headers=headers)
            else:
                response = response.evolve(headers=headers)
        interactions[index] = replace(interaction, request=request, response=response)
    return replace(cassette, interactions=tuple(interactions))


def _save_load_and_replay(cassette: Cassette) -> None:
    path = _FOLDER / f"input-{next(_NAMES)}.yaml"
    try:
        try:
            save_cassette(path, cassette)
        except IheTestError:
            return  # refused when written: nothing to replay
        _load_and_replay(path.read_bytes())
    finally:
        path.unlink(missing_ok=True)


@fuzz_settings(short=12)
@given(edited_cassettes())
def test_fuzz_replay_of_cassettes_with_fuzzed_values(cassette: Cassette) -> None:
    bounded(lambda: _save_load_and_replay(cassette))


@fuzz_settings(short=10)
@given(st.sampled_from(range(len(seeds.CASSETTES))), st.data())
def test_fuzz_replay_against_a_server_answering_fuzzed_responses(which: int,
                                                                 data: st.DataObject) -> None:
    """Every answer of the server is its recorded one, fuzzed (body, status, type, coding):
    comparison and correlation see garbage, and give outcomes."""
    cassette = seeds.cassettes()[which]

    def garbage(response: Response) -> Response:
        changed = response.evolve(body=data.draw(mutated([response.body])))
        if data.draw(st.booleans()):
            changed = changed.evolve(status=data.draw(st.sampled_from([200, 202, 400, 500])))
        if data.draw(st.booleans()):
            changed = changed.evolve(headers=changed.headers.with_value(
                data.draw(st.sampled_from(["Content-Type", "Content-Encoding"])),
                data.draw(st.sampled_from(["application/json", "text/plain", "gzip", "br",
                                           'multipart/related; boundary="MIMEBoundary_1"',
                                           "application/soap+xml; charset=utf-16"]))))
        return changed

    outcomes = bounded(lambda: replay_in_process(cassette, garbage))
    assert len(outcomes) == len(cassette.interactions)


def _load_scenario(data: bytes) -> None:
    path = _written(data, ".yaml")
    try:
        load_scenario(path)
    except IheTestError:
        pass  # exit 2 with file:line, nothing sent
    finally:
        path.unlink()


@fuzz_settings(short=20)
@given(mutated([path.read_bytes() for path in seeds.SCENARIOS]))
def test_fuzz_scenario_loader(data: bytes) -> None:
    bounded(lambda: _load_scenario(data))
