"""What every builder returns: the payload, its transaction (and so, from the catalogue, its
SOAP action), attachments and the identifiers the builder made up."""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass, field

from lxml import etree

from ihe_test_util.ihe.catalogue import spec_for
from ihe_test_util.ihe.namespaces import XDSB
from ihe_test_util.model import Request
from ihe_test_util.transport.mtom import Attachment
from ihe_test_util.transport.soap import soap_request
from ihe_test_util.transport.wssecurity import SecurityHeader


@dataclass(frozen=True, eq=False)
class BuiltMessage:
    """A request body ready to send: the payload element, its transaction and any attachments.

    The SOAP action is the catalogue's request action for the payload's root element, so a
    builder never spells an action of its own.

    ``values`` names the identifiers the builder generated (``messageId``, ``queryId``,
    ``submissionSetUniqueId``, ``documentUniqueId:Document01``, ...) so scenarios can refer to
    them in later steps without parsing the message again.
    """

    transaction: str
    body: etree._Element
    attachments: tuple[Attachment, ...] = ()
    values: Mapping[str, str] = field(default_factory=dict)

    @property
    def action(self) -> str:
        return spec_for(self.transaction).request_action(self.body.tag)

    def to_request(
        self, url: str, *, security: SecurityHeader | None = None, to: str | None = None,
        mtom: bool | None = None,
    ) -> Request:
        """The SOAP 1.2 request (MTOM when there are attachments) with a fresh MessageID.

        The payload is indented, one element per line, so the request reads line by line in
        a cassette under review; the SOAP header (which may carry a signed assertion) is not.
        """
        return soap_request(
            url, readable(copy.deepcopy(self.body)), self.action,
            mtom_attachments=self.attachments, security=security, to=to, mtom=mtom,
        )

    def to_bytes(self) -> bytes:
        """The body element alone (no envelope), for files and for tests."""
        return etree.tostring(self.body, xml_declaration=True, encoding="UTF-8")


_DOCUMENT = f"{{{XDSB}}}Document"


def readable(payload: etree._Element) -> etree._Element:
    """Indent ``payload`` in place (whitespace between elements only: values are untouched).

    ``xdsb:Document`` keeps its exact content: inline base64, or a lone ``xop:Include`` that
    strict MTOM readers want without surrounding whitespace.
    """
    etree.indent(payload, space="  ")
    for document in payload.iter(_DOCUMENT):
        if len(document):
            document.text = None
            for child in document:
                child.tail = None
    return payload
