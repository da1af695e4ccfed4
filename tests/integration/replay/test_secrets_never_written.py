"""Issue 17: secrets never leave configuration.

Record with secrets (a bearer token in a header *and* in the URL query, an API key header, a
SAML assertion from ``[saml]``) through ``ihe record SCENARIO`` and the recording proxy
(``--json``), against a server on 127.0.0.1 that echoes all of them back and hands out its own
tokens (a WS-Trust SAML assertion, OAuth ``access_token`` / ``id_token`` / ``refresh_token``).
Then replay against a changed server, approve, render every report format again, and grep
every byte written (each file under the test's folder, every stdout and stderr) for each
secret: as is, URL-encoded and base64-encoded. None may appear.
"""

from __future__ import annotations

import base64
import json
import signal
import sys
import threading
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import quote, quote_plus
from xml.sax.saxutils import escape

import pytest
import requests

from ihe_test_util.cassette import load_cassette

from ...unit.transport.saml_keys import signing_pair
from ..record.conftest import Run, finally_killed, ihe, ihe_process
from ..record.test_record_secrets import API_KEY, SAML, SCENARIO, SECRETS, TOKEN

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

SOAP12 = "http://www.w3.org/2003/05/soap-envelope"
WST = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
SAML2 = "urn:oasis:names:tc:SAML:2.0:assertion"


@dataclass
class EchoServer:
    """Answers every POST with everything secret it was sent, plus tokens of its own.

    SOAP paths get a SOAP 1.2 envelope echoing the path (query included), the Authorization
    and X-Api-Key headers and the request's document element (with its SAML assertion), and a
    WS-Trust RequestedSecurityToken holding a fresh SAML assertion. ``/token`` gets JSON with
    fresh OAuth tokens and the same echoes. ``version`` changes every answer (replay then has
    something to approve); ``issued`` lists every token handed out.
    """

    version: int = 1
    issued: list[str] = field(default_factory=list)
    url: str = ""

    def fresh(self, kind: str) -> str:
        value = f"srv-{kind}-{uuid.uuid4().hex}"
        self.issued.append(value)
        return value

    def answer(self, path: str, headers: Any, body: bytes) -> tuple[str, bytes]:
        authorization = headers.get("Authorization", "")
        key = headers.get("X-Api-Key", "")
        if path.startswith("/token"):
            return "application/json", json.dumps({
                "access_token": self.fresh("access"), "id_token": self.fresh("id"),
                "refresh_token": self.fresh("refresh"), "token_type": "Bearer",
                "echo": {"path": path, "authorization": authorization, "key": key},
                "version": self.version,
            }).encode()
        document = body.split(b"?>", 1)[1] if body.startswith(b"<?xml") else body
        assertion = (f'<saml2:Assertion xmlns:saml2="{SAML2}" ID="_{self.fresh("assertion")}">'
                     f"<saml2:Subject><saml2:NameID>{self.fresh('subject')}</saml2:NameID>"
                     f"</saml2:Subject></saml2:Assertion>")
        return "application/soap+xml", (
            f'<s:Envelope xmlns:s="{SOAP12}"><s:Body><Echo version="{self.version}">'
            f"<Path>{escape(path)}</Path><Authorization>{escape(authorization)}</Authorization>"
            f"<Key>{escape(key)}</Key>"
            f'<wst:RequestSecurityTokenResponse xmlns:wst="{WST}"><wst:RequestedSecurityToken>'
            f"{assertion}</wst:RequestedSecurityToken></wst:RequestSecurityTokenResponse>"
            f"<Request>"
        ).encode() + document.strip() + b"</Request></Echo></s:Body></s:Envelope>"


@contextmanager
def echo_server() -> Iterator[EchoServer]:
    state = EchoServer()

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:
            return

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            content_type, answer = state.answer(self.path, self.headers, body)
            self.send_response(200)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.url = f"http://127.0.0.1:{server.server_address[1]}"
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05},
                              daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _forms(secret: str) -> list[bytes]:
    raw = secret.encode()
    return [raw, quote(secret, safe="").encode(), quote_plus(secret, safe="").encode(),
            base64.b64encode(raw), base64.urlsafe_b64encode(raw),
            base64.b64encode(raw).rstrip(b"=")]


