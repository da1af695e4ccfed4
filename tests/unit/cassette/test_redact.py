"""Secrets become named placeholders; every other byte stays; replay fills them back."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ihe_test_util.cassette import (
    Redactor,
    fill_placeholders,
    fill_request,
    find_placeholders,
    load_cassette,
    placeholder,
    placeholders_in_request,
    save_cassette,
    secret_values,
)
from ihe_test_util.cassette.redact import redact_body, redact_xml
from ihe_test_util.config import load_settings
from ihe_test_util.errors import ConfigError
from ihe_test_util.model import Cassette, Headers, Interaction, Request, Response
from ihe_test_util.transport.mtom import Attachment, build_mtom, parse_multipart

from ...conftest import corpus_file

WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd"
PASSWORD = "Tr0ub4dor-3-very-secret"
TOKEN = "TUlJQmlqQ0NBVEdn-secret-token"
ASSERTION_ID = "_secret-assertion-4711"

SOAP = f"""<?xml version="1.0" encoding="UTF-8"?>
<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" xmlns:wsse="{WSSE}">
  <s:Header>
    <wsse:Security>
      <wsse:UsernameToken><wsse:Username>alice</wsse:Username>
        <wsse:Password Type="#PasswordText">{PASSWORD}</wsse:Password></wsse:UsernameToken>
      <wsse:BinarySecurityToken ValueType="x>y" EncodingType="b64">{TOKEN}</wsse:BinarySecurityToken
      >
      <saml2:Assertion xmlns:saml2="urn:oasis:names:tc:SAML:2.0:assertion" ID="{ASSERTION_ID}">
        <saml2:Advice><saml2:Assertion ID="inner"/></saml2:Advice>
        <saml2:Subject><saml2:NameID>alice@example.org</saml2:NameID></saml2:Subject>
      </saml2:Assertion>
      <wsse:Password/>
    </wsse:Security>
  </s:Header>
  <s:Body><Password>not WS-Security: kept</Password></s:Body>
