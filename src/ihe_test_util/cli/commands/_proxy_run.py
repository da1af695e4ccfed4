"""The body of ``ihe record --proxy`` (imported only when it runs).

Runs the proxy until Ctrl-C or SIGTERM (:mod:`ihe_test_util.cli.signals`), with every
completed exchange in the cassette; what people see is rendered by
:mod:`ihe_test_util.report.terminal_proxy`.
"""

from __future__ import annotations

import time
from dataclasses import replace
from pathlib import Path

from click.exceptions import Exit
from rich.console import Console

from ihe_test_util.cassette.store import CassetteWriter
from ihe_test_util.cli.context import CliContext
from ihe_test_util.cli.signals import stop_on_signals
from ihe_test_util.config import TlsSettings
from ihe_test_util.errors import UsageError
from ihe_test_util.model import CassetteMeta
from ihe_test_util.record.mllp_proxy import MllpRecordingProxy
from ihe_test_util.record.proxy import ProxyEvent, ProxyExchange, RecordingProxy
from ihe_test_util.record.routes import Routes
from ihe_test_util.record.secrets import RecordingRedactor, SecretResolver
from ihe_test_util.report.notices import print_insecure_warning
from ihe_test_util.report.terminal_proxy import ProxyView
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
    mllp = [u for u in upstreams if u.strip().lower().startswith(("mllp://", "mllps://"))]
    if mllp and len(upstreams) > 1:
        raise UsageError("an MLLP proxy forwards to exactly one --upstream mllp(s)://host:port",
                         hint="run one proxy per upstream (MLLP has no paths to route by)")
    routes = None if mllp else Routes.parse(upstreams)
    settings = cli_ctx.settings()
    tls = settings.environment(env_name).tls if env_name else TlsSettings()
    errors = Console(stderr=True, no_color=not cli_ctx.color, highlight=False)
    if insecure:
        print_insecure_warning(errors)
    options = TransportOptions(timeout=timeout or settings.timeout,
                               verify=False if insecure else tls.verify, cert=tls.cert,
                               key=tls.key)
    redactor = RecordingRedactor.for_settings(settings, SecretResolver(settings, {}).configured())
    writer = CassetteWriter(cassette, CassetteMeta(name=cassette.stem), redactor)
    view = ProxyView(cli_ctx.console(), as_json, cli_ctx.verbosity)

    def show(event: ProxyEvent) -> None:
        """Lines and ``--json`` objects carry the event redacted like the cassette."""
        if isinstance(event, ProxyExchange):
            view.event(replace(event, path=redactor.uri(event.path), url=redactor.uri(event.url)))
        else:
            view.event(replace(event, path=redactor.uri(event.path),
                               url=event.url and redactor.uri(event.url),
                               message=redactor.text(event.message),
                               hint=event.hint and redactor.text(event.hint)))

    proxy: RecordingProxy | MllpRecordingProxy
    if routes is None:
        proxy = MllpRecordingProxy(mllp[0], writer, options=options, host=host, port=port,
                                   on_event=show)
        shown = [("", redactor.uri(proxy.upstream))]
    else:
        proxy = RecordingProxy(routes, writer, options=options, host=host, port=port,
                               on_event=show)
        shown = [(u.prefix, redactor.uri(u.url)) for u in routes.upstreams]
    interrupted = False
    with stop_on_signals():
        proxy.start()
        try:
            view.listening(proxy.url, shown, cassette)
            while True:
                time.sleep(0.2)
        except KeyboardInterrupt:
            interrupted = True
        finally:
            proxy.stop()
        view.stopped(proxy.recorded, proxy.failures, cassette, interrupted)
    raise Exit(3 if proxy.failures else 0)
