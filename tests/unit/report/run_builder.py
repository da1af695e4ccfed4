"""Deterministic runs to feed reporters: a realistic IHE run, hostile strings, synthetic scale.

The realistic run covers ITI-18/41/43/44/45/47 exchanges in all five outcomes, differences that
repeat across exchanges at varying positions (so grouping has work to do), and values an
attacker or a broken server could put in a response (markup, Markdown, control characters).
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace

from ihe_test_util.results import (
    Difference,
    DifferenceKind,
    ExchangeError,
    ExchangeResult,
    FailOn,
    Outcome,
    RunInfo,
    RunSummary,
    Severity,
)

STARTED_AT = "2025-01-15T10:00:00Z"
FINISHED_AT = "2025-01-15T10:00:42.500Z"
HOSTILE = "<script>alert('x')</script> | `tick` **bold** [link](http://evil.example) & \x1b[31m"

_RS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType"
_ENV = "/Envelope/Body"
_AQR = f"{_ENV}/AdhocQueryResponse"


def run_info(fail_on: FailOn = FailOn.CHANGED) -> RunInfo:
    return RunInfo(
        tool_version="0.1.0", started_at=STARTED_AT, fail_on=fail_on,
        targets={"http://registry.example:8080": "http://127.0.0.1:9000"},
    )


def _exchange(cassette: str, index: int, transaction: str | None, outcome: Outcome,
              **fields: object) -> ExchangeResult:
    path = {
        "ITI-18": "/xds/registry", "ITI-41": "/xds/repository", "ITI-43": "/xds/repository",
        "ITI-44": "/pix/manager", "ITI-45": "/pix/manager", "ITI-47": "/pdq/supplier",
    }.get(transaction or "", "/unknown")
    base = ExchangeResult(
        id=f"{cassette}#{index}", cassette=cassette, index=index, outcome=outcome,
        transaction=transaction, method="POST",
        recorded_uri=f"http://registry.example:8080{path}",
        replayed_uri=None if outcome is Outcome.SKIPPED else f"http://127.0.0.1:9000{path}",
        duration_recorded_ms=120.0 + index, duration_replayed_ms=
        None if outcome in (Outcome.SKIPPED, Outcome.ERROR) else 95.5 + index,
    )
    return replace(base, **fields)


def _slot_change(document: int, value_from: str, value_to: str) -> Difference:
    return Difference(
        path=f"{_AQR}/RegistryObjectList/ExtrinsicObject[{document}]/Slot[3]/ValueList/Value",
        kind=DifferenceKind.VALUE, severity=Severity.CHANGED,
        recorded=value_from, replayed=value_to,
        description=f"DocumentEntry {document} slot creationTime: {value_from} -> {value_to}",
    )


def realistic_results() -> list[ExchangeResult]:
    """18 exchanges in four cassettes, in the order a --jobs 1 replay would finish them."""
    xds = "xds/provide-register-query-retrieve.yaml"
    query = "xds/stored-queries.yaml"
    pix = "pix/feed-and-query.yaml"
    pdq = "pdq/demographics.yaml"
    success, failure = f"{_RS}:Success", f"{_RS}:Failure"
    results = [
        _exchange(xds, 0, "ITI-41", Outcome.PASS, name="provide document",
                  verdict_recorded={"http_status": 200, "registry_status": success},
                  verdict_replayed={"http_status": 200, "registry_status": success},
                  noise_suppressed=4),
        _exchange(xds, 1, "ITI-18", Outcome.CHANGED, name="find documents",
                  differences=(_slot_change(1, "20240101101010", "20240101101010.000"),),
                  noise_suppressed=7),
        _exchange(xds, 2, "ITI-43", Outcome.REGRESSION, name="retrieve document",
                  verdict_recorded={"http_status": 200, "registry_status": success,
                                    "result_count": 1, "error_codes": []},
                  verdict_replayed={"http_status": 200, "registry_status": failure,
                                    "result_count": 0, "error_codes": ["XDSMissingDocument"]},
                  differences=(
                      Difference(f"{_ENV}/RetrieveDocumentSetResponse/RegistryResponse/@status",
                                 DifferenceKind.STATUS, Severity.REGRESSION, success, failure,
                                 rule="registry_status"),
                      Difference(f"{_ENV}/RetrieveDocumentSetResponse/DocumentResponse[1]",
                                 DifferenceKind.REMOVED, Severity.REGRESSION,
                                 "<DocumentResponse>…</DocumentResponse>", None,
                                 rule="result_count"),
                  )),
    ]
    for index in range(6):  # one change repeated at varying DocumentEntry positions
        results.append(_exchange(
            query, index, "ITI-18", Outcome.CHANGED if index % 3 else Outcome.PASS,
            name=f"FindDocuments patient {index}",
            differences=(_slot_change(index + 1, "20240101", "2024-01-01"),) if index % 3 else (),
        ))
    results.append(_exchange(
        query, 6, "ITI-18", Outcome.REGRESSION, name="GetDocuments",
        verdict_recorded={"registry_status": success, "result_count": 3},
        verdict_replayed={"registry_status": success, "result_count": 2},
        differences=(Difference(f"{_AQR}/RegistryObjectList/ExtrinsicObject[3]",
                                DifferenceKind.REMOVED, Severity.REGRESSION,
                                '<ExtrinsicObject id="urn:uuid:3">', None,
                                rule="result_count"),),
    ))
    results += [
        _exchange(pix, 0, "ITI-44", Outcome.PASS, name="patient feed",
                  verdict_recorded={"ack_type_code": "CA"},
                  verdict_replayed={"ack_type_code": "CA"}),
        _exchange(pix, 1, "ITI-45", Outcome.REGRESSION, name="PIX query",
                  verdict_recorded={"ack_type_code": "AA", "query_response_code": "OK"},
                  verdict_replayed={"ack_type_code": "AA", "query_response_code": "NF"},
                  differences=(
                      Difference("/Envelope/Body/PRPA_IN201310UV02/controlActProcess/queryAck/"
                                 "queryResponseCode/@code", DifferenceKind.STATUS,
                                 Severity.REGRESSION, "OK", "NF", rule="query_response_code"),
                  )),
        _exchange(pix, 2, "ITI-45", Outcome.SKIPPED, name="PIX query (merged id)",
                  error=ExchangeError("DependencyNotCorrelated",
                                      "pix/feed-and-query.yaml#1 gave no patient id to "
                                      "substitute")),
        _exchange(pix, 3, None, Outcome.PASS, name="unrecognised GET"),
        _exchange(pdq, 0, "ITI-47", Outcome.CHANGED, name=HOSTILE,
                  differences=(
                      Difference("/Envelope/Body/PRPA_IN201306UV02/controlActProcess/subject[1]/"
                                 "registrationEvent/subject1/patient/patientPerson/name/family",
                                 DifferenceKind.VALUE, Severity.CHANGED, "Müller", HOSTILE),
                      Difference("part:<cid-1@example>", DifferenceKind.PART, Severity.CHANGED,
                                 "line one\nline two", "]]></failure><script>x</script>"),
                  )),
        _exchange(pdq, 1, "ITI-47", Outcome.ERROR, name="PDQ query",
                  error=ExchangeError("EndpointUnreachable",
                                      "http://127.0.0.1:9000/pdq/supplier: connection refused")),
        _exchange(pdq, 2, "ITI-47", Outcome.ERROR, name="PDQ continuation",
                  error=ExchangeError("EndpointUnreachable",
                                      "http://127.0.0.1:9000/pdq/supplier: connection refused")),
        _exchange(pdq, 3, "ITI-47", Outcome.SKIPPED, name="PDQ cancel",
                  error=ExchangeError("DependencyNotCorrelated",
                                      "pdq/demographics.yaml#2 ended in error")),
    ]
    return results


def summary_of(results: list[ExchangeResult]) -> RunSummary:
    return RunSummary.of(r.outcome for r in results)


_TRANSACTIONS = ("ITI-18", "ITI-41", "ITI-43", "ITI-44", "ITI-45", "ITI-47")
_OUTCOMES = (Outcome.PASS,) * 6 + (Outcome.CHANGED, Outcome.CHANGED, Outcome.REGRESSION,
                                   Outcome.ERROR, Outcome.SKIPPED)


def synthetic_results(count: int, *, per_cassette: int = 10) -> Iterator[ExchangeResult]:
    """``count`` exchanges generated lazily (scale tests, benchmark); deterministic."""
    for number in range(count):
        outcome = _OUTCOMES[number % len(_OUTCOMES)]
        transaction = _TRANSACTIONS[number % len(_TRANSACTIONS)]
        differences: tuple[Difference, ...] = ()
        if outcome is Outcome.CHANGED:
            differences = (_slot_change(number % 7 + 1, f"2024{number:08d}", f"2025{number:08d}"),)
        elif outcome is Outcome.REGRESSION:
            differences = (Difference(f"{_AQR}/@status", DifferenceKind.STATUS,
                                      Severity.REGRESSION, f"{_RS}:Success", f"{_RS}:Failure",
                                      rule="registry_status"),)
        error = None
        if outcome is Outcome.ERROR:
            error = ExchangeError("EndpointTimeout", f"read timed out after 30 s ({number})")
        elif outcome is Outcome.SKIPPED:
            error = ExchangeError("DependencyNotCorrelated", "previous exchange failed")
        yield _exchange(
            f"suite/cassette-{number // per_cassette:05d}.yaml", number % per_cassette,
            transaction, outcome, name=f"step {number % per_cassette}",
            differences=differences, error=error, noise_suppressed=number % 5,
            verdict_recorded={"http_status": 200, "registry_status": f"{_RS}:Success"},
            verdict_replayed={"http_status": 200, "registry_status": f"{_RS}:Success"},
        )
