"""Signed SAML assertions and wsse:Security headers: verifiable, fresh, secrets kept out."""

from __future__ import annotations

import datetime as dt
import itertools
from pathlib import Path

import pytest
from lxml import etree
from signxml.exceptions import InvalidSignature
from signxml.verifier import XMLVerifier

from ihe_test_util.errors import ConfigError
from ihe_test_util.ihe.namespaces import DS, HL7V3, SAML2, SOAP12, WSSE, WSU
from ihe_test_util.transport.wssecurity import (
    CodedValue,
    SamlIssuer,
    SecurityHeader,
    XuaAttributes,
)

from .saml_keys import signing_pair

NS = {"saml2": SAML2, "ds": DS, "wsse": WSSE, "wsu": WSU, "hl7": HL7V3}
START = dt.datetime(2026, 3, 1, 10, 0, 0, 123456, tzinfo=dt.timezone.utc)


def _ticking_clock(step: dt.timedelta = dt.timedelta(seconds=2)) -> object:
    ticks = itertools.count()
    return lambda: START + step * next(ticks)


def _issuer(**overrides: object) -> SamlIssuer:
    pair = signing_pair()
    settings: dict[str, object] = {
        "issuer": "https://sts.example/idp", "subject": "7601000000001",
        "name_id_format": "urn:oasis:names:tc:SAML:2.0:nameid-format:persistent",
        "name_qualifier": "urn:gs1:gln",
        "audience": "urn:e-health-suisse:token-audience:all-communities",
        "xua": XuaAttributes(
            subject_id="Sarah Stone", organization="Post CH AG",
            organization_id="urn:oid:1.3.6.1.4.1.21367.2017.2.6.19.100.2",
            home_community_id="urn:oid:1.3.6.1.4.1.21367.2017.2.6.19",
            role=CodedValue("HCP", "2.16.756.5.30.1.127.3.10.6", "eHealth Suisse EPR Actors",
                            "Healthcare professional"),
            purpose_of_use=CodedValue("NORM", "2.16.756.5.30.1.127.3.10.5"),
            resource_id="761337610410098484^^^&2.16.756.5.30.1.127.3.10.3&ISO",
        ),
        "clock": _ticking_clock(),
    }
    settings.update(overrides)
    return SamlIssuer(pair.key_pem, pair.cert_pem, **settings)  # type: ignore[arg-type]


def _verify(assertion: etree._Element | bytes) -> etree._Element:
    data = assertion if isinstance(assertion, bytes) else etree.tostring(assertion)
    result = XMLVerifier().verify(data, x509_cert=signing_pair().cert_pem.decode(),
                                  id_attribute="ID")
    assert not isinstance(result, list)
    signed: etree._Element = result.signed_xml
    return signed


def test_assertion_signature_verifies_with_the_certificate() -> None:
    assertion = _issuer().issue()
    signed = _verify(assertion)
    assert signed.tag == f"{{{SAML2}}}Assertion"
    method = assertion.find("ds:Signature/ds:SignedInfo/ds:SignatureMethod", NS)
    assert method is not None
    assert method.get("Algorithm") == "http://www.w3.org/2001/04/xmldsig-more#rsa-sha256"
    reference = assertion.find("ds:Signature/ds:SignedInfo/ds:Reference", NS)
    assert reference is not None
    assert reference.get("URI") == "#" + assertion.get("ID", "")


