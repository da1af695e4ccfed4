"""The CI and report docs stay true: their YAML parses, their ``ihe report`` lines parse."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import pytest
import yaml

from ihe_test_util.cli.commands.report import command as report_command

from ...conftest import REPO_ROOT

DOCS = [REPO_ROOT / "docs" / "ci.md", REPO_ROOT / "docs" / "reports.md"]


def _blocks(language: str) -> list[str]:
    blocks: list[str] = []
    for doc in DOCS:
        blocks += re.findall(rf"```{language}\n(.*?)```", doc.read_text("utf-8"), re.S)
    return blocks


@pytest.mark.parametrize("block", _blocks("yaml"), ids=lambda b: b.split("\n")[0][:40])
def test_yaml_examples_parse(block: str) -> None:
    assert isinstance(yaml.safe_load(block), dict)


def _report_lines() -> list[str]:
    text = "\n".join(doc.read_text("utf-8") for doc in DOCS)
    text = re.sub(r"\s*\n\s+(?=--|-o )", " ", text)  # folded YAML / continued lines
    return sorted({m.group(1).strip() for m in re.finditer(
        r"\bihe (report (?:merge|render) [^\n`#]*)", text)} - {
        "report merge A.json B.json ... [-o all.json] [--junit F] [--markdown F] [--html F] "
        "[--fail-on X]",
        "report render run.json [--junit F] [--markdown F] [--html F] [--fail-on X]"})


@pytest.mark.parametrize("line", _report_lines())
def test_ihe_report_examples_use_real_options(line: str, tmp_path: Path,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    args = shlex.split(line.replace("$", "X"))[1:]
    name, rest = args[0], args[1:]
    for arg in rest:  # the input reports the example names (the shell would expand globs)
        if arg.endswith(".json") and not arg.startswith("-"):
            Path(arg).parent.mkdir(parents=True, exist_ok=True)
            Path(arg).touch()
    sub = report_command.commands[name]
    sub.make_context(name, rest)  # raises on an unknown option or a bad value
