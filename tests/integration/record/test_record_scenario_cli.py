"""``ihe record SCENARIO`` end to end against ``ihe sim`` on 127.0.0.1, through the CLI."""

from __future__ import annotations

import json
from pathlib import Path

from ihe_test_util.cassette import load_cassette
from ihe_test_util.record.schema import schema_text
from ihe_test_util.sim import Simulator
from ihe_test_util.transport.mtom import parse_multipart

from .conftest import endpoints, ihe, scenario_file

DOCUMENT = b"%PDF-1.4 a report \x00\x01\xfe\xff\r\n end"

MULTI_STEP = """\
version: 1
name: multi-step
endpoints:
  pix: http://127.0.0.1:1/pix                 # replaced by --endpoint
  registry: http://127.0.0.1:1/xds/registry
  repository: http://127.0.0.1:1/xds/repository
variables:
  pid: "MS-1^^^&1.3.6.1.4.1.21367.13.20.1000&ISO"
steps:
  - name: feed
    transaction: ITI-44
    endpoint: pix
    with: {patient: {id: "${pid}", family: Doe, given: Jane, gender: F}}
  - name: submit
    id: pnr
    transaction: ITI-41
    endpoint: repository
    with:
      patient: "${pid}"
      documents: [{file: docs/report.pdf, title: Report}]
  - name: find
    transaction: ITI-18
    endpoint: registry
    with:
      query: FindDocuments
      parameters: {XDSDocumentEntryPatientId: "${pid}"}
    capture:
      repository: //rim:Slot[@name='repositoryUniqueId']/rim:ValueList/rim:Value
      unique_id: >-
        //rim:ExternalIdentifier[@identificationScheme=
        'urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab']/@value
  - name: retrieve
    transaction: ITI-43
    endpoint: repository
    with: {repository_unique_id: "${repository}", document_unique_ids: "${unique_id}"}
"""


def test_multi_step_scenario_records_every_exchange_with_chained_values(
        workdir: Path, sim: Simulator) -> None:
    path = scenario_file(workdir, MULTI_STEP, **{"docs/report.pdf": DOCUMENT})
    run = ihe("record", str(path), *endpoints(sim, "pix", "registry", "repository"))
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "✓ 1/4 feed  ITI-44 -> pix  HTTP 200  ack AA" in run.stdout
    assert "✓ 3/4 find  ITI-18 -> registry  HTTP 200  Success, 1 result(s)" in run.stdout
    assert "cassette: cassettes/multi-step.yaml (4 exchange(s)" in run.stdout
    cassette = load_cassette(workdir / "cassettes" / "multi-step.yaml")
    assert cassette.meta.name == "multi-step"
    meta = [(i.meta.transaction, i.meta.step, i.meta.endpoint) for i in cassette.interactions]
    assert meta == [("ITI-44", "feed", "pix"), ("ITI-41", "submit", "repository"),
                    ("ITI-18", "find", "registry"), ("ITI-43", "retrieve", "repository")]
    assert [i.response.status for i in cassette.interactions] == [200] * 4
    find = cassette.interactions[2]
    assert set(find.meta.captured) == {"repository", "unique_id"}
    assert find.meta.captured["repository"] == sim.identity.repository_unique_id
    retrieve = cassette.interactions[3]
    assert find.meta.captured["unique_id"].encode() in retrieve.request.body
    assert b"urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success" in retrieve.response.body
    parts = parse_multipart(retrieve.response.body, retrieve.response.content_type or "")
    assert [p.content for p in parts.attachments] == [DOCUMENT]  # the bytes we submitted


def test_json_output_is_one_object_describing_every_step(workdir: Path, sim: Simulator) -> None:
    path = scenario_file(workdir, MULTI_STEP, **{"docs/report.pdf": DOCUMENT})
    run = ihe("record", str(path), "--json", "--cassette", "out/x.yaml",
              *endpoints(sim, "pix", "registry", "repository"))
    assert run.exit_code == 0, run.stderr
    data = json.loads(run.stdout)
    assert data["recorded"] == 4 and data["exit_code"] == 0 and data["written"] is True
    assert data["cassette"] == "out/x.yaml"
    assert [s["transaction"] for s in data["steps"]] == ["ITI-44", "ITI-41", "ITI-18", "ITI-43"]
    assert data["steps"][2]["ihe_status"] == "Success, 1 result(s)"
    assert data["steps"][2]["captured"]["repository"] == sim.identity.repository_unique_id
    assert (workdir / "out" / "x.yaml").is_file()


