"""Loading scenario files: every problem at once, each with its line, before anything is sent."""

from __future__ import annotations

from pathlib import Path

import pytest

from ihe_test_util.errors import ConfigError, ScenarioError

from .scenarios import HEAD, PATIENT_ID, load, problems


def test_a_valid_scenario_loads_with_derived_step_ids(tmp_path: Path) -> None:
    scenario = load(tmp_path, HEAD + f"""\
variables:
  pid: "{PATIENT_ID}"
steps:
  - name: Register Patient!
    transaction: ITI-44
    endpoint: pix
    with: {{patient: {{id: "${{pid}}", family: Doe}}}}
  - name: find
    id: found
    transaction: ITI-18
    endpoint: registry
    with: {{query: FindDocuments, parameters: {{XDSDocumentEntryPatientId: "${{pid}}"}}}}
    capture: {{uuids: //rim:ObjectRef/@id}}
  - name: get
    transaction: ITI-18
    endpoint: registry
    with: {{query: GetDocuments, parameters: {{XDSDocumentEntryEntryUUID: "${{uuids}}"}}}}
""")
    assert [s.id for s in scenario.steps] == ["register_patient", "found", "get"]
    assert [s.uses_runtime for s in scenario.steps] == [False, False, True]
    assert scenario.cassette is None and scenario.data is None
    assert list(scenario.steps[1].capture) == ["uuids"]


def test_every_problem_is_reported_at_once_with_its_line(tmp_path: Path) -> None:
    found = problems(tmp_path, HEAD + """\
variables:
  pid: "P-1^^^&1.2.3&ISO"
steps:
  - name: feed
    transaction: ITI-44
    endpoint: pixx
    with:
      patient: {id: "${pid}", gender: X}
  - name: find
    transaction: ITI-18
    endpoint: registry
    with:
      query: FindDocs
      parameters: {XDSDocumentEntryPatientId: "${pid}"}
    capture: {uuids: "//foo:ObjectRef/@id"}
  - name: get
    transaction: ITI-18
    endpoint: registry
    with: {query: GetDocuments, parameters: {XDSDocumentEntryEntryUUID: "${uuidz}"}}
""")
    assert found == [
        "12: steps[0].endpoint: unknown endpoint 'pixx' (endpoints: pix, registry, repository)"
        " (add it under endpoints:)",
        "14: steps[0].with.patient.gender: unknown gender 'X'; use one of F, M, O, U, UN",
        "19: steps[1].with.query: unknown stored query 'FindDocs'; use one of FindDocuments, "
        "FindSubmissionSets, FindFolders, GetAll, GetDocuments, GetFolders, GetAssociations, "
        "GetDocumentsAndAssociations, GetSubmissionSets, GetSubmissionSetAndContents, "
        "GetFolderAndContents, GetFoldersForDocument, GetRelatedDocuments, "
        "FindDocumentsByReferenceId, FindDocumentsForMultiplePatients, or a urn:uuid: query id",
        "21: steps[1].capture.uuids: invalid XPath '//foo:ObjectRef/@id': Undefined namespace "
        "prefix (prefixes: ds, fhir, hl7, lcm, query, rim, rs, saml2, soap, soap11, wsa, wsse, "
        "wsu, xdsb, xop, xsi)",
        "25: steps[2].with.parameters.XDSDocumentEntryEntryUUID: unknown variable 'uuidz' "
        "(declare it under variables: or capture it in an earlier step)",
    ]


