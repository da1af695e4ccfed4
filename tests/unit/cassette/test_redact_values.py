"""Configured secret values and tokens a server hands out are redacted wherever they appear,
in exchanges and in the text of results; replay fills an encoded value back encoded."""

from __future__ import annotations

import base64
import logging
from pathlib import Path
from urllib.parse import quote

import pytest

from ihe_test_util.cassette import Redactor, fill_request, placeholders_in_request, secret_values
from ihe_test_util.cassette.redact import (
    configured_secrets,
    redact_body,
    redact_log_records,
    redact_xml,
)
from ihe_test_util.config import load_settings
from ihe_test_util.model import Headers, Request, Response
from ihe_test_util.results import (
    Difference,
    DifferenceKind,
    ExchangeError,
    ExchangeResult,
    Outcome,
    Severity,
)

TOKEN = "tok/9+c=e1&b5"  # characters that URL-encoding and base64 both change
KEY = "key-0c9d8e7f6a5b"
SECRETS = {"api_token": TOKEN, "api_key": KEY}
SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WST = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
SAML2 = "urn:oasis:names:tc:SAML:2.0:assertion"
ASSERTION = (f'<saml2:Assertion xmlns:saml2="{SAML2}" ID="_issued-4711"><saml2:NameID>'
             "subject-4711</saml2:NameID></saml2:Assertion>")


def _forms(value: str) -> list[str]:
    raw = value.encode()
    return [value, quote(value, safe=""), base64.b64encode(raw).decode(),
            base64.urlsafe_b64encode(raw).decode()]


def test_configured_values_and_their_encodings_become_named_placeholders() -> None:
    encoded = base64.b64encode(TOKEN.encode()).decode()
    request = Request(
        "POST", f"http://h/p?access_token={quote(TOKEN, safe='')}&key={KEY}",
        Headers([("X-Echo", f"Bearer {TOKEN}"), ("X-Token-B64", encoded),
                 ("Content-Length", "1")]),
        f"<a>{TOKEN}</a><b>{encoded}</b>".encode())
    redacted = Redactor(secrets=SECRETS).request(request)
    assert redacted.uri == ("http://h/p?access_token=[[ihe-secret:api_token.url]]"
                            "&key=[[ihe-secret:api_key]]")
    assert redacted.headers.get("X-Echo") == "Bearer [[ihe-secret:api_token]]"
    assert redacted.headers.get("X-Token-B64") == "[[ihe-secret:api_token.base64]]"
    assert redacted.body == b"<a>[[ihe-secret:api_token]]</a><b>[[ihe-secret:api_token.base64]]</b>"
    assert redacted.headers.get("Content-Length") == str(len(redacted.body))
    # replay fills each form back the way it was encoded, from the one configured value
    assert placeholders_in_request(redacted) == ["api_token.url", "api_key", "api_token",
                                                 "api_token.base64"]
    filled = fill_request(redacted, SECRETS)
    assert filled.uri == request.uri
    assert filled.headers.get("X-Token-B64") == encoded
    assert filled.body == request.body


def test_secret_values_resolve_encoded_names_from_configuration(tmp_path: Path) -> None:
    config = tmp_path / "ihe.toml"
    config.write_text('[secrets]\napi_token = { env = "T" }\nunset = { env = "NOT_SET" }\n')
    settings = load_settings(config, environ={})
    environ = {"T": TOKEN}
    assert configured_secrets(settings, environ) == {"api_token": TOKEN}
    assert secret_values(settings, ["api_token.url", "api_token.base64"], environ) == {
        "api_token.url": quote(TOKEN, safe=""),
        "api_token.base64": base64.b64encode(TOKEN.encode()).decode()}
    redactor = Redactor.from_settings(settings, environ)
    assert redactor.uri(f"http://h/?t={TOKEN}") == "http://h/?t=[[ihe-secret:api_token]]"


def test_tokens_a_server_returns_are_redacted_in_json_forms_and_urls() -> None:
    body = (b'{"access_token": "eyJhbGciOi.abc", "id_token":"x.y.z", '
            b'"refresh_token" : "r-1\\"2", "token_type": "Bearer", '
            b'"kept": "[[ihe-secret:access_token]]"}')
    redacted = redact_body(body, "application/json")
    assert redacted == (b'{"access_token": "[[ihe-secret:access_token]]", '
                        b'"id_token":"[[ihe-secret:id_token]]", '
                        b'"refresh_token" : "[[ihe-secret:refresh_token]]", '
                        b'"token_type": "Bearer", "kept": "[[ihe-secret:access_token]]"}')
    form = redact_body(b"grant=x&refresh_token=abc&scope=s", "application/x-www-form-urlencoded")
    assert form == b"grant=x&refresh_token=[[ihe-secret:refresh_token]]&scope=s"
    redactor = Redactor()
    assert redactor.uri("http://h/cb?code=1&id_token=a.b.c#frag") == \
        "http://h/cb?code=1&id_token=[[ihe-secret:id_token]]#frag"
    assert redactor.uri("http://h/?my_access_token=x") == "http://h/?my_access_token=x"
    assert redactor.uri("http://h/?access_token=[[ihe-secret:api_token]]") == \
        "http://h/?access_token=[[ihe-secret:api_token]]"


