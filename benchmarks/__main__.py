"""Run every benchmark module in this folder (each exposes ``main() -> None``).

``python -m benchmarks`` runs them all; ``python -m benchmarks bench_replay bench_compare`` runs
those named; arguments after ``--`` go to the one benchmark named, e.g. issue 10's replay
figures: ``python -m benchmarks bench_replay -- --sizes 1000 --jobs 1 --memory 1000,10000``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
import sys
import time
from pathlib import Path


def main() -> None:
    names = sys.argv[1:]
    extra: list[str] | None = None
    if "--" in names:
        cut = names.index("--")
        names, extra = names[:cut], names[cut + 1:]
        if len(names) != 1:
            sys.exit("arguments after -- go to one benchmark: name exactly one before --")
    only = set(names)
    here = Path(__file__).parent
    for info in sorted(pkgutil.iter_modules([str(here)]), key=lambda i: i.name):
        if not info.name.startswith("bench_") or (only and info.name not in only):
            continue
        module = importlib.import_module(f"benchmarks.{info.name}")
        print(f"\n=== {info.name} ===", flush=True)
        started = time.perf_counter()
        if extra is None:
            module.main()
        elif inspect.signature(module.main).parameters:
            module.main(extra)
        else:
            sys.exit(f"{info.name} takes no arguments")
        print(f"--- {info.name}: {time.perf_counter() - started:.1f} s", flush=True)


if __name__ == "__main__":
    main()