CSV_LOOP = """\
version: 1
name: loop
data: {csv: patients.csv}
variables:
  pid: "${row.id}^^^&1.3.6.1.4.1.21367.13.20.1000&ISO"
endpoints:
  pix: http://127.0.0.1:1/pix
  registry: http://127.0.0.1:1/xds/registry
  repository: http://127.0.0.1:1/xds/repository
steps:
  - name: feed
    transaction: ITI-44
    endpoint: pix
    with:
      patient: {id: "${pid}", family: "${row.family}", gender: "${row.gender}",
                birth_date: "${row.born}"}
  - name: submit
    transaction: ITI-41
    endpoint: repository
    with:
      patient: {id: "${pid}", family: "${row.family}"}
      documents: [{ccd: {title: "CCD of ${row.family}"}}]
  - name: find
    transaction: ITI-18
    endpoint: registry
    with: {query: FindDocuments, parameters: {XDSDocumentEntryPatientId: "${pid}"}}
"""
PATIENTS = """\
id,family,gender,born
L-1,Curie,F,18671107
L-2,Turing,X,19120623
L-3,Noether,F,1882-03-23
L-4,Hopper,F,19061209
L-5,Lovelace,F
"""


def test_csv_loop_runs_good_rows_and_reports_bad_ones_by_line_and_column(
        workdir: Path, sim: Simulator) -> None:
    path = scenario_file(workdir, CSV_LOOP, **{"patients.csv": PATIENTS})
    run = ihe("record", str(path), *endpoints(sim, "pix", "registry", "repository"))
    assert run.exit_code == 3, run.stdout + run.stderr
    out = " ".join(run.stdout.split())
    assert "✗ row rejected patients.csv:3: column 'gender': 'X' is not an HL7 " \
           "AdministrativeGender code; use one of F, M, O, U, UN (in steps[0].with.patient." \
           "gender)" in out
    assert out.count("patients.csv:3") == 1
    assert "patients.csv:4: column 'born': '1882-03-23' is not a date YYYY[MM[DD]] (write " \
           "19770429 for 29 April 1977) (in steps[0].with.patient.birth_date)" in out
    assert "patients.csv:6: has 3 cells, the header names 4 columns" in out
    cassette = load_cassette(workdir / "cassettes" / "loop.yaml")
    assert [i.meta.step for i in cassette.interactions] == [
        "feed [row 2]", "submit [row 2]", "find [row 2]",
        "feed [row 5]", "submit [row 5]", "find [row 5]"]
    assert all(i.response.status == 200 for i in cassette.interactions)
    assert b"Hopper" in cassette.interactions[4].request.body
    assert b"1 result" not in cassette.interactions[5].response.body  # a real query answer
    data = json.loads(ihe("record", str(path), "--json", "--cassette", "again.yaml",
                          *endpoints(sim, "pix", "registry", "repository")).stdout)
    assert [r["line"] for r in data["rejected_rows"]] == [6, 3, 4]
    assert data["recorded"] == 6 and data["exit_code"] == 3


def test_an_invalid_scenario_is_exit_2_with_every_problem_and_nothing_sent(
        workdir: Path, sim: Simulator) -> None:
    path = scenario_file(workdir, MULTI_STEP.replace("FindDocuments", "FindDocs")
                         .replace("gender: F", "gender: Q"))
    run = ihe("record", str(path), *endpoints(sim, "pix", "registry", "repository"))
    assert run.exit_code == 2
    err = " ".join(run.stderr.split())
    assert "invalid scenario" in err and "(3 problems)" in err
    assert "scenario.yaml:13: steps[0].with.patient.gender: unknown gender 'Q'" in err
    assert "scenario.yaml:20: steps[1].with.documents[0].file: file 'docs/report.pdf' not found" \
        in err
    assert "scenario.yaml:25: steps[2].with.query: unknown stored query 'FindDocs'" in err
    assert "nothing was sent" in err
    assert not (workdir / "cassettes").exists()
    assert sim.store.patients() == []  # the feed was never sent


