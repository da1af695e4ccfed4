"""``ihe --help`` start-up time against ``python -c pass`` (same interpreter, same run).

The commands run interleaved, so a busy machine slows them alike; the ratio of the medians is
the figure (target: ``ihe --help`` within 4x). CPU time (user + system of the child) is printed
beside wall time: it is the steadier of the two when other processes share the cores.
"""

from __future__ import annotations

import resource
import statistics
import subprocess
import sys
import time

CASES: dict[str, list[str]] = {
    "python -c pass": [sys.executable, "-c", "pass"],
    "ihe --help": [sys.executable, "-m", "ihe_test_util", "--help"],
    "ihe --version": [sys.executable, "-m", "ihe_test_util", "--version"],
    "ihe replay --help": [sys.executable, "-m", "ihe_test_util", "replay", "--help"],
}


def _once(args: list[str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``args``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True)
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(runs: int = 21) -> None:
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in CASES}
    for _ in range(runs):
        for label, args in CASES.items():
            samples[label].append(_once(args))
    medians = {label: (statistics.median(w for w, _ in runs_),
                       statistics.median(c for _, c in runs_))
               for label, runs_ in samples.items()}
    base_wall, base_cpu = medians["python -c pass"]
    for label, (wall, cpu) in medians.items():
        ratios = "(baseline)" if label == "python -c pass" else (
            f"ratio {wall / base_wall:5.1f}x   cpu ratio {cpu / base_cpu:5.1f}x")
        print(f"{label:<18}: {wall * 1000:7.1f} ms  cpu {cpu * 1000:6.1f} ms  {ratios}")


if __name__ == "__main__":
    main()
