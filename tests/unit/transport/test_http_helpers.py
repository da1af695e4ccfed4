"""Pure helpers of the HTTP transport: content decoding and outgoing headers."""

from __future__ import annotations

import gzip
import zlib

import brotli
import pytest

from ihe_test_util.errors import TransportError
from ihe_test_util.model import Headers, Response
from ihe_test_util.transport.http import _outgoing_headers, decoded_body


@pytest.mark.parametrize(("coding", "encode"), [
    ("gzip", gzip.compress),
    ("deflate", zlib.compress),
    ("deflate", lambda data: zlib.compress(data)[2:-4]),  # raw deflate, as some servers send
    ("br", brotli.compress),
    ("gzip, br", lambda data: brotli.compress(gzip.compress(data))),  # stacked: br applied last
    ("identity", lambda data: data),
])
def test_decoded_body(coding: str, encode: object) -> None:
    payload = b"<RegistryResponse/>" * 20
    response = Response(200, headers=Headers({"Content-Encoding": coding}),
                        body=encode(payload))  # type: ignore[operator]
    assert decoded_body(response) == payload


def test_bad_or_unknown_encodings_are_transport_errors() -> None:
    with pytest.raises(TransportError, match="not valid gzip"):
        decoded_body(Response(200, headers=Headers({"Content-Encoding": "gzip"}), body=b"x"))
    with pytest.raises(TransportError, match="not valid br"):
        decoded_body(Response(200, headers=Headers({"Content-Encoding": "br"}), body=b"x"))
    with pytest.raises(TransportError, match="unsupported"):
        decoded_body(Response(200, headers=Headers({"Content-Encoding": "compress"}), body=b"x"))


def test_outgoing_headers_drop_hop_by_hop_and_join_repeats() -> None:
    headers = Headers([("Host", "old"), ("Connection", "keep-alive"), ("X-A", "1"),
                       ("x-a", "2"), ("Transfer-Encoding", "chunked"), ("SOAPAction", '"a"')])
    assert _outgoing_headers(headers) == {"X-A": "1, 2", "SOAPAction": '"a"'}
