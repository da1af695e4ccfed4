"""Behind a gzip-compressing front end (a reverse proxy that compresses every answer for a
client sending ``Accept-Encoding: gzip``, as web servers in front of IHE endpoints do): the
demo flow recorded through it (as zeep records it through the proxy) replays clean, a
breaking upgrade behind it is still a regression (``--fail-on regression`` exits 1), and
``ihe serve`` of the gzip recording answers with the client's RelatesTo."""

from __future__ import annotations

import gzip
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from ihe_test_util.cassette import load_cassette, save_cassette
from ihe_test_util.ihe.idmap import IdMap
from ihe_test_util.ihe.regenerate import regenerate_request
from ihe_test_util.serve import PlaybackServer
from ihe_test_util.sim import Simulator
from ihe_test_util.transport.soap import parse_envelope

from ..demo_support import record_demo
from .test_replay_cli import ihe

_SKIPPED = {"host", "content-length", "connection", "accept-encoding", "transfer-encoding"}


class _FrontEnd(ThreadingHTTPServer):
    upstream = ""
    compressed = 0
    lock = threading.Lock()


class _Handler(BaseHTTPRequestHandler):
    server: _FrontEnd
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: object) -> None:
        pass

    def do_POST(self) -> None:
        body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
        headers = {k: v for k, v in self.headers.items() if k.lower() not in _SKIPPED}
        answer = requests.post(self.server.upstream + self.path, data=body, headers=headers,
                               timeout=30)
        content = answer.content
        zipped = "gzip" in (self.headers.get("Accept-Encoding") or "").lower()
        if zipped:
            content = gzip.compress(content)
            with self.server.lock:
                self.server.compressed += 1
        self.send_response(answer.status_code)
        self.send_header("Content-Type", answer.headers.get("Content-Type", "text/plain"))
        if zipped:
            self.send_header("Content-Encoding", "gzip")
        self.send_header("Content-Length", str(len(content)))
        self.end_headers()
        self.wfile.write(content)


@contextmanager
def gzip_front_end(upstream: str) -> Iterator[_FrontEnd]:
    server = _FrontEnd(("127.0.0.1", 0), _Handler)
    server.upstream = upstream
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


def _base(server: _FrontEnd) -> str:
    return f"http://127.0.0.1:{server.server_address[1]}"


@pytest.fixture(scope="module")
def gzip_recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo flow as a client sending ``Accept-Encoding: gzip, deflate`` (zeep's default)
    records it through the proxy behind the front end: gzip answers, that header on every
    request."""
    cassette = tmp_path_factory.mktemp("gzip") / "cassettes" / "flow.yaml"
    with Simulator() as sim:
        record_demo(cassette, sim)
    recorded = load_cassette(cassette)
    save_cassette(cassette, replace(recorded, interactions=tuple(
        replace(i, request=i.request.evolve(headers=i.request.headers.with_value(
                    "Accept-Encoding", "gzip, deflate")),
                response=i.response.evolve(
                    body=gzip.compress(i.response.body),
                    headers=i.response.headers.with_value("Content-Encoding", "gzip")))
        for i in recorded.interactions)))
    return cassette


def test_the_recording_holds_gzip_answers(gzip_recording: Path) -> None:
    responses = [i.response for i in load_cassette(gzip_recording).interactions]
    assert len(responses) == 7
    assert all(r.headers.get("Content-Encoding") == "gzip" for r in responses)
    assert all(r.body[:2] == b"\x1f\x8b" for r in responses)


def test_baseline_replay_behind_gzip_passes(gzip_recording: Path) -> None:
    with Simulator() as sim, gzip_front_end(sim.base_url) as front:
        run = ihe("replay", str(gzip_recording), "--target", _base(front),
                  "--fail-on", "regression")
        assert front.compressed == 7
    assert run.returncode == 0, run.stdout + run.stderr
    assert "7 pass" in run.stdout, run.stdout


def test_breaking_upgrade_behind_gzip_is_a_regression(gzip_recording: Path,
                                                      tmp_path: Path) -> None:
    with Simulator(profile="breaking") as sim, gzip_front_end(sim.base_url) as front:
        run = ihe("replay", str(gzip_recording), "--target", _base(front),
                  "--fail-on", "regression")
        assert front.compressed > 0
    assert run.returncode == 1, run.stdout + run.stderr
    assert "regression" in run.stdout


def test_serve_of_a_gzip_recording_answers_with_the_clients_relates_to(
        gzip_recording: Path) -> None:
    interactions = load_cassette(gzip_recording).interactions
    with PlaybackServer([gzip_recording]) as stub:
        for interaction in interactions[:2]:
            fresh = regenerate_request(interaction.request, IdMap()).request
            answer = requests.post(stub.url_for(urlsplit(fresh.uri).path), data=fresh.body,
                                   headers=dict(fresh.headers.items()), timeout=10)
            assert answer.status_code == 200
            served = parse_envelope(answer.content, answer.headers["Content-Type"])
            assert served.relates_to == parse_envelope(fresh.body).message_id