def test_assertion_content_follows_saml_and_xua() -> None:
    assertion = _issuer().issue()
    # SAML 2.0 schema order: Issuer, Signature, Subject, Conditions, AuthnStatement, Attributes
    assert [etree.QName(c).localname for c in assertion] == [
        "Issuer", "Signature", "Subject", "Conditions", "AuthnStatement", "AttributeStatement"]
    assert assertion.findtext("saml2:Issuer", namespaces=NS) == "https://sts.example/idp"
    name_id = assertion.find("saml2:Subject/saml2:NameID", NS)
    assert name_id is not None and name_id.text == "7601000000001"
    assert name_id.get("NameQualifier") == "urn:gs1:gln"
    conditions = assertion.find("saml2:Conditions", NS)
    assert conditions is not None
    not_before = dt.datetime.fromisoformat(conditions.get("NotBefore", "").replace("Z", "+00:00"))
    not_after = dt.datetime.fromisoformat(
        conditions.get("NotOnOrAfter", "").replace("Z", "+00:00"))
    assert not_after - not_before == dt.timedelta(minutes=15, seconds=1)
    assert assertion.get("IssueInstant") == "2026-03-01T10:00:00.123Z"
    names = assertion.xpath("saml2:AttributeStatement/saml2:Attribute/@Name", namespaces=NS)
    assert "urn:oasis:names:tc:xspa:1.0:subject:subject-id" in names
    assert "urn:ihe:iti:xca:2010:homeCommunityId" in names
    role = assertion.find(".//hl7:Role", NS)
    assert role is not None and role.get("code") == "HCP"
    assert role.get("displayName") == "Healthcare professional"


def test_reissue_gives_fresh_id_and_instant() -> None:
    issuer = _issuer()
    first, second = issuer.issue(), issuer.issue()
    assert first.get("ID") != second.get("ID")
    assert first.get("IssueInstant") != second.get("IssueInstant")
    _verify(second)


def test_tampering_breaks_the_signature() -> None:
    assertion = _issuer().issue()
    name_id = assertion.find("saml2:Subject/saml2:NameID", NS)
    assert name_id is not None
    name_id.text = "someone-else"
    with pytest.raises(InvalidSignature):
        _verify(assertion)


def test_security_header_survives_serialisation_in_an_envelope() -> None:
    header = SecurityHeader(_issuer(), clock=_ticking_clock()).element()
    assert header.get(f"{{{SOAP12}}}mustUnderstand") == "true"
    envelope = etree.Element(f"{{{SOAP12}}}Envelope", nsmap={"soap": SOAP12})
    etree.SubElement(envelope, f"{{{SOAP12}}}Header").append(header)
    reparsed = etree.fromstring(etree.tostring(envelope))
    assertion = reparsed.find(".//saml2:Assertion", NS)
    assert assertion is not None
    _verify(etree.tostring(assertion))
    created = reparsed.findtext(".//wsu:Timestamp/wsu:Created", namespaces=NS)
    expires = reparsed.findtext(".//wsu:Timestamp/wsu:Expires", namespaces=NS)
    assert (created, expires) == ("2026-03-01T10:00:00.123Z", "2026-03-01T10:05:00.123Z")


def test_timestamp_only_header() -> None:
    header = SecurityHeader(None).element()
    assert [etree.QName(c).localname for c in header] == ["Timestamp"]


def test_the_key_never_shows_in_repr() -> None:
    issuer = _issuer()
    assert "PRIVATE KEY" not in repr(issuer)
    assert "PRIVATE KEY" not in repr(SecurityHeader(issuer))


def test_from_files(tmp_path: Path) -> None:
    pair = signing_pair()
    (tmp_path / "sts.key").write_bytes(pair.key_pem)
    (tmp_path / "sts.pem").write_bytes(pair.cert_pem)
    issuer = SamlIssuer.from_files(tmp_path / "sts.key", tmp_path / "sts.pem",
                                   issuer="https://sts", subject="me")
    _verify(issuer.issue())
    with pytest.raises(ConfigError, match="cannot read"):
        SamlIssuer.from_files(tmp_path / "missing.key", tmp_path / "sts.pem",
                              issuer="i", subject="s")


def test_bad_key_material_is_a_config_error() -> None:
    pair, other = signing_pair(), signing_pair("Other STS")
    with pytest.raises(ConfigError, match="not a readable PEM"):
        SamlIssuer(b"not a key", pair.cert_pem, issuer="i", subject="s")
    with pytest.raises(ConfigError, match=r"X\.509"):
        SamlIssuer(pair.key_pem, b"junk", issuer="i", subject="s")
    with pytest.raises(ConfigError, match="does not belong"):
        SamlIssuer(pair.key_pem, other.cert_pem, issuer="i", subject="s")
