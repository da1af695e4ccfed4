"""Optional WS-Security: a signed SAML 2.0 assertion (XUA, ITI-40) and a ``wsu:Timestamp``.

An assertion is XML-signed and expires (15 minutes in real EPR captures), so it can never be
replayed or edited in place: it is issued fresh for every request from a configured key and
certificate and is never written to a cassette. Signing uses signxml (enveloped signature,
RSA-SHA256, exclusive C14N, ``Reference URI="#<assertion ID>"``), the profile SAML 2.0
requires and IHE XUA receivers verify.

The private key lives only in memory: it is excluded from ``repr`` so it cannot reach a log.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from lxml import etree
from signxml.algorithms import CanonicalizationMethod, SignatureConstructionMethod
from signxml.signer import XMLSigner

from ihe_test_util.errors import ConfigError
from ihe_test_util.ihe.namespaces import DS, HL7V3, SAML2, SOAP12, WSSE, WSU, XSI, qname

XSD = "http://www.w3.org/2001/XMLSchema"
PASSWORD_PROTECTED_TRANSPORT = "urn:oasis:names:tc:SAML:2.0:ac:classes:PasswordProtectedTransport"
BEARER = "urn:oasis:names:tc:SAML:2.0:cm:bearer"
NAMEID_UNSPECIFIED = "urn:oasis:names:tc:SAML:1.1:nameid-format:unspecified"

Clock = Callable[[], dt.datetime]


def utc_now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def xs_datetime(moment: dt.datetime) -> str:
    """``2020-09-22T11:18:57.712Z``: UTC, milliseconds, as SAML and WS-Security write it."""
    utc = moment.astimezone(dt.timezone.utc)
    return utc.strftime("%Y-%m-%dT%H:%M:%S.") + f"{utc.microsecond // 1000:03d}Z"


@dataclass(frozen=True)
class CodedValue:
    """An HL7 v3 CE value as XUA carries it (``Role``, ``PurposeOfUse``)."""

    code: str
    code_system: str
    code_system_name: str | None = None
    display_name: str | None = None


#: XUA attributes (IHE ITI TF-2 3.40.4.1.2): field of :class:`XuaAttributes` -> SAML
#: attribute name and how the value is written (``xsi:type`` for strings, an HL7 element name
#: for coded values).
XUA_ATTRIBUTES: Mapping[str, tuple[str, str]] = {
    "subject_id": ("urn:oasis:names:tc:xspa:1.0:subject:subject-id", "xsd:string"),
    "organization": ("urn:oasis:names:tc:xspa:1.0:subject:organization", "xsd:string"),
    "organization_id": ("urn:oasis:names:tc:xspa:1.0:subject:organization-id", "xsd:anyURI"),
    "home_community_id": ("urn:ihe:iti:xca:2010:homeCommunityId", "xsd:anyURI"),
    "role": ("urn:oasis:names:tc:xacml:2.0:subject:role", "hl7:Role"),
    "purpose_of_use": ("urn:oasis:names:tc:xspa:1.0:subject:purposeofuse", "hl7:PurposeOfUse"),
    "resource_id": ("urn:oasis:names:tc:xacml:2.0:resource:resource-id", "xsd:string"),
}


@dataclass(frozen=True)
class XuaAttributes:
    """The optional attribute statement of an XUA assertion (all fields optional)."""

    subject_id: str | None = None
    organization: str | None = None
    organization_id: str | None = None
    home_community_id: str | None = None
    role: CodedValue | None = None
    purpose_of_use: CodedValue | None = None
    resource_id: str | None = None

    def items(self) -> list[tuple[str, str, str | CodedValue]]:
        """``(attribute name, value type, value)`` for every field that is set, in table order."""
        out: list[tuple[str, str, str | CodedValue]] = []
        for name, (attribute, kind) in XUA_ATTRIBUTES.items():
            value = getattr(self, name)
            if value is not None:
                out.append((attribute, kind, value))
        return out


@dataclass(frozen=True)
class SamlIssuer:
    """Issues a fresh signed SAML 2.0 assertion on every :meth:`issue` call.

    ``key_pem`` / ``cert_pem``: the RSA signing key and its X.509 certificate (PEM).
    ``issuer``: the ``saml2:Issuer``; ``subject``: the ``NameID`` of the user or system.
    """

    key_pem: bytes = field(repr=False)
    cert_pem: bytes = field(repr=False)
    issuer: str
    subject: str
    name_id_format: str = NAMEID_UNSPECIFIED
    name_qualifier: str | None = None
    audience: str | None = None
    lifetime: dt.timedelta = dt.timedelta(minutes=15)
    authn_context: str = PASSWORD_PROTECTED_TRANSPORT
    xua: XuaAttributes | None = None
    key_passphrase: bytes | None = field(default=None, repr=False)
    clock: Clock = field(default=utc_now, repr=False, compare=False)
    # loaded once: loading an RSA key checks it, which costs more than signing
    _key: rsa.RSAPrivateKey = field(init=False, repr=False, compare=False)
    _cert: x509.Certificate = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        key = _load_key(self.key_pem, self.key_passphrase)
        cert = _load_cert(self.cert_pem)
        if not isinstance(key, rsa.RSAPrivateKey):
            raise ConfigError("the SAML signing key is not an RSA key", key="saml.key",
                              hint="XUA receivers expect RSA-SHA256 signatures: use an RSA key")
        if key.public_key().public_numbers() != cert.public_key().public_numbers():  # type: ignore[union-attr]
            raise ConfigError("the SAML signing key does not belong to the certificate",
                              key="saml.cert", hint="configure the key and certificate pair")
        if self.lifetime <= dt.timedelta(0):
            raise ConfigError("the assertion lifetime must be positive", key="saml.lifetime")
        object.__setattr__(self, "_key", key)
        object.__setattr__(self, "_cert", cert)

    @classmethod
    def from_files(cls, key_path: str | Path, cert_path: str | Path, **settings: object) -> (
        SamlIssuer
    ):
        """Read the key and certificate from PEM files (other settings as keywords)."""
        contents: list[bytes] = []
        for name, path in (("saml.key", key_path), ("saml.cert", cert_path)):
            try:
                contents.append(Path(path).read_bytes())
            except OSError as exc:
                raise ConfigError(f"cannot read {path}: {exc.strerror}", key=name) from None
        return cls(contents[0], contents[1], **settings)  # type: ignore[arg-type]

    def issue(self) -> etree._Element:
        """A new signed ``saml2:Assertion`` element (fresh ``ID`` and instants)."""
        now = self.clock()
        assertion_id = f"_{uuid.uuid4()}"
        assertion = self._unsigned(assertion_id, now)
        signer = XMLSigner(
            method=SignatureConstructionMethod.enveloped,
            signature_algorithm="rsa-sha256", digest_algorithm="sha256",
            c14n_algorithm=CanonicalizationMethod.EXCLUSIVE_XML_CANONICALIZATION_1_0,
        )
        signed: etree._Element = signer.sign(
            assertion, key=self._key, cert=[self._cert], reference_uri=assertion_id,
            id_attribute="ID",
        )
        return signed

    def _unsigned(self, assertion_id: str, now: dt.datetime) -> etree._Element:
        def saml(parent: etree._Element, local: str, text: str | None = None,
                 **attributes: str) -> etree._Element:
            element = etree.SubElement(parent, qname(SAML2, local), attributes)
            element.text = text
            return element

        issued, expires = xs_datetime(now), xs_datetime(now + self.lifetime)
        not_before = xs_datetime(now - dt.timedelta(seconds=1))
        assertion = etree.Element(
            qname(SAML2, "Assertion"), {"ID": assertion_id, "IssueInstant": issued,
                                        "Version": "2.0"},
            nsmap={"saml2": SAML2, "xsd": XSD, "xsi": XSI},
        )
        saml(assertion, "Issuer", self.issuer)
        etree.SubElement(assertion, qname(DS, "Signature"), {"Id": "placeholder"},
                         nsmap={"ds": DS})
        subject = saml(assertion, "Subject")
        name_id = saml(subject, "NameID", self.subject, Format=self.name_id_format)
        if self.name_qualifier:
            name_id.set("NameQualifier", self.name_qualifier)
        confirmation = saml(subject, "SubjectConfirmation", Method=BEARER)
        saml(confirmation, "SubjectConfirmationData", NotOnOrAfter=expires)
        conditions = saml(assertion, "Conditions", NotBefore=not_before, NotOnOrAfter=expires)
        if self.audience:
            saml(saml(conditions, "AudienceRestriction"), "Audience", self.audience)
        statement = saml(assertion, "AuthnStatement", AuthnInstant=issued,
                         SessionIndex=f"_{uuid.uuid4()}")
        saml(saml(statement, "AuthnContext"), "AuthnContextClassRef", self.authn_context)
        if self.xua is not None and self.xua.items():
            attributes = saml(assertion, "AttributeStatement")
            for name, kind, value in self.xua.items():
                _attribute_value(saml(attributes, "Attribute", Name=name), kind, value)
        return assertion


def _attribute_value(attribute: etree._Element, kind: str, value: str | CodedValue) -> None:
    element = etree.SubElement(attribute, qname(SAML2, "AttributeValue"))
    if isinstance(value, CodedValue):
        coded = etree.SubElement(element, qname(HL7V3, kind.split(":", 1)[1]),
                                 nsmap={"hl7": HL7V3})
        coded.set("code", value.code)
        coded.set("codeSystem", value.code_system)
        if value.code_system_name:
            coded.set("codeSystemName", value.code_system_name)
        if value.display_name:
            coded.set("displayName", value.display_name)
        coded.set(qname(XSI, "type"), "CE")
    else:
        element.set(qname(XSI, "type"), kind)
        element.text = value


@dataclass(frozen=True)
class SecurityHeader:
    """Builds a fresh ``wsse:Security`` SOAP header block for each request.

    Holds a ``wsu:Timestamp`` (``timestamp_ttl``; None leaves it out) and, when an ``issuer``
    is configured, a newly issued signed SAML assertion.
    """

    issuer: SamlIssuer | None = None
    timestamp_ttl: dt.timedelta | None = dt.timedelta(minutes=5)
    clock: Clock = field(default=utc_now, repr=False, compare=False)

    def element(self, soap_namespace: str = SOAP12) -> etree._Element:
        security = etree.Element(qname(WSSE, "Security"), nsmap={"wsse": WSSE, "wsu": WSU})
        security.set(qname(soap_namespace, "mustUnderstand"),
                     "true" if soap_namespace == SOAP12 else "1")
        if self.timestamp_ttl is not None:
            now = self.clock()
            timestamp = etree.SubElement(security, qname(WSU, "Timestamp"),
                                         {qname(WSU, "Id"): f"TS-{uuid.uuid4()}"})
            etree.SubElement(timestamp, qname(WSU, "Created")).text = xs_datetime(now)
            etree.SubElement(timestamp, qname(WSU, "Expires")).text = xs_datetime(
                now + self.timestamp_ttl)
        if self.issuer is not None:
            security.append(self.issuer.issue())
        return security


def security_headers(envelope: etree._Element) -> Sequence[etree._Element]:
    """Every ``wsse:Security`` block in the envelope's SOAP header (SOAP 1.2 or 1.1)."""
    return [
        block
        for header in envelope if isinstance(header.tag, str)
        and etree.QName(header).localname == "Header"
        for block in header.iterchildren(qname(WSSE, "Security"))
    ]


def _load_key(data: bytes, passphrase: bytes | None) -> object:
    try:
        return serialization.load_pem_private_key(data, password=passphrase)
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"the SAML signing key is not a readable PEM private key ({exc})", key="saml.key",
            hint="give an unencrypted PEM key, or its passphrase",
        ) from None


def _load_cert(data: bytes) -> x509.Certificate:
    try:
        return x509.load_pem_x509_certificate(data)
    except ValueError as exc:
        raise ConfigError(f"the SAML certificate is not a PEM X.509 certificate ({exc})",
                          key="saml.cert") from None
