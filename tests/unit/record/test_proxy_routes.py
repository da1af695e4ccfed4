"""Proxy routing and header handling, without a network."""

from __future__ import annotations

import pytest

from ihe_test_util.errors import UsageError
from ihe_test_util.ihe.namespaces import SOAP12
from ihe_test_util.record.proxy import fault_answer
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


def test_the_fault_is_soap_12_and_escapes_the_message() -> None:
    answer = fault_answer(502, "cannot connect <refused> & gone", "check the URL")
    root = parse_xml(answer.body)
    assert answer.status == 502 and root.tag == f"{{{SOAP12}}}Envelope"
    assert root.findtext(f".//{{{SOAP12}}}Code/{{{SOAP12}}}Value") == "soap:Receiver"
    text = "".join(root.itertext())
    assert "cannot connect <refused> & gone (check the URL)" in text