@pytest.mark.parametrize(("steps", "expected"), [
    ("""\
  - {name: a, transaction: ITI-18, endpoint: registry,
     with: {query: GetDocuments, parameters: {XDSDocumentEntryEntryUUID: "${later}"}}}
  - {name: b, transaction: ITI-18, endpoint: registry, with: {query: GetSubmissionSets},
     capture: {later: //rim:ObjectRef/@id}}
""", "'later' is captured by steps[1], which runs after this step"),
    ("""\
  - {name: a, transaction: ITI-43, endpoint: repository,
     with: {repository_unique_id: "1.2", document_unique_ids: "${b.documentUniqueId}"}}
  - {name: b, transaction: ITI-41, endpoint: repository,
     with: {patient: "P^^^&1.2&ISO", documents: [{file: x.txt}]}}
""", "'b.documentUniqueId' comes from steps[1], which does not run before this step"),
    ("""\
  - {name: a, transaction: ITI-18, endpoint: registry, with: {query: GetSubmissionSets}}
  - {name: b, transaction: ITI-43, endpoint: repository,
     with: {repository_unique_id: "1.2", document_unique_ids: "${a.documentUniqueId}"}}
""", "step 'a' (ITI-18) generates no value 'documentUniqueId' (it generates: queryId)"),
    ("""\
  - {name: a, transaction: ITI-45, endpoint: pix, with: {patient_id: "${secret.token}"}}
""", "secrets can only be used in headers (never in a message)"),
    ("""\
  - {name: a, transaction: ITI-45, endpoint: pix, with: {patient_id: "${row.id}"}}
""", "${row.id} needs a CSV: add data: {csv: FILE}"),
    ("""\
  - {name: a, transaction: ITI-45, endpoint: pix, with: {patient_id: "${nope.x}"}}
""", "unknown variable 'nope.x' (no step has the id 'nope')"),
])
def test_references_must_be_defined_before_the_step(tmp_path: Path, steps: str,
                                                     expected: str) -> None:
    (tmp_path / "x.txt").write_text("document")
    found = problems(tmp_path, HEAD + "steps:\n" + steps)
    assert len(found) == 1, found
    assert found[0].endswith(expected), found


def test_step_ids_must_be_unique(tmp_path: Path) -> None:
    found = problems(tmp_path, HEAD + """\
steps:
  - {name: find it, transaction: ITI-18, endpoint: registry, with: {query: GetSubmissionSets}}
  - {name: Find it, transaction: ITI-18, endpoint: registry, with: {query: GetSubmissionSets}}
""")
    assert found == ["9: steps[1].name: step id 'find_it' is also the id of steps[0]; give one "
                     "of them its own id:"]


def test_variables_may_use_earlier_variables_only(tmp_path: Path) -> None:
    found = problems(tmp_path, HEAD + """\
variables:
  a: "${b}"
  b: x
  c: "${a}-${missing}"
steps:
  - {name: s, transaction: ITI-18, endpoint: registry, with: {query: GetSubmissionSets}}
""")
    assert found == [
        "8: variables.a: variable 'b' is declared later; variables can only use the ones "
        "above them",
        "10: variables.c: unknown variable 'missing'",
    ]


def test_var_overrides_replace_declared_values_and_are_checked(tmp_path: Path) -> None:
    text = HEAD + """\
variables:
  gender: F
steps:
  - {name: s, transaction: ITI-44, endpoint: pix,
     with: {patient: {id: "P^^^&1.2.3&ISO", gender: "${gender}"}}}
"""
    assert load(tmp_path, text, {"gender": "M"}).variables["gender"] == "M"
    assert problems(tmp_path, text, {"gender": "Q"}) == [
        "11: steps[0].with.patient.gender: 'Q' is not an HL7 AdministrativeGender code; use one "
        "of F, M, O, U, UN"]
    assert problems(tmp_path, text, {"colour": "red"}) == [
        "1: --var colour: the scenario declares no variable 'colour' (declared: gender)"]


def test_values_known_before_the_run_are_read_before_the_run(tmp_path: Path) -> None:
    found = problems(tmp_path, HEAD + """\
steps:
  - {name: a, transaction: ITI-45, endpoint: pix, with: {patient_id: "not an id"}}
  - {name: b, transaction: ITI-41, endpoint: repository,
     with: {patient: "P^^^&1.2.3&ISO", documents: [{file: missing.pdf}, {ccd: true}]}}
  - {name: c, transaction: ITI-18, endpoint: registry, with: {query: FindDocuments}}
""")
    assert found == [
        "8: steps[0].with.patient_id: cannot read patient id 'not an id' (write it as CX "
        "(12345^^^&1.2.3.4&ISO) or as root|id (1.2.3.4|12345))",
        f"10: steps[1].with.documents[0].file: file 'missing.pdf' not found (looked in "
        f"{tmp_path}) (paths are relative to the scenario file)",
        "11: steps[2].with.parameters: stored query FindDocuments needs "
        "$XDSDocumentEntryPatientId (add the parameter(s) to the step)",
    ]


