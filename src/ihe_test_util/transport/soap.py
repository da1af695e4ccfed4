"""SOAP 1.2 envelopes with WS-Addressing 1.0, as IHE ITI TF-2 Appendix V requires.

:func:`soap_request` turns a body element (or bytes) and an action into a
:class:`~ihe_test_util.model.Request` for :mod:`ihe_test_util.transport.http`:
``application/soap+xml; action="..."``, or MTOM (``multipart/related``) when there are
attachments. :func:`parse_envelope` reads any SOAP message back (1.2 or legacy 1.1, plain or
MTOM) and gives access to addressing headers, the payload, faults and attachments.
"""

from __future__ import annotations

import base64
import binascii
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from lxml import etree

from ihe_test_util.errors import XmlInputError
from ihe_test_util.ihe.namespaces import SOAP11, SOAP12, WSA, XOP, qname
from ihe_test_util.model import Headers, Request
from ihe_test_util.safexml import parse_xml
from ihe_test_util.transport.content import payload_of, read_xml, soap_child
from ihe_test_util.transport.mtom import Attachment, MimePart, build_mtom, normalise_cid
from ihe_test_util.transport.wssecurity import SecurityHeader, security_headers

ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"
SOAP12_MEDIA_TYPE = "application/soap+xml"
_ENVELOPE_NAMESPACES = {SOAP12: "1.2", SOAP11: "1.1"}


def new_message_id() -> str:
    return f"urn:uuid:{uuid.uuid4()}"


@dataclass(frozen=True)
class SoapFault:
    """A SOAP Fault: ``code`` (e.g. ``soap:Sender``), subcodes, and the human-readable reason."""

    code: str
    subcodes: tuple[str, ...]
    reason: str


@dataclass(frozen=True, eq=False)
class SoapMessage:
    """A parsed or built SOAP envelope plus its MTOM attachments (if any)."""

    envelope: etree._Element
    attachments: tuple[MimePart, ...] = field(default_factory=tuple)

    @property
    def version(self) -> str:
        return _ENVELOPE_NAMESPACES[etree.QName(self.envelope).namespace or ""]

    @property
    def namespace(self) -> str:
        return etree.QName(self.envelope).namespace or SOAP12

    @property
    def header(self) -> etree._Element | None:
        return soap_child(self.envelope, "Header")

    @property
    def body(self) -> etree._Element | None:
        return soap_child(self.envelope, "Body")

    @property
    def payload(self) -> etree._Element | None:
        """The first element inside ``Body`` (the IHE request or response, or the Fault)."""
        return payload_of(self.envelope)

    def addressing(self, local: str) -> str | None:
        """Text of a WS-Addressing header (``Action``, ``MessageID``, ``RelatesTo``, ``To``)."""
        header = self.header
        if header is None:
            return None
        element = header.find(qname(WSA, local))
        return (element.text or "").strip() if element is not None else None

    @property
    def action(self) -> str | None:
        return self.addressing("Action")

    @property
    def message_id(self) -> str | None:
        return self.addressing("MessageID")

    @property
    def relates_to(self) -> str | None:
        return self.addressing("RelatesTo")

    @property
    def to(self) -> str | None:
        return self.addressing("To")

    @property
    def fault(self) -> SoapFault | None:
        payload = self.payload
        if payload is None or etree.QName(payload).localname != "Fault":
            return None
        if self.version == "1.1":
            return SoapFault(_text(payload.find("faultcode")), (),
                             _text(payload.find("faultstring")))
        ns = self.namespace
        code = payload.find(qname(ns, "Code"))
        subcodes: list[str] = []
        current = code.find(qname(ns, "Subcode")) if code is not None else None
        while current is not None:
            subcodes.append(_text(current.find(qname(ns, "Value"))))
            current = current.find(qname(ns, "Subcode"))
        reason = payload.find(f"{qname(ns, 'Reason')}/{qname(ns, 'Text')}")
        value = code.find(qname(ns, "Value")) if code is not None else None
        return SoapFault(_text(value), tuple(subcodes), _text(reason))

    def attachment(self, cid: str) -> MimePart | None:
        wanted = normalise_cid(cid)
        return next((p for p in self.attachments if p.content_id is not None
                     and normalise_cid(p.content_id) == wanted), None)

    def content_of(self, element: etree._Element) -> bytes:
        """Decoded bytes of an element holding base64 or an ``xop:Include`` (``xdsb:Document``).

        The comparer looks at these, never at MIME framing: the same document may travel
        inline or as an attachment.
        """
        include = element.find(qname(XOP, "Include"))
        if include is not None:
            href = include.get("href") or ""
            part = self.attachment(href)
            if part is None:
                raise XmlInputError(
                    f"xop:Include points at {href!r}, which is not among the MIME parts",
                    hint="the attachment is missing from the message (truncated capture?)",
                )
            return part.content
        try:
            return base64.b64decode("".join((element.text or "").split()), validate=True)
        except (binascii.Error, ValueError):
            raise XmlInputError(
                f"<{etree.QName(element).localname}> holds neither xop:Include nor valid base64"
            ) from None

    def replace_security(self, security: SecurityHeader | None) -> None:
        """Drop every ``wsse:Security`` block; insert a freshly issued one if ``security``.

        The new block takes the place of the first old one (header order is kept).
        """
        existing = list(security_headers(self.envelope))
        fresh = security.element(self.namespace) if security is not None else None
        if fresh is not None:
            if existing:
                existing[0].addprevious(fresh)
            else:
                header = self.header
                if header is None:
                    header = etree.Element(qname(self.namespace, "Header"))
                    self.envelope.insert(0, header)
                header.append(fresh)
        for old in existing:
            parent = old.getparent()
            if parent is not None:
                parent.remove(old)

    def to_bytes(self) -> bytes:
        return etree.tostring(self.envelope, xml_declaration=True, encoding="UTF-8")


