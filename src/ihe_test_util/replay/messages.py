"""Reading the XML of a recorded request or response, MTOM or not."""

from __future__ import annotations

from lxml import etree

from ihe_test_util.errors import XmlInputError
from ihe_test_util.model import Request, Response
from ihe_test_util.safexml import parse_xml
from ihe_test_util.transport.mtom import is_multipart, parse_multipart


def xml_of(message: Request | Response, *, source: str | None = None) -> etree._Element | None:
    """The SOAP envelope (root part of MTOM, or the body), or None when it is not XML."""
    try:
        if is_multipart(message.content_type):
            part = parse_multipart(message.body, message.content_type or "", source=source)
            return parse_xml(part.root.content, source=source)
        stripped = message.body.lstrip()
        if not stripped.startswith(b"<"):
            return None
        return parse_xml(message.body, source=source)
    except XmlInputError:
        return None
