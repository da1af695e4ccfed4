"""Comparer speed and memory on generated ITI-18 LeafClass responses.

Cases (see :mod:`benchmarks.leafclass`): identical, one value changed, list shuffled, 1% of
the objects changed, plus "ids renamed" (every registry-assigned entryUUID different, as from a
fresh registry; informational, no target). Sizes 10 / 100 / 1,000 / 3,000 ExtrinsicObjects.

Figures are ratios measured in the same run:

* ``x parse``: comparer time / time lxml needs just to parse both documents (medians of
  interleaved runs, so machine load affects both alike). Targets: identical <= 3, other
  cases <= 5.
* ``mem``: peak RSS growth while comparing / size of the two documents (fresh subprocess per
  case). Target < 10.
* ``xmldiff``: xmldiff 3 ``diff_trees`` with its fastest options (``fast_match``, ratio mode
  ``faster``; parse time not counted) / comparer time. Target > 1. xmldiff runs in a
  subprocess with a timeout and is skipped above 1,000 objects (the issue measured 29 s and
  1 GB for 3,000 identical objects).

Correctness is checked on every run: identical and shuffled report no difference; one value
and 1% report exactly the changed creationTime values.

Environment: ``IHE_BENCH_SIZES`` (default ``10,100,1000,3000``), ``IHE_BENCH_XMLDIFF_TIMEOUT``
(seconds, default 45), ``IHE_BENCH_XMLDIFF_MAX`` (largest size given to xmldiff, default 1000).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from lxml import etree

from benchmarks.leafclass import Variant, variants
from ihe_test_util.compare import compare_responses
from ihe_test_util.model import Response
from ihe_test_util.results import Comparison, DifferenceKind, Outcome

CASES = ("identical", "one value changed", "list shuffled", "1% changed", "ids renamed")
TIME_TARGETS = {"identical": 3.0, "one value changed": 5.0, "list shuffled": 5.0,
                "1% changed": 5.0}
MEMORY_TARGET = 10.0
REPEATS = {10: 21, 100: 11, 1000: 5, 3000: 3}

_MEMORY_SCRIPT = """
import gc, json, resource, sys
from ihe_test_util.compare import compare_responses
from ihe_test_util.model import Response
def status(field):
    with open("/proc/self/status") as lines:
        for line in lines:
            if line.startswith(field + ":"):
                return int(line.split()[1])
    raise OSError(field)
recorded = open(sys.argv[1], "rb").read()
replayed = open(sys.argv[2], "rb").read()
warm = b'<r xmlns="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"/>'
compare_responses(Response(200, body=warm), Response(200, body=warm))
gc.collect()
try:
    # ru_maxrss survives exec (it holds the parent's size at fork): reset the high-water mark.
    with open("/proc/self/clear_refs", "w") as clear:
        clear.write("5")
    before = status("VmRSS")
    compare_responses(Response(200, body=recorded), Response(200, body=replayed))
    peak = status("VmHWM") - before
except OSError:
    before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    compare_responses(Response(200, body=recorded), Response(200, body=replayed))
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - before
print(json.dumps({"peak_kib": max(0, peak)}))
"""

_XMLDIFF_SCRIPT = """
import json, sys, time
from lxml import etree
from xmldiff import main
left = etree.fromstring(open(sys.argv[1], "rb").read())
right = etree.fromstring(open(sys.argv[2], "rb").read())
started = time.perf_counter()
actions = main.diff_trees(left, right,
                          diff_options={"fast_match": True, "ratio_mode": "faster"})
print(json.dumps({"seconds": time.perf_counter() - started, "actions": len(actions)}))
"""


@dataclass
class Row:
    size: int
    case: str
    megabytes: float
    parse_ms: float
    compare_ms: float
    ratio: float
    differences: int
    correct: str
    memory_ratio: float | None
    xmldiff: str
    speedup: str


def _median_ratio(recorded: bytes, replayed: bytes, repeats: int) -> tuple[float, float, float]:
    """Interleaved medians: (parse seconds, compare seconds, median of per-run ratios)."""
    parse_times: list[float] = []
    compare_times: list[float] = []
    ratios: list[float] = []
    left, right = Response(200, body=recorded), Response(200, body=replayed)
    compare_responses(left, right)  # warm: rule compilation, imports
    for _ in range(repeats):
        started = time.perf_counter()
        etree.fromstring(recorded)
        etree.fromstring(replayed)
        parsed = time.perf_counter() - started
        started = time.perf_counter()
        compare_responses(left, right)
        compared = time.perf_counter() - started
        parse_times.append(parsed)
        compare_times.append(compared)
        ratios.append(compared / parsed)
    return statistics.median(parse_times), statistics.median(compare_times), statistics.median(
        ratios)


def check(case: str, variant: Variant, comparison: Comparison) -> str:
    """'ok', or what is wrong with the comparer's answer."""
    if case in ("identical", "list shuffled", "ids renamed"):
        if comparison.outcome is Outcome.PASS and not comparison.differences:
            return "ok"
        return f"expected pass, got {comparison.outcome} with {len(comparison.differences)}"
    expected = {(f"ExtrinsicObject[{number + 1}]/Slot[1]", old, new)
                for number, (old, new) in variant.changed.items()}
    found = {(d.path.split("RegistryObjectList/", 1)[-1].rsplit("/ValueList", 1)[0],
              d.recorded, d.replayed)
             for d in comparison.differences if d.kind is DifferenceKind.VALUE}
    if comparison.outcome is Outcome.CHANGED and found == expected and len(
            comparison.differences) == len(expected):
        return "ok"
    return f"expected {len(expected)} creationTime changes, got {len(comparison.differences)}"


