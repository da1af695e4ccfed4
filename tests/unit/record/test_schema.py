"""The published JSON Schema: valid, in step with the code, and agreeing with the loader."""

from __future__ import annotations

import json
import re
from importlib import resources
from pathlib import Path

import pytest
import yaml
from jsonschema import Draft7Validator

from ihe_test_util.errors import ScenarioError
from ihe_test_util.ihe.builders.patients import GENDERS
from ihe_test_util.ihe.vocabulary import DOCUMENT_ENTRY_SCHEMES, STORED_QUERIES
from ihe_test_util.record.loader import load_scenario
from ihe_test_util.record.schema import scenario_schema, schema_text
from ihe_test_util.record.steps import STEP_KINDS

from .scenarios import HEAD, write

REPO = Path(__file__).resolve().parents[3]
DEMO = Path(str(resources.files("ihe_test_util.demo").joinpath("xds-roundtrip.yaml")))
BUNDLED = [*sorted((REPO / "examples" / "scenarios").glob("*.yaml")), DEMO]


def validator() -> Draft7Validator:
    schema = json.loads(schema_text())
    Draft7Validator.check_schema(schema)
    return Draft7Validator(schema)


def test_the_schema_is_valid_draft_07_and_ships_in_the_package() -> None:
    assert scenario_schema()["$schema"] == "http://json-schema.org/draft-07/schema#"
    validator()


@pytest.mark.parametrize("path", BUNDLED, ids=lambda p: p.name)
def test_bundled_scenarios_validate_against_the_schema(path: Path) -> None:
    errors = list(validator().iter_errors(yaml.safe_load(path.read_text(encoding="utf-8"))))
    assert not errors, [e.message for e in errors]
    load_scenario(path)  # and load


def test_the_scenario_in_the_recording_guide_validates() -> None:
    guide = (REPO / "docs" / "recording.md").read_text(encoding="utf-8")
    blocks = re.findall(r"```yaml\n(.*?)```", guide, re.S)
    full = [yaml.safe_load(block) for block in blocks if "\nversion: 1" in block]
    assert full
    for data in full:
        errors = list(validator().iter_errors(data))
        assert not errors, [e.message for e in errors]


def test_the_schema_lists_what_the_code_knows() -> None:
    definitions = scenario_schema()["definitions"]
    step = definitions["step"] if "step" in definitions else \
        scenario_schema()["properties"]["steps"]["items"]
    assert step["properties"]["transaction"]["enum"] == list(STEP_KINDS)
    withs = {branch["if"]["properties"]["transaction"]["const"]:
             branch["then"]["properties"]["with"] for branch in step["allOf"]}
    assert set(withs) == set(STEP_KINDS)
    query = withs["ITI-18"]["properties"]["query"]["anyOf"][0]["enum"]
    assert query == list(STORED_QUERIES)
    gender = definitions["patient"]["properties"]["gender"]["anyOf"][0]["enum"]
    assert set(gender) == GENDERS
    codes = definitions["document"]["properties"]["codes"]["properties"]
    assert set(codes) == set(DOCUMENT_ENTRY_SCHEMES)


ITI41 = '{patient: "P^^^&1.2.3&ISO", documents: [{file: doc.txt}]}'
PATIENT = '{id: "P^^^&1.2.3&ISO", family: Doe, gender: F, birth_date: "19800101"}'

#: Steps both the schema and the loader accept.
GOOD = {
    "iti44-add": f"{{name: s, transaction: ITI-44, endpoint: pix, with: {{patient: {PATIENT}}}}}",
    "iti44-merge": "{name: s, transaction: ITI-44, endpoint: pix, with: {action: merge, "
                   "patient: {id: \"1.2.3|A\"}, subsumed: \"1.2.3|B\"}}",
    "iti45": "{name: s, transaction: ITI-45, endpoint: pix, with: {patient_id: \"1.2.3|A\", "
             "data_sources: [\"1.2.4\"], wrapper: {sender: \"1.2.5\", processing_code: T}}}",
    "iti47": "{name: s, transaction: ITI-47, endpoint: pix, with: {patient: {family: Do*}, "
             "initial_quantity: 5}}",
    "iti55": f"{{name: s, transaction: ITI-55, endpoint: pix, with: {{patient: {PATIENT}, "
             "home_community_id: \"urn:oid:1.2.3\"}}",
    "iti41-file": f"{{name: s, transaction: ITI-41, endpoint: repository, with: {ITI41}}}",
    "iti41-ccd": "{name: s, transaction: ITI-41, endpoint: repository, with: {patient: "
                 + PATIENT + ", mtom: false, documents: [{ccd: {title: T}, codes: {classCode: "
                 "{code: c, scheme: s, display: d}}}]}}",
    "iti18": "{name: s, transaction: ITI-18, endpoint: registry, with: {query: FindDocuments, "
             "return_type: ObjectRef, parameters: {XDSDocumentEntryPatientId: \"P^^^&1.2&ISO\","
             " $XDSDocumentEntryStatus: [a, b]}}, capture: {ids: //rim:ObjectRef/@id}}",
    "iti18-uuid": "{name: s, transaction: ITI-18, endpoint: registry, with: {query: "
                  "\"urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d\"}}",
    "iti43-list": "{name: s, transaction: ITI-43, endpoint: repository, with: "
                  "{repository_unique_id: \"1.2\", document_unique_ids: [\"1.3\", \"1.4\"]}}",
    "iti43-documents": "{name: s, transaction: ITI-43, endpoint: repository, with: {documents:"
                       " [{document_unique_id: \"1.3\", repository_unique_id: \"1.2\"}]}}",
    "raw": "{name: s, transaction: raw, endpoint: registry, with: {file: doc.txt, "
           "content_type: text/plain}}",
}

