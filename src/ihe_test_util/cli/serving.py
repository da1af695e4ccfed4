"""Running a local endpoint in the foreground, for ``ihe sim`` and ``ihe serve``."""

from __future__ import annotations

import sys
from collections.abc import Callable
from typing import TypeVar

from ihe_test_util.cli.signals import stop_on_signals
from ihe_test_util.transport.endpoint import LocalEndpoint

EndpointT = TypeVar("EndpointT", bound=LocalEndpoint)


def serve_until_stopped(endpoint: EndpointT, announce: Callable[[EndpointT], None],
                        on_stop: Callable[[], None]) -> None:
    """Serve in this thread; ``announce`` once the port is bound (stdout is flushed after it,
    for scripts reading the URLs), ``on_stop`` after Ctrl-C or SIGTERM, which stop cleanly
    (exit 0: stopping is how a server's run ends)."""

    def ready(bound: EndpointT) -> None:
        announce(bound)
        sys.stdout.flush()

    with stop_on_signals():
        try:
            endpoint.serve_forever(on_ready=ready)
        except KeyboardInterrupt:
            on_stop()
