"""``ihe diff`` end to end: files (bodies and raw HTTP captures taken from a real local HTTP
server), exit codes, JSON shaped like a run-report exchange, colour handling."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import jsonschema
import pytest
import requests
from click.testing import CliRunner

from ihe_test_util.cli.main import cli
from tests.conftest import corpus_file, shared_file


def run(*args: str, env: dict[str, str] | None = None) -> tuple[int, str]:
    result = CliRunner().invoke(cli, list(args), env=env, catch_exceptions=False)
    return result.exit_code, result.output


@pytest.fixture
def lc(tmp_path: Path) -> tuple[Path, Path]:
    """ITI-18 LeafClass response and a copy the test may edit."""
    source = corpus_file("ITI-18/sq-resp-lc.xml")
    copy = tmp_path / "replayed.xml"
    copy.write_bytes(source.read_bytes())
    return source, copy


def edit(path: Path, old: bytes, new: bytes) -> None:
    data = path.read_bytes()
    assert old in data
    path.write_bytes(data.replace(old, new, 1))


def test_identical_files_pass(lc: tuple[Path, Path]) -> None:
    code, out = run("diff", str(lc[0]), str(lc[1]))
    assert code == 0
    assert out.startswith("PASS  ITI-18")
    assert "0 differences" in out


def test_payload_change_exits_1_unless_fail_on_regression(lc: tuple[Path, Path]) -> None:
    edit(lc[1], b"<rim:Value>20061224</rim:Value>", b"<rim:Value>20061225</rim:Value>")
    code, out = run("diff", str(lc[0]), str(lc[1]))
    assert code == 1
    assert out.startswith("CHANGED")
    assert "DocumentEntry 1.42.20100312104638.15 slot creationTime: 20061224 -> 20061225" in out
    assert "ExtrinsicObject[1]/Slot[2]/ValueList/Value" in out.replace("\n", "")
    assert run("diff", str(lc[0]), str(lc[1]), "--fail-on", "regression")[0] == 0


def test_regression_exits_1_even_with_fail_on_regression(lc: tuple[Path, Path]) -> None:
    edit(lc[1], b"ResponseStatusType:Success", b"ResponseStatusType:Failure")
    code, out = run("diff", str(lc[0]), str(lc[1]), "--fail-on", "regression")
    assert code == 1
    assert out.startswith("REGRESSION")
    assert "registry status Success -> Failure" in out
    assert run("diff", str(lc[0]), str(lc[1]), "--fail-on", "never")[0] == 0


def test_fail_on_defaults_to_the_configuration(lc: tuple[Path, Path], tmp_path: Path,
                                               monkeypatch: pytest.MonkeyPatch) -> None:
    edit(lc[1], b"<rim:Value>20061224</rim:Value>", b"<rim:Value>20061225</rim:Value>")
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ihe.toml").write_text('fail_on = "regression"\n', encoding="utf-8")
    assert run("diff", str(lc[0]), str(lc[1]))[0] == 0


def test_json_is_a_run_report_exchange_item(lc: tuple[Path, Path]) -> None:
    edit(lc[1], b"ResponseStatusType:Success", b"ResponseStatusType:Failure")
    code, out = run("diff", str(lc[0]), str(lc[1]), "--json")
    assert code == 1
    item = json.loads(out)
    report = {
        "schema": "ihe-test-utility/run-report@1", "tool_version": "0", "fail_on": "changed",
        "started_at": "2024-01-01T00:00:00Z", "finished_at": "2024-01-01T00:00:01Z",
        "summary": {"total": 1, "pass": 0, "changed": 0, "regression": 1, "error": 0,
                    "skipped": 0},
        "exchanges": [item],
    }
    schema = shared_file("spec/run-report.schema.json")
    jsonschema.validate(report, json.loads(schema.read_text(encoding="utf-8")))
    assert item["outcome"] == "regression"
    assert item["transaction"] == "ITI-18"
    assert item["verdict"]["recorded"]["registry_status"] == "Success"
    assert item["verdict"]["replayed"]["registry_status"] == "Failure"
    first = item["differences"][0]
    assert first == {"path": "/AdhocQueryResponse/@status", "kind": "status",
                     "recorded": "Success", "replayed": "Failure", "severity": "regression",
                     "rule": "ITI-18 verdict registry_status",
                     "description": "registry status Success -> Failure"}


@pytest.mark.parametrize("args", [("missing.xml", "{lc}"), ("{lc}", "missing.xml")])
def test_unreadable_input_exits_2_naming_the_file(lc: tuple[Path, Path], tmp_path: Path,
                                                  args: tuple[str, str]) -> None:
    paths = [str(tmp_path / a) if a == "missing.xml" else str(lc[0]) for a in args]
    code, out = run("diff", *paths)
    assert code == 2
    assert f"{tmp_path / 'missing.xml'}: no such file" in out


def test_a_directory_and_an_unknown_transaction_are_usage_errors(lc: tuple[Path, Path],
                                                                 tmp_path: Path) -> None:
    code, out = run("diff", str(tmp_path), str(lc[1]))
    assert code == 2 and "is a directory" in out
    code, out = run("diff", str(lc[0]), str(lc[1]), "--transaction", "ITI-99")
    assert code == 2 and "unknown transaction 'ITI-99'" in out and "ITI-18" in out


def test_bad_rules_in_the_configuration_exit_2_naming_the_rule(
        lc: tuple[Path, Path], tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ihe.toml").write_text('[[rules]]\nnoise = "//rim:Slot["\n', encoding="utf-8")
    code, out = run("diff", str(lc[0]), str(lc[1]))
    assert code == 2
    assert "rules[0].noise" in out and "invalid XPath" in out


def test_rules_from_the_configuration_apply(lc: tuple[Path, Path], tmp_path: Path,
                                            monkeypatch: pytest.MonkeyPatch) -> None:
    edit(lc[1], b'mimeType="text/xml" ', b'mimeType="text/plain" ')
    monkeypatch.chdir(tmp_path)
    (tmp_path / "ihe.toml").write_text(
        '[[rules]]\nname = "mime drift"\ntransaction = "ITI-18"\n'
        'noise = "rim:ExtrinsicObject/@mimeType"\n', encoding="utf-8")
    code, out = run("-v", "diff", str(lc[0]), str(lc[1]))
    assert code == 0, out
    assert "rules[0] mime drift" in out


def test_no_color_removes_colour(lc: tuple[Path, Path]) -> None:
    edit(lc[1], b"ResponseStatusType:Success", b"ResponseStatusType:Failure")
    env = {"FORCE_COLOR": "1", "TERM": "xterm-256color"}
    coloured = run("diff", str(lc[0]), str(lc[1]), env=env)[1]
    plain = run("--no-color", "diff", str(lc[0]), str(lc[1]), env=env)[1]
    assert "\x1b[31m" in coloured or "\x1b[1;31m" in coloured
    assert "\x1b[31m" not in plain and "\x1b[1;31m" not in plain
    assert "REGRESSION" in plain


def test_hl7v2_json_and_abbreviated_inputs(tmp_path: Path) -> None:
    er7 = corpus_file("ITI-9/ok-1_Response.hl7")
    nf = tmp_path / "nf.hl7"
    nf.write_bytes(er7.read_bytes().replace(b"|OK", b"|NF"))
    code, out = run("diff", str(er7), str(nf))
    assert code == 1 and out.startswith("REGRESSION  ITI-9") and "queryResponseCode OK -> NF" in out
    bundle = corpus_file("ITI-67/Bundle-FindDocumentReferences.json")
    assert run("diff", str(bundle), str(bundle))[0] == 0
    abbreviated = corpus_file("ITI-18/InitiatingGatewayResponse.xml")
    code, out = run("diff", str(abbreviated), str(abbreviated))
    assert code == 0 and "looks abbreviated or templated" in out


class _Server(BaseHTTPRequestHandler):
    """Answers like a repository: the ITI-43 response, as MTOM, fresh boundary each time."""

    document = b"%PDF-1.4 a document\n%%EOF\n"
    envelope = b""  # set by the fixture (from the corpus)

    def do_POST(self) -> None:
        from ihe_test_util.transport.mtom import Attachment, build_mtom

        length = int(self.headers.get("Content-Length", "0"))
        self.rfile.read(length)
        cid = "doc@repository"
        envelope = self.envelope.replace(
            b"72f7c587daaacb8b81212de4e80e442e5f43394482e12edd@apache.org", cid.encode())
        if self.path == "/upgraded":
            self.document = self.document.replace(b"a document", b"another document")
        body, content_type = build_mtom(envelope, [Attachment(cid, "application/pdf",
                                                              self.document)])
        self.send_response(200)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture
def repository() -> Iterator[str]:
    _Server.envelope = corpus_file("ITI-43/ITI-43_response_raw.xml").read_bytes()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Server)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def capture(url: str, path: Path) -> Path:
    """Save a real HTTP exchange's response the way capture tools do: status, headers, body."""
    response = requests.post(url, data=b"<request/>", timeout=10)
    head = f"HTTP/1.1 {response.status_code} {response.reason}\r\n" + "".join(
        f"{name}: {value}\r\n" for name, value in response.headers.items()) + "\r\n"
    path.write_bytes(head.encode("latin-1") + response.content)
    return path


