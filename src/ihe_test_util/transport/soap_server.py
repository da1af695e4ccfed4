"""The server side of SOAP 1.2 + WS-Addressing, as an IHE endpoint speaks it: read a request,
write a fault. Shared by every local server: ``ihe sim``, ``ihe serve`` and the recording proxy.

IHE ITI TF-2 Appendix V requires SOAP 1.2 and WS-Addressing 1.0. Everything a client can get
wrong at this level (malformed or hostile XML, a SOAP 1.1 envelope, a header it must understand,
a missing ``wsa:Action``) ends as a :class:`FaultReply` with the code the specs prescribe, never
as a traceback. How a reply body is spelled (prefixes, volatile values) is the simulator's
business (:mod:`ihe_test_util.sim.reply`); this module takes the values it writes as arguments.
"""

from __future__ import annotations

import base64
import uuid
from collections.abc import Sequence
from copy import deepcopy
from dataclasses import dataclass

from lxml import etree

from ihe_test_util.errors import XmlInputError
from ihe_test_util.ihe.namespaces import SOAP11, SOAP12, WSA, WSSE, XOP, qname
from ihe_test_util.safexml import xml_safe
from ihe_test_util.transport.content import (
    ENVELOPES,
    decode_content,
    media_type_of,
    parse_xml_body,
    read_xml,
    root_part,
)
from ihe_test_util.transport.endpoint import HttpAnswer, HttpCall
from ihe_test_util.transport.mtom import Attachment, MultipartMessage

SOAP_CONTENT_TYPE = "application/soap+xml"
#: wsa:Action of faults defined by SOAP itself and of WS-Addressing faults (WS-Addr SOAP binding).
SOAP_FAULT_ACTION = "http://www.w3.org/2005/08/addressing/soap/fault"
WSA_FAULT_ACTION = "http://www.w3.org/2005/08/addressing/fault"
WSA_ANONYMOUS = "http://www.w3.org/2005/08/addressing/anonymous"

#: Media types a request body may have. text/xml is tolerated when the envelope is SOAP 1.2:
#: the SOAP version is decided by the envelope, which gives the clearer fault.
_ACCEPTED_MEDIA = {SOAP_CONTENT_TYPE, "text/xml", "application/xml", "multipart/related"}
#: Header blocks this endpoint processes (mustUnderstand on them is fine). wsse:Security is
#: accepted and ignored: the simulator does not authenticate.
_UNDERSTOOD_HEADERS = {
    qname(WSA, name) for name in
    ("Action", "MessageID", "To", "ReplyTo", "FaultTo", "From", "RelatesTo")
} | {qname(WSSE, "Security")}

_ENV = SOAP12


def _env(local: str) -> str:
    return qname(_ENV, local)


class FaultReply(Exception):
    """A SOAP 1.2 fault to send back: ``code`` is Sender, Receiver, VersionMismatch, ...

    ``subcode`` is a (namespace, local name) QName such as wsa:ActionNotSupported.
    ``http_status`` follows the SOAP 1.2 HTTP binding (Sender 400, everything else 500)
    unless the HTTP layer knows better (413 body too large, 415 media type, ...).
    ``detail`` elements go into ``soap:Detail`` for programs that read faults.
    ``soap_version`` is the envelope namespace the client spoke when the server knows it
    (a SOAP 1.1 envelope is answered with a SOAP 1.1 fault: :func:`render_fault_for`).
    """

    def __init__(
        self, code: str, reason: str, *, subcode: tuple[str, str] | None = None,
        http_status: int | None = None, problem_header: str | None = None,
        problem_action: str | None = None, not_understood: Sequence[str] = (),
        upgrade: bool = False, relates_to: str | None = None,
        detail: Sequence[etree._Element] = (), soap_version: str | None = None,
    ) -> None:
        # request-derived text (an action, a header, a URL) may hold characters XML cannot
        # carry: written as \uXXXX so that the fault can always be rendered
        reason = xml_safe(reason)
        super().__init__(reason)
        self.code = code
        self.reason = reason
        self.subcode = subcode
        self.http_status = http_status or (400 if code == "Sender" else 500)
        self.problem_header = xml_safe(problem_header) if problem_header else problem_header
        self.problem_action = xml_safe(problem_action) if problem_action else problem_action
        self.not_understood = tuple(not_understood)
        self.upgrade = upgrade
        self.relates_to = xml_safe(relates_to) if relates_to else relates_to
        self.detail = tuple(detail)
        self.soap_version = soap_version

    @property
    def action(self) -> str:
        return WSA_FAULT_ACTION if self.subcode and self.subcode[0] == WSA else SOAP_FAULT_ACTION


