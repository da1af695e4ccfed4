"""The steps of the ``ihe replay`` GitHub Action (action.yml), runnable outside GitHub.

``install`` puts the tool into the running Python; ``replay`` (or ``merge`` for the reports of
a sharded run) runs ``ihe``, writes every report format into the report folder, appends the
Markdown report to ``$GITHUB_STEP_SUMMARY``, prints workflow commands (``::error`` for
regressions and errors, ``::warning`` for changed exchanges) and writes the counts per outcome
and the exit code to ``$GITHUB_OUTPUT``. It always exits 0 after writing the outputs, so the
upload step runs; the action's last step fails the job with ``exit-code``.

Inputs arrive as ``INPUT_*`` environment variables (action.yml passes them through ``env``,
never into the script text). Standard library only: it runs before anything else is installed.
"""

from __future__ import annotations

import glob
import json
import os
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

OUTCOMES = ("pass", "changed", "regression", "error", "skipped")
#: How many annotations at most: GitHub shows 10 errors and 10 warnings per step anyway.
MAX_ANNOTATIONS = 50


def env(name: str, default: str = "") -> str:
    return os.environ.get(f"INPUT_{name.upper().replace('-', '_')}", default).strip()


def words(name: str) -> list[str]:
    """An input holding several values, one a line or separated by spaces (quotes allowed)."""
    return [word for line in env(name).splitlines() for word in shlex.split(line)]


def files(name: str) -> list[str]:
    """Like :func:`words`, with globs expanded (sorted); a glob that matches nothing stays,
    so ``ihe`` names it in its usage error."""
    found = []
    for word in words(name):
        matches = sorted(glob.glob(word)) if glob.has_magic(word) else []  # noqa: PTH207
        found += matches or [word]
    return found


def install() -> int:
    version = env("version")
    source = os.environ.get("GITHUB_ACTION_PATH", str(Path(__file__).resolve().parents[2]))
    spec = f"ihe-test-utility=={version}" if version else source
    return subprocess.call([sys.executable, "-m", "pip", "install", "--quiet", spec])


def ihe_command(mode: str, reports: Path) -> list[str]:
    command = [sys.executable, "-m", "ihe_test_util", "--no-color"]
    if env("config"):
        command += ["--config", env("config")]
    outputs = ["--junit", str(reports / "junit.xml"), "--markdown", str(reports / "summary.md"),
               "--html", str(reports / "run.html")]
    if env("fail-on"):
        outputs += ["--fail-on", env("fail-on")]
    if mode == "merge":
        return [*command, "report", "merge", *files("merge"), "-o", str(reports / "run.json"),
                *outputs]
    command += ["replay", *words("cassettes"), "--report-json", str(reports / "run.json"),
                *outputs]
    for target in words("target"):
        command += ["--target", target]
    if env("environment"):
        command += ["--env", env("environment")]
    if env("shard"):
        command += ["--shard", env("shard")]
    return command


def escape(text: str, *, property_value: bool = False) -> str:
    text = text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")
    if property_value:
        text = text.replace(":", "%3A").replace(",", "%2C")
    return text


def workflow_commands(report: dict[str, Any]) -> list[str]:
    """Workflow commands for the exchanges that did not pass (skipped ones are not news)."""
    lines = []
    levels = {"regression": "error", "error": "error", "changed": "warning"}
    exchanges = report.get("exchanges")
    for exchange in exchanges if isinstance(exchanges, list) else []:
        level = levels.get(exchange.get("outcome", ""))
        if level is None:
            continue
        label = " ".join(str(p) for p in (exchange.get("id"), exchange.get("transaction"),
                                          exchange.get("name")) if p)
        wanted = "regression" if exchange["outcome"] == "regression" else None
        details = list(dict.fromkeys(
            d.get("rule") or d.get("path", "") for d in exchange.get("differences") or []
            if wanted is None or d.get("severity") == wanted))
        error = exchange.get("error") or {}
        if error:
            details.append(f"{error.get('type')}: {error.get('message')}")
        title = f"ihe replay: {exchange['outcome']} {exchange.get('id')}"
        message = label + (": " + "; ".join(details[:5]) if details else "")
        lines.append(f"::{level} title={escape(title, property_value=True)}::{escape(message)}")
    if len(lines) > MAX_ANNOTATIONS:
        hidden = len(lines) - MAX_ANNOTATIONS
        lines = [*lines[:MAX_ANNOTATIONS], f"::notice::{hidden} more exchanges did not pass "
                                           "(see the step summary and the reports)"]
    return lines


def run(mode: str) -> int:
    reports = Path(env("report-dir", "ihe-reports"))
    reports.mkdir(parents=True, exist_ok=True)
    command = ihe_command(mode, reports)
    print("+ " + shlex.join(command), flush=True)
    code = subprocess.call(command)
    outputs = {"exit-code": str(code), "report-dir": str(reports)}
    report_file = reports / "run.json"
    summary_file = Path(os.environ.get("GITHUB_STEP_SUMMARY", os.devnull))
    if report_file.is_file() and code in (0, 1, 3):
        report = json.loads(report_file.read_text(encoding="utf-8"))
        counts = report.get("summary", {})
        outputs.update({o: str(counts.get(o, 0)) for o in (*OUTCOMES, "total")})
        for line in workflow_commands(report):
            print(line, flush=True)
        markdown = reports / "summary.md"
        if markdown.is_file():
            with summary_file.open("a", encoding="utf-8") as summary:
                summary.write(markdown.read_text(encoding="utf-8") + "\n")
    else:
        print(f"::error title=ihe replay::ihe exited with {code} before writing a report "
              f"(usage or configuration error: see the log above)", flush=True)
    output_file = os.environ.get("GITHUB_OUTPUT")
    if output_file:
        with Path(output_file).open("a", encoding="utf-8") as out:
            out.writelines(f"{name}={value}\n" for name, value in outputs.items())
    return 0


def main(argv: list[str]) -> int:
    if argv[1:] == ["install"]:
        return install()
    if argv[1:] == ["run"]:
        return run("merge" if env("merge") else "replay")
    print("usage: run.py install | run", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv))