def test_raw_mtom_captures_from_a_real_http_server(repository: str, tmp_path: Path) -> None:
    first = capture(f"{repository}/same", tmp_path / "recorded.txt")
    second = capture(f"{repository}/same", tmp_path / "replayed.txt")
    assert first.read_bytes() != second.read_bytes()  # fresh MIME boundary every time
    code, out = run("diff", str(first), str(second))
    assert code == 0, out
    assert out.startswith("PASS  ITI-43")
    changed = capture(f"{repository}/upgraded", tmp_path / "upgraded.txt")
    code, out = run("diff", str(first), str(changed), "--json")
    assert code == 1
    item = json.loads(out)
    assert item["outcome"] == "changed"
    kinds_and_paths = [(d["kind"], d["path"]) for d in item["differences"]]
    assert kinds_and_paths == [("part", "part:doc@repository")]


def test_the_installed_command_runs_in_a_subprocess(lc: tuple[Path, Path]) -> None:
    edit(lc[1], b'status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"',
         b'status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"')
    result = subprocess.run(
        [sys.executable, "-m", "ihe_test_util", "--no-color", "diff", str(lc[0]), str(lc[1]),
         "--transaction", "iti18"], capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("REGRESSION  ITI-18")


def test_fhir_json_files_show_json_values_with_fhir_paths(tmp_path: Path) -> None:
    """Sekmet-shaped PDQm searchsets: renamed server ids pass; a changed value is shown as
    JSON at a FHIR-style path, a lost match as a regression, a total change once."""
    def bundle(base: str, ids: list[str], genders: list[str], total: int) -> dict[str, object]:
        return {"resourceType": "Bundle", "id": ids[0] + "-search", "type": "searchset",
                "meta": {"lastUpdated": f"2026-12-02T10:0{len(ids)}:00Z"}, "total": total,
                "link": [{"relation": "self", "url": f"{base}/Patient?family=M&_offset=0"}],
                "entry": [{"fullUrl": f"{base}/Patient/{pid}", "search": {"mode": "match"},
                           "resource": {"resourceType": "Patient", "id": pid, "gender": gender,
                                        "identifier": [{"system": "urn:oid:1.2", "value": n}],
                                        "meta": {"versionId": "1"}}}
                          for n, (pid, gender) in enumerate(zip(ids, genders, strict=True))]}
    recorded = tmp_path / "recorded.json"
    recorded.write_text(json.dumps(bundle("http://a:1/fhir", ["9c", "7a"], ["male", "female"], 2)))
    renamed = tmp_path / "renamed.json"
    renamed.write_text(json.dumps(bundle("http://b:2/fhir", ["x1", "x2"], ["male", "female"], 2)))
    code, out = run("diff", str(recorded), str(renamed), "-t", "ITI-78")
    assert code == 0 and out.startswith("PASS  ITI-78"), out
    changed = tmp_path / "changed.json"
    changed.write_text(json.dumps(bundle("http://b:2/fhir", ["x1"], ["other"], 1)))
    code, out = run("diff", str(recorded), str(changed), "-t", "ITI-78", "--json")
    assert code == 1
    item = json.loads(out)
    assert item["outcome"] == "regression"
    shown = [(d.get("location", d["path"]), d["recorded"], d["replayed"])
             for d in item["differences"]]
    assert shown[0] == ("Bundle.total", "2", "1")
    assert ("Bundle.entry[0].resource.gender", '"male"', '"other"') in shown
    assert [path for path, _, _ in shown].count("Bundle.total") == 1
    assert not any("<" in (value or "") for _, *values in shown for value in values)
    code, out = run("diff", str(recorded), str(changed), "-t", "ITI-78")
    assert 'Bundle.entry[0].resource.gender: "male" -> "other"' in out
    assert "ns0:" not in out and "@value" not in out
