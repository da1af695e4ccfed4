"""FHIR / HTTP scenario steps: reading ``with`` into requests, JSON templates, JSON and header
captures, and every problem of a file reported at once with its line."""

from __future__ import annotations

import json
from pathlib import Path

from ihe_test_util.ihe.message import read_message
from ihe_test_util.model import Headers
from ihe_test_util.record.loader import load_scenario
from ihe_test_util.record.responses import HeaderCapture, JsonCapture, capture
from ihe_test_util.record.steps import STEP_KINDS, ReadContext
from ihe_test_util.record.variables import MissingVariable, Value

from .scenarios import load, problems

FHIR_HEAD = """\
version: 1
name: t
endpoints:
  fhir: http://127.0.0.1:9/fhir
"""
EXAMPLES = Path(__file__).parents[3] / "examples" / "scenarios"


def built(transaction: str, params: dict[str, object], base: Path,
          values: dict[str, Value] | None = None):  # type: ignore[no-untyped-def]
    def lookup(name: str) -> Value:
        if values is None or name not in values:
            raise MissingVariable(name)
        return values[name]
    return STEP_KINDS[transaction].read(params, ReadContext(base, lookup))()


def test_http_step_with_a_json_template_escapes_values(tmp_path: Path) -> None:
    (tmp_path / "patient.json").write_text(
        '{"resourceType": "Patient", "name": [{"family": "${family}"}]}', encoding="utf-8")
    message = built("http", {"method": "post", "path": "Patient", "file": "patient.json",
                             "headers": {"Prefer": "return=minimal"}}, tmp_path,
                    {"family": 'O"Brien\\'})
    request = message.to_request("http://h/fhir")
    assert (request.method, request.uri) == ("POST", "http://h/fhir/Patient")
    assert json.loads(request.body)["name"][0]["family"] == 'O"Brien\\'
    assert request.headers.get("Content-Type") == "application/fhir+json"
    assert request.headers.get("Prefer") == "return=minimal"
    assert message.transaction == "http"


def test_http_step_inline_json_and_query_lists(tmp_path: Path) -> None:
    message = built("http", {"method": "PUT", "path": "Patient",
                             "query": {"identifier": ["a|1", "b|2"], "_count": 5},
                             "json": {"resourceType": "Patient", "active": True}}, tmp_path)
    request = message.to_request("http://h/fhir")
    assert request.uri == "http://h/fhir/Patient?identifier=a|1&identifier=b|2&_count=5"
    assert json.loads(request.body) == {"resourceType": "Patient", "active": True}


def test_fhir_builder_steps_take_headers(tmp_path: Path) -> None:
    message = built("ITI-78", {"parameters": {"family": "X"},
                               "headers": {"Accept": "application/fhir+xml"}}, tmp_path)
    request = message.to_request("http://h/fhir")
    assert request.headers.get_all("Accept") == ["application/fhir+xml"]
    (tmp_path / "d.txt").write_text("doc")
    pnr = built("ITI-65", {"patient": "Patient/p1", "documents": [{"file": "d.txt"}]}, tmp_path)
    assert pnr.json()["entry"][2]["resource"]["contentType"] == "text/plain"


def test_json_and_header_captures() -> None:
    body = json.dumps({"resourceType": "Bundle", "total": 2, "entry": [
        {"response": {"location": "http://h/fhir/DocumentReference/d1/_history/1"}},
        {"response": {"location": "http://h/fhir/Binary/b1/_history/1"}}]}).encode()
    message = read_message(body, Headers([("Content-Type", "application/fhir+json")]))
    import re

    captured = capture(message, {
        "binary": JsonCapture(_path("Bundle.entry.response.location"),
                              re.compile(r"(Binary/[^/]+)")),
        "total": JsonCapture(_path("/total")),
        "all": JsonCapture(_path("Bundle.entry.response.location")),
        "none": JsonCapture(_path("Patient.id")),
        "patient": HeaderCapture("Location", re.compile(r"(Patient/[^/]+)")),
        "xml_view": _xpath("/fhir:Bundle/fhir:total/@value"),
    }, headers=Headers([("Location", "http://h/fhir/Patient/p9/_history/1")]))
    assert captured.values == {
        "binary": "Binary/b1", "total": "2", "patient": "Patient/p9", "xml_view": "2",
        "all": ["http://h/fhir/DocumentReference/d1/_history/1",
                "http://h/fhir/Binary/b1/_history/1"]}
    assert "matched nothing" in captured.missed["none"]


