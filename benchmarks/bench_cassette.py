"""Cassette store: load speed against vcrpy's own loader, and memory against body size.

Figures are ratios to baselines measured in the same run:

* loading a 1,000-interaction cassette with :func:`load_cassette` vs vcrpy's own loader
  (``FilesystemPersister.load_cassette`` with ``yamlserializer``: libyaml + vcrpy's request
  objects) on the same file, and vs vcrpy loading the file vcrpy itself writes for the same
  interactions;
* saving the same cassette vs vcrpy's serializer;
* peak memory (tracemalloc) of saving and loading a cassette whose MTOM body carries a 50 MB
  binary attachment, as a multiple of the body size; and the growth of the process's peak
  resident size (includes libyaml's own buffers, which tracemalloc does not see).
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

from vcr.persisters.filesystem import FilesystemPersister
from vcr.serializers import yamlserializer

from ihe_test_util.cassette import load_cassette, save_cassette
from ihe_test_util.cassette._vcr import to_vcr_request, to_vcr_response
from ihe_test_util.model import (
    Cassette,
    CassetteMeta,
    Headers,
    Interaction,
    InteractionMeta,
    Request,
    Response,
)
from ihe_test_util.transport.mtom import Attachment, build_mtom

INTERACTIONS = 1000
LARGE_BODY = 50 * 1024 * 1024


def _soap(number: int, newline: bytes) -> bytes:
    lines = [b'<?xml version="1.0" encoding="UTF-8"?>',
             b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">', b"  <s:Body>",
             b'    <query:AdhocQueryResponse xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:'
             b'query:3.0" status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success">']
    lines += [f'      <rim:ObjectRef id="urn:uuid:{number:08d}-0000-0000-0000-{i:012d}"/>'.encode()
              for i in range(40)]
    lines += [b"    </query:AdhocQueryResponse>", b"  </s:Body>", b"</s:Envelope>", b""]
    return newline.join(lines)


def _cassette() -> Cassette:
    headers = [("Content-Type", "application/soap+xml; charset=UTF-8"), ("Server", "bench"),
               ("Date", "Wed, 01 May 2024 10:00:00 GMT"), ("Connection", "keep-alive")]
    interactions = []
    for number in range(INTERACTIONS):
        request_body = _soap(number, b"\n")
        response_body = _soap(number, b"\r\n")
        binary = number % 10 == 0
        if binary:
            response_body = response_body + bytes(range(256))
        interactions.append(Interaction(
            Request("POST", f"http://127.0.0.1:8080/xds/registry?n={number}",
                    Headers([*headers[:1], ("Content-Length", str(len(request_body)))]),
                    request_body),
            Response(200, "OK", Headers([*headers, ("Content-Length", str(len(response_body)))]),
                     response_body),
            InteractionMeta(transaction="ITI-18", step=f"query {number}", duration_ms=12.5),
        ))
    return Cassette(tuple(interactions), CassetteMeta(tool_version="bench"))


def _median(function: Callable[[], object], runs: int = 5) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def _vcrpy_dict(cassette: Cassette) -> dict[str, list[object]]:
    return {"requests": [to_vcr_request(i.request) for i in cassette.interactions],
            "responses": [to_vcr_response(i.response) for i in cassette.interactions]}


def bench_speed(folder: Path) -> None:
    cassette = _cassette()
    ours, theirs = folder / "ours.yaml", folder / "vcrpy.yaml"
    save_time = _median(lambda: save_cassette(ours, cassette), runs=3)
    vcr_dict = _vcrpy_dict(cassette)
    vcr_save_time = _median(
        lambda: FilesystemPersister.save_cassette(theirs, vcr_dict, yamlserializer), runs=3)
    assert load_cassette(ours) == cassette
    our_load = _median(lambda: load_cassette(ours))
    vcr_load_ours = _median(lambda: FilesystemPersister.load_cassette(ours, yamlserializer))
    vcr_load_own = _median(lambda: FilesystemPersister.load_cassette(theirs, yamlserializer))
    size = ours.stat().st_size / 1e6
    print(f"{INTERACTIONS} interactions, {size:.1f} MB file")
    print(f"load  ours                        : {our_load * 1000:7.1f} ms")
    print(f"load  vcrpy loader, same file     : {vcr_load_ours * 1000:7.1f} ms  "
          f"ours/vcrpy {our_load / vcr_load_ours:4.2f}x")
    print(f"load  vcrpy loader, vcrpy's file  : {vcr_load_own * 1000:7.1f} ms  "
          f"ours/vcrpy {our_load / vcr_load_own:4.2f}x")
    print(f"save  ours                        : {save_time * 1000:7.1f} ms  "
          f"ours/vcrpy {save_time / vcr_save_time:4.2f}x (vcrpy {vcr_save_time * 1000:.1f} ms)")


def _large_cassette() -> tuple[Cassette, int]:
    soap = b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>'
    body, content_type = build_mtom(
        soap, [Attachment("doc@bench", "application/pdf", os.urandom(LARGE_BODY))])
    interaction = Interaction(
        Request("POST", "http://127.0.0.1:8080/rep", Headers([("Content-Type", content_type)]),
                body),
        Response(200, "OK", body=b"<ok/>"),
    )
    return Cassette((interaction,)), len(body)


def bench_memory(folder: Path) -> None:
    cassette, size = _large_cassette()
    path = folder / "large.yaml"
    tracemalloc.start()
    started = time.perf_counter()
    save_cassette(path, cassette)
    save_seconds = time.perf_counter() - started
    save_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.reset_peak()
    started = time.perf_counter()
    loaded = load_cassette(path)
    load_seconds = time.perf_counter() - started
    load_peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert loaded == cassette
    print(f"{size / 2**20:.0f} MB MTOM body ({path.stat().st_size / 2**20:.0f} MB file)")
    print(f"save  peak {save_peak / size:4.2f}x body size (tracemalloc), {save_seconds:.2f} s")
    print(f"load  peak {load_peak / size:4.2f}x body size (tracemalloc), {load_seconds:.2f} s")
    if os.name != "posix":
        return
    rss = subprocess.run(
        [sys.executable, "-c", _RSS_PROBE, str(path), str(size)],
        check=True, capture_output=True, text=True,
    ).stdout.strip()
    print(f"load  peak resident growth {rss}x body size (includes libyaml buffers)")


_RSS_PROBE = """
import re, sys
from pathlib import Path
from ihe_test_util.cassette import load_cassette

def peak_kib():
    # VmHWM is this process's own peak; ru_maxrss may carry the parent's peak across exec.
    try:
        status = Path("/proc/self/status").read_text()
        return int(re.search(r"VmHWM:\\s+(\\d+)", status).group(1))
    except (OSError, AttributeError):
        import resource  # POSIX only; this probe is skipped elsewhere
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss

before = peak_kib()
load_cassette(Path(sys.argv[1]))
print(f"{(peak_kib() - before) * 1024 / int(sys.argv[2]):.2f}")
"""


def main() -> None:
    with tempfile.TemporaryDirectory() as folder:
        bench_speed(Path(folder))
        bench_memory(Path(folder))


if __name__ == "__main__":
    main()
