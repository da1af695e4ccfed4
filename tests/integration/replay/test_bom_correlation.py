"""A server-assigned id in a response that starts with a UTF-8 BOM is carried forward on replay.

Issue 10: the comparer read such responses, but correlation did not (it looked for ``<`` as the
first byte), so the later request went out with the recorded id. A real HTTP server on
127.0.0.1 assigns fresh ids, answers with a BOM, and records what the later request carried.
"""

from __future__ import annotations

import itertools
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from ihe_test_util import __version__
from ihe_test_util.cassette import CassetteWriter, find_cassettes, load_cassette
from ihe_test_util.config import Settings
from ihe_test_util.model import (
    CassetteMeta,
    Headers,
    Interaction,
    InteractionMeta,
    Request,
    Response,
)
from ihe_test_util.replay.runner import ReplayEngine, plan_replay, run_replay
from ihe_test_util.replay.session import CassetteRegenerator, production_comparer
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.results import ExchangeResult, Outcome
from ihe_test_util.transport.http import HttpTransport

BOM = b"\xef\xbb\xbf"
XML = Headers([("Content-Type", "application/xml; charset=utf-8")])
RECORDED_ID = "SRV-REC-000001"


def _assigned(value: str) -> bytes:
    return BOM + f'<?xml version="1.0" encoding="UTF-8"?><registered><id>{value}</id>' \
        "</registered>".encode()


def _lookup(value: str) -> bytes:
    return f"<lookup><patient>{value}</patient></lookup>".encode()


class _Registry:
    """Assigns ``SRV-NEW-n`` to every registration; remembers what lookups asked for."""

    def __init__(self) -> None:
        self.counter = itertools.count(1)
        self.looked_up: list[bytes] = []


@pytest.fixture
def registry() -> Iterator[tuple[_Registry, str]]:
    state = _Registry()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if self.path == "/register":
                answer = _assigned(f"SRV-NEW-{next(state.counter):06d}")
            else:
                state.looked_up.append(body)
                answer = b"<found/>"
            self.send_response(200)
            self.send_header("Content-Type", "application/xml; charset=utf-8")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _record(folder: Path) -> None:
    origin = "http://registry.example"
    with CassetteWriter(folder / "bom.yaml", CassetteMeta(__version__)) as writer:
        writer.append(Interaction(
            Request("POST", f"{origin}/register", XML, b"<register><name>Alice</name></register>"),
            Response(200, "OK", XML, _assigned(RECORDED_ID)), InteractionMeta(step="register"),
        ))
        writer.append(Interaction(
            Request("POST", f"{origin}/lookup", XML, _lookup(RECORDED_ID)),
            Response(200, "OK", XML, b"<found/>"), InteractionMeta(step="lookup"),
        ))


def test_an_id_assigned_in_a_bom_response_is_carried_into_the_later_request(
        registry: tuple[_Registry, str], tmp_path: Path) -> None:
    state, base = registry
    _record(tmp_path)
    settings = Settings()
    engine = ReplayEngine(load=load_cassette, make_sender=HttpTransport,
                          comparer=production_comparer(settings),
                          make_regenerator=lambda: CassetteRegenerator(settings),
                          targets=TargetMap.parse([base]))
    results: list[ExchangeResult] = []
    run_replay(plan_replay([tmp_path], find=find_cassettes, load=load_cassette), engine,
               on_result=results.append)

    # The registration answers a new id (a value change); the lookup goes out with it.
    assert [r.outcome for r in results] == [Outcome.CHANGED, Outcome.PASS]
    assert state.looked_up == [_lookup("SRV-NEW-000001")]