@dataclass(frozen=True)
class SoapRequest:
    """A parsed SOAP 1.2 request: addressing headers, the body element, MTOM attachments."""

    action: str
    message_id: str
    envelope: etree._Element
    body: etree._Element
    multipart: MultipartMessage | None = None
    reply_to: str | None = None

    def include_content(self, include: etree._Element) -> bytes:
        """Bytes an ``xop:Include`` points at; a dangling reference is the sender's fault."""
        href = include.get("href", "")
        part = self.multipart.attachment(href) if self.multipart is not None else None
        if part is None:
            raise FaultReply("Sender", f"xop:Include href={href!r} names no MIME part of the "
                            "request", relates_to=self.message_id)
        return part.content

    def binary_content(self, element: etree._Element) -> bytes:
        """Content of a base64Binary element: an ``xop:Include`` or inline base64 text."""
        include = element.find(qname(XOP, "Include"))
        if include is not None:
            return self.include_content(include)
        text = "".join((element.text or "").split())
        try:
            return base64.b64decode(text, validate=True)
        except ValueError:
            raise FaultReply(
                "Sender", f"element {etree.QName(element).localname} holds neither valid "
                "base64 nor an xop:Include", relates_to=self.message_id,
            ) from None


@dataclass(frozen=True)
class SoapReply:
    """What an actor answers: the response action and body, MTOM packaging when asked."""

    action: str
    body: etree._Element
    attachments: tuple[Attachment, ...] = ()
    mtom: bool = False


def parse_request(body: bytes, content_type: str | None, *, max_bytes: int,
                  content_encoding: str | None = None) -> SoapRequest:
    """Read a SOAP 1.2 request (plain or MTOM) or raise :class:`FaultReply` saying what is wrong."""
    envelope, multipart = read_envelope(body, content_type, max_bytes=max_bytes,
                                        content_encoding=content_encoding)
    _check_envelope(envelope)
    header = envelope.find(_env("Header"))
    message_id = _single_header(header, "MessageID")
    _check_must_understand(header, message_id)
    action = _single_header(header, "Action")
    if not action:
        raise _missing_header("Action", message_id)
    if not message_id:
        raise _missing_header("MessageID", None)
    body_el = envelope.find(_env("Body"))
    children = [c for c in body_el if _is_element(c)] if body_el is not None else []
    if len(children) != 1:
        raise FaultReply(
            "Sender", f"soap:Body must hold exactly one element, found {len(children)}",
            relates_to=message_id,
        )
    reply_to = None
    if header is not None:
        address = header.find(f"{qname(WSA, 'ReplyTo')}/{qname(WSA, 'Address')}")
        reply_to = (address.text or "").strip() if address is not None else None
    return SoapRequest(
        action=action, message_id=message_id, envelope=envelope, body=children[0],
        multipart=multipart, reply_to=reply_to,
    )


def read_envelope(body: bytes, content_type: str | None, *, max_bytes: int,
                  content_encoding: str | None = None) -> (
        tuple[etree._Element, MultipartMessage | None]):
    """Request bytes -> the XML root (the root part of an MTOM package) and the package.

    The serving side of :func:`~ihe_test_util.transport.content.read_xml`: a media type a SOAP
    server does not take, a broken MTOM package or XML that is malformed or hostile is a Sender
    fault. A request ``Content-Encoding`` (gzip, deflate, br) is undone first, as HTTP servers
    do; a coding this server does not know is 415 (RFC 9110, 15.5.16), one decoding beyond
    ``max_bytes`` 413, a body that is not valid in its coding 400.
    """
    media = media_type_of(content_type)[0] if content_type else ""
    if media not in _ACCEPTED_MEDIA:
        raise FaultReply(
            "Sender", f"unsupported Content-Type {content_type!r}; SOAP 1.2 requests use "
            f"{SOAP_CONTENT_TYPE} or MTOM (multipart/related)", http_status=415,
        )
    try:
        body = decode_content(body, content_encoding, max_bytes)
    except ValueError as exc:  # decode_content says which: unknown, too large, or corrupt
        why = str(exc)
        status = 415 if why.startswith("unsupported") else 413 if "exceeds" in why else 400
        raise FaultReply("Sender", f"request body (Content-Encoding {content_encoding}): {why}",
                         http_status=status) from None
    try:
        part = root_part(body, content_type, source="request body")
    except XmlInputError as exc:
        raise FaultReply("Sender", exc.message) from None
    try:
        envelope = parse_xml_body(part.data, part.charset, source="request body",
                                  max_bytes=max_bytes)
    except XmlInputError as exc:
        raise FaultReply("Sender", str(exc).replace("\n  hint:", ";")) from None
    return envelope, part.mime


