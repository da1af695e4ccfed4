"""``ihe serve``: a playback stub on localhost, for testing IHE clients without a server.

Recorded interactions are indexed once by a *match key* that sees through what every send
changes (:mod:`.shape`), so a request is answered with one dictionary lookup
(:mod:`.index`); repeated requests get the recorded responses in order (:mod:`.order`); the
response is made consistent with the request it answers (:mod:`.fixups`, :mod:`.renames`); a
request that matches nothing gets a SOAP fault naming the closest recorded request and what
differs (:mod:`.explain`). :mod:`.app` puts this together behind the HTTP server shared with
the simulator; :mod:`.server` is the object to start::

    from ihe_test_util.serve import PlaybackServer
    with PlaybackServer(["cassettes/demo.yaml"]) as stub:
        stub.url_for("/xds/registry")
"""

from __future__ import annotations

from ihe_test_util.serve.app import PlaybackApp
from ihe_test_util.serve.explain import Mismatch
from ihe_test_util.serve.index import PathSummary, PlaybackIndex, RecordedEntry
from ihe_test_util.serve.server import PlaybackServer
from ihe_test_util.serve.shape import RequestShape, shape_of

__all__ = ["Mismatch", "PathSummary", "PlaybackApp", "PlaybackIndex", "PlaybackServer",
           "RecordedEntry", "RequestShape", "shape_of"]