#: Steps both reject (each problem is one of shape, so the schema can see it too).
BAD = {
    "unknown-transaction": "{name: s, transaction: ITI-99, endpoint: pix, with: {}}",
    "missing-name": "{transaction: ITI-45, endpoint: pix, with: {patient_id: \"1.2|A\"}}",
    "missing-with": "{name: s, transaction: ITI-45, endpoint: pix}",
    "unknown-step-key": "{name: s, transaction: ITI-45, endpoint: pix, with: {patient_id: "
                        "\"1.2|A\"}, retries: 3}",
    "unknown-with-key": "{name: s, transaction: ITI-45, endpoint: pix, with: {patient_id: "
                        "\"1.2|A\", patient: x}}",
    "iti45-no-id": "{name: s, transaction: ITI-45, endpoint: pix, with: {}}",
    "merge-no-subsumed": f"{{name: s, transaction: ITI-44, endpoint: pix, with: {{action: "
                         f"merge, patient: {PATIENT}}}}}",
    "subsumed-without-merge": f"{{name: s, transaction: ITI-44, endpoint: pix, with: {{patient:"
                              f" {PATIENT}, subsumed: \"1.2|B\"}}}}",
    "bad-action": f"{{name: s, transaction: ITI-44, endpoint: pix, with: {{action: delete, "
                  f"patient: {PATIENT}}}}}",
    "bad-gender": "{name: s, transaction: ITI-47, endpoint: pix, with: {patient: {gender: X}}}",
    "bad-birth-date": "{name: s, transaction: ITI-47, endpoint: pix, with: {patient: "
                      "{birth_date: 1980-1-1}}}",
    "unknown-query": "{name: s, transaction: ITI-18, endpoint: registry, with: {query: "
                     "FindDocs}}",
    "bad-return-type": "{name: s, transaction: ITI-18, endpoint: registry, with: {query: "
                       "GetDocuments, return_type: Full}}",
    "document-file-and-ccd": f"{{name: s, transaction: ITI-41, endpoint: repository, with: "
                             f"{{patient: {PATIENT}, documents: [{{file: doc.txt, ccd: true}}]}}}}",
    "no-documents": "{name: s, transaction: ITI-41, endpoint: repository, with: {patient: "
                    "\"1.2|A\", documents: []}}",
    "unknown-code": "{name: s, transaction: ITI-41, endpoint: repository, with: {patient: "
                    + PATIENT + ", documents: [{ccd: true, codes: {colorCode: {code: a, "
                    "scheme: b, display: c}}}]}}",
    "mtom-not-bool": f"{{name: s, transaction: ITI-41, endpoint: repository, with: {{patient: "
                     f"{PATIENT}, mtom: maybe, documents: [{{ccd: true}}]}}}}",
    "iti43-both-forms": "{name: s, transaction: ITI-43, endpoint: repository, with: "
                        "{repository_unique_id: \"1.2\", document_unique_ids: \"1.3\", "
                        "documents: [{document_unique_id: \"1.3\", repository_unique_id: "
                        "\"1.2\"}]}}",
    "iti43-neither": "{name: s, transaction: ITI-43, endpoint: repository, with: "
                     "{repository_unique_id: \"1.2\"}}",
    "raw-no-action": "{name: s, transaction: raw, endpoint: registry, with: {file: doc.txt}}",
    "bad-step-id": "{name: s, id: 1st, transaction: ITI-45, endpoint: pix, with: "
                   "{patient_id: \"1.2|A\"}}",
    "capture-not-text": "{name: s, transaction: ITI-45, endpoint: pix, with: {patient_id: "
                        "\"1.2|A\"}, capture: {a: 1}}",
}

#: Whole files both reject at the top level.
BAD_TOP = {
    "version-2": HEAD.replace("version: 1", "version: 2"),
    "no-endpoints": "version: 1\nname: t\n",
    "bad-name": HEAD.replace("name: t", "name: two words"),
    "bad-endpoint-url": HEAD.replace("http://127.0.0.1:9/pix", "ftp://127.0.0.1/pix"),
    "unknown-top-key": HEAD + "retries: 3\n",
    "bad-variable-name": HEAD + "variables: {1x: a}\n",
    "bad-data": HEAD + "data: {file: p.csv}\n",
}


def _agree(tmp_path: Path, text: str) -> tuple[bool, bool]:
    (tmp_path / "doc.txt").write_text("a document")
    schema_ok = validator().is_valid(yaml.safe_load(text))
    try:
        load_scenario(write(tmp_path, text))
    except ScenarioError:
        return schema_ok, False
    return schema_ok, True


@pytest.mark.parametrize("step", GOOD.values(), ids=list(GOOD))
def test_schema_and_loader_accept_the_same_good_steps(tmp_path: Path, step: str) -> None:
    assert _agree(tmp_path, HEAD + f"steps:\n  - {step}\n") == (True, True)


@pytest.mark.parametrize("step", BAD.values(), ids=list(BAD))
def test_schema_and_loader_reject_the_same_bad_steps(tmp_path: Path, step: str) -> None:
    assert _agree(tmp_path, HEAD + f"steps:\n  - {step}\n") == (False, False)


@pytest.mark.parametrize("text", BAD_TOP.values(), ids=list(BAD_TOP))
def test_schema_and_loader_reject_the_same_bad_files(tmp_path: Path, text: str) -> None:
    step = '{name: s, transaction: ITI-45, endpoint: pix, with: {patient_id: "1.2|A"}}'
    body = text if "steps" in text else text + f"steps:\n  - {step}\n"
    assert _agree(tmp_path, body) == (False, False)
