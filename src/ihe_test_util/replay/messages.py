"""Reading and rewriting the XML of a recorded request or response, MTOM or not."""

from __future__ import annotations

from collections.abc import Callable

from lxml import etree

from ihe_test_util.errors import XmlInputError
from ihe_test_util.model import Request, Response
from ihe_test_util.safexml import parse_xml
from ihe_test_util.transport.mtom import Attachment, build_mtom, is_multipart, parse_multipart


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


def rewrite_request_xml(
    request: Request, edit: Callable[[etree._Element], object],
) -> Request:
    """Apply ``edit`` to the request's envelope and re-serialise (MTOM re-packaged).

    Attachment bytes are kept exactly; a fresh boundary and Content-IDs are noise anyway.
    """
    content_type = request.content_type
    if is_multipart(content_type):
        message = parse_multipart(request.body, content_type or "")
        root = parse_xml(message.root.content)
        edit(root)
        attachments = [
            Attachment(part.content_id or "", part.content_type, part.content)
            for part in message.attachments
        ]
        action = _action_of(content_type or "")
        body, new_type = build_mtom(
            etree.tostring(root, xml_declaration=True, encoding="UTF-8"), attachments,
            soap_action=action, boundary=None,
        )
        return request.evolve(body=body, headers=request.headers.with_value("Content-Type",
                                                                            new_type))
    root = parse_xml(request.body)
    edit(root)
    return request.evolve(body=etree.tostring(root, xml_declaration=True, encoding="UTF-8"))


def _action_of(content_type: str) -> str | None:
    from ihe_test_util.transport.mtom import content_type_params

    _, params = content_type_params(content_type)
    return params.get("action")
