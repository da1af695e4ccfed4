"""Replay compares the replayed exchange redacted, like its recording: a token the server
hands out is a placeholder on both sides, neither a difference nor a value in a report."""

from __future__ import annotations

import uuid

from ihe_test_util.cassette import Redactor
from ihe_test_util.model import Headers, Request, Response
from ihe_test_util.replay.session import RuleBoundComparer
from ihe_test_util.results import Outcome

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WST = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
SAML2 = "urn:oasis:names:tc:SAML:2.0:assertion"
TOKEN = "tok-1a2b3c4d5e6f"


def _issued(echo: str) -> Response:
    assertion = (f'<saml2:Assertion xmlns:saml2="{SAML2}" ID="_{uuid.uuid4().hex}">'
                 f"<saml2:NameID>{uuid.uuid4().hex}</saml2:NameID></saml2:Assertion>")
    return Response(200, headers=Headers([("Content-Type", "application/soap+xml")]), body=(
        f'<s:Envelope xmlns:s="{SOAP12}"><s:Body><wst:RequestSecurityTokenResponse '
        f'xmlns:wst="{WST}"><wst:RequestedSecurityToken>{assertion}'
        f"</wst:RequestedSecurityToken><Echo>{echo}</Echo></wst:RequestSecurityTokenResponse>"
        f"</s:Body></s:Envelope>").encode())


def _compare(comparer: RuleBoundComparer) -> tuple[Outcome, str]:
    redactor = Redactor(secrets={"api_token": TOKEN})
    recorded = redactor.response(_issued(f"Bearer {TOKEN}"))
    request = Request("POST", "http://h/sts", body=b"<x/>")
    comparison = comparer(recorded, _issued(f"Bearer {TOKEN}"), transaction=None,
                          recorded_request=request, replayed_request=request, cassette=None,
                          value_map={})
    return comparison.outcome, repr(comparison.differences)


def test_a_fresh_token_and_an_echoed_secret_compare_equal_to_the_recording() -> None:
    outcome, differences = _compare(RuleBoundComparer(redactor=Redactor(
        secrets={"api_token": TOKEN})))
    assert outcome is Outcome.PASS, differences


def test_without_redaction_the_fresh_token_is_a_difference_showing_secrets() -> None:
    outcome, differences = _compare(RuleBoundComparer())
    assert outcome is not Outcome.PASS
    assert TOKEN in differences or "Assertion" in differences