</s:Envelope>
""".encode()
SECRETS = [PASSWORD, TOKEN, ASSERTION_ID, "alice@example.org", "inner"]


def test_ws_security_content_becomes_placeholders_and_nothing_else_changes() -> None:
    redacted = redact_xml(SOAP)
    text = redacted.decode()
    for secret in SECRETS:
        assert secret not in text
    assert '<wsse:Password Type="#PasswordText">[[ihe-secret:wsse_password]]</wsse:Password>' \
        in text
    assert ('<wsse:BinarySecurityToken ValueType="x>y" EncodingType="b64">'
            "[[ihe-secret:wsse_binary_security_token]]</wsse:BinarySecurityToken\n") in text
    assert "      [[ihe-secret:saml_assertion]]\n      <wsse:Password/>" in text
    assert "<Password>not WS-Security: kept</Password>" in text
    # outside the secrets, byte for byte the same document
    start = SOAP.index(b"<saml2:Assertion")
    end = SOAP.index(b"</saml2:Assertion>") + len(b"</saml2:Assertion>")
    assert redacted.replace(b"[[ihe-secret:saml_assertion]]", SOAP[start:end]) == (
        SOAP.replace(PASSWORD.encode(), b"[[ihe-secret:wsse_password]]")
        .replace(TOKEN.encode(), b"[[ihe-secret:wsse_binary_security_token]]")
    )
    assert find_placeholders(redacted) == ["wsse_password", "wsse_binary_security_token",
                                           "saml_assertion"]


def test_bodies_without_secrets_are_returned_untouched() -> None:
    body = b"<a>Password</a>"
    assert redact_body(body, "text/xml") is body


def test_malformed_xml_is_still_redacted_by_the_fallback() -> None:
    broken = SOAP.replace(b"</s:Envelope>", b"</s:Envelop")
    text = redact_body(broken, "application/soap+xml").decode()
    for secret in SECRETS:
        assert secret not in text
    truncated = SOAP[: SOAP.index(b"<saml2:Subject>")]
    assert "alice@example.org" not in redact_body(truncated, None).decode()
    assert ASSERTION_ID not in redact_body(truncated, None).decode()


def test_private_keys_anywhere() -> None:
    body = b"key:\n-----BEGIN RSA PRIVATE KEY-----\nMIIEsecret\n-----END RSA PRIVATE KEY-----\n"
    assert redact_body(body, "text/plain") == b"key:\n[[ihe-secret:private_key]]\n"


def test_headers_and_content_length() -> None:
    body, content_type = build_mtom(SOAP, [Attachment("a@x", "application/pdf", b"%PDF\x00\xff")],
                                    boundary="b1", root_content_id="r@x")
    request = Request("POST", "http://h/p", Headers([
        ("Content-Type", content_type), ("Authorization", "Bearer abc"), ("X-Api-Key", "k1"),
        ("Cookie", "s=1"), ("Content-Length", str(len(body)))]), body)
    redacted = Redactor(extra_headers=["x-api-key"]).request(request)
    assert redacted.headers.get("Authorization") == "[[ihe-secret:authorization]]"
    assert redacted.headers.get("X-Api-Key") == "[[ihe-secret:x_api_key]]"
    assert redacted.headers.get("Cookie") == "[[ihe-secret:cookie]]"
    assert redacted.headers.get("Content-Length") == str(len(redacted.body))
    message = parse_multipart(redacted.body, content_type)
    assert message.attachments[0].content == b"%PDF\x00\xff"
    assert b"[[ihe-secret:saml_assertion]]" in message.root.content
    response = Redactor().response(Response(200, headers=Headers([("Set-Cookie", "a=1"),
                                                                  ("Set-Cookie", "b=2")])))
    assert response.headers.get_all("Set-Cookie") == ["[[ihe-secret:set_cookie]]"] * 2


def test_replay_lists_and_fills_placeholders() -> None:
    request = Redactor().request(Request(
        "POST", "http://h/p", Headers([("Authorization", "Basic x"), ("Content-Length", "1")]),
        SOAP))
    assert placeholders_in_request(request) == [
        "authorization", "wsse_password", "wsse_binary_security_token", "saml_assertion"]
    values = {"authorization": "Basic bmV3", "wsse_password": "pw",
              "wsse_binary_security_token": "tok", "saml_assertion": "<saml2:Assertion/>"}
    filled = fill_request(request, values)
    assert filled.headers.get("Authorization") == "Basic bmV3"
    assert b"<wsse:Password Type=\"#PasswordText\">pw</wsse:Password>" in filled.body
    assert filled.headers.get("Content-Length") == str(len(filled.body))
    assert find_placeholders(filled.body) == []
    with pytest.raises(ConfigError) as caught:
        fill_placeholders(request.body, {})
    assert "secrets.wsse_password" in str(caught.value)
    with pytest.raises(ValueError):
        placeholder("Bad Name")


def test_no_secret_reaches_the_written_file(tmp_path: Path) -> None:
    body, content_type = build_mtom(SOAP, [Attachment("a@x", "application/pdf", b"\x00\xff")],
                                    boundary="b2", root_content_id="r@x")
    cassette = Cassette((Interaction(
        Request("POST", "http://h/p", Headers([("Content-Type", content_type),
                                               ("Authorization", "Bearer " + TOKEN)]), body),
        Response(200, "OK", Headers([("Set-Cookie", "sid=" + PASSWORD)]), SOAP)),))
    path = tmp_path / "c.yaml"
    save_cassette(path, cassette, redactor=Redactor())
    written = path.read_bytes()
    for secret in SECRETS:
        assert secret.encode() not in written
    # ... not even base64-encoded inside the binary MTOM body
    loaded = load_cassette(path).interactions[0]
    for secret in SECRETS:
        assert secret.encode() not in loaded.request.body
        assert secret.encode() not in loaded.response.body


@pytest.mark.corpus
@pytest.mark.parametrize(
    "name",
    ["ITI-18/ITI-18_request_raw.xml", "XUA/GetXAssertion_response_raw.xml",
     "ITI-38/iti38-iti40-request-kj.xml", "XUA/assertion_only.xml"],
)
def test_real_saml_messages_lose_their_assertions(name: str) -> None:
    data = corpus_file(name).read_bytes()
    values = re.findall(rb"<(?:\w+:)?(?:SignatureValue|NameID)\b[^>]*>([^<]{8,})<", data)
    assert values, name
    redacted = redact_body(data, "application/soap+xml")
    for secret in values:
        assert secret not in redacted
    assert not re.search(rb"<(\w+:)?Assertion\b", redacted)
    assert b"[[ihe-secret:saml_assertion]]" in redacted


@pytest.mark.corpus
def test_real_mtom_request_with_saml_in_the_root_part() -> None:
    data = corpus_file("ITI-39/IT_iti-39_request-multipart.txt").read_bytes()
    boundary = data.split(b"\n", 1)[0][2:].strip().decode()
    content_type = f'multipart/related; type="application/xop+xml"; boundary="{boundary}"'
    body = data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    redacted = redact_body(body, content_type)
    assert b"SignatureValue" not in redacted and b"05898597468" not in redacted
    assert b"[[ihe-secret:saml_assertion]]" in parse_multipart(redacted, content_type).root.content
    assert redacted.endswith(body[body.rindex(b"</wsse:Security>"):])


def test_settings_drive_redaction_and_replay_values(tmp_path: Path) -> None:
    config = tmp_path / "ihe.toml"
    config.write_text('[redact]\nheaders = ["X-Api-Key"]\n[secrets]\nsaml_assertion = '
                      '{ env = "IHE_TEST_SAML" }\n')
    settings = load_settings(config, environ={})
    redacted = Redactor.from_settings(settings).request(
        Request("GET", "http://h/", Headers([("X-Api-Key", "k"), ("Cookie", "c")])))
    assert redacted.headers.items() == (("X-Api-Key", "[[ihe-secret:x_api_key]]"),
                                        ("Cookie", "[[ihe-secret:cookie]]"))
    environ = {"IHE_TEST_SAML": "<saml2:Assertion/>"}
    assert secret_values(settings, ["saml_assertion"], environ) == {
        "saml_assertion": "<saml2:Assertion/>"}
    with pytest.raises(ConfigError) as caught:
        secret_values(settings, ["x_api_key"], environ)
    assert "secrets.x_api_key" in str(caught.value)
