"""What ``ihe record --proxy`` shows: where to point clients, one line per exchange, a summary.

With ``--json`` these are JSON lines instead: a ``listening`` object first, then ``exchange`` /
``failure`` objects, then ``stopped``. Events come from the proxy's connection threads, so
output is serialised by a lock. Reads the proxy's events and plain values only.
"""

from __future__ import annotations

import json
import sys
import threading
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.text import Text

from ihe_test_util.record import ProxyExchange, ProxyFailure


def exchange_index(event: ProxyExchange) -> int:
    """The exchange's index in the cassette (``number`` counts from 1): the one numbering
    people see everywhere (``ihe replay``, the run report, ``ihe approve --only``, serve)."""
    return event.number - 1


class ProxyView:
    """Renders the recording proxy's life: listening, each exchange or failure, stopped."""

    def __init__(self, console: Console, as_json: bool, verbosity: int) -> None:
        self.console = console
        self.as_json = as_json
        self.verbosity = verbosity
        self._lock = threading.Lock()

    def _json(self, data: dict[str, Any]) -> None:
        with self._lock:
            sys.stdout.write(json.dumps(data) + "\n")
            sys.stdout.flush()

    def listening(self, url: str, routes: Sequence[tuple[str, str]], cassette: Path) -> None:
        """``routes``: (path prefix, upstream URL) pairs, in the order they are tried."""
        if self.as_json:
            self._json({"event": "listening", "proxy": url, "cassette": str(cassette),
                        "routes": [{"prefix": prefix or "/", "url": upstream}
                                   for prefix, upstream in routes]})
            return
        self.console.print(Text.assemble("recording proxy on ", (url, "bold"), " -> ",
                                         (str(cassette), "bold")), soft_wrap=True)
        for prefix, upstream in routes:
            if upstream.startswith(("mllp://", "mllps://")):  # MLLP: no paths
                self.console.print(Text(f"  {url} -> {upstream}", style="dim"), soft_wrap=True)
                continue
            self.console.print(Text(f"  {url}{(prefix or '/').rstrip('/')}/... -> "
                                    f"{upstream}/...", style="dim"), soft_wrap=True)
        self.console.print("Point your client at it. Ctrl-C stops (completed exchanges are kept).")

    def event(self, event: ProxyExchange | ProxyFailure) -> None:
        if self.as_json:
            kind = "exchange" if isinstance(event, ProxyExchange) else "failure"
            data = {"event": kind, **vars(event)}
            if isinstance(event, ProxyExchange):
                data["index"] = exchange_index(event)
            if "duration_ms" in data:
                data["duration_ms"] = round(data["duration_ms"], 1)
            self._json(data)
            return
        if isinstance(event, ProxyExchange):
            if self.verbosity < 0:
                return
            answer = "reply" if event.method == "MLLP" else f"HTTP {event.status}"
            line = Text.assemble(("✓ ", "green"), (f"#{exchange_index(event)} ", "dim"),
                                 f"{event.method} {event.path} -> {answer}")
            if event.transaction:
                line.append(f"  {event.transaction}")
            if event.ihe_status:
                line.append(f"  {event.ihe_status}")
            line.append(f"  {event.duration_ms:.0f} ms", style="dim")
        else:
            line = Text.assemble(("✗ ", "bold red"), f"{event.method} {event.path}",
                                 (f" -> {event.url}" if event.url else ""),
                                 (f"  {event.status}: {event.message}", "bold red"))
            if event.hint:
                line.append(f"  (hint: {event.hint})", style="dim")
        with self._lock:
            self.console.print(line, soft_wrap=True)

    def stopped(self, recorded: int, failures: int, cassette: Path, interrupted: bool) -> None:
        written = recorded > 0
        if self.as_json:
            self._json({"event": "stopped", "recorded": recorded, "failures": failures,
                        "cassette": str(cassette), "written": written,
                        "interrupted": interrupted})
            return
        if written:
            self.console.print(Text.assemble(
                "proxy stopped: ", (f"{recorded} exchange(s)", "bold"), " recorded in ",
                (str(cassette), "bold"),
                f"; {failures} request(s) without an answer" if failures else ""))
        else:
            self.console.print(Text("proxy stopped: nothing recorded, the cassette was not "
                                    "written" + (f"; {failures} request(s) without an answer"
                                                 if failures else ""), style="yellow"))