def _record_through_proxy(workdir: Path, server: EchoServer, env: dict[str, str]) -> Run:
    """Two exchanges through ``ihe record --proxy --json``, stopped by SIGTERM."""
    args = ["record", "--proxy", "127.0.0.1:0", "--json", "--cassette", "cassettes/proxy.yaml",
            "--upstream", server.url]
    with finally_killed(ihe_process(*args, cwd=workdir, env=env)) as process:
        assert process.stdout is not None and process.stderr is not None
        listening = json.loads(process.stdout.readline() or "{}")
        assert listening.get("event") == "listening", process.stderr.read()
        proxy = listening["proxy"]
        headers = {"Authorization": f"Bearer {TOKEN}", "X-Api-Key": API_KEY,
                   "Content-Type": "application/soap+xml"}
        soap = requests.post(f"{proxy}/soap?access_token={TOKEN}&page=1", headers=headers,
                             data=f'<s:Envelope xmlns:s="{SOAP12}"><s:Body><Ping/></s:Body>'
                                  f"</s:Envelope>", timeout=30)
        assert soap.status_code == 200, soap.text
        token = requests.post(f"{proxy}/token?access_token={quote(TOKEN)}", headers=headers,
                              data=b"grant_type=client_credentials", timeout=30)
        assert token.status_code == 200 and "access_token" in token.json()
        process.send_signal(signal.SIGTERM)
        stdout, stderr = process.communicate(timeout=60)
    return Run(process.returncode, json.dumps(listening) + "\n" + stdout, stderr)


def test_no_secret_in_any_byte_written_after_record_replay_approve_and_every_report(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    pair = signing_pair()
    (tmp_path / "saml.pem").write_bytes(pair.cert_pem)
    (tmp_path / "ihe.toml").write_text(SECRETS + SAML, encoding="utf-8")
    (tmp_path / "scenario.yaml").write_text(SCENARIO, encoding="utf-8")
    env = {"REC_TEST_TOKEN": TOKEN, "REC_TEST_KEY": API_KEY,
           "REC_TEST_SAML_KEY": pair.key_pem.decode()}
    outputs: list[Run] = []
    with echo_server() as server:
        outputs.append(_record_through_proxy(tmp_path, server, env))
        assert outputs[-1].exit_code == 0, outputs[-1]
        outputs.append(ihe("record", "scenario.yaml", "--endpoint", f"pix={server.url}/pix",
                           "--cassette", "cassettes/pix.yaml", env=env))
        assert (tmp_path / "cassettes" / "pix.yaml").is_file(), outputs[-1]

        server.version = 2  # the upgraded system: every answer changed
        outputs.append(ihe("-v", "replay", "cassettes", "--fail-on", "never",
                           "--report-json", "out/run.json", "--junit", "out/junit.xml",
                           "--markdown", "out/run.md", "--html", "out/run.html", env=env))
        assert outputs[-1].exit_code == 0, outputs[-1]
        run = json.loads((tmp_path / "out" / "run.json").read_text(encoding="utf-8"))
        assert {e["outcome"] for e in run["exchanges"]} <= {"changed", "regression"}, run
        assert len(run["exchanges"]) == 4
        outputs.append(ihe("approve", "out/run.json", "--allow-regressions", env=env))
        assert outputs[-1].exit_code == 0, outputs[-1]
        outputs.append(ihe("-v", "report", "render", "out/run.json", "--html", "again/run.html",
                           "--junit", "again/junit.xml", "--markdown", "again/run.md",
                           "--fail-on", "never", env=env))
        assert outputs[-1].exit_code == 0, outputs[-1]

        server.version = 3  # the approved baseline replays with its placeholders filled
        outputs.append(ihe("replay", "cassettes", "--fail-on", "never", "--report-json",
                           "out/again.json", env=env))
        assert outputs[-1].exit_code == 0, outputs[-1]
        issued = list(server.issued)

    approved = load_cassette(tmp_path / "cassettes" / "proxy.yaml").interactions
    assert "version=\"2\"" in approved[0].response.body.decode()  # really approved
    assert approved[0].request.uri.endswith("/soap?access_token=[[ihe-secret:api_token]]&page=1")
    assert approved[0].request.headers.get("Authorization") == "Bearer [[ihe-secret:api_token]]"
    assert approved[0].request.headers.get("X-Api-Key") == "[[ihe-secret:api_key]]"
    assert b"[[ihe-secret:wstrust_token]]" not in approved[0].response.body  # same placeholder
    assert b"[[ihe-secret:saml_assertion]]" in approved[0].response.body  # as recorded
    assert b'"access_token": "[[ihe-secret:access_token]]"' in approved[1].response.body

    secrets = [TOKEN, API_KEY, *issued]
    key_body = b"".join(pair.key_pem.splitlines()[1:-1])
    needles = [form for secret in secrets for form in _forms(secret)]
    needles += [key_body[:40], b"PRIVATE KEY", b"SignatureValue", b"saml2:Assertion"]
    written = [path for path in tmp_path.rglob("*") if path.is_file()
               and path.name not in ("saml.pem", "ihe.toml", "scenario.yaml")]
    assert len(written) > 10, written  # cassettes, kept exchanges, eight reports
    for path in written:
        data = path.read_bytes()
        for needle in needles:
            assert needle not in data, (needle, path)
    for output in outputs:
        for text in (output.stdout, output.stderr):
            for needle in needles:
                assert needle.decode() not in text, (needle, text)
