"""Dependencies point inward: the core never imports the CLI, click or rich; one vcrpy adapter."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "ihe_test_util"

#: Packages/modules allowed to import presentation libraries (the pytest plugin renders the
#: terminal report's panel for a failing exchange).
PRESENTATION = ("cli", "report", "__main__", "pytest_plugin")


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    names: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return names


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@pytest.mark.parametrize("path", _modules(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_layering(path: Path) -> None:
    relative = path.relative_to(PACKAGE)
    top = relative.parts[0].removesuffix(".py")
    imported = _imports(path)
    if top not in PRESENTATION:
        bad = {n for n in imported if n.split(".")[0] in {"click", "rich", "rich_click"}
               or n.startswith(("ihe_test_util.cli", "ihe_test_util.report"))}
        assert not bad, f"{relative} is core code but imports {sorted(bad)}"
    if top == "report":
        bad = {n for n in imported if n.startswith("ihe_test_util.cli") or n.split(".")[0] in
               {"click", "rich_click"}}
        assert not bad, f"{relative} (reporter) imports {sorted(bad)}"
    if relative != Path("cassette/_vcr.py"):
        assert not {n for n in imported if n.split(".")[0] == "vcr"}, (
            f"{relative} imports vcr; only cassette/_vcr.py may"
        )
