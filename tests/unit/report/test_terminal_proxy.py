"""What ``ihe record --proxy`` shows, for people and (``--json``) for scripts."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from rich.console import Console

from ihe_test_util.record import ProxyExchange, ProxyFailure
from ihe_test_util.report.terminal_proxy import ProxyView

EXCHANGE = ProxyExchange(number=1, method="POST", path="/pix", url="http://up:8080/pix",
                         status=200, duration_ms=3.74, transaction="ITI-45", ihe_status="ack AA")
FAILURE = ProxyFailure(method="POST", path="/other", url=None, status=404,
                       message="no --upstream for path /other", hint="add --upstream /other=URL")
ROUTES = [("", "http://up:8080"), ("/xds", "http://reg:9090/axis2")]


def _people() -> tuple[ProxyView, io.StringIO]:
    out = io.StringIO()
    return ProxyView(Console(file=out, width=200, no_color=True), False, 0), out


def test_people_see_where_to_point_clients_each_exchange_and_the_outcome() -> None:
    view, out = _people()
    view.listening("http://127.0.0.1:8081", ROUTES, Path("cassettes/ehr.yaml"))
    view.event(EXCHANGE)
    view.event(FAILURE)
    view.stopped(1, 1, Path("cassettes/ehr.yaml"), interrupted=True)
    lines = out.getvalue().splitlines()
    assert lines[0] == "recording proxy on http://127.0.0.1:8081 -> cassettes/ehr.yaml"
    assert lines[1].strip() == "http://127.0.0.1:8081/... -> http://up:8080/..."
    assert lines[2].strip() == "http://127.0.0.1:8081/xds/... -> http://reg:9090/axis2/..."
    assert lines[4] == "✓ #0 POST /pix -> HTTP 200  ITI-45  ack AA  4 ms"
    assert lines[5] == ("✗ POST /other  404: no --upstream for path /other  "
                        "(hint: add --upstream /other=URL)")
    assert lines[6] == ("proxy stopped: 1 exchange(s) recorded in cassettes/ehr.yaml; "
                        "1 request(s) without an answer")


def test_nothing_recorded_says_the_cassette_was_not_written() -> None:
    view, out = _people()
    view.stopped(0, 0, Path("p.yaml"), interrupted=False)
    assert out.getvalue() == "proxy stopped: nothing recorded, the cassette was not written\n"


def test_nothing_recorded_still_counts_the_failures() -> None:
    view, out = _people()
    view.stopped(0, 2, Path("p.yaml"), interrupted=False)
    assert out.getvalue() == ("proxy stopped: nothing recorded, the cassette was not written; "
                              "2 request(s) without an answer\n")


def test_scripts_get_json_lines(capsys: pytest.CaptureFixture[str]) -> None:
    view = ProxyView(Console(file=io.StringIO()), True, 0)
    view.listening("http://127.0.0.1:8081", ROUTES, Path("p.yaml"))
    view.event(EXCHANGE)
    view.stopped(1, 0, Path("p.yaml"), interrupted=True)
    events = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert events[0] == {"event": "listening", "proxy": "http://127.0.0.1:8081",
                         "cassette": "p.yaml",
                         "routes": [{"prefix": "/", "url": "http://up:8080"},
                                    {"prefix": "/xds", "url": "http://reg:9090/axis2"}]}
    assert events[1]["event"] == "exchange" and events[1]["duration_ms"] == 3.7
    assert events[2] == {"event": "stopped", "recorded": 1, "failures": 0, "cassette": "p.yaml",
                         "written": True, "interrupted": True}
