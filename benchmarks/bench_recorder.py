"""``ihe record``: what the scenario runner and the recording proxy cost, against baselines
measured in the same run on the same ``ihe sim``.

* Loading and checking a scenario (schema, references, every value known before the run) vs
  ``yaml.safe_load`` of the same file: the price of "every problem before anything is sent".
* Recording the bundled XDS round trip with :func:`record_scenario` vs sending the same seven
  requests, already built (taken from a cassette recorded on another simulator), and appending
  them to a cassette: the scenario machinery (building, captures, checks) per exchange.
* One ITI-45 exchange through :class:`RecordingProxy` (forward + detect + redact + atomic
  append + answer) vs the same request sent straight to the simulator; sequentially, then
  8 concurrent clients (throughput).
* The cost of one append as the cassette grows: :class:`CassetteWriter` appending to a
  cassette of 10 vs 1,000 ITI-45 exchanges, and one exchange through the proxy at those
  sizes. Flat means a ratio near 1 (a whole-file rewrite per append made it ~50x).
"""

from __future__ import annotations

import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import replace
from importlib import resources
from pathlib import Path

import requests
import yaml

from ihe_test_util.cassette import CassetteWriter, Redactor, load_cassette
from ihe_test_util.ihe.builders import PatientId, iti45_query
from ihe_test_util.model import Cassette, CassetteMeta, Interaction, InteractionMeta, Response
from ihe_test_util.record import RecordingProxy, Routes, load_scenario, record_scenario
from ihe_test_util.sim import Simulator
from ihe_test_util.transport.http import HttpTransport

DEMO = Path(str(resources.files("ihe_test_util.demo").joinpath("xds-roundtrip.yaml")))


def _median(function: Callable[[], object], runs: int) -> float:
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append(time.perf_counter() - started)
    return statistics.median(times)


def _line(label: str, seconds: float, baseline: float | None = None, unit: str = "ms") -> None:
    scale = 1e3 if unit == "ms" else 1e6
    ratio = "(baseline)" if baseline is None else f"ratio {seconds / baseline:5.2f}x"
    print(f"{label:<52}: {seconds * scale:9.2f} {unit}  {ratio}")


def _loading() -> None:
    text = DEMO.read_text(encoding="utf-8")
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    baseline = _median(lambda: yaml.load(text, Loader=loader), 50)
    checked = _median(lambda: load_scenario(DEMO), 50)
    _line("yaml.load(demo scenario), libyaml safe loader", baseline)
    _line("load_scenario(demo scenario): schema + checks", checked, baseline)


def _record(sim: Simulator, path: Path, number: int) -> Path:
    """The bundled scenario for patient ``number`` (new patients keep the answers small)."""
    result = record_scenario(
        DEMO, endpoints_override=sim.urls(), cassette=path,
        variables={"patient_id": f"IHEDEMO-{number:04d}^^^&${{affinity_domain}}&ISO",
                   "local_id": f"LOCAL-{number:04d}^^^&${{local_domain}}&ISO"})
    assert result.recorded == 7, result.as_dict()
    return path


def _send_and_write(cassette: Cassette, source: str, target: str, path: Path) -> None:
    """The baseline: the same requests, already built, sent to ``target`` and written."""
    with HttpTransport() as transport, \
            CassetteWriter(path, CassetteMeta(name=path.stem), Redactor()) as writer:
        for recorded in cassette.interactions:
            request = replace(recorded.request, uri=recorded.request.uri.replace(source, target))
            response, _ = transport.send(request)
            writer.append(Interaction(request, response, recorded.meta))


def _runner(folder: Path) -> None:
    runs = 15
    with Simulator() as source, Simulator() as sim:
        # Requests built once on another simulator: replaying them here submits new patients
        # and documents, as the scenario runs below do.
        built = [load_cassette(_record(source, folder / f"built-{n}.yaml", n))
                 for n in range(1, runs + 2)]
        numbers = iter(range(1000, 10**6))
        prepared = iter(built)

        def raw() -> None:
            _send_and_write(next(prepared), source.base_url, sim.base_url,
                            folder / f"raw-{next(numbers)}.yaml")

        def scenario() -> None:
            number = next(numbers)
            _record(sim, folder / f"s-{number}.yaml", number)

        raw(), scenario()  # warm up both
        raws, scenarios = [], []
        for _ in range(runs):  # interleaved: both see the same simulator state
            raws.append(_median(raw, 1))
            scenarios.append(_median(scenario, 1))
        baseline, measured = statistics.median(raws), statistics.median(scenarios)
    _line("XDS round trip, 7 built requests sent + written", baseline)
    _line("XDS round trip, 7 exchanges, record_scenario", measured, baseline)


