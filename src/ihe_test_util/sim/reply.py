"""How the simulator writes a reply: in its profile's XML style, with fresh volatile values."""

from __future__ import annotations

from ihe_test_util.sim.volatile import Volatility
from ihe_test_util.sim.xmlstyle import Style, serialize
from ihe_test_util.transport.endpoint import HttpAnswer
from ihe_test_util.transport.mtom import build_mtom
from ihe_test_util.transport.soap_server import (
    SOAP_CONTENT_TYPE,
    SoapReply,
    SoapRequest,
    envelope_for,
)


def render_reply(
    reply: SoapReply, request: SoapRequest, *, style: Style, volatility: Volatility,
) -> HttpAnswer:
    """Serialise a reply as plain SOAP or as MTOM with a fresh boundary and Content-IDs."""
    envelope = envelope_for(
        reply.action, reply.body, relates_to=request.message_id,
        message_id=volatility.urn_uuid(),
    )
    xml = serialize(envelope, style)
    if not reply.mtom:
        return HttpAnswer(200, xml, f'{SOAP_CONTENT_TYPE}; charset=UTF-8; action="{reply.action}"')
    body, content_type = build_mtom(
        xml, reply.attachments, soap_action=reply.action,
        boundary=f"MIMEBoundary_{volatility.new_uuid().hex}",
        root_content_id=f"root.{volatility.new_uuid().hex}@ihe-sim",
    )
    return HttpAnswer(200, body, content_type)

