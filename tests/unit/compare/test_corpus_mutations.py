"""Real corpus responses with written mutations: noise -> pass, payload -> changed,
verdict -> regression. Each case also checks where the comparer says the difference is."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from ihe_test_util.compare import compare_responses
from ihe_test_util.results import Outcome, Severity
from tests.unit.compare.helpers import (
    Mutation,
    chain,
    compare_captures,
    load,
    raw,
    regex,
    remove,
    rename_registry_ids,
    reorder,
    replace,
    reverse_children,
)


@dataclass(frozen=True)
class Case:
    name: str
    path: str
    mutation: Mutation
    outcome: Outcome
    where: str | None = None  # a substring of the first difference's path
    says: str | None = None  # a substring of the first difference's description


def case_id(case: Case) -> str:
    return case.name


NOISE = [
    Case("soap MessageID + RelatesTo", "ITI-41/ITI-41_response_raw.xml",
         chain(replace("3dbfa2b7-3cd6", "00000000-0000"), replace("d22ebb69", "11111111")),
         Outcome.PASS),
    Case("MTOM boundary and root Content-ID", "ITI-41/ITI-41_response_raw.xml",
         chain(replace("uuid:2a1acced-0234-4a54-8dd3-b9f9b753169c",
                       "MIMEBoundary_42", count=-1),
               replace("root.message@cxf.apache.org", "0.root@axis2", count=-1)),
         Outcome.PASS),
    Case("hl7v3 message id, creationTime, targetMessage, queryId",
         "ITI-45/ITI-45_response_raw.xml",
         chain(replace('extension="30" root="1.2.3.4.5"', 'extension="31" root="1.2.3.4.5"'),
               replace("20230912151951", "20240101000000"),
               replace('extension="1694523036420"', 'extension="1700000000000"'),
               replace('extension="1694523036421"', 'extension="1700000000001"', count=2)),
         Outcome.PASS),
    Case("malformed creationTime (EPR quirk) changes", "ITI-44/ITI-44_response_raw.xml",
         chain(replace("202092393350", "202192393351"),
               replace("03a231cc-c38e", "99999999-c38e")),
         Outcome.PASS),
    Case("registry entryUUIDs renamed consistently", "ITI-18/sq-resp-lc.xml",
         rename_registry_ids, Outcome.PASS),
    Case("RegistryObjectList in another order", "ITI-18/sq-resp-lc.xml",
         reverse_children("//rim:RegistryObjectList"), Outcome.PASS),
    Case("slots, classifications, values in another order", "ITI-18/sq-resp-lc.xml",
         chain(reorder("(//rim:ExtrinsicObject)[1]/rim:Slot"),
               reorder("(//rim:ExtrinsicObject)[2]/rim:Classification"),
               reorder("(//rim:ExtrinsicObject)[1]/rim:ExternalIdentifier"),
               reverse_children("//rim:ValueList")),
         Outcome.PASS),
    Case("ObjectRefs renamed and reordered", "ITI-18/sq-resp-objectref.xml",
         chain(rename_registry_ids, reverse_children("//rim:RegistryObjectList")),
         Outcome.PASS),
    Case("prefixes, whitespace and attribute order", "ITI-18/sq-resp-lc.xml",
         chain(replace(b"<rim:", b"<ns3:", count=-1), replace(b"</rim:", b"</ns3:", count=-1),
               replace(b"xmlns:rim=", b"xmlns:ns3="), regex(r">\s+<", "><"),
               replace('isOpaque="false"\n                        home=""',
                       'home="" isOpaque="false"')),
         Outcome.PASS),
    Case("RegistryError codeContext and stack-trace location", "ITI-41/regresp-suc-err.xml",
         chain(replace("PatientId 777", "PatientId 778"),
               replace("SubmitObjectsRequest.java:484", "SubmitObjectsRequest.java:501")),
         Outcome.PASS),
    Case("PDQ subjects in another order, patient ids reordered",
         "ITI-47/02_PDQQuery1Response.xml",
         chain(reorder("//hl7:controlActProcess/hl7:subject"),
               reorder("//hl7:patientPerson[count(hl7:asOtherIDs) > 1]/hl7:asOtherIDs")),
         Outcome.PASS),
    Case("hl7v2 MSH-7 / MSH-10 and MSA-2 echo", "ITI-9/ok-2_Response.hl7",
         chain(replace("20081120123441", "20250101000000"), replace("|205204|", "|999999|"),
               replace("MSA|AA|10501108", "MSA|AA|10501199")),
         Outcome.PASS),
    Case("hl7v2 PID-3 repetitions in another order", "ITI-9/ok-2_Response.hl7",
         replace("79471^^^HZLN&2.16.840.1.113883.3.37.4.1.1.2.411.1&ISO^PI~"
                 "78912^^^PKLN&2.16.840.1.113883.3.37.4.1.1.2.511.1&ISO^PI",
                 "78912^^^PKLN&2.16.840.1.113883.3.37.4.1.1.2.511.1&ISO^PI~"
                 "79471^^^HZLN&2.16.840.1.113883.3.37.4.1.1.2.411.1&ISO^PI"),
         Outcome.PASS),
    Case("FHIR ids, lastUpdated and fullUrl", "ITI-67/Bundle-FindDocumentReferences.json",
         chain(replace('"lastUpdated": "2020-10-14T07:56:23.916+00:00"',
                       '"lastUpdated": "2024-01-01T00:00:00Z"'),
               replace('"id": "Bundle-FindDocumentReferences"', '"id": "b-2"'),
               replace('"fullUrl": "urn:uuid:50383ae5-49e5-4dea-b0e6-660cb9e7b91f"',
                       '"fullUrl": "urn:uuid:11111111-49e5-4dea-b0e6-660cb9e7b91f"'),
               replace('"id": "50383ae5-49e5-4dea-b0e6-660cb9e7b91f"', '"id": "srv-42"')),
         Outcome.PASS),
]

PAYLOAD = [
    Case("DocumentEntry creationTime slot", "ITI-18/sq-resp-lc.xml",
         replace("<rim:Value>20061224</rim:Value>", "<rim:Value>20061225</rim:Value>"),
         Outcome.CHANGED, "ExtrinsicObject[1]/Slot[2]/ValueList/Value",
         "DocumentEntry 1.42.20100312104638.15 slot creationTime: 20061224 -> 20061225"),
    Case("DocumentEntry mimeType", "ITI-18/sq-resp-lc.xml",
         replace('mimeType="text/xml"', 'mimeType="application/pdf"'), Outcome.CHANGED,
         "ExtrinsicObject[1]/@mimeType", "mimeType: text/xml -> application/pdf"),
    Case("classification code", "ITI-18/sq-resp-lc.xml",
         replace('nodeRepresentation="Dialysis"', 'nodeRepresentation="Cardiology"'),
         Outcome.CHANGED, "ExtrinsicObject[1]"),
    Case("a reference points at another object", "ITI-18/sq-resp-lc.xml",
         replace('classifiedObject="urn:uuid:974330cc-26ff-4ef8-aca5-f71efc3f1fb0"\n'
                 '                           nodeRepresentation="History and Physical"',
                 'classifiedObject="urn:uuid:0bb95d7b-14cb-4da5-896f-af3be8707c03"\n'
                 '                           nodeRepresentation="History and Physical"'),
         Outcome.CHANGED, "@classifiedObject", "reference changed target"),
    Case("patient name", "ITI-47/ITI-47_response_raw.xml",
         replace("Dylan Jose", "Dylan Joe"), Outcome.CHANGED, "patientPerson/name/given",
         "Dylan Jose -> Dylan Joe"),
    Case("acknowledgement AA -> CA is the same class", "ITI-47/ITI-47_response_raw.xml",
         replace('<ns1:typeCode code="AA"/>', '<ns1:typeCode code="CA"/>'), Outcome.CHANGED,
         "acknowledgement/typeCode/@code", "acknowledgement: AA -> CA"),
    Case("PartialSuccess spelled the IHE way", "ITI-18/InitiatingGatewayResponse.xml",
         replace("urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:PartialSuccess",
                 "urn:ihe:iti:2007:ResponseStatusType:PartialSuccess"),
         Outcome.CHANGED, "/AdhocQueryResponse/@status"),
    Case("per-document error location (ITI-43: a DocumentUniqueId)",
         "ITI-43/connect-DRErr-XDSStoredQueryParamNumber-PartialSuccess.xml",
         replace("transactions.RetrieveDocumentSet", "transactions.Other"), Outcome.CHANGED,
         "RegistryError/@location"),
    Case("retrieved document bytes (inline base64)", "ITI-43/soap-ret-resp.xml",
         replace("UjBsR09EbGhjZ0dTQUxNQUFBUUNBRU1tQ1p0dU1GUXhEUzhi",
                 "UjBsR09EbGhjZ0dTQUxNQUFBUUNBRU1tQ1p0dU1GUXhEUzhj"), Outcome.CHANGED,
         "/DocumentResponse[", "sha256:"),
    Case("hl7v2 patient name", "ITI-21/PDQ_Response.hl7",
         replace("Beckenbauer^Michael", "Beckenbauer^Franz"), Outcome.CHANGED,
         "/HL7v2/PID[1]/PID.5/PID.5.2",
         "PID-5: Beckenbauer^Michael^Joachim^^^^L -> Beckenbauer^Franz^Joachim^^^^L"),
    Case("FHIR DocumentReference description", "ITI-67/Bundle-FindDocumentReferences.json",
         replace('"description": "2-7-MedicationCard"', '"description": "2-7-Other"'),
         Outcome.CHANGED, "description/@value",
         '"2-7-MedicationCard" -> "2-7-Other"'),
    Case("response wsa:Action", "ITI-43/ITI-43_response_raw.xml",
         replace("<wsa:Action>urn:ihe:iti:2007:RetrieveDocumentSetResponse",
                 "<wsa:Action>urn:ihe:iti:2007:CrossGatewayRetrieveResponse"),
         Outcome.CHANGED, "/Envelope/Header/Action"),
]

VERDICT = [
    Case("registry status Success -> Failure", "ITI-18/sq-resp-lc.xml",
         replace("ResponseStatusType:Success", "ResponseStatusType:Failure"), Outcome.REGRESSION,
         "/AdhocQueryResponse/@status", "registry status Success -> Failure"),
    Case("one ExtrinsicObject fewer", "ITI-18/sq-resp-lc.xml",
         remove("//rim:ExtrinsicObject[2]"), Outcome.REGRESSION,
         "/AdhocQueryResponse/RegistryObjectList", "result count 2 -> 1"),
    Case("RegistryError code", "ITI-41/regresp-suc-err.xml",
         replace('errorCode="XDSUnknownPatientId"', 'errorCode="XDSRegistryError"'),
         Outcome.REGRESSION, "RegistryErrorList", "added XDSRegistryError:Error"),
    Case("RegistryError severity", "ITI-41/regresp-suc-err.xml",
         replace("ErrorSeverityType:Error", "ErrorSeverityType:Warning"), Outcome.REGRESSION,
         "RegistryErrorList"),
    Case("bare severity Error -> URN Error is not a change of severity",
         "ITI-43/connect-DRErr-XDSStoredQueryParamNumber-PartialSuccess.xml",
         replace('severity="Error"', 'severity="urn:oasis:names:tc:ebxml-regrep:'
                 'ErrorSeverityType:Error"'), Outcome.CHANGED, "RegistryError/@severity"),
    Case("PartialSuccess -> Success", "ITI-18/InitiatingGatewayResponse.xml",
         replace("ResponseStatusType:PartialSuccess", "ResponseStatusType:Success"),
         Outcome.REGRESSION, "/AdhocQueryResponse/@status"),
    Case("feed acknowledgement CA -> CE", "ITI-44/ITI-44_response_raw.xml",
         replace('code="CA"', 'code="CE"'), Outcome.REGRESSION,
         "acknowledgement/typeCode/@code", "acknowledgement CA -> CE"),
    Case("PIX query AA -> AE", "ITI-45/ITI-45_response_raw.xml",
         replace('<ns1:typeCode code="AA"/>', '<ns1:typeCode code="AE"/>'), Outcome.REGRESSION,
         "acknowledgement/typeCode/@code", "acknowledgement AA -> AE"),
    Case("PDQ queryResponseCode OK -> NF", "ITI-47/ITI-47_response_raw.xml",
         replace('queryResponseCode code="OK"', 'queryResponseCode code="NF"'),
         Outcome.REGRESSION, "queryResponseCode/@code", "queryResponseCode OK -> NF"),
    Case("PDQ one match fewer", "ITI-47/02_PDQQuery1Response.xml",
         remove("//hl7:controlActProcess/hl7:subject[3]"), Outcome.REGRESSION,
         "controlActProcess", "result count 7 -> 6"),
    Case("retrieve returns one document fewer", "ITI-43/soap-ret-resp.xml",
         remove("//*[local-name()='DocumentResponse'][2]"), Outcome.REGRESSION, None,
         "result count 2 -> 1"),
    Case("hl7v2 MSA-1 AA -> AE", "ITI-9/ok-1_Response.hl7",
         replace("MSA|AA|", "MSA|AE|"), Outcome.REGRESSION, "/HL7v2/MSA/MSA.1", "MSA-1 AA -> AE"),
    Case("hl7v2 QAK-2 OK -> NF", "ITI-9/ok-1_Response.hl7",
         replace("|OK", "|NF"), Outcome.REGRESSION, "/HL7v2/QAK/QAK.2"),
    Case("FHIR Bundle.total", "ITI-67/Bundle-FindDocumentReferences.json",
         replace('"total": 1', '"total": 0'), Outcome.REGRESSION, "/Bundle/total/@value",
         "Bundle.total 1 -> 0"),
    Case("Failure error list changes code", "ITI-18/connect-DQErr-XDSRegistryBusy-Failure.xml",
         replace('errorCode="XDSRegistryBusy"', 'errorCode="XDSRegistryOutOfResources"'),
         Outcome.REGRESSION, "RegistryErrorList"),
    Case("now a SOAP Fault", "ITI-18/connect-DQErr-XDSRegistryBusy-Failure.xml",
         regex(r"(?s)<soap:Body>.*</soap:Body>",
               "<soap:Body><soap:Fault><soap:Code><soap:Value>soap:Receiver</soap:Value>"
               "</soap:Code></soap:Fault></soap:Body>"),
         Outcome.REGRESSION, None, "SOAP Fault none -> Receiver"),
    Case("now unparseable", "ITI-45/ITI-45_response_raw.xml",
         lambda data: data[: len(data) // 2], Outcome.REGRESSION, "http:body",
         "can no longer be parsed"),
]


@pytest.mark.parametrize("case", NOISE + PAYLOAD + VERDICT, ids=case_id)
def test_mutation_is_classified(case: Case) -> None:
    recorded = raw(case.path)
    mutated = case.mutation(recorded)
    assert mutated != recorded
    comparison = compare_captures(recorded, mutated)
    details = "\n".join(f"{d.severity} {d.path}: {d.description}" for d in comparison.differences)
    assert comparison.outcome is case.outcome, details
    if case.outcome is Outcome.PASS:
        assert comparison.differences == ()
        assert comparison.noise_suppressed > 0 or "order" in case.name
        return
    first = comparison.differences[0]
    if case.where is not None:
        assert case.where in first.path, details
    if case.says is not None:
        assert first.description is not None and case.says in first.description, details
    if case.outcome is Outcome.REGRESSION:
        assert first.severity is Severity.REGRESSION and first.rule
    else:
        assert all(d.severity is Severity.CHANGED for d in comparison.differences)


def test_http_status_change_is_a_regression() -> None:
    recorded = load("ITI-41/ITI-41_response_raw.xml")
    result = compare_responses(recorded, recorded.evolve(status=500))
    assert result.outcome is Outcome.REGRESSION
    assert result.differences[0].path == "http:status"
    assert result.differences[0].rule == "http_status"
