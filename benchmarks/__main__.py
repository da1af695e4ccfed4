"""Run every benchmark module in this folder (each exposes ``main() -> None``)."""

from __future__ import annotations

import importlib
import pkgutil
import sys
import time
from pathlib import Path


def main() -> None:
    only = set(sys.argv[1:])
    here = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda i: i.name):
        if not info.name.startswith("bench_") or (only and info.name not in only):
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        print(f"\n=== {info.name} ===", flush=True)
        started = time.perf_counter()
        module.main()
        print(f"--- {info.name}: {time.perf_counter() - started:.1f} s", flush=True)


if __name__ == "__main__":
    main()