def test_ccd_needs_the_patients_name(tmp_path: Path) -> None:
    found = problems(tmp_path, HEAD + """\
steps:
  - {name: b, transaction: ITI-41, endpoint: repository,
     with: {patient: {id: "P^^^&1.2.3&ISO"}, documents: [{ccd: {title: T}}]}}
""")
    assert found == ["9: steps[0].with.documents[0].ccd: a CCD needs the patient's name (give "
                     "patient as a mapping with id and family (and given))"]


def test_raw_request_files_are_checked_for_references(tmp_path: Path) -> None:
    found = problems(tmp_path, HEAD + """\
steps:
  - {name: r, transaction: raw, endpoint: registry,
     with: {file: req.xml, action: "urn:ihe:iti:2007:RegistryStoredQuery"}}
""", **{"req.xml": "<q>${unknown_thing}</q>"})
    assert found == ["9: steps[0].with.file: in req.xml: unknown variable 'unknown_thing' "
                     "(declare it under variables: or capture it in an earlier step)"]


def test_csv_columns_are_checked(tmp_path: Path) -> None:
    found = problems(tmp_path, HEAD + """\
data: {csv: people.csv}
steps:
  - {name: f, transaction: ITI-44, endpoint: pix,
     with: {patient: {id: "${row.id}", family: "${row.surname}"}}}
""", **{"people.csv": "id,family\nA,B\n"})
    assert found == ["10: steps[0].with.patient.family: people.csv has no column 'surname' "
                     "(columns: id, family)"]


def test_a_missing_csv_is_a_problem_of_the_data_section(tmp_path: Path) -> None:
    found = problems(tmp_path, HEAD + """\
data: {csv: nowhere.csv}
steps:
  - {name: f, transaction: ITI-44, endpoint: pix, with: {patient: {id: "${row.id}"}}}
""")
    assert found == [f"7: data.csv: data file {tmp_path / 'nowhere.csv'} not found (paths are "
                     "relative to the scenario file)"]


def test_endpoints_and_headers_cannot_depend_on_the_row_or_runtime(tmp_path: Path) -> None:
    found = problems(tmp_path, """\
version: 1
name: t
data: {csv: p.csv}
variables: {base: "http://h", per_row: "${row.id}"}
endpoints: {pix: "${per_row}/pix", pdq: "${base}/pdq"}
headers: {X-Api-Key: "${secret.api_key}", X-Row: "${row.id}"}
steps:
  - {name: f, transaction: ITI-45, endpoint: pix, with: {patient_id: "1.2.3|x"}}
""", **{"p.csv": "id\n1\n"})
    assert found == ["5: endpoints.pix: an endpoint cannot depend on the CSV row",
                     "6: headers.X-Row: a header cannot depend on the CSV row"]


def test_yaml_syntax_errors_and_hostile_tags_name_the_line(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match=r"scenario.yaml:3: invalid YAML"):
        load(tmp_path, "version: 1\nname: [unclosed\nsteps: x\n")
    hostile = r"scenario.yaml:2: YAML tag '\S+python/object/apply:os.system' is not allowed"
    with pytest.raises(ConfigError, match=hostile):
        load(tmp_path, "version: 1\nname: !!python/object/apply:os.system [echo hi]\n")


def test_a_scenario_that_is_not_a_mapping(tmp_path: Path) -> None:
    with pytest.raises(ScenarioError, match="a scenario is a mapping"):
        load(tmp_path, "- just\n- a list\n")


def test_a_csv_without_rows_is_a_problem(tmp_path: Path) -> None:
    found = problems(tmp_path, HEAD + """\
data: {csv: p.csv}
steps:
  - {name: f, transaction: ITI-44, endpoint: pix, with: {patient: {id: "${row.id}"}}}
""", **{"p.csv": "id\n"})
    assert found == ["7: data.csv: p.csv has a header but no rows (add one line per run of the "
                     "steps)"]
