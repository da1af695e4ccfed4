"""The replayed request's ``wsa:To`` names the target it is sent to, not the recorded address
(a recording proxy's, say): a server that checks its own address must not refuse it."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import pytest

from ihe_test_util.cassette import load_cassette, save_cassette
from ihe_test_util.ihe.namespaces import WSA
from ihe_test_util.model import Cassette
from ihe_test_util.safexml import parse_xml

from ..transport_servers import base_url, serve
from .test_replay_cli import ihe

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

PROXY = "http://recording-proxy.example:8888/pix"


def test_wsa_to_is_rewritten_to_the_target(recorded_flow: Path, tmp_path: Path) -> None:
    feed = load_cassette(recorded_flow).interactions[0]
    recorded_to = parse_xml(feed.request.body).findtext(f".//{{{WSA}}}To")
    assert recorded_to and feed.request.uri.endswith("/pix")
    body = feed.request.body.replace(recorded_to.encode(), PROXY.encode())
    cassette = tmp_path / "feed.yaml"
    save_cassette(cassette, Cassette((
        replace(feed, request=feed.request.evolve(body=body)),)))
    received: list[bytes] = []

    def pix(request_body: bytes, headers: dict[str, str]) -> (
        tuple[int, list[tuple[str, str]], bytes]
    ):
        received.append(request_body)
        return feed.response.status, list(feed.response.headers.items()), feed.response.body

    with serve(routes={"pix": pix}) as server:
        target = base_url(server)
        result = ihe("replay", str(cassette), "--target", target)
    assert len(received) == 1, result.stdout + result.stderr
    assert parse_xml(received[0]).findtext(f".//{{{WSA}}}To") == f"{target}/pix"
