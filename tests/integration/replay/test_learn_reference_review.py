"""Learning a system's noise, the live differential and the review, through the real CLI against
a real volatile target (``tests/integration/volatile_target.py``, its own process on 127.0.0.1).

The target's answers carry fields the catalogue does not know: a vendor ``ServerTime`` element
in the SOAP Header (ITI-18), a fresh ``OperationOutcome.meta.source`` (ITI-83; its ``id`` is
catalogue noise) and an ``X-Vendor-Trace`` header (headers other than the content type are not
compared, so it never shows).
"""

from __future__ import annotations

import json
import os
import re
import select
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

from ihe_test_util.cassette import save_cassette
from ihe_test_util.model import Cassette, Headers, Interaction, InteractionMeta, Request
from ihe_test_util.transport.http import HttpTransport, TransportOptions

from .test_replay_cli import ihe, validate

TARGET = Path(__file__).parents[1] / "volatile_target.py"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
LEARNED = {("ITI-18", "/Envelope/Header/ServerTime"),
           ("ITI-83", "/OperationOutcome/meta/source/@value")}

pytestmark = pytest.mark.filterwarnings("ignore::ResourceWarning")


@contextmanager
def volatile_target(*flags: str) -> Iterator[str]:
    """A running target process (``--regress``, ``--upgrade``); yields its base URL."""
    process = subprocess.Popen([sys.executable, str(TARGET), *flags], stdout=subprocess.PIPE,
                               text=True)
    try:
        assert process.stdout is not None
        yield json.loads(process.stdout.readline())["base_url"]
    finally:
        process.terminate()
        process.wait(timeout=30)


def _query() -> bytes:
    return (
        '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://www.w3.org/2005/08/addressing"><soap:Header>'
        '<wsa:Action>urn:ihe:iti:2007:RegistryStoredQuery</wsa:Action>'
        f'<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID></soap:Header><soap:Body>'
        f'<query:AdhocQueryRequest xmlns:query="{QUERY}" xmlns:rim="{RIM}">'
        '<query:ResponseOption returnType="ObjectRef" returnComposedObjects="true"/>'
        '<rim:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d">'
        '<rim:Slot name="$XDSDocumentEntryPatientId"><rim:ValueList>'
        "<rim:Value>'P1^^^&amp;1.2.3&amp;ISO'</rim:Value></rim:ValueList></rim:Slot>"
        '</rim:AdhocQuery></query:AdhocQueryRequest></soap:Body></soap:Envelope>'
    ).encode()


def record(base_url: str, path: Path) -> Path:
    """ITI-18, ITI-83, ITI-67 sent to the target and written as a cassette."""
    steps = [
        ("ITI-18", Request("POST", f"{base_url}/xds/registry", Headers(
            [("Content-Type", "application/soap+xml; charset=UTF-8")]), _query())),
        ("ITI-83", Request("GET", f"{base_url}/fhir/Patient/$ihe-pix?sourceIdentifier="
                                  "urn:oid:1.2.3%7CX1")),
        ("ITI-67", Request("GET", f"{base_url}/fhir/DocumentReference?patient=P1")),
    ]
    transport = HttpTransport(TransportOptions(timeout=30))
    interactions = []
    try:
        for transaction, request in steps:
            response, elapsed = transport.send(request)
            interactions.append(Interaction(request, response, InteractionMeta(
                transaction=transaction, step=transaction, duration_ms=elapsed)))
    finally:
        transport.close()
    save_cassette(path, Cassette(tuple(interactions)))
    return path


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("volatile")
    with volatile_target() as base_url:
        return record(base_url, folder / "volatile.yaml")


@pytest.fixture
def cassettes(recording: Path, tmp_path: Path) -> Path:
    """Two copies of the recording (two cassettes, so --jobs 2 replays them in parallel)."""
    folder = tmp_path / "cassettes"
    folder.mkdir()
    for name in ("a.yaml", "b.yaml"):
        shutil.copy(recording, folder / name)
    return folder


def outcomes(report: Path) -> dict[str, str]:
    return {e["id"]: e["outcome"] for e in validate(report)["exchanges"]}  # type: ignore[attr-defined, index]


def learned_rules(config: Path) -> set[tuple[str, str]]:
    data = tomllib.loads(config.read_text(encoding="utf-8"))
    return {(rule["transaction"], rule["noise"]) for rule in data.get("rules", [])}


