"""Corpus requests as recorded :class:`Request` values (EPR captures carry line numbers)."""

from __future__ import annotations

import re

from ihe_test_util.ihe.namespaces import WSSE
from ihe_test_util.model import Headers, Request
from ihe_test_util.transport.soap import soap_request

from ...conftest import corpus_file

URL = "http://registry.example:8080/services/xds"


def unnumbered(relative: str) -> bytes:
    """The file without the ``123 `` line numbers of the EPR-by-example captures."""
    data = corpus_file(relative).read_bytes()
    if not re.match(rb"\s*1 ", data):
        return data
    lines = [re.sub(rb"^\s*\d+ ?", b"", line) for line in data.splitlines()]
    text = b"\n".join(lines)
    # "<wsse:Security><!-- omitted --></wsse:Security>" is shown without its declaration
    return text.replace(b"<wsse:Security>", f'<wsse:Security xmlns:wsse="{WSSE}">'.encode())


def soap(relative: str, action: str) -> Request:
    """A bare corpus payload as the SOAP 1.2 request a client would have recorded."""
    return soap_request(URL, unnumbered(relative), action)


def envelope(relative: str, action: str) -> Request:
    """A corpus file that already is a SOAP envelope, as a recorded request."""
    body = unnumbered(relative)
    start = body.rindex(b"<", 0, body.index(b"Envelope"))
    end = body.rindex(b"Envelope>") + len(b"Envelope>")
    return Request("POST", URL, Headers({"Content-Type": f'application/soap+xml; charset=UTF-8; '
                                                         f'action="{action}"'}),
                   body[start:end])


def epr_iti41_mtom() -> Request:
    """The EPR ITI-41 capture (client-chosen urn:uuid ids) as the MTOM request on the wire.

    The capture's HTTP header names a different boundary than its body (it went through a
    proxy); the request is rebuilt with the boundary the body actually uses.
    """
    text = unnumbered("ITI-41/ITI-41_request.xml")
    start = text.index(b"--uuid:")
    end = text.index(b"--Target endpoint") + 2  # the closing "--" runs into a note
    body = text[start:end]
    boundary = body[2:body.index(b"\n")].decode()
    body = body.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n") + b"\r\n"
    content_type = (f'multipart/related; boundary="{boundary}"; type="application/xop+xml"; '
                    'start="<root.message@cxf.apache.org>"; start-info="application/soap+xml"; '
                    'action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b"')
    return Request("POST", URL, Headers({"Content-Type": content_type,
                                         "Content-Length": str(len(body))}), body)
