"""``ihe replay`` overhead: the harness's own time per exchange, and memory as runs grow.

A simulator runs in a *separate process* (``ihe sim --port 0``) so its CPU is not ours.
Cassettes of ITI-47 PDQ exchanges (about 5 KB request + response) are recorded from it, then
replayed through the real engine (correlation, regeneration, HTTP, IHE comparer) with JSON,
JUnit and HTML reporters streaming to files. Figures:

- harness time per exchange = (wall time - time spent waiting for the server) / exchanges,
  and the process CPU time per exchange;
- ratio to a baseline measured in the same run: a bare loop that POSTs the same recorded
  requests with requests.Session and does nothing else;
- peak traced memory (tracemalloc) at 250 and 1,000 exchanges: flat means streaming works.
"""

from __future__ import annotations

import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import requests

from ihe_test_util import __version__
from ihe_test_util.cassette import CassetteWriter, find_cassettes, load_cassette
from ihe_test_util.config import Settings
from ihe_test_util.ihe.builders import (
    PatientDemographics,
    PatientId,
    PersonName,
    iti44_add,
    iti47_query,
)
from ihe_test_util.model import CassetteMeta, Interaction, InteractionMeta, Request, Response
from ihe_test_util.replay.runner import ReplayEngine, plan_replay, run_replay
from ihe_test_util.replay.session import CassetteRegenerator, production_comparer
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.report.base import ReporterSet
from ihe_test_util.report.outputs import ReportOutputs
from ihe_test_util.results import RunInfo
from ihe_test_util.transport.http import HttpTransport, TransportOptions

DOMAIN = "1.3.6.1.4.1.21367.13.20.1000"


def start_sim() -> tuple[subprocess.Popen[str], str]:
    process = subprocess.Popen(
        [sys.executable, "-m", "ihe_test_util", "sim", "--port", "0", "--json"],
        stdout=subprocess.PIPE, text=True,
    )
    assert process.stdout is not None
    line = process.stdout.readline()
    return process, json.loads(line)["base_url"]


def record(folder: Path, base: str, cassettes: int, per_cassette: int) -> None:
    transport = HttpTransport()
    for c in range(cassettes):
        patient = PatientDemographics(ids=(PatientId(f"BENCH-{c}", DOMAIN),),
                                      name=PersonName(f"Family{c}", ("Given",)),
                                      gender="F", birth_date="19800101")
        with CassetteWriter(folder / f"pdq-{c:03d}.yaml", CassetteMeta(__version__)) as writer:
            messages = [iti44_add(patient)] + [
                iti47_query(PatientDemographics(name=patient.name))
                for _ in range(per_cassette - 1)
            ]
            interactions = []
            for message in messages:
                url = f"{base}/pix" if message.transaction == "ITI-44" else f"{base}/pdq"
                request = message.to_request(url)
                response, elapsed = transport.send(request)
                interactions.append(Interaction(request, response, InteractionMeta(
                    transaction=message.transaction, duration_ms=elapsed)))
            for interaction in interactions:
                writer.append(interaction)


class TimedTransport:
    """Counts the time spent waiting for the server."""

    def __init__(self, inner: HttpTransport) -> None:
        self.inner = inner
        self.waiting = 0.0

    def send(self, request: Request) -> tuple[Response, float]:
        started = time.perf_counter()
        try:
            return self.inner.send(request)
        finally:
            self.waiting += time.perf_counter() - started


def replay(folder: Path, base: str, jobs: int, out: Path) -> tuple[float, float, float, int]:
    senders: list[TimedTransport] = []

    def make_sender() -> TimedTransport:
        sender = TimedTransport(HttpTransport(TransportOptions()))
        senders.append(sender)
        return sender

    settings = Settings()
    plan = plan_replay([folder], find=find_cassettes, load=load_cassette)
    engine = ReplayEngine(load=load_cassette, make_sender=make_sender,
                          comparer=production_comparer(settings),
                          make_regenerator=lambda: CassetteRegenerator(settings),
                          targets=TargetMap.parse([base]))
    outputs = ReportOutputs(json=out / "run.json", junit=out / "junit.xml",
                            html=out / "run.html")
    cpu = time.process_time()
    started = time.perf_counter()
    with ReporterSet(outputs.reporters()) as reporters:
        reporters.start(RunInfo(__version__, "2026-01-01T00:00:00Z"))
        summary = run_replay(plan, engine, jobs=jobs, on_result=reporters.exchange)
        reporters.finish(summary, "2026-01-01T00:00:01Z")
    wall = time.perf_counter() - started
    cpu = time.process_time() - cpu
    waiting = sum(s.waiting for s in senders)
    assert summary.total == plan.total
    return wall, waiting, cpu, summary.total


def bare_loop(folder: Path, base: str) -> tuple[float, int]:
    session = requests.Session()
    count = 0
    started = time.perf_counter()
    for path in find_cassettes([folder]):
        for interaction in load_cassette(path).interactions:
            request = interaction.request
            url = base + "/" + request.uri.split("/", 3)[3]
            session.post(url, data=request.body, headers=dict(request.headers.items()))
            count += 1
    return time.perf_counter() - started, count


def main() -> None:
    sim, base = start_sim()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            for total in (250, 1000):
                folder = root / f"c{total}"
                folder.mkdir()
                record(folder, base, cassettes=10, per_cassette=total // 10)
                size = sum(len(i.request.body) + len(i.response.body)
                           for p in find_cassettes([folder])
                           for i in load_cassette(p).interactions) / total
                bare, count = bare_loop(folder, base)
                print(f"{total} exchanges (~{size / 1024:.1f} KB each); bare POST loop "
                      f"{bare:.2f} s ({bare / count * 1000:.2f} ms/exchange, baseline)")
                for jobs in (1, 4):
                    out = root / f"out-{total}-{jobs}"
                    out.mkdir()
                    wall, waiting, cpu, n = replay(folder, base, jobs, out)
                    own = (wall - waiting / jobs) / n * 1000
                    print(f"  --jobs {jobs}: {wall:.2f} s wall = {wall / bare:.2f}x baseline; "
                          f"harness {own:.2f} ms/exchange (wall - server wait), "
                          f"CPU {cpu / n * 1000:.2f} ms/exchange")
                # Memory separately: tracemalloc slows Python down several times.
                out = root / f"mem-{total}"
                out.mkdir()
                tracemalloc.start()
                replay(folder, base, 1, out)
                peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                print(f"  peak traced memory (--jobs 1): {peak / 2**20:.1f} MiB")
    finally:
        sim.terminate()
        sim.wait(timeout=10)


if __name__ == "__main__":
    main()
