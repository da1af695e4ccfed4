"""Content just over each parser's bound is a clear error for that exchange or file, never a
crash (exit 70): a JSON number beyond Python's int limit, an over-long HL7 MSH-2, a message of
too many HL7 elements (``ihe diff``), and XML nested 1,000 deep inside an unordered list
(``ihe replay`` against a server on 127.0.0.1)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from ihe_test_util.cassette.store import save_cassette
from ihe_test_util.cli.main import cli
from ihe_test_util.ihe.er7 import MAX_ELEMENTS
from ihe_test_util.model import Cassette, CassetteMeta, Headers, Interaction, Request, Response

from .transport_servers import base_url, serve

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
MSH = "MSH|^~\\&|SND|FAC|RCV|FAC|20240101||ADT^A01|1|P|2.5\r"


def diff(tmp_path: Path, recorded: str, replayed: str) -> tuple[int, str]:
    (tmp_path / "a").write_text(recorded, encoding="utf-8")
    (tmp_path / "b").write_text(replayed, encoding="utf-8")
    result = CliRunner().invoke(cli, ["diff", str(tmp_path / "a"), str(tmp_path / "b")],
                                env={"COLUMNS": "400"}, catch_exceptions=False)
    return result.exit_code, result.output


def test_json_number_over_pythons_int_limit_is_unparseable_not_a_crash(tmp_path: Path) -> None:
    code, out = diff(tmp_path, '{"a": 1}', '{"a": %s}' % ("9" * 4301))
    assert code == 1
    assert "JSON number of 4301 characters (at most 4000 are read)" in out


def test_json_nested_past_the_bound_is_unparseable(tmp_path: Path) -> None:
    deep = "[" * 100_000 + "]" * 100_000
    code, out = diff(tmp_path, '{"a": 1}', deep)
    assert code == 1
    assert "JSON nests deeper than 200 levels" in out


def test_hl7_msh2_longer_than_five_characters_is_unparseable(tmp_path: Path) -> None:
    long_msh = MSH.replace("^~\\&", "^~\\&#" + "^a")
    code, out = diff(tmp_path, MSH + "PID|1||123\r", long_msh + "PID|1||123\r")
    assert code == 1
    assert "MSH-2 has 7 encoding characters (at most 5)" in out


def test_hl7_message_of_too_many_elements_is_unparseable(tmp_path: Path) -> None:
    code, out = diff(tmp_path, MSH + "PID|1||123\r", MSH + "PID|1||" + "a^" * MAX_ELEMENTS)
    assert code == 1
    assert f"more than {MAX_ELEMENTS} fields, components and subcomponents" in out


def _deep_response(leaf: str) -> bytes:
    """An ITI-18 response whose two unordered DocumentEntries nest 1,000 levels deep (9 KB)."""
    deep = "<x>" * 1000 + leaf + "</x>" * 1000
    return (f'<query:AdhocQueryResponse xmlns:query="{QUERY}" xmlns:rim="{RIM}" '
            'status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success">'
            f'<rim:RegistryObjectList><rim:ExtrinsicObject id="a">{deep}</rim:ExtrinsicObject>'
            f'<rim:ExtrinsicObject id="b">{deep}</rim:ExtrinsicObject>'
            '</rim:RegistryObjectList></query:AdhocQueryResponse>').encode()


def test_replay_of_xml_nested_1000_deep_in_an_unordered_list_reports(tmp_path: Path) -> None:
    interaction = Interaction(
        Request("POST", "http://recorded.example/registry",
                Headers([("Content-Type", "text/xml")]), b"<ask/>"),
        Response(200, "OK", Headers([("Content-Type", "text/xml; charset=UTF-8")]),
                 _deep_response("1")))
    save_cassette(tmp_path / "cassettes" / "deep.yaml",
                  Cassette((interaction,), CassetteMeta(name="deep")))
    answer = _deep_response("2")

    def deep(body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        return 200, [("Content-Type", "text/xml; charset=UTF-8")], answer

    with serve(routes={"registry": deep}) as server:
        run = subprocess.run(
            [sys.executable, "-m", "ihe_test_util", "--no-color", "replay", "cassettes",
             "--target", base_url(server), "--report-json", "run.json"],
            capture_output=True, text=True, cwd=tmp_path, timeout=120,
            env={**os.environ, "COLUMNS": "200"})
    assert "internal error" not in run.stdout + run.stderr
    assert run.returncode == 1, run.stdout + run.stderr
    exchange, = json.loads((tmp_path / "run.json").read_text(encoding="utf-8"))["exchanges"]
    assert exchange["outcome"] == "changed"
    assert any("nested deeper than" in str(d) for d in exchange["differences"])


_CASSETTE = """version: 1
interactions:
- request:
    method: POST
    uri: http://recorded.example/a
    headers:
      Content-Type: text/xml
    body: "<a/>"
  response:
    status: {code: 200, message: OK}
    headers: {Content-Type: text/xml}
    body: {string: "<a/>"}
