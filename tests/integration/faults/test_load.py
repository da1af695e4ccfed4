"""200 clients at once get an answer from ``ihe sim``, ``ihe serve`` and the recording proxy
(the listen backlog is sized for it), and clients hanging up mid-answer leave no traceback.
The 1,000-request version is ``benchmarks/bench_load.py``."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from ihe_test_util.cassette import CassetteWriter
from ihe_test_util.record import RecordingProxy, Routes
from ihe_test_util.serve.server import PlaybackServer
from ihe_test_util.sim import Simulator
from ihe_test_util.transport.endpoint import LocalEndpoint

from ..serve_support import record_flow
from .load import burst, hang_ups

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@contextmanager
def _server(kind: str, folder: Path) -> Iterator[tuple[LocalEndpoint, str]]:
    if kind == "sim":
        with Simulator() as sim:
            yield sim, "/pdq"
    elif kind == "serve":
        with PlaybackServer([record_flow(folder / "flow.yaml")]) as stub:
            yield stub, "/pdq"
    else:
        with Simulator() as sim, RecordingProxy(Routes.parse([sim.base_url]),
                                                CassetteWriter(folder / "p.yaml")) as proxy:
            yield proxy, "/pdq"


@pytest.mark.parametrize("kind", ["sim", "serve", "proxy"])
def test_200_concurrent_clients_all_get_an_answer_and_stderr_has_no_traceback(
        kind: str, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    with _server(kind, tmp_path) as (server, path):
        result = burst(server.host, server.port, path, clients=200, requests=1)
    assert result.failed == [] and result.answered == 200
    assert "Traceback" not in capfd.readouterr().err
    if kind == "proxy":  # the writer's spare copy is gone once the proxy stops
        assert sorted(p.name for p in tmp_path.iterdir()) == ["p.yaml"]


@pytest.mark.parametrize("kind", ["sim", "serve", "proxy"])
def test_a_client_hanging_up_mid_answer_is_one_debug_line_not_a_traceback(
        kind: str, tmp_path: Path, capfd: pytest.CaptureFixture[str],
        caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.DEBUG, logger="ihe_test_util.endpoint")
    with _server(kind, tmp_path) as (server, path):
        hang_ups(server.host, server.port, path, clients=30)
        after = burst(server.host, server.port, path, clients=5, requests=1)
    assert after.answered == 5
    assert "Traceback" not in capfd.readouterr().err
    assert all("\n" not in record.getMessage() for record in caplog.records)