def test_learn_proposes_exactly_the_volatile_places_and_regressions_still_show(
        cassettes: Path, tmp_path: Path) -> None:
    config = tmp_path / "ihe.toml"
    log = tmp_path / "hooks.log"
    hook = [sys.executable, "-c", f"open({str(log)!r}, 'a').write('reset\\n')"]
    base = f"timeout = 20\n[hooks]\nbefore_replay = [{json.dumps(hook)}]\n"
    config.write_text(base, encoding="utf-8")
    report = tmp_path / "run.json"
    with volatile_target() as old:
        # As a new user: the first replay against a fresh copy shows the false alarms.
        first = ihe("--config", str(config), "replay", str(cassettes), "--target", old,
                    "--report-json", str(report))
        assert first.returncode == 1, first.stdout + first.stderr
        assert outcomes(report) == {"a.yaml#0": "changed", "a.yaml#1": "changed",
                                    "a.yaml#2": "pass", "b.yaml#0": "changed",
                                    "b.yaml#1": "changed", "b.yaml#2": "pass"}
        # A fragment to review on stdout, nothing written without --write.
        shown = ihe("--config", str(config), "learn", str(cassettes), "--target", old)
        assert shown.returncode == 0, shown.stdout + shown.stderr
        assert "[[rules]]" in shown.stdout and "in 3 of 3 runs" in shown.stdout
        assert config.read_text(encoding="utf-8") == base
        learned = ihe("--config", str(config), "learn", str(cassettes), "--target", old,
                      "--runs", "3", "--write", str(config), "--jobs", "2")
        assert learned.returncode == 0, learned.stdout + learned.stderr
        assert learned_rules(config) == LEARNED
        text = config.read_text(encoding="utf-8")
        assert text.startswith(base)
        # [hooks] before_replay resets the target before every run: 1 replay + 2 x 3 runs
        assert log.read_text(encoding="utf-8").count("reset") == 7
        assert text.count("# varied: in 3 of 3 runs, 2 exchange(s) (a.yaml#") == 2
        assert "[[correlate]]" not in text
        # The next replay passes.
        clean = ihe("--config", str(config), "replay", str(cassettes), "--target", old,
                    "--report-json", str(report))
        assert clean.returncode == 0, clean.stdout + clean.stderr
        assert set(outcomes(report).values()) == {"pass"}
    with volatile_target("--regress") as broken:
        regressed = ihe("--config", str(config), "replay", str(cassettes), "--target", broken,
                        "--report-json", str(report))
    assert regressed.returncode == 1
    data = validate(report)
    by_id = {e["id"]: e for e in data["exchanges"]}  # type: ignore[attr-defined]
    assert by_id["a.yaml#0"]["outcome"] == "regression"  # status Success -> Failure
    assert by_id["a.yaml#0"]["verdict"]["replayed"]["registry_status"] == "Failure"
    assert by_id["a.yaml#2"]["outcome"] == "regression"  # a result dropped
    assert by_id["a.yaml#2"]["verdict"]["replayed"]["bundle_total"] == 1
    assert by_id["a.yaml#1"]["outcome"] == "pass"


def test_reference_gives_the_same_outcome_without_learned_rules(cassettes: Path,
                                                               tmp_path: Path) -> None:
    config = tmp_path / "ihe.toml"
    config.write_text("", encoding="utf-8")
    report = tmp_path / "run.json"
    html = tmp_path / "run.html"
    with volatile_target() as candidate, volatile_target() as reference:
        clean = ihe("--config", str(config), "replay", str(cassettes), "--target", candidate,
                    "--reference", reference, "--jobs", "2", "--report-json", str(report),
                    "--html", str(html))
    assert clean.returncode == 0, clean.stdout + clean.stderr
    assert "noise seen on the reference" in clean.stdout
    assert "4 difference(s) in 4 exchange(s)" in " ".join(clean.stdout.split())
    data = validate(report)
    for exchange in data["exchanges"]:  # type: ignore[attr-defined]
        assert exchange["outcome"] == "pass"
        paths = {d["path"] for d in exchange.get("reference_noise", [])}
        expected = {p for t, p in LEARNED if t == exchange["transaction"]}
        assert paths == expected, exchange["id"]
    with volatile_target("--regress") as broken, volatile_target() as reference:
        regressed = ihe("--config", str(config), "replay", str(cassettes), "--target", broken,
                        "--reference", reference, "--jobs", "2", "--report-json", str(report),
                        "--html", str(html))
    assert regressed.returncode == 1
    assert outcomes(report) == {"a.yaml#0": "regression", "a.yaml#1": "pass",
                                "a.yaml#2": "regression", "b.yaml#0": "regression",
                                "b.yaml#1": "pass", "b.yaml#2": "regression"}
    page = html.read_text(encoding="utf-8")
    assert 'class="sbs"' in page and "noise seen on the reference" in page
    assert 'id="group-1"' in page


# -- review ------------------------------------------------------------------------------------

_ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]|\x1b\][^\x07]*\x07")


