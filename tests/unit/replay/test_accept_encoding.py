"""What a replayed request asks for as Accept-Encoding: the [env] header, else the recorded value
narrowed to the codings the comparer reads (issue 13)."""

from __future__ import annotations

from ihe_test_util.model import Headers, Request
from ihe_test_util.replay.session import SchemeSender
from ihe_test_util.transport.http import TransportOptions


def test_the_env_accept_encoding_overrides_the_recorded_one() -> None:
    request = Request("GET", "http://x/fhir/Patient", headers=Headers([
        ("Accept-Encoding", "gzip, zstd")]))
    assert SchemeSender(TransportOptions())._accept_encoding(request) == "gzip"
    configured = SchemeSender(TransportOptions(headers={"accept-encoding": "identity"}))
    assert configured._accept_encoding(request) == "identity"
