"""One hop-by-hop list and the Connection-listed rule (RFC 9110 7.6.1), for every hop."""

from __future__ import annotations

from ihe_test_util.model import Headers, Response
from ihe_test_util.serve.fixups import fix_response
from ihe_test_util.serve.renames import Renames
from ihe_test_util.transport.endpoint import relayed
from ihe_test_util.transport.hop_by_hop import HOP_BY_HOP, connection_listed, end_to_end
from ihe_test_util.transport.http import _outgoing_headers


def test_hop_by_hop_headers_stay_on_their_connection() -> None:
    client = Headers([("Host", "proxy:8080"), ("Connection", "keep-alive, X-Trace"),
                      ("X-Trace", "1"), ("Keep-Alive", "timeout=5"),
                      ("Transfer-Encoding", "chunked"), ("Expect", "100-continue"),
                      ("Authorization", "Basic x"), ("SOAPAction", '"urn:a"'),
                      ("Content-Type", "text/xml"), ("Content-Length", "12")])
    assert end_to_end(client) == Headers([("Authorization", "Basic x"), ("SOAPAction", '"urn:a"'),
                                         ("Content-Type", "text/xml")])
    response = Response(200, "OK", Headers([("Transfer-Encoding", "chunked"),
                                            ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]),
                        b"12345")
    assert Headers(relayed(response, "POST").headers) == Headers(
        [("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"), ("Content-Length", "5")])
    head = Response(200, "OK", Headers([("Content-Length", "99")]), b"")
    assert Headers(relayed(head, "HEAD").headers) == Headers([("Content-Length", "99")])


def test_names_listed_in_connection_are_hop_by_hop_in_any_case_and_spacing() -> None:
    headers = Headers([("Connection", "close"), ("connection", " X-Trace ,,Keep-Alive")])
    assert connection_listed(headers) == {"close", "x-trace", "keep-alive"}
    assert connection_listed(Headers([("X-Trace", "1")])) == frozenset()


def test_replay_sends_no_header_its_recorded_connection_named() -> None:
    recorded = Headers([("Connection", "X-Hop"), ("X-Hop", "1"), ("Proxy-Authorization", "x"),
                        ("Expect", "100-continue"), ("SOAPAction", '"a"')])
    assert _outgoing_headers(recorded) == {"SOAPAction": '"a"'}


def test_every_name_in_the_list_is_lower_case() -> None:
    assert all(name == name.lower() for name in HOP_BY_HOP)


def test_serve_replays_no_recorded_hop_by_hop_header() -> None:
    recorded = Response(200, "OK", Headers([
        ("Content-Type", "text/plain"), ("Upgrade", "h2c"), ("Trailer", "X-Sum"),
        ("Proxy-Authenticate", "Basic"), ("X-Kept", "1")]), b"plain")
    assert fix_response(recorded, (), Renames()).headers == (("X-Kept", "1"),)
