"""The GitHub Action's shell steps, run here as the runner would, against ``ihe sim``."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import yaml

from ..conftest import REPO_ROOT

ACTION = yaml.safe_load((REPO_ROOT / "action.yml").read_text(encoding="utf-8"))
EXPRESSION = re.compile(r"\$\{\{\s*(inputs|steps\.run\.outputs)\.([\w-]+)\s*\}\}")


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    shutil.copytree(REPO_ROOT / "cassettes", tmp_path / "cassettes")
    return tmp_path


class Run:
    def __init__(self, workspace: Path) -> None:
        self.workspace = workspace
        self.summary = workspace / "step-summary.md"
        self.summary.write_text("# earlier step\n", encoding="utf-8")
        self.output = workspace / "github-output"
        self.log = ""
        self.codes: list[int] = []

    def outputs(self) -> dict[str, str]:
        if not self.output.exists():
            return {}
        lines = self.output.read_text(encoding="utf-8").splitlines()
        return dict(line.split("=", 1) for line in lines)


def run_action(workspace: Path, **inputs: str) -> Run:
    """Every ``run`` step of action.yml with its ``env`` expressions filled in, in order.

    The ``uses`` steps (setup-python, upload-artifact) need GitHub; the install step would
    reinstall the tool into this virtualenv, which already has it.
    """
    values = {name: spec.get("default", "") for name, spec in ACTION["inputs"].items()}
    values.update({name.replace("_", "-"): value for name, value in inputs.items()})
    run = Run(workspace)
    base = {**os.environ, "GITHUB_STEP_SUMMARY": str(run.summary),
            "GITHUB_OUTPUT": str(run.output), "GITHUB_ACTION_PATH": str(REPO_ROOT),
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
            "COLUMNS": "120"}
    for step in ACTION["runs"]["steps"]:
        if "run" not in step or step.get("name", "").startswith("Install"):
            continue

        def fill(match: re.Match[str]) -> str:
            source, name = match.groups()
            return values[name] if source == "inputs" else run.outputs().get(name, "")

        env = {key: EXPRESSION.sub(fill, str(value)) for key, value in step["env"].items()}
        assert "${{" not in step["run"], "expressions belong in env, not in the script"
        done = subprocess.run(["bash", "-c", step["run"]], cwd=workspace, env={**base, **env},
                              capture_output=True, text=True, timeout=300)
        run.log += done.stdout + done.stderr
        run.codes.append(done.returncode)
    return run


def test_baseline_server_passes_with_summary_outputs_and_reports(workspace: Path,
                                                                 baseline: str) -> None:
    run = run_action(workspace, target=baseline, config="cassettes/ihe.toml")
    assert run.codes == [0, 0], run.log
    outputs = run.outputs()
    assert outputs["exit-code"] == "0"
    assert int(outputs["total"]) == int(outputs["pass"]) > 0
    assert outputs["regression"] == outputs["changed"] == outputs["error"] == "0"
    reports = workspace / outputs["report-dir"]
    assert {p.name for p in reports.iterdir()} >= {"run.json", "junit.xml", "summary.md",
                                                   "run.html"}
    summary = run.summary.read_text(encoding="utf-8")
    assert summary.startswith("# earlier step\n")  # appended, not replaced
    assert (reports / "summary.md").read_text(encoding="utf-8") in summary
    assert "::error" not in run.log


def test_breaking_server_fails_the_job_with_annotations_for_the_regressions(
    workspace: Path, breaking: str,
) -> None:
    run = run_action(workspace, target=breaking, config="cassettes/ihe.toml",
                     fail_on="regression")
    assert run.codes == [0, 1], run.log  # the reports are written, then the last step fails
    outputs = run.outputs()
    assert outputs["exit-code"] == "1"
    assert outputs["regression"] == "2"
    errors = [line for line in run.log.splitlines() if line.startswith("::error ")]
    assert len(errors) == 2, run.log
    assert any(line.startswith("::error title=ihe replay%3A regression xds-documents.yaml#3::")
               and "ITI-18 verdict result_count" in line for line in errors), errors
    assert any("pix-pdq.yaml#1" in line and "ITI-44 verdict ack_code" in line
               for line in errors), errors
    assert "regression" in run.summary.read_text(encoding="utf-8")


def test_shards_then_merge_report_on_the_whole_suite(workspace: Path, breaking: str) -> None:
    totals = []
    for index in (1, 2):
        shard = run_action(workspace, target=breaking, config="cassettes/ihe.toml",
                           shard=f"{index}/2", report_dir=f"shard-{index}",
                           fail_on="regression")
        totals.append(int(shard.outputs().get("total", 0)))
    merged = run_action(workspace, merge="shard-*/run.json",
                        report_dir="merged", fail_on="regression")
    outputs = merged.outputs()
    assert merged.codes == [0, 1], merged.log
    assert int(outputs["total"]) == sum(totals) > 0
    assert outputs["regression"] == "2"
    report: dict[str, Any] = json.loads((workspace / "merged" / "run.json").read_text())
    assert len(report["exchanges"]) == sum(totals)


def test_a_usage_error_fails_with_exit_2_and_one_annotation(workspace: Path) -> None:
    run = run_action(workspace, cassettes="no-such-folder/", target="http://127.0.0.1:9")
    assert run.codes == [0, 2], run.log
    assert run.outputs()["exit-code"] == "2"
    assert "::error title=ihe replay::ihe exited with 2" in run.log


def test_every_input_reaches_a_step() -> None:
    used = {name for step in ACTION["runs"]["steps"]
            for value in [*step.get("env", {}).values(), *step.get("with", {}).values(),
                          step.get("if", "")]
            for source, name in EXPRESSION.findall(str(value)) if source == "inputs"}
    used |= {m for step in ACTION["runs"]["steps"] for m in re.findall(
        r"inputs\.([\w-]+)", str(step.get("if", "")))}
    assert used == set(ACTION["inputs"])