def _check_envelope(envelope: etree._Element) -> None:
    tag = etree.QName(envelope)
    if tag.localname == "Envelope" and tag.namespace == SOAP11:
        raise FaultReply(
            "VersionMismatch", "SOAP 1.1 envelopes are not supported: IHE requires SOAP 1.2 "
            f"({SOAP12})", upgrade=True, soap_version=SOAP11,
        )
    if tag.localname != "Envelope" or tag.namespace != SOAP12:
        raise FaultReply(
            "VersionMismatch", f"expected a SOAP 1.2 Envelope, found element {tag.text!r}",
            upgrade=True,
        )
    body = envelope.find(_env("Body"))
    if body is None:
        raise FaultReply("Sender", "soap:Envelope has no soap:Body")


def _single_header(header: etree._Element | None, local: str) -> str:
    if header is None:
        return ""
    found = header.findall(qname(WSA, local))
    if len(found) > 1:
        raise FaultReply(
            "Sender", f"wsa:{local} appears {len(found)} times; it must appear once",
            subcode=(WSA, "InvalidAddressingHeader"), problem_header=f"wsa:{local}",
        )
    return (found[0].text or "").strip() if found else ""


def _missing_header(local: str, message_id: str | None) -> FaultReply:
    return FaultReply(
        "Sender", f"required WS-Addressing header wsa:{local} is missing",
        subcode=(WSA, "MessageAddressingHeaderRequired"), problem_header=f"wsa:{local}",
        relates_to=message_id or None,
    )


def _is_element(node: etree._Element) -> bool:
    """True for elements, False for comments and processing instructions."""
    return isinstance(node.tag, str)


def _check_must_understand(header: etree._Element | None, message_id: str) -> None:
    if header is None:
        return
    not_understood = [
        str(block.tag) for block in header if _is_element(block)
        and block.get(_env("mustUnderstand"), "").strip() in {"1", "true"}
        and block.tag not in _UNDERSTOOD_HEADERS
    ]
    if not_understood:
        names = ", ".join(etree.QName(t).localname for t in not_understood)
        raise FaultReply(
            "MustUnderstand", f"header block(s) marked mustUnderstand are not understood: {names}",
            not_understood=not_understood, relates_to=message_id or None,
        )


def envelope_for(
    action: str, body: etree._Element, *, relates_to: str | None, message_id: str,
    nsmap: dict[str | None, str] | None = None,
) -> etree._Element:
    """A SOAP 1.2 envelope with the WS-Addressing headers a response carries."""
    envelope = etree.Element(_env("Envelope"), nsmap=nsmap)  # type: ignore[arg-type]
    header = etree.SubElement(envelope, _env("Header"))
    action_el = etree.SubElement(header, qname(WSA, "Action"))
    action_el.set(_env("mustUnderstand"), "1")
    action_el.text = action
    etree.SubElement(header, qname(WSA, "MessageID")).text = message_id
    if relates_to:
        etree.SubElement(header, qname(WSA, "RelatesTo")).text = relates_to
    etree.SubElement(header, qname(WSA, "To")).text = WSA_ANONYMOUS
    etree.SubElement(envelope, _env("Body")).append(body)
    return envelope


#: SOAP 1.1 fault codes for the SOAP 1.2 ones (SOAP 1.2 part 1, 5.4.6 / SOAP 1.1, 4.4.1).
_SOAP11_CODES = {"Sender": "Client", "Receiver": "Server"}


def render_soap11_fault(fault: FaultReply) -> HttpAnswer:
    """``fault`` as a SOAP 1.1 envelope (text/xml), for a client that spoke SOAP 1.1: it
    would not read a SOAP 1.2 fault. The code and reason carry over, and for a
    VersionMismatch with ``upgrade`` the SOAP 1.2 ``Upgrade`` header block naming the
    envelope this endpoint speaks (SOAP 1.2 part 1, appendix A)."""
    envelope = etree.Element(qname(SOAP11, "Envelope"), nsmap={"soapenv": SOAP11})
    if fault.upgrade:
        header = etree.SubElement(envelope, qname(SOAP11, "Header"))
        upgrade = etree.SubElement(header, _env("Upgrade"), nsmap={"soap": _ENV})
        etree.SubElement(upgrade, _env("SupportedEnvelope")).set("qname", "soap:Envelope")
    fault_el = etree.SubElement(etree.SubElement(envelope, qname(SOAP11, "Body")),
                                qname(SOAP11, "Fault"))
    code = _SOAP11_CODES.get(fault.code, fault.code)
    etree.SubElement(fault_el, "faultcode").text = f"soapenv:{code}"
    etree.SubElement(fault_el, "faultstring").text = fault.reason
    xml = etree.tostring(envelope, encoding="UTF-8", xml_declaration=True)
    return HttpAnswer(fault.http_status, xml, "text/xml; charset=UTF-8")