def _path(text: str):  # type: ignore[no-untyped-def]
    from ihe_test_util.ihe.jsonpath import JsonPath

    return JsonPath.parse(text)


def _xpath(text: str):  # type: ignore[no-untyped-def]
    from ihe_test_util.ihe.xpath import compile_xpath

    return compile_xpath(text)


def test_a_fhir_scenario_loads_with_its_captures(tmp_path: Path) -> None:
    scenario = load(tmp_path, FHIR_HEAD + """\
steps:
  - name: feed
    transaction: ITI-104
    endpoint: fhir
    with: {patient: {id: "P1^^^&1.2.3&ISO", family: Doe}}
    capture: {ref: {header: Location, pattern: "(Patient/[^/]+)"}}
  - name: read
    transaction: ITI-78
    endpoint: fhir
    with: {id: "${ref}"}
    capture: {family: {json: Patient.name.family}, by_xpath: //fhir:family/@value}
""")
    assert [s.uses_runtime for s in scenario.steps] == [False, True]
    assert isinstance(scenario.steps[0].capture["ref"], HeaderCapture)
    assert isinstance(scenario.steps[1].capture["family"], JsonCapture)


def test_every_fhir_problem_is_reported_at_once_with_its_line(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"a": ', encoding="utf-8")
    found = problems(tmp_path, FHIR_HEAD + """\
steps:
  - name: feed
    transaction: ITI-104
    endpoint: fhir
    with: {action: replace, patient: {family: Doe}}
  - name: search
    transaction: ITI-78
    endpoint: fhir
    with: {id: x, parameters: {family: Doe}}
  - name: post
    transaction: http
    endpoint: fhir
    with: {method: BREW, path: Patient}
  - name: body
    transaction: http
    endpoint: fhir
    with: {method: POST, path: Patient, file: broken.json}
  - name: captures
    transaction: ITI-67
    endpoint: fhir
    with: {parameters: {status: current}}
    capture:
      a: {json: "Bundle..entry"}
      b: {header: "Bad Header"}
      c: {json: Bundle.id, pattern: "(a)(b)"}
      d: {pattern: x}
  - name: pix
    transaction: ITI-83
    endpoint: fhir
    with: {target_systems: [1.2.3]}
""")
    text = "\n".join(found)
    assert "9: steps[0].with.action: unknown ITI-104 action 'replace'" in text
    assert "13: steps[1].with: " in text and "exactly one of id (read) or parameters" in text
    assert "17: steps[2].with.method: unknown HTTP method 'BREW'" in text
    assert "21: steps[3].with.file: broken.json is not JSON once filled in" in text
    assert "27: steps[4].capture.a.json: invalid JSON path 'Bundle..entry'" in text
    assert "28: steps[4].capture.b.header: 'Bad Header' is not a header name" in text
    assert "29: steps[4].capture.c.pattern: the pattern has more than one group" in text
    assert "30: steps[4].capture.d: a capture mapping needs exactly one of json" in text
    assert "34: steps[5].with: missing required key 'source_identifier'" in text


def test_the_fhir_example_loads() -> None:
    scenario = load_scenario(EXAMPLES / "mhd-pdqm-pixm.yaml")
    assert [s.transaction for s in scenario.steps] == [
        "ITI-104", "ITI-78", "ITI-78", "ITI-65", "ITI-104", "ITI-65", "http", "ITI-67", "ITI-66",
        "ITI-68", "http", "ITI-83"]