def _proxy(folder: Path) -> None:
    with Simulator() as sim:
        writer = CassetteWriter(folder / "proxy.yaml", redactor=Redactor())
        with RecordingProxy(Routes.parse([sim.base_url]), writer) as proxy:
            def exchange(base: str, session: requests.Session, number: int) -> None:
                request = iti45_query(PatientId(f"B-{number}", "1.2.3")).to_request(base + "/pix")
                session.post(request.uri, data=request.body, timeout=30,
                             headers={"Content-Type": request.content_type or ""})

            numbers = iter(range(10**6))
            with requests.Session() as session:
                direct = _median(lambda: exchange(sim.base_url, session, next(numbers)), 200)
            with requests.Session() as session:
                proxied = _median(lambda: exchange(proxy.url, session, next(numbers)), 200)
            _line("ITI-45 exchange straight to ihe sim", direct)
            _line("ITI-45 exchange through the recording proxy", proxied, direct)
            print(f"(cassette after the sequential run: {writer.count} exchanges, "
                  f"{writer.path.stat().st_size / 1e6:.1f} MB)")

            def concurrent(base: str) -> float:
                def client() -> None:
                    with requests.Session() as session:
                        for _ in range(50):
                            exchange(base, session, next(numbers))
                threads = [threading.Thread(target=client) for _ in range(8)]
                started = time.perf_counter()
                for thread in threads:
                    thread.start()
                for thread in threads:
                    thread.join()
                return (time.perf_counter() - started) / 400

            direct_each = concurrent(sim.base_url)
            proxied_each = concurrent(proxy.url)
            _line("8 clients x 50, straight: time per exchange", direct_each)
            _line("8 clients x 50, through the proxy: time per exchange", proxied_each,
                  direct_each)


def _written() -> int:
    """Bytes this process has written so far (Linux ``/proc/self/io``; -1 elsewhere): the
    I/O an append costs, which wall time hides while the cassette fits in the page cache."""
    try:
        for line in Path("/proc/self/io").read_text().splitlines():
            if line.startswith("wchar:"):
                return int(line.split()[1])
    except OSError:
        pass
    return -1


def _growth(folder: Path) -> None:
    """Median time of 20 appends (writer) / 20 exchanges (proxy) once the cassette holds 10
    and 1,000 exchanges."""
    with Simulator() as sim:
        answer = requests.post(sim.base_url + "/pix", timeout=30, data=iti45_query(
            PatientId("G-0", "1.2.3")).to_request(sim.base_url + "/pix").body,
            headers={"Content-Type": "application/soap+xml"})

        def interaction(number: int) -> Interaction:
            request = iti45_query(PatientId(f"G-{number}", "1.2.3")).to_request(
                sim.base_url + "/pix")
            return Interaction(request, Response(200, "OK", body=answer.content),
                               InteractionMeta(transaction="ITI-45"))

        appends: dict[int, float] = {}
        for size in (10, 1000):
            with CassetteWriter(folder / f"grow-{size}.yaml", redactor=Redactor()) as writer:
                for number in range(size):
                    writer.append(interaction(number))
                numbers = iter(range(size, size + 100))
                written = _written()
                appends[size] = _median(
                    lambda w=writer, n=numbers: w.append(interaction(next(n))), 20)
                per_append = (_written() - written) / 20
            megabytes = (folder / f"grow-{size}.yaml").stat().st_size / 1e6
            _line(f"CassetteWriter.append at {size:>5} exchanges ({megabytes:.1f} MB)",
                  appends[size], None if size == 10 else appends[10])
            if per_append >= 0:
                print(f"{'':<52}  {per_append / 1e3:9.1f} KB written per append")

        proxied: dict[int, float] = {}
        counter = iter(range(10**6))
        for size in (10, 1000):
            writer = CassetteWriter(folder / f"proxy-{size}.yaml", redactor=Redactor())
            with RecordingProxy(Routes.parse([sim.base_url]), writer) as proxy, \
                    requests.Session() as session:
                def exchange(url: str = proxy.url, client: requests.Session = session) -> None:
                    request = iti45_query(PatientId(f"P-{next(counter)}", "1.2.3")).to_request(
                        url + "/pix")
                    client.post(request.uri, data=request.body, timeout=30,
                                headers={"Content-Type": request.content_type or ""})

                for _ in range(size):
                    exchange()
                proxied[size] = _median(exchange, 20)
            _line(f"one exchange through the proxy at {size:>5} exchanges", proxied[size],
                  None if size == 10 else proxied[10])


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        _loading()
        _runner(Path(folder))
        _proxy(Path(folder))
        _growth(Path(folder))


if __name__ == "__main__":
    main()
