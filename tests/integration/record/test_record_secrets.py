"""No secret reaches any file the recording writes: header tokens, the SAML assertion and its
key; replay of the cassette fills them back from the same configuration."""

from __future__ import annotations

import base64
from pathlib import Path

from ihe_test_util.cassette import load_cassette
from ihe_test_util.sim import Simulator

from ...unit.transport.saml_keys import signing_pair
from .conftest import Run, endpoints, ihe, scenario_file

TOKEN = "tok-7f3a9c2e1b5d4a68"
API_KEY = "key-0c9d8e7f6a5b"
SECRETS = """\
[secrets]
api_token = { env = "REC_TEST_TOKEN" }
api_key = { env = "REC_TEST_KEY" }
"""
SAML = """
[saml]
issuer = "https://sts.example"
subject = "recorder"
certificate = "saml.pem"
key = { env = "REC_TEST_SAML_KEY" }
"""
SCENARIO = """\
version: 1
name: secret
endpoints: {pix: "http://127.0.0.1:1/pix"}
headers:
  Authorization: "Bearer ${secret.api_token}"
  X-Api-Key: "${secret.api_key}"
steps:
  - name: feed
    transaction: ITI-44
    endpoint: pix
    with: {patient: {id: "1.2.3|S-1", family: Secret}}
  - {name: query, transaction: ITI-45, endpoint: pix, with: {patient_id: "1.2.3|S-1"}}
"""


def _record(workdir: Path, sim: Simulator, *, saml: bool) -> tuple[Run, dict[str, str]]:
    pair = signing_pair()
    (workdir / "saml.pem").write_bytes(pair.cert_pem)
    (workdir / "ihe.toml").write_text(SECRETS + (SAML if saml else ""), encoding="utf-8")
    path = scenario_file(workdir, SCENARIO)
    env = {"REC_TEST_TOKEN": TOKEN, "REC_TEST_KEY": API_KEY,
           "REC_TEST_SAML_KEY": pair.key_pem.decode()}
    return ihe("record", str(path), *endpoints(sim, "pix"), env=env), env


def test_secrets_never_reach_any_file_the_recording_writes(workdir: Path, sim: Simulator) -> (
        None):
    run, _ = _record(workdir, sim, saml=True)
    assert run.exit_code == 0, run.stdout + run.stderr
    assert "ack AA" in run.stdout  # the simulator accepted the WS-Security header
    pair = signing_pair()
    key_body = b"".join(pair.key_pem.splitlines()[1:-1])
    written = list((workdir / "cassettes").rglob("*"))
    assert written
    for secret in (TOKEN.encode(), API_KEY.encode(), base64.b64encode(TOKEN.encode()),
                   key_body[:40], b"PRIVATE KEY", b"SignatureValue", b"saml2:Assertion"):
        for path in written:
            assert secret not in path.read_bytes(), (secret, path)
    for text in (run.stdout, run.stderr):
        assert TOKEN not in text and API_KEY not in text
    cassette_file = workdir / "cassettes" / "secret.yaml"
    assert b"[[ihe-secret:saml_assertion]]" in cassette_file.read_bytes()
    feed = load_cassette(cassette_file).interactions[0]
    assert feed.request.headers.get("Authorization") == "Bearer [[ihe-secret:api_token]]"
    assert feed.request.headers.get("X-Api-Key") == "[[ihe-secret:api_key]]"


def test_replay_fills_header_secrets_back_from_the_same_configuration(
        workdir: Path, sim: Simulator) -> None:
    run, env = _record(workdir, sim, saml=False)
    assert run.exit_code == 0, run.stdout + run.stderr
    with Simulator() as fresh:
        replay = ihe("replay", "cassettes/secret.yaml", "--target", fresh.base_url, env=env)
    assert replay.exit_code == 0, replay.stdout + replay.stderr


def test_replay_of_header_secrets_with_saml(workdir: Path, sim: Simulator) -> None:
    run, env = _record(workdir, sim, saml=True)
    assert run.exit_code == 0, run.stdout + run.stderr
    with Simulator() as fresh:
        replay = ihe("replay", "cassettes/secret.yaml", "--target", fresh.base_url, env=env)
    assert replay.exit_code == 0, replay.stdout + replay.stderr
