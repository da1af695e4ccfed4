"""The transaction catalogue: every entry's rules compile; detection by payload root first."""

from __future__ import annotations

import pytest

from ihe_test_util.compare.rules import compile_rules
from ihe_test_util.ihe.catalogue import (
    CATALOGUE,
    GENERICS,
    LABELS,
    detect_transaction,
    known_ids,
    normalise_id,
    spec_for,
)
from ihe_test_util.ihe.patterns import Pattern, compile_patterns, compile_relative
from ihe_test_util.ihe.verdicts import READERS
from ihe_test_util.model import Headers, Request, Response
from tests.conftest import corpus_file

REQUIRED = {"ITI-41", "ITI-42", "ITI-18", "ITI-43", "ITI-44", "ITI-45", "ITI-47", "ITI-55",
            "ITI-38", "ITI-39"}


def test_catalogue_covers_the_required_transactions_once_each() -> None:
    ids = [spec.id for spec in CATALOGUE]
    assert REQUIRED <= set(ids)
    assert len(ids) == len(set(ids))
    assert set(known_ids()) == set(ids)


@pytest.mark.parametrize("spec", CATALOGUE + GENERICS, ids=lambda s: s.display)
def test_every_entry_compiles_and_names_real_verdict_readers(spec: object) -> None:
    compiled = compile_rules(spec)  # type: ignore[arg-type]
    assert compiled.spec is spec
    for verdict in compiled.verdicts:
        assert verdict.reader in READERS
        if verdict.reader == "count" and verdict.items != "*":
            compile_patterns(verdict.items)
    for text in spec.noise + spec.identifiers + spec.binary:  # type: ignore[attr-defined]
        assert compile_patterns(text)


def test_labels_compile() -> None:
    for label in LABELS:
        Pattern(label.pattern)
        for expression in label.parts.values():
            compile_relative(expression)


@pytest.mark.parametrize(("given", "expected"), [
    ("ITI-18", "ITI-18"), ("iti18", "ITI-18"), ("ITI 55", "ITI-55"), ("iti_43", "ITI-43"),
])
def test_transaction_ids_are_forgiving(given: str, expected: str) -> None:
    assert normalise_id(given) == expected
    assert spec_for(given).id == expected


def test_unknown_transaction_is_a_key_error() -> None:
    with pytest.raises(KeyError):
        spec_for("ITI-99")


@pytest.mark.parametrize(("path", "expected"), [
    ("ITI-18/sq-resp-lc.xml", "ITI-18"),
    ("ITI-18/sq-resp-objectref.xml", "ITI-18"),
    ("ITI-18/connect-DQErr-XDSRegistryBusy-Failure.xml", "ITI-18"),
    ("ITI-38/soap-xcq-resp.xml", "ITI-38"),  # wsa:Action breaks the tie with ITI-18
    ("ITI-39/soap-xret-resp.xml", "ITI-39"),
    ("ITI-41/regresp-suc-err.xml", "ITI-41"),
    ("ITI-42/soap-r-resp.xml", "ITI-42"),
    ("ITI-43/ITI-43_response_raw.xml", "ITI-43"),
    ("ITI-43/connect-DRErr-XDSStoredQueryParamNumber-PartialSuccess.xml", "ITI-43"),
    ("ITI-44/ITI-44_response_raw.xml", "ITI-44"),
    ("ITI-44/Ack.xml", "ITI-44"),
    ("ITI-45/ITI-45_response_raw.xml", "ITI-45"),
    ("ITI-47/ITI-47_response_raw.xml", "ITI-47"),
    ("ITI-9/ok-1_Response.hl7", "ITI-9"),
    ("ITI-9/err-2_Response.hl7", "ITI-9"),  # ACK^Q23
    ("ITI-21/PDQ_Response.hl7", "ITI-21"),
    ("ITI-8/valid-wan-response.hl7v2", "ITI-8"),
    ("ITI-67/Bundle-FindDocumentReferences.json", None),  # FHIR needs the request path
])
def test_detection_from_the_response_alone(path: str, expected: str | None) -> None:
    response = Response(200, body=corpus_file(path).read_bytes())
    assert detect_transaction(response=response) == expected


def test_body_root_wins_over_a_wrong_action() -> None:
    # Quirk 8: wsa:Action says RegistryStoredQuery, the body is a RetrieveDocumentSetRequest.
    request = Request("POST", "/", body=corpus_file("ITI-43/iti43-iti40-request.xml").read_bytes())
    assert detect_transaction(request=request) == "ITI-43"


def test_actions_and_paths_break_ties() -> None:
    xcpd = Request("POST", "/gateway", headers=Headers([(
        "Content-Type", 'application/soap+xml; action='
        '"urn:hl7-org:v3:PRPA_IN201305UV02:CrossGatewayPatientDiscovery"')]),
        body=corpus_file("ITI-55/findpatient.xml").read_bytes())
    response = Response(200, body=corpus_file("ITI-55/FindPatientResponse.xml").read_bytes())
    assert detect_transaction(request=xcpd, response=response) == "ITI-55"
    assert detect_transaction(response=response) == "ITI-47"
    bundle = Response(200, body=corpus_file("ITI-67/Bundle-FindDocumentReferences.json")
                      .read_bytes())
    search = Request("GET", "http://mhd.example/fhir/DocumentReference?patient=1")
    assert detect_transaction(request=search, response=bundle) == "ITI-67"


def test_a_fault_is_recognised_by_its_request() -> None:
    fault = Response(500, body=b"""<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope">
      <s:Body><s:Fault><s:Code><s:Value>s:Sender</s:Value></s:Code>
      <s:Reason><s:Text xml:lang="en">no</s:Text></s:Reason></s:Fault></s:Body></s:Envelope>""")
    request = Request("POST", "/", body=corpus_file("ITI-18/soap-sq-req.xml").read_bytes())
    assert detect_transaction(request=request, response=fault) == "ITI-18"
    assert detect_transaction(response=fault) is None
