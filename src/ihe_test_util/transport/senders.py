"""Sending a request over the transport its URL's scheme needs: ``http(s)://`` with
:class:`~ihe_test_util.transport.http.HttpTransport`, ``mllp(s)://`` with
:class:`~ihe_test_util.transport.mllp.MllpTransport` (``ihe replay`` and ``ihe record``
scenarios alike, so a cassette or a scenario may hold both kinds of exchange)."""

from __future__ import annotations

from urllib.parse import urlsplit

from ihe_test_util.errors import UsageError
from ihe_test_util.model import Request, Response
from ihe_test_util.transport.http import HttpTransport, TransportOptions
from ihe_test_util.transport.mllp import MllpTransport

#: scheme -> protocol family (the transport a URL needs).
FAMILIES = {"http": "http", "https": "http", "mllp": "mllp", "mllps": "mllp"}


def family_of(url: str) -> str:
    """``http`` or ``mllp``: which transport a URL needs (UsageError for any other scheme)."""
    family = FAMILIES.get(urlsplit(url).scheme.lower())
    if family is None:
        raise UsageError(f"{url!r} is neither an http(s) URL nor an mllp(s) URL",
                         hint="write it as http(s)://host:port or mllp(s)://host:port")
    return family


class SchemeSender:
    """Each request goes over the transport its URL's scheme needs (``http(s)://``:
    :class:`HttpTransport`, ``mllp(s)://``: :class:`MllpTransport`), each made on first use.
    One instance per thread (MLLP keeps one connection per peer, in order)."""

    def __init__(self, options: TransportOptions) -> None:
        self.options = options
        # HTTP up front: it says once, here, when certificates are not checked (--insecure)
        self._senders: dict[str, HttpTransport | MllpTransport] = {
            "http": HttpTransport(options),
        }

    def send(self, request: Request) -> tuple[Response, float]:
        family = family_of(request.uri)
        sender = self._senders.get(family)
        if sender is None:
            sender = self._senders[family] = MllpTransport(self.options, warn=False)
        return sender.send(request)

    def close(self) -> None:
        for sender in self._senders.values():
            sender.close()

    def __enter__(self) -> SchemeSender:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


__all__ = ["FAMILIES", "SchemeSender", "family_of"]
