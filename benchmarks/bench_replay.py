"""``ihe replay`` overhead: the harness's own time per exchange, and memory as runs grow.

A simulator runs in a *separate process* (``ihe sim --port 0``) so its CPU is not ours.
Cassettes of ITI-47 PDQ exchanges (about 5 KB request + response) are recorded from it, then
replayed through the real engine (correlation, regeneration, HTTP, IHE comparer) with JSON,
JUnit and HTML reporters streaming to files. Figures:

- harness time per exchange = (wall time - time spent waiting for the server) / exchanges,
  and the process CPU time per exchange;
- ratio to a baseline measured in the same run: a bare loop that POSTs the same recorded
  requests with requests.Session and does nothing else;
- the CPU time of the replay process per exchange against the bare loop's in the same run
  (CPU ratio): less disturbed than wall time when other work shares the machine;
- the harness alone: the same replay answered from a second recording in memory (no HTTP, no
  server), CPU per exchange, with its outcomes: that recording's responses echo the other
  recording's requests, so its exchanges come out ``changed`` (four echo differences each,
  which the reporters render in full), unlike the passing exchanges of the HTTP replay;
- peak traced memory (tracemalloc) at ``--memory`` sizes (250 and 1,000 exchanges by default;
  ``--memory 1000,10000`` for the issue's target): flat means streaming works. A larger run
  has more cassettes of ``--per-cassette`` exchanges (100): one cassette is read, parsed and
  correlated whole, so the largest cassette, not the run, sets the floor.

Figures are medians over ``--runs`` runs; each ratio is taken within one run.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path
from statistics import median

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


class Replies:
    """A sender answering from a second recording, in memory: what the harness costs with no
    HTTP and no server at all (the figure least disturbed by other load on the machine)."""

    def __init__(self, responses: list[Response]) -> None:
        self.responses = responses
        self.sent = 0

    def send(self, request: Request) -> tuple[Response, float]:
        response = self.responses[self.sent]
        self.sent += 1
        return response, 1.0


def harness_only(folder: Path, replies: Path, out: Path) -> tuple[float, str]:
    """CPU seconds per exchange of planning and replaying ``folder`` (reports included) with
    every reply read from the cassettes in ``replies``, and the outcomes (``changed 1000``)."""
    responses = [i.response for p in find_cassettes([replies])
                 for i in load_cassette(p).interactions]
    sender = Replies(responses)
    settings = Settings()
    outputs = ReportOutputs(json=out / "run.json", junit=out / "junit.xml",
                            html=out / "run.html")
    cpu = time.process_time()
    plan = plan_replay([folder], find=find_cassettes, load=load_cassette)
    engine = ReplayEngine(load=load_cassette, make_sender=lambda: sender,
                          comparer=production_comparer(settings),
                          make_regenerator=lambda: CassetteRegenerator(settings),
                          targets=TargetMap.parse(["http://127.0.0.1:1"]))
    with ReporterSet(outputs.reporters()) as reporters:
        reporters.start(RunInfo(__version__, "2026-01-01T00:00:00Z"))
        summary = run_replay(plan, engine, jobs=1, on_result=reporters.exchange)
        reporters.finish(summary, "2026-01-01T00:00:01Z")
    outcomes = ", ".join(f"{o.value} {n}" for o, n in summary.counts.items() if n)
    return (time.process_time() - cpu) / summary.total, outcomes


def bare_loop(folder: Path, base: str) -> tuple[float, float, int]:
    """Wall and CPU seconds of a requests.Session loop POSTing the recorded requests."""
    session = requests.Session()
    requests_ = [interaction.request for path in find_cassettes([folder])
                 for interaction in load_cassette(path).interactions]
    cpu = time.process_time()
    started = time.perf_counter()
    for request in requests_:
        url = base + "/" + request.uri.split("/", 3)[3]
        session.post(url, data=request.body, headers=dict(request.headers.items()))
    return time.perf_counter() - started, time.process_time() - cpu, len(requests_)


@dataclass
class Figures:
    """One run's figures for one size: the bare loop and replay at each ``--jobs``."""

    bare_wall: float
    bare_cpu: float
    count: int
    replays: dict[int, tuple[float, float, float, int]]
    alone: float  # harness CPU seconds per exchange without HTTP (:func:`harness_only`)
    alone_outcomes: str


def measure(folder: Path, replies: Path, base: str, jobs: tuple[int, ...], out: Path) -> (
    Figures
):
    bare_wall, bare_cpu, count = bare_loop(folder, base)
    replays = {}
    for j in jobs:
        target = out / f"out-{j}"
        target.mkdir()
        replays[j] = replay(folder, base, j, target)
    target = out / "alone"
    target.mkdir()
    return Figures(bare_wall, bare_cpu, count, replays, *harness_only(folder, replies, target))


