"""Every way a server can break an exchange is that exchange's TransportError, whatever the phase;
the next exchange on the same transport is answered normally."""

from __future__ import annotations

import pytest

from ihe_test_util.errors import EndpointTimeout, TransportError
from ihe_test_util.model import Headers, Request
from ihe_test_util.transport.http import HttpTransport, TransportOptions

from .fault_server import FAULTS, GOOD_BODY, fault_server

#: The words of each fault's one-line cause.
CAUSES = {
    "reset-after-headers": "cut off",
    "body-cut": "cut off",
    "body-stall": "within 1 s",
    "length-longer": "cut off",
    "length-shorter": "more bytes than its Content-Length",
    "bad-chunking": "cut off",
    "chunked-truncated": "cut off",
    "header-trickle": "no response within 1 s (the deadline of the whole exchange)",
    "headers-truncated": "header block was cut off",
    "close-empty": "closed before a complete response",
    "redirect-loop": "redirect loop",
    "oversized": "exceeds the limit of",
    "bad-gzip": "not valid gzip",
}


def _post(url: str) -> Request:
    return Request("POST", url, Headers([("Content-Type", "text/xml")]), b"<ask/>")


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_each_fault_is_a_transport_error_and_the_next_exchange_is_answered(fault: str) -> None:
    with fault_server(trickle_interval=0.05) as server, \
            HttpTransport(TransportOptions(timeout=1.0)) as transport:
        good, _ = transport.send(_post(server.url + "/good/1"))
        with pytest.raises(TransportError) as caught:
            transport.send(_post(server.url + f"/fault/{fault}"))
        after, _ = transport.send(_post(server.url + "/good/2"))
    assert good.body == after.body == GOOD_BODY
    message = caught.value.message
    assert CAUSES[fault] in message, message
    assert "\n" not in message and server.url in message
    if fault in ("body-stall", "header-trickle"):
        assert isinstance(caught.value, EndpointTimeout)


def test_a_response_within_the_deadline_is_not_cut_by_it() -> None:
    with fault_server() as server, HttpTransport(TransportOptions(timeout=5.0)) as transport:
        for number in range(20):
            response, _ = transport.send(_post(server.url + f"/good/{number}"))
            assert response.body == GOOD_BODY


def test_a_status_line_trickled_past_the_deadline_is_a_timeout() -> None:
    with fault_server(trickle_interval=0.3) as server, \
            HttpTransport(TransportOptions(timeout=1.0)) as transport:
        with pytest.raises(EndpointTimeout, match="no response within 1 s"):
            transport.send(_post(server.url + "/fault/header-trickle"))
        after, _ = transport.send(_post(server.url + "/good/2"))
    assert after.body == GOOD_BODY
