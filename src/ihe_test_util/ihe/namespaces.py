"""Namespace URIs used across IHE ITI SOAP transactions (prefixes never matter; URIs do)."""

from __future__ import annotations

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/"
WSA = "http://www.w3.org/2005/08/addressing"
XOP = "http://www.w3.org/2004/08/xop/include"
XDSB = "urn:ihe:iti:xds-b:2007"
LCM = "urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
HL7V3 = "urn:hl7-org:v3"
WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd"
SAML2 = "urn:oasis:names:tc:SAML:2.0:assertion"
DS = "http://www.w3.org/2000/09/xmldsig#"
FHIR = "http://hl7.org/fhir"
XSI = "http://www.w3.org/2001/XMLSchema-instance"

#: Conventional prefixes, for XPath in rules and for messages we build.
PREFIXES: dict[str, str] = {
    "soap": SOAP12,
    "soap11": SOAP11,
    "wsa": WSA,
    "xop": XOP,
    "xdsb": XDSB,
    "lcm": LCM,
    "query": QUERY,
    "rim": RIM,
    "rs": RS,
    "hl7": HL7V3,
    "wsse": WSSE,
    "wsu": WSU,
    "saml2": SAML2,
    "ds": DS,
    "fhir": FHIR,
    "xsi": XSI,
}


def qname(namespace: str, local: str) -> str:
    """Clark notation ``{namespace}local``, as lxml uses for tags."""
    return f"{{{namespace}}}{local}"
