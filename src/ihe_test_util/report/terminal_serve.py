"""What ``ihe serve`` shows while it runs: one line per request it had no recording for.

A client developer watching the console sees every miss without ``-v``: what was asked
(method, path, transaction), the closest recorded request and the first reason it differs
(the client gets the full explanation in the fault). With ``--json`` it is a ``no-match`` JSON
line instead. Misses come from the server's threads, so output is serialised by a lock.
"""

from __future__ import annotations

import json
import sys
import threading
from typing import Any

from rich.console import Console
from rich.text import Text

from ihe_test_util.serve import Mismatch


def miss_summary(mismatch: Mismatch) -> tuple[str, str | None, str | None]:
    """(what was asked, the closest recorded request, the first reason it differs)."""
    request = mismatch.request
    asked = " ".join(part for part in (request.method, request.path, request.transaction)
                     if part)
    if mismatch.closest is None:
        return asked, None, "nothing is recorded"
    why = [*mismatch.reasons, *(str(d) for d in mismatch.differences)]
    first = why[0] if why else None
    if first is not None and len(why) > 1:
        first += f" (+{len(why) - 1} more)"
    return asked, mismatch.closest.label, first


class ServeView:
    """Renders the requests ``ihe serve`` answered with a fault instead of a recording."""

    def __init__(self, console: Console, as_json: bool) -> None:
        self.console = console
        self.as_json = as_json
        self._lock = threading.Lock()

    def miss(self, mismatch: Mismatch) -> None:
        asked, closest, why = miss_summary(mismatch)
        if self.as_json:
            request = mismatch.request
            data: dict[str, Any] = {
                "event": "no-match", "method": request.method, "path": request.path,
                "transaction": request.transaction, "action": request.action or None,
                "closest": closest, "reason": why}
            with self._lock:
                sys.stdout.write(json.dumps(data) + "\n")
                sys.stdout.flush()
            return
        line = Text.assemble(("✗ ", "bold red"), ("no match: ", "bold red"), asked)
        if closest is not None:
            line.append(" -> closest ")
            line.append(closest, style="bold")
        if why:
            line.append(f": {why}", style="dim")
        with self._lock:
            self.console.print(line, soft_wrap=True)