class Terminal:
    """``ihe review`` on a pseudo-terminal: type keys, wait for what it prints."""

    def __init__(self, *args: str, cwd: Path) -> None:
        import pty

        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "ihe_test_util", "--no-color", *args],
            stdin=slave, stdout=slave, stderr=slave, cwd=cwd, close_fds=True,
            env={**os.environ, "COLUMNS": "160", "LINES": "60", "TERM": "xterm"})
        os.close(slave)
        self.seen = ""

    def expect(self, text: str) -> str:
        """Read until ``text`` has appeared (after what was already matched)."""
        while text not in self.seen:
            ready, _, _ = select.select([self.master], [], [], 60)
            if not ready:  # a hang guard, never reached when the program works
                raise AssertionError(f"{text!r} never came; the terminal shows:\n{self.seen}")
            try:
                chunk = os.read(self.master, 65536)
            except OSError:
                chunk = b""
            if not chunk:
                raise AssertionError(f"{text!r} never came; the program ended:\n{self.seen}")
            self.seen += _ANSI.sub("", chunk.decode("utf-8", "replace")).replace("\r", "")
        before, _, self.seen = self.seen.partition(text)
        return before + text

    def type(self, key: str) -> None:
        """One key press: no Enter (review reads single keys, as cargo insta review does)."""
        os.write(self.master, key.encode())

    def close(self) -> int:
        code = self.process.wait(timeout=60)
        os.close(self.master)
        return code


def test_review_in_a_terminal_approves_one_group_ignores_others_and_the_files_replay_clean(
        cassettes: Path, tmp_path: Path) -> None:
    config = tmp_path / "ihe.toml"
    config.write_text("timeout = 20\n", encoding="utf-8")
    report = tmp_path / "run.json"
    prompt = "[q]uit >"
    with volatile_target("--upgrade") as upgraded:
        run = ihe("--config", str(config), "replay", str(cassettes), "--target", upgraded,
                  "--report-json", str(report))
        assert run.returncode == 1, run.stdout + run.stderr
        listing = ihe("--config", str(config), "review", str(report), "--list")
        assert [line.split()[2] for line in listing.stdout.splitlines()] == [
            "ITI-18", "ITI-67", "ITI-83"], listing.stdout
        terminal = Terminal("--config", str(config), "review", str(report), cwd=tmp_path)
        try:
            screen = terminal.expect(prompt)
            assert "group 1 of 3" in screen and "/Envelope/Header/ServerTime" in screen
            assert "2 exchange(s) in 2 cassette(s)" in screen
            assert "recorded" in screen and "replayed" in screen  # side by side
            terminal.type("i")  # ignore ServerTime ...
            screen = terminal.expect(prompt)
            assert "will append to" in screen and 'noise = "/Envelope/Header/ServerTime"' in screen
            assert "group 2 of 3" in screen
            terminal.type("u")  # ... undo it: the file is as it was, group 1 again
            screen = terminal.expect(prompt)
            assert "undone: ignored group 1" in screen and "group 1 of 3" in screen
            assert config.read_text(encoding="utf-8") == "timeout = 20\n"
            terminal.type("i")
            screen = terminal.expect(prompt)
            assert "group 2 of 3" in screen and "description" in screen
            terminal.type("a")  # approve the new DocumentReference description
            screen = terminal.expect(prompt)
            assert "approved group 2" in screen and "group 3 of 3" in screen
            terminal.type("i")  # ignore the fresh OperationOutcome meta.source
            terminal.expect("reviewed all 3 group(s); 3 write(s)")
        finally:
            code = terminal.close()
        assert code == 0
        assert learned_rules(config) == LEARNED
        again = ihe("--config", str(config), "replay", str(cassettes), "--target", upgraded,
                    "--report-json", str(report))
    assert again.returncode == 0, again.stdout + again.stderr
    assert set(outcomes(report).values()) == {"pass"}


def test_review_scripted_approves_and_ignores_and_refuses_regressions(
        cassettes: Path, tmp_path: Path) -> None:
    config = tmp_path / "ihe.toml"
    config.write_text("", encoding="utf-8")
    report = tmp_path / "run.json"
    with volatile_target("--regress") as broken:
        ihe("--config", str(config), "replay", str(cassettes), "--target", broken,
            "--report-json", str(report))
    before = {p.name: p.read_bytes() for p in cassettes.iterdir()}
    refused = ihe("--config", str(config), "review", str(report), "--approve", "1")
    assert refused.returncode == 2 and "is a regression" in refused.stderr
    not_ignorable = ihe("--config", str(config), "review", str(report), "--ignore", "1")
    assert not_ignorable.returncode == 2 and "cannot be ignored" in not_ignorable.stderr
    assert {p.name: p.read_bytes() for p in cassettes.iterdir()} == before
    assert config.read_text(encoding="utf-8") == ""
    with volatile_target("--upgrade") as upgraded:
        ihe("--config", str(config), "replay", str(cassettes), "--target", upgraded,
            "--report-json", str(report))
        scripted = ihe("--config", str(config), "review", str(report), "--approve", "2",
                       "--ignore", "1", "--ignore", "3")
        assert scripted.returncode == 0, scripted.stdout + scripted.stderr
        assert "approve a.yaml#2 (changed)" in scripted.stdout
        again = ihe("--config", str(config), "replay", str(cassettes), "--target", upgraded,
                    "--report-json", str(report))
    assert again.returncode == 0, again.stdout + again.stderr
    assert learned_rules(config) == LEARNED
