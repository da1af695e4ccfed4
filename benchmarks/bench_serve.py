"""``ihe serve`` playback against a live endpoint and against vcrpy playback, at 250/500/1,000.

The workload: N distinct ITI-18 FindDocuments queries (one patient each), built with the
message builders and sent one after the other with one ``requests.Session``, end to end
(client build excluded: every request is built before the clock starts).

* **live** (the baseline): the same N queries answered by ``ihe sim`` (in this process, like
  the stub), freshly built (new MessageIDs). Its answers are recorded into the cassette.
* **ihe serve**: the stub serving that cassette; the client sends the queries *regenerated*
  (new MessageIDs, as a real client would), so every request goes through the match key,
  the index lookup and the response fix-ups (RelatesTo, fresh MessageID).
* **vcrpy**: vcrpy playback of the same cassette, ``record_mode="none"``, matching on method,
  URI and body. vcrpy can only match the *recorded* bytes (a fresh MessageID never matches),
  so it is given the recorded requests verbatim: the most favourable case for it. Its matcher
  scans the recorded requests for every request, so its time grows with the square of N; a
  size whose predicted time exceeds :data:`VCR_BUDGET_S` is skipped and the report says so.
  The same without body matching (URI only) is shown for reference.

Figures are medians of :data:`REPEATS` runs; ratios are against the live run of the same size.
"""

from __future__ import annotations

import statistics
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from urllib.parse import urlsplit

import requests
import vcr

from ihe_test_util.cassette import load_cassette, save_cassette
from ihe_test_util.ihe.builders import PatientId, StoredQuery, iti18_stored_query
from ihe_test_util.ihe.idmap import IdMap
from ihe_test_util.ihe.regenerate import regenerate_request
from ihe_test_util.model import Cassette, CassetteMeta, Headers, Interaction, Request, Response
from ihe_test_util.serve import PlaybackIndex, PlaybackServer
from ihe_test_util.sim import Simulator

SIZES = (250, 500, 1000)
REPEATS = 3
VCR_BUDGET_S = 40.0
DOMAIN = "1.3.6.1.4.1.21367.13.20.1000"


def _queries(url: str, count: int) -> list[Request]:
    return [iti18_stored_query(StoredQuery("FindDocuments", {
        "XDSDocumentEntryPatientId": PatientId(f"BENCH-{n:05d}", DOMAIN).cx()},
        return_type="ObjectRef")).to_request(url) for n in range(count)]


def _send_all(base_url: str, batch: Sequence[Request]) -> tuple[float, list[Response]]:
    """Seconds to send ``batch`` to ``base_url`` (keeping each request's path) and the answers."""
    answers = []
    with requests.Session() as session:
        prepared = [(base_url + urlsplit(r.uri).path, r.body, dict(r.headers.items()))
                    for r in batch]
        started = time.perf_counter()
        for url, body, headers in prepared:
            answer = session.post(url, data=body, headers=headers, timeout=30)
            answers.append(Response(answer.status_code, answer.reason,
                                    Headers(answer.headers.items()), answer.content))
        elapsed = time.perf_counter() - started
    bad = [a for a in answers if a.status != 200]
    if bad:
        raise SystemExit(f"{len(bad)} requests failed: {bad[0].body[:300]!r}")
    return elapsed, answers


def _vcr_playback(cassette: Path, batch: Sequence[Request], match_on: tuple[str, ...]) -> float:
    player = vcr.VCR(record_mode="none", match_on=match_on)
    with player.use_cassette(str(cassette)), requests.Session() as session:
        prepared = [(r.uri, r.body, dict(r.headers.items())) for r in batch]
        started = time.perf_counter()
        for url, body, headers in prepared:
            answer = session.post(url, data=body, headers=headers, timeout=30)
            if answer.status_code != 200:
                raise SystemExit(f"vcrpy answered {answer.status_code}")
        return time.perf_counter() - started


