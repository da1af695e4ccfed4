"""No answer is reported and not written; the run goes on; TLS and secrets as configured."""

from __future__ import annotations

from pathlib import Path

import pytest

from ihe_test_util.cassette import load_cassette
from ihe_test_util.sim import Simulator
from ihe_test_util.transport.http import InsecureTransportWarning

from ..transport_servers import base_url, free_port, make_pki, serve, tls_context
from .conftest import endpoints, ihe, scenario_file

CHAIN = """\
version: 1
name: chain
endpoints:
  slow: "{slow}"
  registry: http://127.0.0.1:1/xds/registry
steps:
  - name: ask the slow one
    transaction: raw
    endpoint: slow
    with: {{file: q.txt, content_type: text/plain}}
    capture: {{answer: /answer}}
  - name: independent
    transaction: ITI-18
    endpoint: registry
    with: {{query: GetDocuments, parameters: {{XDSDocumentEntryUniqueId: "1.2.3"}}}}
  - name: dependent
    transaction: ITI-18
    endpoint: registry
    with: {{query: GetDocuments, parameters: {{XDSDocumentEntryUniqueId: "${{answer}}"}}}}
"""


def test_a_timeout_fails_its_step_the_next_runs_and_dependents_name_the_variable(
        workdir: Path, sim: Simulator) -> None:
    with serve() as server:
        path = scenario_file(workdir, CHAIN.format(slow=base_url(server) + "/sleep?s=3"),
                             **{"q.txt": "question"})
        # The slow endpoint answers after 3 s: a failed first step proves the timeout fired.
        run = ihe("record", str(path), "--timeout", "0.5", *endpoints(sim, "registry"))
    assert run.exit_code == 3, run.stdout + run.stderr
    out = " ".join(run.stdout.split())
    assert "✗ 1/3 ask the slow one raw -> slow failed: " in out
    assert "no response within 0.5 s" in out and "hint: the server accepted the connection" in out
    assert "✓ 2/3 independent ITI-18 -> registry HTTP 200 Success" in out
    assert "– 3/3 dependent ITI-18 -> registry not sent: steps[2].with: needs ${answer}, which " \
           "has no value: steps[0] (ask the slow one) was not recorded" in out
    [interaction] = load_cassette(workdir / "cassettes" / "chain.yaml").interactions
    assert interaction.meta.step == "independent"


def test_an_unreachable_endpoint_is_tried_once_and_nothing_is_written(workdir: Path) -> None:
    port = free_port()
    path = scenario_file(workdir, f"""\
    version: 1
    name: down
    endpoints: {{pix: "http://127.0.0.1:{port}/pix"}}
    steps:
      - {{name: one, transaction: ITI-45, endpoint: pix, with: {{patient_id: "1.2|A"}}}}
      - {{name: two, transaction: ITI-45, endpoint: pix, with: {{patient_id: "1.2|B"}}}}
    """)
    (workdir / "cassettes").mkdir()
    (workdir / "cassettes" / "down.yaml").write_text("previous recording\n")
    run = ihe("record", str(path))
    assert run.exit_code == 3
    out = " ".join(run.stdout.split())
    assert f"✗ 1/2 one ITI-45 -> pix failed: http://127.0.0.1:{port}/pix: cannot connect" in out
    assert "hint: is the server running and listening on that host and port?" in out
    assert "✗ 2/2 two ITI-45 -> pix failed: not sent: endpoint 'pix' failed earlier" in out
    assert "nothing recorded: the cassette was not written" in out
    assert (workdir / "cassettes" / "down.yaml").read_text() == "previous recording\n"


RAW_ECHO = """\
version: 1
name: tls
endpoints: {{echo: "{url}"}}
steps:
  - name: echo
    transaction: raw
    endpoint: echo
    with: {{file: hello.txt, content_type: text/plain}}
"""


@pytest.mark.filterwarnings("ignore::ResourceWarning")  # the test server's TLS sockets
def test_tls_failure_is_explained_and_a_ca_from_the_environment_fixes_it(
        workdir: Path) -> None:
    pki = make_pki(workdir)
    with serve(tls_context(pki)) as server:
        url = base_url(server, "https", "localhost") + "/echo"
        path = scenario_file(workdir, RAW_ECHO.format(url=url), **{"hello.txt": "hello TLS"})
        untrusted = ihe("record", str(path))
        assert untrusted.exit_code == 3
        out = " ".join(untrusted.stdout.split())
        assert "failed: " in out and "TLS failure" in out and "certificate verify failed" in out
        assert "set tls.verify to the CA bundle (PEM) that signed it" in out
        (workdir / "ihe.toml").write_text(
            f'[env.secure]\ntls = {{ verify = "{pki.ca}" }}\n', encoding="utf-8")
        trusted = ihe("record", str(path), "--env", "secure")
        assert trusted.exit_code == 0, trusted.stdout + trusted.stderr
        with pytest.warns(InsecureTransportWarning, match="verification is OFF"):
            insecure = ihe("record", str(path), "--insecure", "--cassette", "insecure.yaml")
        assert insecure.exit_code == 0
        assert "TLS certificate verification is OFF" in insecure.stderr
    [interaction] = load_cassette(workdir / "cassettes" / "tls.yaml").interactions
    assert interaction.response.body == b"hello TLS"
    assert interaction.request.uri == url
