"""``ihe --help`` start-up time against ``python -c pass`` (same interpreter, same run)."""

from __future__ import annotations

import statistics
import subprocess
import sys
import time


def _median_seconds(args: list[str], runs: int = 15) -> float:
    samples = []
    for _ in range(runs):
        started = time.perf_counter()
        subprocess.run(args, check=True, capture_output=True)
        samples.append(time.perf_counter() - started)
    return statistics.median(samples)


def main() -> None:
    baseline = _median_seconds([sys.executable, "-c", "pass"])
    help_time = _median_seconds([sys.executable, "-m", "ihe_test_util", "--help"])
    version_time = _median_seconds([sys.executable, "-m", "ihe_test_util", "--version"])
    print(f"python -c pass      : {baseline * 1000:7.1f} ms (baseline)")
    print(f"ihe --help          : {help_time * 1000:7.1f} ms  ratio {help_time / baseline:5.1f}x")
    print(f"ihe --version       : {version_time * 1000:7.1f} ms  ratio "
          f"{version_time / baseline:5.1f}x")


if __name__ == "__main__":
    main()