"""


@pytest.mark.parametrize(("old", "new", "line", "message"), [
    ("method: POST", "method: PO ST", 4, "request.method 'PO ST' is not an HTTP method"),
    ("Content-Type: text/xml\n    body", 'X-Name: "caf\u20ac"\n    body', 7,
     "request.headers.X-Name holds '\u20ac', which an HTTP header cannot carry"),
    ("Content-Type: text/xml\n    body", 'X-Name: "a\\r\\nX-Injected: 1"\n    body', 7,
     "request.headers.X-Name holds '\\r'"),
    ("Content-Type: text/xml\n    body", '"Bad Name": x\n    body', 7,
     "request.headers: 'Bad Name' is not an HTTP header name"),
    ("headers: {Content-Type: text/xml}", 'headers: {X-Name: "\u20ac"}', 11,
     "response.headers.X-Name holds '\u20ac'"),
])
def test_cassette_check_rejects_what_replay_cannot_send(
        tmp_path: Path, old: str, new: str, line: int, message: str) -> None:
    assert old in _CASSETTE
    folder = tmp_path / "cassettes"
    folder.mkdir()
    (folder / "bad.yaml").write_text(_CASSETTE.replace(old, new, 1), encoding="utf-8")
    runner = CliRunner()
    check = runner.invoke(cli, ["--no-color", "cassette", "check", str(folder / "bad.yaml")],
                          env={"COLUMNS": "400"}, catch_exceptions=False)
    assert check.exit_code == 2, check.output
    assert f"bad.yaml:{line}: interaction 1: {message}" in check.output
    replay = runner.invoke(cli, ["--no-color", "replay", str(folder), "--target",
                                 "http://127.0.0.1:9"], env={"COLUMNS": "400"},
                           catch_exceptions=False)
    assert replay.exit_code == 2, replay.output
    assert "internal error" not in replay.output
    assert message in replay.output


_SCENARIO = """version: 1
name: limits
variables:
  base: http://127.0.0.1:9
  family: Smith
endpoints:
  pix: ${base}/pix
steps:
  - name: raw
    transaction: raw
    endpoint: pix
    with:
      file: request.txt
      content_type: text/plain
"""


def record(tmp_path: Path, scenario: str, request: str = "hello ${family}") -> tuple[int, str]:
    (tmp_path / "scenario.yaml").write_text(scenario, encoding="utf-8")
    if not (tmp_path / "request.txt").exists():
        (tmp_path / "request.txt").write_text(request, encoding="utf-8")
    result = CliRunner().invoke(cli, ["--no-color", "record", str(tmp_path / "scenario.yaml")],
                                env={"COLUMNS": "400"}, catch_exceptions=False)
    assert "internal error" not in result.output
    return result.exit_code, result.output


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="FIFOs are POSIX")
@pytest.mark.parametrize("kind", ["fifo", "device"])
def test_record_file_must_be_a_regular_file(tmp_path: Path, kind: str) -> None:
    if kind == "fifo":
        os.mkfifo(tmp_path / "request.txt")
        name = "request.txt"
    else:
        name = "/dev/zero"
    scenario = _SCENARIO.replace("file: request.txt", f"file: {name}").replace(
        "variables:", f"data:\n  csv: {name}\nvariables:")
    code, out = record(tmp_path, scenario)
    assert code == 2, out
    assert out.count("is not a regular file (a device, FIFO or folder cannot be read)") == 2
    assert "scenario.yaml:4: data.csv:" in out and "scenario.yaml:15: steps[0].with.file:" in out
    assert "nothing was sent" in out


def test_record_variable_doubling_is_bounded(tmp_path: Path) -> None:
    from ihe_test_util.record.variables import MAX_VALUE_CHARS

    levels = ["  a0: " + "x" * 1024]
    levels += [f'  a{i}: "${{a{i - 1}}}${{a{i - 1}}}"'
               for i in range(1, (MAX_VALUE_CHARS // 1024).bit_length() + 1)]
    scenario = _SCENARIO.replace("variables:\n", "variables:\n" + "\n".join(levels) + "\n")
    code, out = record(tmp_path, scenario, request=f"hello ${{a{len(levels) - 1}}}")
    assert code == 2, out
    assert f"(at most {MAX_VALUE_CHARS}); do variables double each other?" in out
    assert "nothing was sent" in out


def test_record_control_characters_are_scenario_problems(tmp_path: Path) -> None:
    scenario = (_SCENARIO.replace("family: Smith", 'family: "Sm\\x00ith"')
                .replace("${base}/pix", '"${base}/p\\x01ix"')
                .replace("endpoints:", 'headers:\n  X-Trace: "a\\nb: c"\nendpoints:'))
    code, out = record(tmp_path, scenario)
    assert code == 2, out
    assert "scenario.yaml:5: variables.family: holds the control character '\\x00'" in out
    assert "scenario.yaml:7: headers.X-Trace: holds a line break" in out
    assert "scenario.yaml:9: endpoints.pix: holds the control character '\\x01'" in out
    assert "nothing was sent" in out


def test_csv_row_with_a_control_character_is_a_row_problem(tmp_path: Path) -> None:
    from ihe_test_util.record.data import read_table

    (tmp_path / "people.csv").write_text("name,family\nJo\x1bhn,Smith\nJane,Doe\n",
                                         encoding="utf-8")
    table = read_table(tmp_path / "people.csv")
    assert [row.values for row in table.rows] == [{"name": "Jane", "family": "Doe"}]
    problem, = table.problems
    assert (problem.line, problem.column) == (2, "name")
    assert "control character '\\x1b'" in problem.message
