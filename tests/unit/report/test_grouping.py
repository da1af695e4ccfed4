"""Findings: one per (transaction, location), variable positions shown as * only where they vary."""

from __future__ import annotations

import pytest

from ihe_test_util.report.grouping import (
    FindingGrouper,
    OutcomeMatrix,
    join_location,
    split_location,
)
from ihe_test_util.results import (
    Difference,
    DifferenceKind,
    ExchangeResult,
    Outcome,
    Severity,
)

from .run_builder import realistic_results, synthetic_results


@pytest.mark.parametrize(("path", "template", "values"), [
    ("/A/B[2]/C[1]/@x", "/A/B[]/C[]/@x", ("2", "1")),
    ("http:status", "http:status", ()),
    ("part:<cid-1@example>", "part:", ("<cid-1@example>",)),
    ("/A/B[@name='x']", "/A/B[@name='x']", ()),
])
def test_split_and_join_location(path: str, template: str, values: tuple[str, ...]) -> None:
    assert split_location(path) == (template, values)
    assert join_location(template, values) == path


def test_join_location_stars_what_varies() -> None:
    assert join_location("/A/B[]/C[]", (None, "1")) == "/A/B[*]/C[1]"
    assert join_location("part:", (None,)) == "part:*"


def _grouped(results: list[ExchangeResult]) -> FindingGrouper:
    grouper = FindingGrouper()
    for result in results:
        grouper.add(result)
    return grouper


def test_repeated_change_is_one_finding_with_its_spread() -> None:
    findings = _grouped(realistic_results()).findings()
    slot = [f for f in findings if f.location.endswith("Slot[3]/ValueList/Value")]
    assert len(slot) == 1
    finding = slot[0]
    assert finding.transaction == "ITI-18"
    assert "/ExtrinsicObject[*]/Slot[3]/" in finding.location
    assert finding.exchanges == 5
    assert finding.example_ids == ("xds/provide-register-query-retrieve.yaml#1",
                                   "xds/stored-queries.yaml#1", "xds/stored-queries.yaml#2")
    assert finding.severity is Severity.CHANGED and finding.kinds == ("value",)


def test_regressions_come_first_then_by_spread() -> None:
    findings = _grouped(realistic_results()).findings()
    severities = [f.severity for f in findings]
    assert severities == sorted(severities, key=lambda s: s is not Severity.REGRESSION)
    assert findings[0].rules  # a regression names its verdict rule


def test_constant_position_is_kept_and_same_transaction_only() -> None:
    diff = Difference("/R/Doc[2]/@status", DifferenceKind.STATUS, Severity.CHANGED, "a", "b")
    results = [
        ExchangeResult(id=f"c#{i}", cassette="c", index=i, outcome=Outcome.CHANGED,
                       transaction=tx, differences=(diff, diff))
        for i, tx in enumerate(["ITI-18", "ITI-18", "ITI-43"])
    ]
    findings = _grouped(results).findings()
    assert [(f.transaction, f.location, f.exchanges, f.occurrences) for f in findings] == [
        ("ITI-18", "/R/Doc[2]/@status", 2, 4), ("ITI-43", "/R/Doc[2]/@status", 1, 2),
    ]


def test_a_regression_occurrence_raises_the_finding() -> None:
    changed = Difference("/R/X[1]", DifferenceKind.VALUE, Severity.CHANGED, "a", "b")
    worse = Difference("/R/X[2]", DifferenceKind.REMOVED, Severity.REGRESSION, "c", None,
                       rule="result_count")
    results = [ExchangeResult(id=f"c#{i}", cassette="c", index=i, outcome=Outcome.CHANGED,
                              transaction="ITI-18", differences=(d,))
               for i, d in enumerate([changed, worse])]
    (finding,) = _grouped(results).findings()
    assert finding.severity is Severity.REGRESSION
    assert finding.example is worse and finding.kinds == ("removed", "value")
    assert finding.rules == ("result_count",) and finding.location == "/R/X[*]"


def test_errors_and_skips_grouped_by_type() -> None:
    groups = _grouped(realistic_results()).error_groups()
    assert [(g.outcome, g.transaction, g.error_type, g.exchanges) for g in groups] == [
        (Outcome.ERROR, "ITI-47", "EndpointUnreachable", 2),
        (Outcome.SKIPPED, "ITI-45", "DependencyNotCorrelated", 1),
        (Outcome.SKIPPED, "ITI-47", "DependencyNotCorrelated", 1),
    ]
    assert "connection refused" in groups[0].example_message


def test_findings_stay_few_however_many_exchanges() -> None:
    grouper = FindingGrouper()
    troubled = 0
    for result in synthetic_results(5_000):
        grouper.add(result)
        troubled += result.outcome in (Outcome.ERROR, Outcome.SKIPPED)
    assert len(grouper.findings()) <= 12
    assert sum(g.exchanges for g in grouper.error_groups()) == troubled > 0


def test_outcome_matrix() -> None:
    matrix = OutcomeMatrix()
    for result in realistic_results():
        matrix.add(result)
    rows = dict(matrix.rows())
    assert list(rows) == ["ITI-18", "ITI-41", "ITI-43", "ITI-44", "ITI-45", "ITI-47",
                          "(unrecognised)"]
    assert rows["ITI-18"][Outcome.CHANGED] == 5 and rows["ITI-18"][Outcome.REGRESSION] == 1
    assert sum(matrix.totals().values()) == 18


def test_json_findings_are_shown_natively_and_ignored_by_their_rule_pattern() -> None:
    """A FHIR difference is shown at its FHIR-style location, while ``pattern`` (what ``ihe
    review`` writes as a noise rule) stays in the rule language."""
    grouper = FindingGrouper()
    for index, (path, location) in enumerate((
            ("/Bundle/entry[2]/resource/Patient/gender/@value", "Bundle.entry[1].resource.gender"),
            ("/Bundle/entry[3]/resource/Patient/gender/@value", "Bundle.entry[2].resource.gender"),
    )):
        grouper.add(ExchangeResult(
            id=f"f.yaml#{index}", cassette="f.yaml", index=index, outcome=Outcome.CHANGED,
            transaction="ITI-78", differences=(Difference(
                path, DifferenceKind.ATTRIBUTE, Severity.CHANGED, '"male"', '"other"',
                location=location),)))
    (finding,) = grouper.findings()
    assert finding.location == "Bundle.entry[*].resource.gender"
    assert finding.pattern == "/Bundle/entry/resource/Patient/gender/@value"
    assert finding.exchanges == 2
