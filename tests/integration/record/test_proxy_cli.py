"""``ihe record --proxy`` as users run it: a process clients talk through, stopped by a signal."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest
import requests

from ihe_test_util.cassette import load_cassette
from ihe_test_util.ihe.builders import PatientId, StoredQuery, iti18_stored_query, iti45_query
from ihe_test_util.sim import Simulator

from ..transport_servers import base_url, free_port, make_pki, serve, tls_context
from .conftest import finally_killed, ihe_process

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


class Proxy:
    """The proxy process; its JSON lines are read as they come (a full pipe would block it)."""

    def __init__(self, process: subprocess.Popen[str]) -> None:
        self.process = process
        assert process.stdout is not None
        self.info: dict[str, Any] = json.loads(process.stdout.readline() or "{}")
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self.lines.append(line)

    @property
    def url(self) -> str:
        return str(self.info["proxy"])

    def stop(self, signum: int = signal.SIGINT) -> tuple[int, list[dict[str, Any]]]:
        self.process.send_signal(signum)
        code = self.process.wait(timeout=60)
        self._reader.join(timeout=10)
        return code, [json.loads(line) for line in self.lines if line.strip()]


@contextmanager
def running_proxy(folder: Path, *upstreams: str, env: str | None = None) -> Iterator[Proxy]:
    args = ["record", "--proxy", "127.0.0.1:0", "--json", "--cassette", "cassettes/p.yaml"]
    args += ["--env", env] if env else []
    for upstream in upstreams:
        args += ["--upstream", upstream]
    with finally_killed(ihe_process(*args, cwd=folder)) as process:
        assert process.stderr is not None
        proxy = Proxy(process)
        assert proxy.info.get("event") == "listening", process.stderr.read()
        yield proxy


@pytest.mark.slow
def test_eight_concurrent_clients_times_100_exchanges_all_recorded_byte_for_byte(
        tmp_path: Path) -> None:
    clients, each = 8, 100
    sent: list[list[tuple[bytes, bytes, int]]] = [[] for _ in range(clients)]
    with Simulator() as sim, running_proxy(tmp_path, f"/pix={sim.url_for('pix')}",
                                           f"/xds={sim.base_url}/xds") as proxy:

        def client(number: int) -> None:
            session = requests.Session()
            for index in range(each):
                if index % 2:
                    built = iti45_query(PatientId(f"C{number}-{index}", "1.2.3"))
                    url = proxy.url + "/pix"
                else:
                    built = iti18_stored_query(StoredQuery("GetDocuments", {
                        "XDSDocumentEntryUniqueId": f"1.2.{number}.{index}"}))
                    url = proxy.url + "/xds/registry"
                request = built.to_request(url)
                answer = session.post(url, data=request.body, timeout=30,
                                      headers={"Content-Type": request.content_type or ""})
                sent[number].append((request.body, answer.content, answer.status_code))
            session.close()

        threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=120)
        code, events = proxy.stop()
    assert code == 0
    assert events[-1] == {"event": "stopped", "recorded": 800, "failures": 0,
                          "cassette": "cassettes/p.yaml", "written": True, "interrupted": True}
    assert sum(1 for e in events if e["event"] == "exchange") == 800
    interactions = load_cassette(tmp_path / "cassettes" / "p.yaml").interactions
    assert len(interactions) == clients * each
    recorded = {(i.request.body, i.response.body, i.response.status) for i in interactions}
    exchanged = {item for per_client in sent for item in per_client}
    assert len(exchanged) == 800 and recorded == exchanged  # message ids make every one unique
    for per_client in sent:  # each client's exchanges were appended in its own order
        positions = [next(n for n, i in enumerate(interactions) if i.request.body == body)
                     for body, _, _ in per_client[:5]]
        assert positions == sorted(positions)


def test_an_upstream_without_answer_gets_the_client_a_502_fault_and_is_not_recorded(
        tmp_path: Path) -> None:
    port = free_port()
    with running_proxy(tmp_path, f"http://127.0.0.1:{port}") as proxy:
        answer = requests.post(proxy.url + "/xds/registry", data=b"<q/>", timeout=30,
                               headers={"Content-Type": "application/soap+xml"})
        code, events = proxy.stop()
    assert answer.status_code == 502
    assert answer.headers["Content-Type"].startswith("application/soap+xml")
    assert b"<soap:Value>soap:Receiver</soap:Value>" in answer.content
    assert b"cannot connect" in answer.content
    assert code == 3
    failure = events[0]
    assert failure["event"] == "failure" and failure["status"] == 502
    assert failure["url"] == f"http://127.0.0.1:{port}/xds/registry"
    assert "is the server running" in failure["hint"]
    assert events[-1]["recorded"] == 0 and events[-1]["written"] is False
    assert not (tmp_path / "cassettes" / "p.yaml").exists()


def test_a_killed_proxy_keeps_every_exchange_its_clients_completed(tmp_path: Path) -> None:
    with Simulator() as sim, running_proxy(tmp_path, sim.base_url) as proxy:
        bodies = []
        for index in range(5):
            request = iti45_query(PatientId(f"K-{index}", "1.2.3")).to_request("x")
            answer = requests.post(proxy.url + "/pix", data=request.body, timeout=30,
                                   headers={"Content-Type": request.content_type or ""})
            bodies.append((request.body, answer.content))
        code, _ = proxy.stop(signal.SIGKILL)  # no clean-up at all
    assert code == -signal.SIGKILL
    interactions = load_cassette(tmp_path / "cassettes" / "p.yaml").interactions
    assert [(i.request.body, i.response.body) for i in interactions] == bodies


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # the test server's TLS sockets
def test_https_upstream_verified_with_the_ca_of_the_environment(tmp_path: Path) -> None:
    pki = make_pki(tmp_path)
    (tmp_path / "ihe.toml").write_text(f'[env.secure]\ntls = {{ verify = "{pki.ca}" }}\n',
                                       encoding="utf-8")
    with serve(tls_context(pki)) as server:
        upstream = base_url(server, "https", "localhost")
        with running_proxy(tmp_path, upstream, env="secure") as proxy:
            trusted = requests.post(proxy.url + "/echo", data=b"over TLS", timeout=30)
            code, events = proxy.stop()
        with running_proxy(tmp_path, upstream) as proxy:  # system CAs: not trusted
            refused = requests.post(proxy.url + "/echo", data=b"over TLS", timeout=30)
            proxy.stop()
    assert trusted.status_code == 200 and trusted.content == b"over TLS" and code == 0
    assert events[0]["url"] == upstream + "/echo"
    assert refused.status_code == 502 and b"certificate verify failed" in refused.content
