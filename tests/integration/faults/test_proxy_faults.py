"""The recording proxy in front of a broken upstream: the client gets a 502 with a failure in its
own dialect naming the upstream failure (never a made-up success), nothing is recorded for it,
the failure is reported and counted, and the exchanges around it are recorded as usual."""

from __future__ import annotations

import json
import signal
import sys
from pathlib import Path

import pytest
import requests
from lxml import etree

from ihe_test_util.cassette import CassetteWriter, load_cassette
from ihe_test_util.ihe.namespaces import SOAP11, SOAP12
from ihe_test_util.record import ProxyExchange, ProxyFailure, RecordingProxy, Routes
from ihe_test_util.record.proxy import ProxyEvent
from ihe_test_util.transport.http import TransportOptions

from .fault_server import FAULTS, GOOD_BODY, fault_server
from .test_transport_faults import CAUSES

SOAP11_REQUEST = (f'<soapenv:Envelope xmlns:soapenv="{SOAP11}"><soapenv:Body><ask/>'
                  '</soapenv:Body></soapenv:Envelope>').encode()
SOAP12_REQUEST = (f'<soap:Envelope xmlns:soap="{SOAP12}"><soap:Body><ask/>'
                  '</soap:Body></soap:Envelope>').encode()


def _post(url: str, body: bytes, content_type: str) -> requests.Response:
    return requests.post(url, data=body, headers={"Content-Type": content_type}, timeout=30)


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_upstream_fault_is_a_502_fault_for_the_client_and_is_not_recorded(
        tmp_path: Path, fault: str) -> None:
    events: list[ProxyEvent] = []
    cassette = tmp_path / "p.yaml"
    with fault_server(trickle_interval=0.05) as server, RecordingProxy(
            Routes.parse([server.url]), CassetteWriter(cassette),
            options=TransportOptions(timeout=1.0), on_event=events.append) as proxy:
        before = _post(proxy.url + "/good/1", SOAP11_REQUEST, "text/xml; charset=utf-8")
        broken = _post(proxy.url + f"/fault/{fault}", SOAP11_REQUEST, "text/xml; charset=utf-8")
        after = _post(proxy.url + "/good/2", SOAP11_REQUEST, "text/xml; charset=utf-8")
        failures = proxy.failures
    assert before.status_code == after.status_code == 200
    assert before.content == after.content == GOOD_BODY
    assert broken.status_code == 502
    assert broken.headers["Content-Type"].startswith("text/xml")
    envelope = etree.fromstring(broken.content)
    assert envelope.tag == f"{{{SOAP11}}}Envelope"
    assert envelope.findtext(f".//{{{SOAP11}}}Fault/faultcode") == "soapenv:Server"
    reason = envelope.findtext(f".//{{{SOAP11}}}Fault/faultstring") or ""
    assert CAUSES[fault] in reason and "/fault/" in reason
    assert failures == 1
    [failure] = [e for e in events if isinstance(e, ProxyFailure)]
    assert failure.status == 502 and CAUSES[fault] in failure.message
    assert [e.path for e in events if isinstance(e, ProxyExchange)] == ["/good/1", "/good/2"]
    recorded = load_cassette(cassette).interactions
    assert [i.request.uri.rsplit("/", 2)[-2:] for i in recorded] == [["good", "1"], ["good", "2"]]
    assert all(i.response.body == GOOD_BODY for i in recorded)


@pytest.mark.parametrize(("body", "content_type", "expected"), [
    (SOAP12_REQUEST, "application/soap+xml; charset=utf-8", "soap12"),
    (SOAP11_REQUEST, "text/xml", "soap11"),
    (b'{"resourceType": "Parameters"}', "application/fhir+json", "json"),
    (b"MSH|^~\\&|A|B\r", "text/plain", "text"),
])
def test_the_502_speaks_the_clients_dialect(tmp_path: Path, body: bytes, content_type: str,
                                            expected: str) -> None:
    with fault_server() as server, RecordingProxy(
            Routes.parse([server.url]), CassetteWriter(tmp_path / "p.yaml"),
            options=TransportOptions(timeout=1.0)) as proxy:
        answer = _post(proxy.url + "/fault/headers-truncated", body, content_type)
    assert answer.status_code == 502
    media = answer.headers["Content-Type"]
    if expected == "soap12":
        assert media.startswith("application/soap+xml")
        assert etree.fromstring(answer.content).tag == f"{{{SOAP12}}}Envelope"
        assert b"soap:Receiver" in answer.content
    elif expected == "soap11":
        assert media.startswith("text/xml")
        assert etree.fromstring(answer.content).tag == f"{{{SOAP11}}}Envelope"
    elif expected == "json":
        outcome = answer.json()
        assert media.startswith("application/fhir+json")
        assert outcome["resourceType"] == "OperationOutcome"
        assert "header block was cut off" in outcome["issue"][0]["diagnostics"]
    else:
        assert media.startswith("text/plain")
        assert b"header block was cut off" in answer.content
    assert not (tmp_path / "p.yaml").exists()


@pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")
def test_the_proxy_command_reports_counts_and_exits_non_zero_naming_upstream(
        tmp_path: Path) -> None:
    from ..record.test_proxy_cli import running_proxy
    from ..transport_servers import free_port

    closed = free_port()
    with fault_server() as server, running_proxy(
            tmp_path, f"/down=http://127.0.0.1:{closed}", server.url) as proxy:
        good = _post(proxy.url + "/good/1", SOAP12_REQUEST, "application/soap+xml")
        cut = _post(proxy.url + "/fault/headers-truncated", SOAP12_REQUEST,
                    "application/soap+xml")
        down = _post(proxy.url + "/down/x", SOAP12_REQUEST, "application/soap+xml")
        code, events = proxy.stop(signal.SIGTERM)
    assert (good.status_code, cut.status_code, down.status_code) == (200, 502, 502)
    assert code == 3
    failures = [e for e in events if e["event"] == "failure"]
    assert len(failures) == 2
    assert "header block was cut off" in failures[0]["message"]
    assert "--upstream" in failures[1]["hint"] and "--target" not in failures[1]["hint"]
    assert b"--upstream" in down.content
    stopped = events[-1]
    assert stopped["recorded"] == 1 and stopped["failures"] == 2, stopped
    [recorded] = load_cassette(tmp_path / "cassettes" / "p.yaml").interactions
    assert recorded.response.body == GOOD_BODY
    assert json.dumps(events).count("/fault/headers-truncated") >= 1
