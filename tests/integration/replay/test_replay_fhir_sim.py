"""A FHIR client session (MHD, PDQm, PIXm) recorded through ``ihe record --proxy`` in front of
``ihe sim``, replayed with ``ihe replay`` against fresh simulators: baseline and compatible
exit 0, breaking exits 1 naming the FHIR regressions."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

from ihe_test_util.cassette import load_cassette
from ihe_test_util.sim import Simulator

from ..fhir_sim_support import fhir_session
from ..record.conftest import ihe
from ..record.test_proxy_cli import running_proxy

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")

#: exchanges of fhir_session whose verdict the breaking profile changes, by transaction
BREAKING_TRANSACTIONS = {"ITI-65", "ITI-66", "ITI-67", "ITI-78", "ITI-83"}


def _record(folder: Path, *, reuse_ids: bool) -> tuple[Path, list[int]]:
    with Simulator() as sim, running_proxy(folder, sim.base_url) as proxy:
        answers = fhir_session(f"{proxy.url}/fhir", reuse_ids=reuse_ids)
        code, events = proxy.stop()
    assert code == 0, events
    return folder / "cassettes" / "p.yaml", [a.status for a in answers]


@pytest.fixture(scope="module")
def recording(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The whole session, reads by server-assigned id included."""
    cassette, statuses = _record(tmp_path_factory.mktemp("fhir-record"), reuse_ids=True)
    assert statuses == [201, 201, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 200, 422,
                        200, 404]
    return cassette


@pytest.fixture(scope="module")
def recording_without_id_reuse(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The session without requests that carry a server-assigned id (patients referenced by
    identifier): it replays without correlation of FHIR ids."""
    cassette, statuses = _record(tmp_path_factory.mktemp("fhir-record-ids"), reuse_ids=False)
    assert statuses == [201, 201, 200, 200, 200, 200, 200, 200, 200, 200, 200, 422, 200, 404]
    return cassette


def test_the_recording_holds_every_fhir_exchange(recording: Path) -> None:
    interactions = load_cassette(recording).interactions
    assert len(interactions) == 16
    assert {i.request.method for i in interactions} == {"PUT", "GET", "POST"}


@pytest.mark.parametrize("profile", ["baseline", "compatible"])
def test_without_id_reuse_baseline_and_compatible_pass(
        recording_without_id_reuse: Path, tmp_path: Path, profile: str) -> None:
    code, output, _ = _replay(recording_without_id_reuse, profile, tmp_path)
    assert code == 0, output


def test_without_id_reuse_breaking_names_the_fhir_regressions(
        recording_without_id_reuse: Path, tmp_path: Path) -> None:
    code, output, report = _replay(recording_without_id_reuse, "breaking", tmp_path)
    assert code == 1, output
    # ITI-78 (_sort ignored) and ITI-83 (a targetIdentifier fewer) are regressions only for a
    # comparer that keeps sorted searchset order and PIXm identifiers as verdicts (issue 13,
    # item 6); the others are regressions already.
    assert {"ITI-65", "ITI-66", "ITI-67"} <= _regressed(report) <= BREAKING_TRANSACTIONS, output


def _replay(recording: Path, profile: str, tmp_path: Path) -> tuple[int, str, dict[str, object]]:
    report = tmp_path / f"{profile}.json"
    with Simulator(profile=profile) as sim:  # the CLI in-process: no interpreter start-up
        run = ihe("replay", str(recording), "--target", sim.base_url, "--fail-on",
                  "regression", "--report-json", str(report))
    data = json.loads(report.read_text(encoding="utf-8")) if report.exists() else {}
    return run.exit_code, run.stdout + run.stderr, data


@pytest.mark.parametrize("profile", ["baseline", "compatible"])
def test_baseline_and_compatible_replays_pass(recording: Path, tmp_path: Path,
                                              profile: str) -> None:
    code, output, _ = _replay(recording, profile, tmp_path)
    assert code == 0, output


def test_breaking_replay_names_the_fhir_regressions(recording: Path, tmp_path: Path) -> None:
    code, output, report = _replay(recording, "breaking", tmp_path)
    assert code == 1, output
    assert "regression" in output
    assert _regressed(report) == BREAKING_TRANSACTIONS, output


def _regressed(report: dict[str, object]) -> set[str]:
    exchanges = report.get("exchanges", report.get("results", []))
    assert isinstance(exchanges, list)
    return {str(e.get("transaction")) for e in exchanges
            if isinstance(e, dict) and e.get("outcome") == "regression"}
