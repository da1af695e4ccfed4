"""``ihe serve`` as an object: cassettes in, a playback stub on localhost out."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from pathlib import Path

from ihe_test_util import __version__
from ihe_test_util.serve.app import PlaybackApp
from ihe_test_util.serve.explain import Mismatch
from ihe_test_util.serve.index import PathSummary, PlaybackIndex
from ihe_test_util.serve.mllp import MllpPlayback, MllpPlaybackServer
from ihe_test_util.transport.endpoint import (
    DEFAULT_MAX_BODY_BYTES,
    DEFAULT_READ_TIMEOUT,
    LocalEndpoint,
)


class PlaybackServer(LocalEndpoint):
    """Serves recorded responses to requests that mean the same as recorded ones::

        with PlaybackServer(["cassettes/demo.yaml"]) as stub:
            client.send(stub.base_url + "/xds/registry", ...)

    ``on_miss`` is told of every request answered with a fault instead of a recording (or an
    ACK AR on the MLLP port). ``mllp_port`` opens an MLLP port for the HL7 v2 exchanges.
    The cassettes are read and indexed when the object is created (an invalid cassette raises
    :class:`~ihe_test_util.errors.CassetteError` before any port is opened).
    """

    server_name = f"ihe-serve/{__version__}"

    def __init__(
        self, cassettes: Sequence[Path | str] | PlaybackIndex, host: str = "127.0.0.1",
        port: int = 0, *, strict_order: bool = False,
        max_body_bytes: int = DEFAULT_MAX_BODY_BYTES, read_timeout: float = DEFAULT_READ_TIMEOUT,
        on_miss: Callable[[Mismatch], None] | None = None, mllp_port: int | None = None,
    ) -> None:
        super().__init__(host, port, read_timeout=read_timeout)
        self.index = cassettes if isinstance(cassettes, PlaybackIndex) else \
            PlaybackIndex.load([Path(c) for c in cassettes])
        self.app = PlaybackApp(self.index, strict_order=strict_order,
                               max_body_bytes=max_body_bytes, on_miss=on_miss)
        #: The MLLP port for the cassettes' HL7 v2 exchanges (None: no MLLP listener; 0: a
        #: free port), opened and closed with the HTTP port.
        self.mllp_port = mllp_port
        self.mllp: MllpPlaybackServer | None = None

    def _open_app(self) -> PlaybackApp:
        if self.mllp_port is not None and self.mllp is None:
            playback = MllpPlayback(self.index, self.app.order, self.app.explainer,
                                    self.app.report_miss)
            self.mllp = MllpPlaybackServer(playback, host=self.host, port=self.mllp_port).start()
        return self.app

    def _close_app(self) -> None:
        if self.mllp is not None:
            self.mllp.stop()
            self.mllp = None

    @property
    def mllp_url(self) -> str | None:
        """``mllp://host:port`` of the MLLP port, once open (None without one)."""
        return self.mllp.url if self.mllp is not None else None

    def url_for(self, path: str) -> str:
        return f"{self.base_url}{path}"

    def paths(self) -> list[PathSummary]:
        """What is served where: interactions and transactions per path."""
        return self.index.paths()

    def reset(self) -> None:
        """Start the recorded conversation again (response order, learned identifiers)."""
        self.app.reset()
