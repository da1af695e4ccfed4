"""What a replayed request asks for as Accept-Encoding: the [env] header, else the recorded value
narrowed to the codings the comparer reads (issue 13)."""

from __future__ import annotations

from ihe_test_util.model import Headers, Request
from ihe_test_util.replay.session import ReplaySender
from ihe_test_util.transport.http import TransportOptions


def test_the_env_accept_encoding_overrides_the_recorded_one() -> None:
    request = Request("GET", "http://x/fhir/Patient", headers=Headers([
        ("Accept-Encoding", "gzip, zstd")]))
    assert ReplaySender(TransportOptions()).accept_encoding(request) == "gzip"
    configured = ReplaySender(TransportOptions(headers={"accept-encoding": "identity"}))
    assert configured.accept_encoding(request) == "identity"
