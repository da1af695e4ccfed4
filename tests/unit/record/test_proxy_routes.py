"""Proxy routing and header handling, without a network."""

from __future__ import annotations

import pytest

from ihe_test_util.errors import UsageError
from ihe_test_util.model import Headers, Response
from ihe_test_util.record.proxy import fault_body, forwarded, returned
from ihe_test_util.record.routes import Routes, Upstream
from ihe_test_util.safexml import parse_xml


def test_prefix_routes_replace_the_prefix_and_the_longest_wins() -> None:
    routes = Routes.parse(["/xds=http://reg:8080/axis2/services", "/xds/repo=https://repo/x",
                           "http://default:9000/"])
    cases = {
        "/xds/registry?wsdl": "http://reg:8080/axis2/services/registry?wsdl",
        "/xds": "http://reg:8080/axis2/services",
        "/xds/repo/ret": "https://repo/x/ret",
        "/xdsfoo": "http://default:9000/xdsfoo",
        "/": "http://default:9000/",
    }
    for path, url in cases.items():
        upstream = routes.choose(path.split("?")[0])
        assert upstream is not None
        assert upstream.target(path) == url, path
    assert Upstream.parse("/pix/=http://pix:1").name == "pix"
    assert Upstream.parse("https://reg.example:8443").name == "reg.example:8443"


def test_without_a_default_route_unknown_paths_have_no_upstream() -> None:
    assert Routes.parse(["/xds=http://reg"]).choose("/pix") is None


@pytest.mark.parametrize(("specs", "message"), [
    ([], "at least one --upstream"),
    (["ftp://x"], r"is not an http\(s\) URL"),
    (["/xds"], "a path prefix needs =URL"),
    (["http://a?x=1"], "cannot have a query"),
    (["/a=http://x", "/a/=http://y"], "the same path prefix is given twice: /a"),
])
def test_bad_upstreams_are_usage_errors(specs: list[str], message: str) -> None:
    with pytest.raises(UsageError, match=message):
        Routes.parse(specs)


def test_hop_by_hop_headers_stay_on_their_connection() -> None:
    client = Headers([("Host", "proxy:8080"), ("Connection", "keep-alive, X-Trace"),
                      ("X-Trace", "1"), ("Keep-Alive", "timeout=5"),
                      ("Transfer-Encoding", "chunked"), ("Expect", "100-continue"),
                      ("Authorization", "Basic x"), ("SOAPAction", '"urn:a"'),
                      ("Content-Type", "text/xml"), ("Content-Length", "12")])
    assert forwarded(client) == Headers([("Authorization", "Basic x"), ("SOAPAction", '"urn:a"'),
                                         ("Content-Type", "text/xml")])
    response = Response(200, "OK", Headers([("Transfer-Encoding", "chunked"),
                                            ("Set-Cookie", "a=1"), ("Set-Cookie", "b=2")]),
                        b"12345")
    assert returned(response, "POST") == Headers([("Set-Cookie", "a=1"), ("Set-Cookie", "b=2"),
                                                  ("Content-Length", "5")])
    head = Response(200, "OK", Headers([("Content-Length", "99")]), b"")
    assert returned(head, "HEAD") == Headers([("Content-Length", "99")])


def test_the_fault_is_soap_12_and_escapes_the_message() -> None:
    root = parse_xml(fault_body("cannot connect <refused> & gone", "check the URL"))
    text = "".join(root.itertext())
    assert "cannot connect <refused> & gone (check the URL)" in text