def _subprocess_json(script: str, files: tuple[Path, Path], timeout: float) -> dict[str, float]:
    result = subprocess.run(
        [sys.executable, "-c", script, str(files[0]), str(files[1])], capture_output=True,
        text=True, timeout=timeout, check=True,
    )
    data: dict[str, float] = json.loads(result.stdout.strip().splitlines()[-1])
    return data


def measure(size: int, case: str, recorded: bytes, variant: Variant, folder: Path,
            xmldiff_max: int, xmldiff_timeout: float) -> Row:
    replayed = variant.body
    parse_s, compare_s, ratio = _median_ratio(recorded, replayed, REPEATS.get(size, 3))
    comparison = compare_responses(Response(200, body=recorded), Response(200, body=replayed))
    files = (folder / "recorded.xml", folder / "replayed.xml")
    files[0].write_bytes(recorded)
    files[1].write_bytes(replayed)
    memory = _subprocess_json(_MEMORY_SCRIPT, files, 600)
    memory_ratio = memory["peak_kib"] * 1024 / (len(recorded) + len(replayed))
    if size > xmldiff_max:
        xmldiff, speedup = "skipped", "-"
    else:
        try:
            result = _subprocess_json(_XMLDIFF_SCRIPT, files, xmldiff_timeout)
            xmldiff = f"{result['seconds']:.2f} s, {int(result['actions'])} actions"
            speedup = f"{result['seconds'] / compare_s:.0f}x"
        except subprocess.TimeoutExpired:
            xmldiff = f"> {xmldiff_timeout:.0f} s (timeout)"
            speedup = f"> {xmldiff_timeout / compare_s:.0f}x"
    return Row(size, case, (len(recorded) + len(replayed)) / 2 / 1e6, parse_s * 1e3,
               compare_s * 1e3, ratio, len(comparison.differences),
               check(case, variant, comparison), memory_ratio, xmldiff, speedup)


def main() -> None:
    sizes = [int(s) for s in os.environ.get("IHE_BENCH_SIZES", "10,100,1000,3000").split(",")]
    xmldiff_timeout = float(os.environ.get("IHE_BENCH_XMLDIFF_TIMEOUT", "45"))
    xmldiff_max = int(os.environ.get("IHE_BENCH_XMLDIFF_MAX", "1000"))
    print(f"python {platform.python_version()}, lxml {etree.__version__}, "
          f"{os.cpu_count()} cpus; ratios measured in this run")
    header = (f"{'objects':>7} {'case':<18} {'MB/doc':>6} {'parse ms':>9} {'compare ms':>10} "
              f"{'x parse':>7} {'target':>6} {'diffs':>5} {'check':<5} {'mem x':>5} "
              f"{'xmldiff (fastest)':<26} {'faster':>7}")
    print(header)
    print("-" * len(header))
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-compare-") as temporary:
        folder = Path(temporary)
        for size in sizes:
            recorded, cases = variants(size)
            for case in CASES:
                row = measure(size, case, recorded, cases[case], folder, xmldiff_max,
                              xmldiff_timeout)
                rows.append(row)
                target = TIME_TARGETS.get(case)
                print(f"{row.size:>7} {row.case:<18} {row.megabytes:>6.2f} {row.parse_ms:>9.1f} "
                      f"{row.compare_ms:>10.1f} {row.ratio:>7.2f} "
                      f"{(f'<= {target:.0f}' if target else 'info'):>6} {row.differences:>5} "
                      f"{row.correct[:5]:<5} {row.memory_ratio or 0:>5.1f} {row.xmldiff:<26} "
                      f"{row.speedup:>7}", flush=True)
    misses = [
        f"{row.size} {row.case}: {problem}" for row in rows for problem in _problems(row)
    ]
    print("\nall targets met" if not misses else "\ntargets missed:\n  " + "\n  ".join(misses))


def _problems(row: Row) -> list[str]:
    problems = []
    target = TIME_TARGETS.get(row.case)
    if target is not None and row.ratio > target:
        problems.append(f"{row.ratio:.2f}x parse time (target {target:.0f}x)")
    if row.correct != "ok":
        problems.append(row.correct)
    if row.memory_ratio is not None and row.memory_ratio >= MEMORY_TARGET:
        problems.append(f"peak memory {row.memory_ratio:.1f}x the documents")
    if (row.speedup.endswith("x") and not row.speedup.startswith(">")
            and float(row.speedup[:-1]) < 1):
        problems.append("slower than xmldiff")
    return problems


if __name__ == "__main__":
    main()
