"""Replay re-issues and re-signs the SAML assertion from ``[saml]``; the recorded one (an
expired secret) is never stored and never resent."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from lxml import etree
from signxml import XMLVerifier

from ihe_test_util.cassette import Redactor, save_cassette
from ihe_test_util.ihe.builders import PatientId, iti45_query
from ihe_test_util.ihe.namespaces import SAML2
from ihe_test_util.model import Cassette, Interaction, InteractionMeta
from ihe_test_util.transport.http import HttpTransport
from ihe_test_util.transport.wssecurity import SamlIssuer, SecurityHeader

from ...unit.transport.saml_keys import signing_pair
from ..transport_servers import base_url, serve


def test_replay_reissues_a_signed_assertion_from_configuration(tmp_path: Path) -> None:
    pair = signing_pair()
    received: list[bytes] = []

    def capture(body: bytes, headers: dict[str, str]) -> tuple[int, list[tuple[str, str]], bytes]:
        received.append(body)
        return 200, [("Content-Type", "application/soap+xml")], b"<ok/>"

    with serve(routes={"pix": capture}) as server:
        url = base_url(server) + "/pix"
        recorded_issuer = SamlIssuer(key_pem=pair.key_pem, cert_pem=pair.cert_pem,
                                     issuer="https://sts.example", subject="recorder")
        request = iti45_query(PatientId("P-1", "1.2.3.4")).to_request(
            url, security=SecurityHeader(issuer=recorded_issuer))
        response, _ = HttpTransport().send(request)
        recorded_assertion_id = etree.fromstring(received[0]).find(f".//{{{SAML2}}}Assertion")
        assert recorded_assertion_id is not None
        cassette = tmp_path / "pix.yaml"
        save_cassette(cassette, Cassette((Interaction(request, response, InteractionMeta(
            transaction="ITI-45")),)), redactor=Redactor())
        stored = cassette.read_text(encoding="utf-8")
        assert "[[ihe-secret:saml_assertion]]" in stored
        assert str(recorded_assertion_id.get("ID")) not in stored

        (tmp_path / "saml.pem").write_bytes(pair.cert_pem)
        (tmp_path / "ihe.toml").write_text(
            '[saml]\nissuer = "https://sts.example"\nsubject = "replayer"\n'
            'certificate = "saml.pem"\nkey = { env = "TEST_SAML_KEY" }\n', encoding="utf-8")
        result = subprocess.run(
            [sys.executable, "-m", "ihe_test_util", "--no-color", "--config",
             str(tmp_path / "ihe.toml"), "replay", str(cassette), "--fail-on", "never"],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "TEST_SAML_KEY": pair.key_pem.decode()},
        )
    assert result.returncode == 0, result.stdout + result.stderr
    assert len(received) == 2
    replayed = etree.fromstring(received[1])
    assertion = replayed.find(f".//{{{SAML2}}}Assertion")
    assert assertion is not None
    assert assertion.get("ID") != recorded_assertion_id.get("ID")
    assert assertion.findtext(f".//{{{SAML2}}}NameID") == "replayer"
    XMLVerifier().verify(assertion, x509_cert=pair.cert_pem.decode())
    assert b"[[ihe-secret:" not in received[1]
