"""``ihe --help`` start-up time against ``python -c pass`` (same interpreter, same run).

The commands run interleaved, so a busy machine slows them alike; the ratio of the medians is
the figure (target: ``ihe --help`` within 4x). CPU time (user + system of the child) is printed
beside wall time: it is the steadier of the two when other processes share the cores.

``ihe`` is the installed console script beside the interpreter (what users run); ``--module``
runs ``python -m ihe_test_util`` instead (also the fallback when there is no script). The first
``ihe --help`` fills the help cache (``cli/launcher.py``), the rest read it; the
``(no cache)`` rows render through click every time, as a cache miss does.

With PYTHONDONTWRITEBYTECODE set, the package's own modules are compiled on every run (an
installed package has its bytecode): the figures are then a little pessimistic.
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

NO_CACHE = {"IHE_NO_HELP_CACHE": "1"}


def _ihe(module: bool) -> list[str]:
    script = Path(sys.executable).with_name("ihe")
    if module or not script.exists():
        return [sys.executable, "-m", "ihe_test_util"]
    return [str(script)]


def _cases(ihe: list[str]) -> dict[str, tuple[list[str], dict[str, str]]]:
    return {
        "python -c pass": ([sys.executable, "-c", "pass"], {}),
        "ihe --help": ([*ihe, "--help"], {}),
        "ihe --help (no cache)": ([*ihe, "--help"], NO_CACHE),
        "ihe --version": ([*ihe, "--version"], {}),
        "ihe replay --help": ([*ihe, "replay", "--help"], {}),
        "ihe replay --help (no cache)": ([*ihe, "replay", "--help"], NO_CACHE),
    }


def _once(args: list[str], env: dict[str, str]) -> tuple[float, float]:
    """Wall and CPU seconds of one run of ``args``."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    started = time.perf_counter()
    subprocess.run(args, check=True, capture_output=True, env={**os.environ, **env})
    wall = time.perf_counter() - started
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    return wall, (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=21)
    parser.add_argument("--module", action="store_true",
                        help="run `python -m ihe_test_util` instead of the `ihe` script")
    options = parser.parse_args(argv)
    ihe = _ihe(options.module)
    cases = _cases(ihe)
    bytecode = "not cached" if os.environ.get("PYTHONDONTWRITEBYTECODE") else "cached"
    print(f"ihe = {' '.join(ihe)}; {options.runs} interleaved runs, medians; "
          f"bytecode {bytecode}")
    samples: dict[str, list[tuple[float, float]]] = {label: [] for label in cases}
    for _ in range(options.runs):
        for label, (args, env) in cases.items():
            samples[label].append(_once(args, env))
    medians = {label: (statistics.median(w for w, _ in runs_),
                       statistics.median(c for _, c in runs_))
               for label, runs_ in samples.items()}
    base_wall, base_cpu = medians["python -c pass"]
    for label, (wall, cpu) in medians.items():
        ratios = "(baseline)" if label == "python -c pass" else (
            f"ratio {wall / base_wall:5.1f}x   cpu ratio {cpu / base_cpu:5.1f}x")
        print(f"{label:<29}: {wall * 1000:7.1f} ms  cpu {cpu * 1000:6.1f} ms  {ratios}")


if __name__ == "__main__":
    main()