def test_a_soap_fault_is_recorded_as_what_the_system_did(workdir: Path, sim: Simulator) -> None:
    path = scenario_file(workdir, """\
    version: 1
    name: fault
    endpoints: {registry: "http://127.0.0.1:1/xds/registry"}
    steps:
      - name: feed at the wrong actor
        transaction: ITI-44
        endpoint: registry
        with: {patient: {id: "1.2.3|A"}}
    """)
    run = ihe("record", str(path), *endpoints(sim, "registry"))
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "SOAP Fault Sender" in run.stdout
    [interaction] = load_cassette(workdir / "cassettes" / "fault.yaml").interactions
    assert interaction.response.status >= 400
    assert interaction.meta.transaction == "ITI-44"


def test_env_actors_and_endpoint_overrides(workdir: Path, sim: Simulator) -> None:
    (workdir / "ihe.toml").write_text(
        f'[env.lab]\nactors = {{ pix = "{sim.url_for("pix")}" }}\n', encoding="utf-8")
    path = scenario_file(workdir, """\
    version: 1
    name: env
    endpoints: {pix: "env:pix", pdq: "env:pdq"}
    steps:
      - {name: q, transaction: ITI-45, endpoint: pix, with: {patient_id: "1.2.3|A"}}
      - {name: d, transaction: ITI-47, endpoint: pdq, with: {patient: {family: X}}}
    """)
    missing = ihe("record", str(path))
    assert missing.exit_code == 2
    assert "endpoints.pix: env:pix takes the URL of actor 'pix' from an environment, but no " \
           "--env was given" in " ".join(missing.stderr.split())
    no_actor = ihe("record", str(path), "--env", "lab")
    assert no_actor.exit_code == 2
    assert "environment 'lab' has no actor 'pdq' (actors: pix)" in no_actor.stderr
    typo = ihe("record", str(path), "--env", "lab", "--endpoint", "pqd=http://x")
    assert typo.exit_code == 2 and "the scenario has no endpoint 'pqd'" in typo.stderr
    run = ihe("record", str(path), "--env", "lab", *endpoints(sim, "pdq"))
    assert run.exit_code == 0, run.stdout + run.stderr
    urls = [i.request.uri for i in load_cassette(workdir / "cassettes/env.yaml").interactions]
    assert urls == [sim.url_for("pix"), sim.url_for("pdq")]


def test_print_schema_and_usage_errors(workdir: Path) -> None:
    run = ihe("record", "--print-schema")
    assert run.exit_code == 0 and run.stdout == schema_text()
    assert ihe("record").exit_code == 2
    both = ihe("record", "x.yaml", "--proxy", "127.0.0.1:0")
    assert both.exit_code == 2 and "not SCENARIO and --proxy" in both.stderr
    assert ihe("record", "x.yaml", "--upstream", "http://x").exit_code == 2
    assert ihe("record", "--proxy", "127.0.0.1:0", "--upstream", "http://x").exit_code == 2
    bad_var = ihe("record", "missing.yaml", "--var", "novalue")
    assert bad_var.exit_code == 2 and "--var 'novalue': write NAME=VALUE" in bad_var.stderr
    assert "file not found" in ihe("record", "missing.yaml").stderr


def test_a_cassette_that_cannot_be_written_stops_the_run_before_it_starts(
        workdir: Path, sim: Simulator) -> None:
    path = scenario_file(workdir, MULTI_STEP, **{"docs/report.pdf": DOCUMENT})
    (workdir / "taken").write_text("a file where the folder should be")
    run = ihe("record", str(path), "--cassette", "taken/x.yaml",
              *endpoints(sim, "pix", "registry", "repository"))
    assert run.exit_code == 2
    assert "taken/x.yaml: cannot create the folder" in run.stderr
    assert sim.store.patients() == []
