"""Verdict fields read from real corpus messages, including the quirks of ihe-domain.md §7."""

from __future__ import annotations

from typing import Any

import pytest

from ihe_test_util.compare import compare_responses
from ihe_test_util.model import Response
from tests.conftest import corpus_file


def verdict(path: str) -> dict[str, Any]:
    response = Response(200, body=corpus_file(path).read_bytes())
    comparison = compare_responses(response, response)
    assert comparison.verdict_recorded is not None
    return dict(comparison.verdict_recorded)


@pytest.mark.parametrize(("path", "expected"), [
    # Success with an Error entry: inconsistent, but both fields are read as sent.
    ("ITI-41/regresp-suc-err.xml",
     {"registry_status": "Success", "error_codes": ["XDSUnknownPatientId:Error"]}),
    ("ITI-41/regresp-fail-noerr.xml", {"registry_status": "Failure", "error_codes": []}),
    # PartialSuccess under the ebXML URN (openxds), abbreviated with '......'.
    ("ITI-18/InitiatingGatewayResponse.xml",
     {"registry_status": "PartialSuccess", "error_codes": ["XDSUnavailableCommunity:Error"],
      "result_count": 2}),
    # Bare severity "Error" (CONNECT mocks) inside a retrieve response.
    ("ITI-43/connect-DRErr-XDSStoredQueryParamNumber-PartialSuccess.xml",
     {"registry_status": "PartialSuccess", "error_codes": ["XDSStoredQueryParamNumber:Error"],
      "result_count": 0}),
    ("ITI-18/connect-DQErr-XDSTooManyResults-Failure.xml",
     {"registry_status": "Failure", "result_count": 0}),
    ("ITI-18/sq-resp-objectref.xml", {"registry_status": "Success", "result_count": 6}),
    ("ITI-43/soap-ret-resp.xml", {"registry_status": "Success", "result_count": 2}),
    # HL7v3 acknowledgement as a child element, enhanced-mode codes.
    ("ITI-44/ITI-44_response_raw.xml", {"ack_code": "CA"}),
    ("ITI-44/AddPIDResponse-Sample-Failure.xml", {"ack_code": "CE"}),
    ("ITI-45/ITI-45_response_raw.xml",
     {"ack_code": "AA", "query_response_code": "OK", "result_count": 1}),
    ("ITI-47/02_PDQQuery1Response.xml", {"query_response_code": "OK", "result_count": 7}),
    # Real-world "no match": OK with zero results (the TF says NF).
    ("ITI-47/03_PDQQueryEmptyResponse.xml", {"query_response_code": "OK", "result_count": 0}),
    # HL7 v2.
    ("ITI-9/ok-1_Response.hl7",
     {"msa_code": "AA", "query_response_code": "OK", "result_count": 1}),
    ("ITI-9/err-1_Response.hl7", {"msa_code": "AE", "query_response_code": "AE"}),
    ("ITI-9/err-2_Response.hl7", {"msa_code": "AR"}),
    ("ITI-8/invalid-wan-response.hl7v2", {"msa_code": "CE"}),
    # FHIR, JSON and XML.
    ("ITI-67/Bundle-FindDocumentReferences.json", {"bundle_total": 1}),
    ("ITI-83/pixm-response-error-example.xml", {"outcome_severity": "error"}),
])
def test_corpus_verdicts(path: str, expected: dict[str, Any]) -> None:
    fields = verdict(path)
    assert fields["parseable"] is True
    for name, value in expected.items():
        assert fields[name] == value, name


def test_soap_fault_code_and_subcode() -> None:
    body = b"""<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"
        xmlns:w="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd">
      <e:Body><e:Fault><e:Code><e:Value>e:Sender</e:Value><e:Subcode>
      <e:Value>w:InvalidSecurity</e:Value></e:Subcode></e:Code>
      <e:Reason><e:Text xml:lang="en">expired at 11:33:57</e:Text></e:Reason></e:Fault></e:Body>
    </e:Envelope>"""
    response = Response(500, body=body)
    fields = compare_responses(response, response, transaction="ITI-18").verdict_recorded
    assert fields is not None
    assert fields["soap_fault"] == "Sender/InvalidSecurity"
    assert fields["http_status"] == 500
    assert fields["registry_status"] is None


def test_unparseable_response_has_no_fields_but_says_so() -> None:
    response = Response(502, body=b"<html><body>Bad gateway")
    fields = compare_responses(response, response, transaction="ITI-18").verdict_recorded
    assert fields is not None
    assert fields["parseable"] is False
    assert fields["registry_status"] is None