def build_envelope(
    body: etree._Element | bytes,
    action: str,
    *,
    to: str | None = None,
    message_id: str | None = None,
    reply_to: str | None = ANONYMOUS,
    security: SecurityHeader | None = None,
    extra_headers: Iterable[etree._Element] = (),
) -> SoapMessage:
    """A SOAP 1.2 envelope around ``body`` with WS-Addressing headers.

    ``wsa:Action`` carries ``mustUnderstand="true"``; ``wsa:MessageID`` is a fresh
    ``urn:uuid:`` unless given. An element ``body`` is moved into the envelope (lxml
    semantics); bytes are parsed with the hardened parser. If ``body`` already is a SOAP
    envelope it is used as it is (only ``security`` is added), for raw request files.
    """
    payload = _as_element(body)
    if etree.QName(payload).namespace in _ENVELOPE_NAMESPACES and \
            etree.QName(payload).localname == "Envelope":
        message = SoapMessage(payload)
        if security is not None:
            message.replace_security(security)
        return message
    envelope = etree.Element(qname(SOAP12, "Envelope"), nsmap={"soap": SOAP12, "wsa": WSA})
    header = etree.SubElement(envelope, qname(SOAP12, "Header"))
    wsa_action = etree.SubElement(header, qname(WSA, "Action"))
    wsa_action.set(qname(SOAP12, "mustUnderstand"), "true")
    wsa_action.text = action
    etree.SubElement(header, qname(WSA, "MessageID")).text = message_id or new_message_id()
    if to:
        etree.SubElement(header, qname(WSA, "To")).text = to
    if reply_to:
        address = etree.SubElement(etree.SubElement(header, qname(WSA, "ReplyTo")),
                                   qname(WSA, "Address"))
        address.text = reply_to
    for extra in extra_headers:
        header.append(extra)
    etree.SubElement(envelope, qname(SOAP12, "Body")).append(payload)
    message = SoapMessage(envelope)
    if security is not None:
        message.replace_security(security)
    return message


def soap_request(
    url: str,
    body: etree._Element | bytes,
    action: str,
    *,
    mtom_attachments: Sequence[Attachment] = (),
    security: SecurityHeader | None = None,
    to: str | None = None,
    message_id: str | None = None,
    mtom: bool | None = None,
    headers: Iterable[tuple[str, str]] = (),
) -> Request:
    """A POST of a SOAP 1.2 message to ``url``; MTOM when there are attachments.

    ``to`` defaults to ``url`` (``wsa:To``). ``mtom=True`` forces a multipart message even
    without attachments (some receivers insist); ``False`` with attachments is an error.
    """
    if mtom is False and mtom_attachments:
        raise ValueError("attachments need MTOM: drop mtom=False or inline them as base64")
    message = build_envelope(body, action, to=to or url, message_id=message_id,
                             security=security)
    xml = message.to_bytes()
    if mtom_attachments or mtom:
        payload, content_type = build_mtom(xml, mtom_attachments, soap_action=action)
    else:
        payload, content_type = xml, soap_content_type(action)
    return Request("POST", url, Headers([("Content-Type", content_type), *headers]), payload)


def soap_content_type(action: str | None) -> str:
    base = f"{SOAP12_MEDIA_TYPE}; charset=UTF-8"
    return f'{base}; action="{action}"' if action else base


def parse_envelope(
    data: bytes, content_type: str | None = None, *, source: str | None = None,
) -> SoapMessage:
    """Parse a SOAP message (plain or MTOM) or raise :class:`XmlInputError` saying why not."""
    root, mime = read_xml(data, content_type, source=source)
    attachments = mime.attachments if mime is not None else ()
    namespace, local = etree.QName(root).namespace, etree.QName(root).localname
    if local != "Envelope" or namespace not in _ENVELOPE_NAMESPACES:
        raise XmlInputError(
            f"not a SOAP envelope: the root element is {{{namespace}}}{local}", source=source,
            hint="a SOAP 1.2 message starts with <Envelope "
                 f'xmlns="{SOAP12}">',
        )
    return SoapMessage(root, attachments)


def _as_element(body: etree._Element | bytes) -> etree._Element:
    if isinstance(body, bytes):
        return parse_xml(body, source="SOAP body")
    return body


def _text(element: etree._Element | None) -> str:
    return (element.text or "").strip() if element is not None else ""
