"""Which HTTP headers belong to one connection and never travel on to the next hop.

One list for every place that passes headers on: the transport sending a recorded request
again, the recording proxy (both directions) and ``ihe serve`` answering with a recorded
response. RFC 9110 section 7.6.1: ``Connection``, ``Proxy-Connection``, ``Keep-Alive``, ``TE``,
``Transfer-Encoding``, ``Upgrade`` (and ``Trailer``, ``Proxy-Authenticate``,
``Proxy-Authorization`` from RFC 2616 13.5.1) describe one connection, and so does every header
a ``Connection`` header names. ``Host``, ``Content-Length`` and ``Expect`` are added here
because each hop recomputes or answers them itself: a copied ``Host`` would name the old
server, a copied length would be wrong for a re-framed body.
"""

from __future__ import annotations

from ihe_test_util.model import Headers

#: Lower-cased names of the headers no hop passes on.
HOP_BY_HOP = frozenset({
    "connection", "keep-alive", "proxy-connection", "proxy-authenticate", "proxy-authorization",
    "te", "trailer", "transfer-encoding", "upgrade", "expect", "content-length", "host",
})


def connection_listed(headers: Headers) -> frozenset[str]:
    """Lower-cased header names listed in ``Connection``: hop-by-hop too (RFC 9110 7.6.1)."""
    return frozenset(token.strip().lower() for value in headers.get_all("Connection")
                     for token in value.split(",") if token.strip())


def end_to_end(headers: Headers, *, also: frozenset[str] = frozenset()) -> Headers:
    """``headers`` without the hop-by-hop ones (and without the lower-cased names in
    ``also``), in their order."""
    drop = HOP_BY_HOP | connection_listed(headers) | also
    return Headers([(name, value) for name, value in headers if name.lower() not in drop])