def test_ws_trust_tokens_keep_the_placeholder_of_what_they_hold() -> None:
    def response(token: str) -> bytes:
        return (f'<s:Envelope xmlns:s="{SOAP12}"><s:Body><wst:RequestSecurityTokenResponse '
                f'xmlns:wst="{WST}"><wst:RequestedSecurityToken>{token}'
                f"</wst:RequestedSecurityToken><wst:RequestedProofToken>c2VjcmV0"
                f"</wst:RequestedProofToken></wst:RequestSecurityTokenResponse></s:Body>"
                f"</s:Envelope>").encode()

    with_assertion = redact_xml(response(ASSERTION))
    assert b"subject-4711" not in with_assertion and b"c2VjcmV0" not in with_assertion
    assert b"<wst:RequestedSecurityToken>[[ihe-secret:saml_assertion]]<" in with_assertion
    assert b"<wst:RequestedProofToken>[[ihe-secret:wstrust_proof_token]]<" in with_assertion
    assert redact_xml(with_assertion) == with_assertion  # redacting again changes nothing
    opaque = redact_xml(response("<tok:Opaque xmlns:tok='urn:x'>abc</tok:Opaque>"))
    assert b"<wst:RequestedSecurityToken>[[ihe-secret:wstrust_token]]<" in opaque
    assert redact_xml(opaque) == opaque


def test_result_text_is_redacted_for_every_reporter() -> None:
    redactor = Redactor(secrets=SECRETS)
    fragment = ASSERTION.replace(f' xmlns:saml2="{SAML2}"', "")  # as a report excerpt: no xmlns
    result = ExchangeResult(
        id="c.yaml#0", cassette="c.yaml", index=0, outcome=Outcome.CHANGED,
        recorded_uri="http://h/p?access_token=[[ihe-secret:api_token]]",
        replayed_uri=f"http://h/p?access_token={TOKEN}",
        verdict_replayed={"status": "AA", "detail": [f"echo {KEY}"]},
        differences=(
            Difference("/Envelope/Body/Echo", DifferenceKind.VALUE, Severity.CHANGED,
                       recorded="[[ihe-secret:saml_assertion]]", replayed=fragment,
                       description=f"Bearer {TOKEN} echoed"),
            Difference("/json/access_token", DifferenceKind.VALUE, Severity.CHANGED,
                       recorded='{"access_token": "a-1"}', replayed="id_token=zz"),
        ),
        error=ExchangeError("TransportError", f"refused: http://h/p?access_token={TOKEN}"),
    )
    redacted = redactor.result(result)
    text = repr(redacted)
    for secret in [*_forms(TOKEN), KEY, "subject-4711", "_issued-4711", "a-1", "zz"]:
        assert secret not in text, secret
    assert redacted.replayed_uri == "http://h/p?access_token=[[ihe-secret:api_token]]"
    assert redacted.differences[0].replayed == "[[ihe-secret:saml_assertion]]"
    assert redacted.verdict_replayed == {"status": "AA", "detail": ["echo [[ihe-secret:api_key]]"]}
    assert redactor.result(redacted) == redacted
    assert redactor.text("nothing secret <a>Password</a>") == "nothing secret <a>Password</a>"


def test_responses_echoing_configured_values_are_redacted() -> None:
    response = Response(200, headers=Headers([("X-Seen", f"Authorization: Bearer {TOKEN}")]),
                        body=f"<echo>{KEY}</echo>".encode())
    redacted = Redactor(secrets=SECRETS).response(response)
    assert redacted.headers.get("X-Seen") == "Authorization: Bearer [[ihe-secret:api_token]]"
    assert redacted.body == b"<echo>[[ihe-secret:api_key]]</echo>"


def test_log_messages_are_redacted_whatever_handler_writes_them(
        caplog: pytest.LogCaptureFixture) -> None:
    redact_log_records(Redactor(secrets=SECRETS))
    try:
        with caplog.at_level(logging.INFO, logger="ihe_test_util.test"):
            logging.getLogger("ihe_test_util.test").info(
                "GET %s from %s", f"/p?access_token={TOKEN}", KEY)
    finally:
        redact_log_records(None)
    assert caplog.messages == ["GET /p?access_token=[[ihe-secret:api_token]] from "
                               "[[ihe-secret:api_key]]"]


@pytest.mark.parametrize("coding", ["gzip", "deflate", "br", "gzip, br"])
def test_a_content_coded_body_is_redacted_inside_its_coding(coding: str) -> None:
    """The cassette's readable view decodes gzip / deflate / br: a secret inside must not
    survive there, nor in the exact bytes."""
    from ihe_test_util.transport.content import decode_content, encode_content

    plain = (f'{{"resourceType": "Parameters", "access_token": "{TOKEN}", '
             f'"note": "key {KEY}"}}').encode()
    body = encode_content(plain, coding)
    headers = Headers([("Content-Type", "application/json"), ("Content-Encoding", coding),
                       ("Content-Length", str(len(body)))])
    redacted = Redactor(secrets=SECRETS).response(Response(200, "OK", headers, body))
    decoded = decode_content(redacted.body, coding)
    assert TOKEN.encode() not in decoded and KEY.encode() not in decoded
    assert b"[[ihe-secret:" in decoded and b'"resourceType": "Parameters"' in decoded
    assert redacted.headers.get("Content-Length") == str(len(redacted.body))
    clean = Response(200, "OK", headers, encode_content(b'{"resourceType": "Patient"}', coding))
    assert Redactor(secrets=SECRETS).response(clean) is clean  # nothing to replace: same bytes