def report(total: int, size: float, runs: list[Figures], jobs: tuple[int, ...]) -> None:
    """Medians over the runs; each ratio is taken within one run, then the median of those."""
    bare_ms = median(r.bare_wall / r.count for r in runs) * 1000
    bare_cpu_ms = median(r.bare_cpu / r.count for r in runs) * 1000
    print(f"{total} exchanges (~{size / 1024:.1f} KB each), median of {len(runs)} run(s); "
          f"bare POST loop {bare_ms:.2f} ms/exchange wall, {bare_cpu_ms:.2f} ms CPU (baseline)")
    for j in jobs:
        n = runs[0].replays[j][3]
        wall_ratio = median(r.replays[j][0] / r.bare_wall for r in runs)
        cpu_ratio = median((r.replays[j][2] / n) / (r.bare_cpu / r.count) for r in runs)
        own = median((r.replays[j][0] - r.replays[j][1] / j) / n for r in runs) * 1000
        cpu_ms = median(r.replays[j][2] / n for r in runs) * 1000
        extra = median((r.replays[j][2] / n - r.bare_cpu / r.count) for r in runs) * 1000
        print(f"  --jobs {j}: wall {wall_ratio:.2f}x baseline, harness {own:.2f} ms/exchange "
              f"(wall - server wait); CPU {cpu_ms:.2f} ms/exchange = {cpu_ratio:.2f}x the bare "
              f"loop's CPU, harness's own CPU {extra:.2f} ms/exchange (replay CPU - bare CPU)")
    alone = [r.alone * 1000 for r in runs]
    print(f"  harness alone (--jobs 1, replies from memory, no HTTP): CPU "
          f"{median(alone):.2f} ms/exchange median, {min(alone):.2f} min "
          f"(outcomes: {runs[0].alone_outcomes})")


def peak_memory(folder: Path, base: str, out: Path) -> float:
    """Peak traced memory (MiB) of one ``--jobs 1`` replay; tracemalloc slows Python down
    several times, so it is measured apart from the timings."""
    out.mkdir()
    tracemalloc.start()
    try:
        replay(folder, base, 1, out)
        return tracemalloc.get_traced_memory()[1] / 2**20
    finally:
        tracemalloc.stop()


def arguments(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="bench_replay", description=__doc__.split("\n")[0])
    parser.add_argument("--sizes", default="250,1000",
                        help="exchange counts to time (comma separated)")
    parser.add_argument("--jobs", default="1,4", help="--jobs values to time")
    parser.add_argument("--runs", type=int, default=3,
                        help="timed runs per size; medians are reported")
    parser.add_argument("--memory", default="250,1000",
                        help="exchange counts to measure peak memory at (e.g. 1000,10000)")
    parser.add_argument("--per-cassette", type=int, default=100,
                        help="exchanges per cassette: a larger run has more cassettes (a "
                             "cassette is read and correlated whole, so its size sets memory)")
    return parser.parse_args(argv)


def _ints(text: str) -> tuple[int, ...]:
    return tuple(int(part) for part in text.split(",") if part.strip())


def main(argv: list[str] | None = None) -> None:
    options = arguments(argv or [])
    jobs = _ints(options.jobs)
    sim, base = start_sim()
    try:
        with tempfile.TemporaryDirectory() as tmp:
            root = Path(tmp)
            folders: dict[tuple[str, int], Path] = {}

            def cassettes(total: int, name: str = "c") -> Path:
                if (name, total) not in folders:
                    folder = folders[name, total] = root / f"{name}{total}"
                    folder.mkdir()
                    count = max(1, total // options.per_cassette)
                    record(folder, base, cassettes=count, per_cassette=total // count)
                return folders[name, total]

            for total in _ints(options.sizes):
                folder = cassettes(total)
                replies = cassettes(total, "r")  # a second recording: the "new" responses
                size = sum(len(i.request.body) + len(i.response.body)
                           for p in find_cassettes([folder])
                           for i in load_cassette(p).interactions) / total
                runs = []
                for run in range(options.runs):
                    out = root / f"out-{total}-{run}"
                    out.mkdir()
                    runs.append(measure(folder, replies, base, jobs, out))
                report(total, size, runs, jobs)
            for total in _ints(options.memory):
                peak = peak_memory(cassettes(total), base, root / f"mem-{total}")
                print(f"{total} exchanges ({options.per_cassette} per cassette): peak traced "
                      f"memory (--jobs 1) {peak:.1f} MiB", flush=True)
    finally:
        sim.terminate()
        sim.wait(timeout=10)


if __name__ == "__main__":
    main(sys.argv[1:])