def _vcr_column(cassettes: dict[int, Path], recorded: dict[int, list[Request]],
                match_on: tuple[str, ...], live: dict[int, float]) -> list[str]:
    lines = []
    previous: tuple[int, float] | None = None
    for size in SIZES:
        if previous is not None:
            predicted = previous[1] * (size / previous[0]) ** 2
            if predicted > VCR_BUDGET_S:
                lines.append(f"{size:>6}  skipped: predicted {predicted:5.1f} s "
                             f"(> {VCR_BUDGET_S:g} s budget, quadratic)")
                continue
        seconds = _vcr_playback(cassettes[size], recorded[size], match_on)
        previous = (size, seconds)
        lines.append(f"{size:>6}  {seconds:7.3f} s  {seconds / size * 1e3:7.3f} ms/req  "
                     f"ratio to live {seconds / live[size]:6.2f}x")
    return lines


def main() -> None:
    live: dict[int, float] = {}
    served: dict[int, float] = {}
    startup: dict[int, tuple[float, float]] = {}
    cassettes: dict[int, Path] = {}
    recorded: dict[int, list[Request]] = {}
    with tempfile.TemporaryDirectory() as folder, Simulator() as sim:
        url = sim.url_for("registry")
        for size in SIZES:
            batches = [_queries(url, size) for _ in range(REPEATS)]  # fresh ids every run
            runs = [_send_all(sim.base_url, batch) for batch in batches]
            live[size] = statistics.median(seconds for seconds, _ in runs)
            path = Path(folder) / f"queries-{size}.yaml"
            save_cassette(path, Cassette(tuple(
                Interaction(request, answer)
                for request, answer in zip(batches[0], runs[0][1], strict=True)),
                CassetteMeta(name=path.stem)))
            cassettes[size], recorded[size] = path, batches[0]

            started = time.perf_counter()
            load_cassette(path)
            loaded = time.perf_counter() - started
            started = time.perf_counter()
            index = PlaybackIndex.load([path])
            startup[size] = (loaded, time.perf_counter() - started)

            regenerated = [[regenerate_request(r, IdMap()).request for r in batches[0]]
                           for _ in range(REPEATS)]  # what a client sends: new ids each run
            with PlaybackServer(index) as stub:
                served[size] = statistics.median(
                    _send_all(stub.base_url, batch)[0] for batch in regenerated)
        print(f"workload: N distinct ITI-18 FindDocuments (ObjectRef), "
              f"{len(recorded[SIZES[0]][0].body):,}-byte requests; median of {REPEATS} runs")
        print("\n  size   live (ihe sim, baseline)          ihe serve")
        for size in SIZES:
            print(f"{size:>6}  {live[size]:7.3f} s  {live[size] / size * 1e3:6.3f} ms/req"
                  f"      {served[size]:7.3f} s  {served[size] / size * 1e3:6.3f} ms/req  "
                  f"ratio to live {served[size] / live[size]:5.2f}x")
        first, last = SIZES[0], SIZES[-1]
        print(f"growth {first} -> {last} ({last / first:g}x the requests): live "
              f"{live[last] / live[first]:.2f}x, ihe serve {served[last] / served[first]:.2f}x")
        print("\nstartup (load + index once):")
        for size in SIZES:
            loaded, indexed = startup[size]
            print(f"{size:>6}  load_cassette {loaded:6.3f} s, PlaybackIndex.load {indexed:6.3f} s "
                  f"({indexed / loaded:4.2f}x the load alone)")
        print("\nvcrpy playback, record_mode none, match_on method+uri+body (recorded bytes):",
              flush=True)
        for line in _vcr_column(cassettes, recorded, ("method", "uri", "body"), live):
            print(line, flush=True)
        print("\nvcrpy playback, match_on method+uri only (for reference):", flush=True)
        for line in _vcr_column(cassettes, recorded, ("method", "uri"), live):
            print(line, flush=True)


if __name__ == "__main__":
    main()