def render_fault(fault: FaultReply, *, message_id: str | None = None,
                 xml_declaration: bool = True) -> HttpAnswer:
    """A SOAP 1.2 fault envelope (always application/soap+xml); ``message_id`` is its
    wsa:MessageID (a fresh ``urn:uuid:`` unless given)."""
    # QNames in text content need their prefix declared on the envelope (lxml drops a
    # declaration on an inner element when an outer one already binds the namespace).
    nsmap: dict[str | None, str] = {"soap": _ENV, "wsa": WSA}
    if fault.subcode is not None and fault.subcode[0] not in nsmap.values():
        nsmap["sub"] = fault.subcode[0]
    prefix_of = {uri: prefix for prefix, uri in nsmap.items()}
    fault_el = etree.Element(_env("Fault"), nsmap=nsmap)  # type: ignore[arg-type]
    code = etree.SubElement(fault_el, _env("Code"))
    etree.SubElement(code, _env("Value")).text = f"soap:{fault.code}"
    if fault.subcode is not None:
        sub_ns, sub_local = fault.subcode
        subcode = etree.SubElement(code, _env("Subcode"))
        etree.SubElement(subcode, _env("Value")).text = f"{prefix_of[sub_ns]}:{sub_local}"
    reason = etree.SubElement(fault_el, _env("Reason"))
    text = etree.SubElement(reason, _env("Text"))
    text.set(qname("http://www.w3.org/XML/1998/namespace", "lang"), "en")
    text.text = fault.reason
    if fault.problem_header or fault.problem_action or fault.detail:
        detail = etree.SubElement(fault_el, _env("Detail"))
        if fault.problem_header:
            problem = etree.SubElement(detail, qname(WSA, "ProblemHeaderQName"))
            problem.text = fault.problem_header
        if fault.problem_action:
            problem = etree.SubElement(detail, qname(WSA, "ProblemAction"))
            etree.SubElement(problem, qname(WSA, "Action")).text = fault.problem_action
        detail.extend(deepcopy(element) for element in fault.detail)
    envelope = envelope_for(
        fault.action, fault_el, relates_to=fault.relates_to,
        message_id=message_id or f"urn:uuid:{uuid.uuid4()}", nsmap=nsmap,
    )
    header = envelope.find(_env("Header"))
    assert header is not None
    for name in fault.not_understood:
        namespace = etree.QName(name).namespace or ""
        block = etree.SubElement(header, _env("NotUnderstood"), nsmap={"q": namespace})
        block.set("qname", f"q:{etree.QName(name).localname}")
    if fault.upgrade:
        upgrade = etree.SubElement(header, _env("Upgrade"))
        supported = etree.SubElement(upgrade, _env("SupportedEnvelope"))
        supported.set("qname", "soap:Envelope")
    # Fault bodies hold QNames in text and attribute values whose prefixes must stay as
    # declared here, so they are written as built rather than restyled.
    xml = etree.tostring(envelope, encoding="UTF-8", xml_declaration=xml_declaration)
    return HttpAnswer(
        fault.http_status, xml, f'{SOAP_CONTENT_TYPE}; charset=UTF-8; action="{fault.action}"',
    )


def client_soap_version(call: HttpCall) -> str | None:
    """The SOAP version a client speaks (the envelope namespace, :data:`SOAP11` or
    :data:`SOAP12`), for an answer written before, or without, reading its request: its
    envelope's namespace; without a readable envelope its media type (``application/soap+xml``
    is SOAP 1.2's, ``text/xml`` on an empty body SOAP 1.1's); ``None`` when nothing says SOAP.
    The one detection: the proxy, ``ihe serve`` and :func:`render_fault_for` go by it."""
    if call.body:
        try:
            data = decode_content(call.body, call.headers.get("Content-Encoding"))
            root, _ = read_xml(data, call.content_type, source="request body")
        except (ValueError, XmlInputError):
            root = None
        if root is not None and root.tag in ENVELOPES:
            return etree.QName(root).namespace
    media = media_type_of(call.content_type)[0] if call.content_type else ""
    if media == SOAP_CONTENT_TYPE:
        return SOAP12
    return SOAP11 if media == "text/xml" and not call.body else None


def render_fault_for(fault: FaultReply, soap_version: str | None, *,
                     message_id: str | None = None, xml_declaration: bool = True) -> HttpAnswer:
    """``fault`` in the client's SOAP version: ``soap_version`` is the namespace of the
    request's envelope; a SOAP 1.1 client gets :func:`render_soap11_fault` (it would not read
    a SOAP 1.2 fault), everyone else :func:`render_fault`."""
    if soap_version == SOAP11:
        return render_soap11_fault(fault)
    return render_fault(fault, message_id=message_id, xml_declaration=xml_declaration)
