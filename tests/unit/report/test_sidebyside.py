"""Two responses side by side: pretty-printed per format, findings highlighted, noise dimmed,
unchanged runs collapsed."""

from __future__ import annotations

import json

from ihe_test_util.model import Headers, Response
from ihe_test_util.report.sidebyside import compare_bodies, pretty_lines, side_by_side
from ihe_test_util.results import Difference, DifferenceKind, Severity


def response(body: bytes, media: str) -> Response:
    return Response(200, "OK", Headers([("Content-Type", media)]), body)


def test_formats_are_pretty_printed() -> None:
    xml = pretty_lines(response(b"<a><b x='1'>t</b>\n   <c/></a>", "application/xml"))
    assert xml == ["<a>", '  <b x="1">t</b>', "  <c/>", "</a>"]
    fhir = pretty_lines(response(json.dumps({"b": 1, "a": {"c": 2}}).encode(),
                                 "application/fhir+json"))
    assert fhir[0] == "{" and fhir[1] == '  "a": {'
    er7 = pretty_lines(response(b"MSH|^~\\&|A|B\rMSA|AA|1\r", "x-application/hl7-v2+er7"))
    assert er7 == ["MSH|^~\\&|A|B", "MSA|AA|1"]


def test_findings_are_highlighted_noise_dimmed_and_equal_runs_collapsed() -> None:
    recorded = ["<r>", "<id>m1</id>", *[f"<k{n}/>" for n in range(20)], "<s>old</s>", "</r>"]
    replayed = ["<r>", "<id>m2</id>", *[f"<k{n}/>" for n in range(20)], "<s>new</s>", "</r>"]
    finding = Difference("/r/s", DifferenceKind.VALUE, Severity.CHANGED, "old", "new")
    rows = side_by_side(recorded, replayed, [finding], context=2)
    kinds = [row.kind for row in rows]
    assert kinds == ["equal", "noise", "equal", "equal", "collapsed", "equal", "equal",
                     "difference", "equal"]
    collapsed = rows[4]
    assert collapsed.skipped == 16
    assert rows[7].left == "<s>old</s>" and rows[7].right_number == 23


def test_compare_bodies_of_json_marks_the_changed_member() -> None:
    before = response(b'{"resourceType": "OperationOutcome", "id": "a1"}', "application/fhir+json")
    after = response(b'{"resourceType": "OperationOutcome", "id": "b2"}', "application/fhir+json")
    finding = Difference("/OperationOutcome/id/@value", DifferenceKind.ATTRIBUTE,
                         Severity.CHANGED, "a1", "b2")
    rows = compare_bodies(before, after, [finding])
    assert [r.kind for r in rows if r.kind != "equal"] == ["difference"]


def test_native_locations_mark_their_lines() -> None:
    """FHIR-style and HL7 v2 locations (what the comparer reports for JSON and ER7 bodies)."""
    before = response(b'{"resourceType": "Patient", "id": "a1", "gender": "male", '
                      b'"active": true}', "application/fhir+json")
    after = response(b'{"resourceType": "Patient", "id": "b2", "gender": "other", '
                     b'"active": true}', "application/fhir+json")
    finding = Difference("Patient.gender", DifferenceKind.ATTRIBUTE, Severity.CHANGED,
                         '"male"', '"other"')
    rows = compare_bodies(before, after, [finding])
    marked = [(r.kind, r.left) for r in rows if r.kind != "equal"]
    assert ("difference", '  "gender": "male",') in marked
    assert ("noise", '  "id": "a1",') in marked
    hl7 = side_by_side(["MSH|^~\\\\&|A", "PID|1||7||Mayer^Hans"],
                       ["MSH|^~\\\\&|B", "PID|1||7||Meyer^Hans"],
                       [Difference("PID-5", DifferenceKind.VALUE, Severity.CHANGED,
                                   "Mayer^Hans", "Meyer^Hans")])
    assert [r.kind for r in hl7] == ["noise", "difference"]
