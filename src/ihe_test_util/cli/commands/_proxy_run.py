"""The body of ``ihe record --proxy`` (imported only when it runs).

Prints where to point clients, one line per exchange as it is recorded (JSON lines with
``--json``: a ``listening`` object first, then ``exchange`` / ``failure`` objects, then
``stopped``), and stops on Ctrl-C or SIGTERM with every completed exchange in the cassette.
"""

from __future__ import annotations

import json
import sys
import threading
import time
from pathlib import Path
from typing import Any

from click.exceptions import Exit
from rich.console import Console
from rich.text import Text

from ihe_test_util.cassette.store import CassetteWriter
from ihe_test_util.cli.commands._record_run import _interrupt_on_sigterm
from ihe_test_util.cli.context import CliContext
from ihe_test_util.config import TlsSettings
from ihe_test_util.errors import UsageError
from ihe_test_util.model import CassetteMeta
from ihe_test_util.record.proxy import ProxyEvent, ProxyExchange, RecordingProxy
from ihe_test_util.record.routes import Routes
from ihe_test_util.record.secrets import RecordingRedactor, SecretResolver
from ihe_test_util.transport.http import TransportOptions


def parse_listen(text: str) -> tuple[str, int]:
    host, separator, port = text.rpartition(":")
    if not separator or not port.isdigit() or int(port) > 65535:
        raise UsageError(f"--proxy {text!r}: write HOST:PORT", hint="e.g. --proxy 127.0.0.1:8080")
    return host.strip("[]") or "127.0.0.1", int(port)


def run_proxy_command(
    cli_ctx: CliContext, *, listen: str, upstreams: list[str], cassette: Path | None,
    env_name: str | None, as_json: bool, insecure: bool, timeout: float | None,
) -> None:
    if cassette is None:
        raise UsageError("--proxy needs --cassette PATH (where the exchanges are recorded)")
    host, port = parse_listen(listen)
    routes = Routes.parse(upstreams)
    settings = cli_ctx.settings()
    tls = settings.environment(env_name).tls if env_name else TlsSettings()
    errors = Console(stderr=True, no_color=not cli_ctx.color, highlight=False)
    if insecure:
        errors.print(Text("WARNING: TLS certificate verification is OFF: answers could come "
                          "from anyone. Use only against test systems.", style="bold red"))
    options = TransportOptions(timeout=timeout or settings.timeout,
                               verify=False if insecure else tls.verify, cert=tls.cert,
                               key=tls.key)
    redactor = RecordingRedactor.for_settings(settings, SecretResolver(settings, {}).configured())
    writer = CassetteWriter(cassette, CassetteMeta(name=cassette.stem), redactor)
    view = _ProxyView(cli_ctx.console(), as_json, cli_ctx.verbosity)
    proxy = RecordingProxy(routes, writer, options=options, host=host, port=port,
                           on_event=view.event)
    interrupted = False
    with _interrupt_on_sigterm():
        proxy.start()
        try:
            view.listening(proxy, cassette)
            while True:
                time.sleep(0.2)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            proxy.stop()
    view.stopped(proxy, cassette, interrupted)
    raise Exit(3 if proxy.failures else 0)


class _ProxyView:
    def __init__(self, console: Console, as_json: bool, verbosity: int) -> None:
        self.console = console
        self.as_json = as_json
        self.verbosity = verbosity
        self._lock = threading.Lock()

    def _json(self, data: dict[str, Any]) -> None:
        with self._lock:
            sys.stdout.write(json.dumps(data) + "\n")
            sys.stdout.flush()

    def listening(self, proxy: RecordingProxy, cassette: Path) -> None:
        routes = [{"prefix": u.prefix or "/", "url": u.url} for u in proxy.routes.upstreams]
        if self.as_json:
            self._json({"event": "listening", "proxy": proxy.url, "cassette": str(cassette),
                        "routes": routes})
            return
        self.console.print(Text.assemble("recording proxy on ", (proxy.url, "bold"), " -> ",
                                         (str(cassette), "bold")), soft_wrap=True)
        for route in routes:
            self.console.print(Text(f"  {proxy.url}{route['prefix'].rstrip('/')}/... -> "
                                    f"{route['url']}/...", style="dim"), soft_wrap=True)
        self.console.print("Point your client at it. Ctrl-C stops (completed exchanges are kept).")

    def event(self, event: ProxyEvent) -> None:
        if self.as_json:
            kind = "exchange" if isinstance(event, ProxyExchange) else "failure"
            data = {"event": kind, **vars(event)}
            if "duration_ms" in data:
                data["duration_ms"] = round(data["duration_ms"], 1)
            self._json(data)
            return
        if isinstance(event, ProxyExchange):
            if self.verbosity < 0:
                return
            line = Text.assemble(("✓ ", "green"), (f"{event.number} ", "dim"),
                                 f"{event.method} {event.path} -> HTTP {event.status}")
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

    def stopped(self, proxy: RecordingProxy, cassette: Path, interrupted: bool) -> None:
        written = proxy.recorded > 0
        if self.as_json:
            self._json({"event": "stopped", "recorded": proxy.recorded,
                        "failures": proxy.failures, "cassette": str(cassette),
                        "written": written, "interrupted": interrupted})
            return
        if written:
            self.console.print(Text.assemble(
                "proxy stopped: ", (f"{proxy.recorded} exchange(s)", "bold"), " recorded in ",
                (str(cassette), "bold"),
                f"; {proxy.failures} request(s) without an answer" if proxy.failures else ""))
        else:
            self.console.print(Text("proxy stopped: nothing recorded, the cassette was not "
                                    "written", style="yellow"))
