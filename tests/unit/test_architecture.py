"""Every rule ARCHITECTURE.md states, checked on the source (AST): tiers, leaves, cycles, imports.

ARCHITECTURE.md says exactly what this file enforces; change them together.
"""

from __future__ import annotations

import ast
import sys
from collections.abc import Iterator
from functools import cache
from pathlib import Path

import pytest

from ihe_test_util import errors

PACKAGE = Path(__file__).resolve().parents[2] / "src" / "ihe_test_util"
ROOT = "ihe_test_util"

#: Imports that break a rule today and are being removed by other work on issue 10. Each entry
#: is (importing module, imported module); prune an entry once its import is gone (the test
#: below fails on an entry that no longer matches anything, so the list cannot go stale).
KNOWN_VIOLATIONS: frozenset[tuple[str, str]] = frozenset()

#: Tier of each top-level package or module: a module may import a lower tier freely, its own
#: package freely, and the same tier only as the rules below allow.
TIERS: dict[str, int] = {
    "__main__": 6, "cli": 5, "pytest_plugin": 5,
    "report": 4,
    "record": 3, "replay": 3, "sim": 3, "serve": 3, "demo": 3,  # engines
    "transport": 2, "cassette": 2, "ihe": 2, "compare": 2,  # building blocks
    "model": 1, "results": 1, "errors": 1, "config": 1, "safexml": 1, "atomicfile": 1,
    "safeyaml": 1,
}
ENGINES = {name for name, tier in TIERS.items() if tier == 3}
BUILDING_BLOCKS = {name for name, tier in TIERS.items() if tier == 2}

#: Engine -> engine imports ARCHITECTURE.md allows (none: shared pieces live a tier lower).
ENGINE_EDGES: frozenset[tuple[str, str]] = frozenset()

#: Leaf modules of the building-block tier: they import only tier 1, and any building block may
#: import them without that counting as a dependency between packages (no package cycle).
LEAVES = {"ihe_test_util.ihe.namespaces", "ihe_test_util.transport.mtom"}

#: The package root re-exports the public API (docs/api.md): it may import engines and below,
#: and everything else may take only ``__version__`` from it.
ROOT_MAY_IMPORT = {name for name, tier in TIERS.items() if tier <= 3}

PRESENTATION_LIBRARIES = {"click", "rich", "rich_click"}

#: lxml / ElementTree entry points that parse text into a tree; only safexml.py calls them.
XML_PARSERS = {"fromstring", "fromstringlist", "parse", "iterparse", "XML", "XMLID",
               "XMLParser", "XMLPullParser", "HTML", "HTMLParser", "XMLTreeBuilder"}
XML_MODULES = {"lxml.etree", "xml.etree.ElementTree", "xml.etree.cElementTree"}
#: Other parsers nothing may use (safexml is built on lxml.etree); escaping helpers are fine.
FORBIDDEN_XML = ("xml.dom", "xml.sax", "xml.parsers", "lxml.html", "lxml.objectify",
                 "xml.etree.ElementTree", "xml.etree.cElementTree")
XML_ALLOWED = {"xml.sax.saxutils"}
#: Documented exceptions: module -> the one other XML reader it uses, and why that is safe.
XML_SCANNERS = {
    # the body was accepted by safexml.parse_xml first; expat then finds exact byte offsets
    "cassette/redact.py": "xml.parsers",
}


def _module_name(path: Path) -> str:
    parts = list(path.relative_to(PACKAGE.parent).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts.pop()
    return ".".join(parts)


def _top(module: str) -> str:
    parts = module.split(".")
    return parts[1] if len(parts) > 1 else ""


def _sources() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


@cache
def _tree(path: Path) -> ast.Module:
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _resolve(path: Path, node: ast.ImportFrom) -> str:
    if node.level == 0:
        return node.module or ""
    base = _module_name(path).split(".")
    if path.name != "__init__.py":
        base.pop()
    base = base[: len(base) - (node.level - 1)]
    return ".".join([*base, *([node.module] if node.module else [])])


def _known_modules() -> set[str]:
    return {_module_name(path) for path in _sources()}


def _imports(path: Path, nodes: Iterator[ast.AST] | None = None) -> Iterator[tuple[str, int]]:
    """(imported module, line) for every import; ``from pkg import mod`` yields ``pkg.mod``."""
    known = _known_modules()
    for node in nodes if nodes is not None else ast.walk(_tree(path)):
        if isinstance(node, ast.Import):
            for alias in node.names:
                yield alias.name, node.lineno
        elif isinstance(node, ast.ImportFrom):
            module = _resolve(path, node)
            for alias in node.names:
                sub = f"{module}.{alias.name}"
                yield (sub if sub in known else module), node.lineno


def _module_level(tree: ast.Module) -> Iterator[ast.AST]:
    """Statements that run at import time, outside ``if TYPE_CHECKING:`` blocks."""
    pending: list[ast.stmt] = list(tree.body)
    while pending:
        node = pending.pop()
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
            continue
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            pending.extend(node.orelse)
            continue
        yield node
        for child in ast.iter_child_nodes(node):
            if isinstance(child, ast.stmt):
                pending.append(child)


def _internal_edges() -> Iterator[tuple[str, str, Path, int]]:
    known = _known_modules()
    for path in _sources():
        source = _module_name(path)
        for target, line in _imports(path):
            if target == ROOT or target.startswith(ROOT + "."):
                if target not in known:  # ``from ihe_test_util.x import name`` resolved above
                    target = target.rsplit(".", 1)[0]
                yield source, target, path, line


def _where(path: Path, line: int) -> str:
    return f"{path.relative_to(PACKAGE)}:{line}"


def _tier_problem(source: str, target: str) -> str | None:
    """Why ``source`` may not import ``target``, or None."""
    src_top, dst_top = _top(source), _top(target)
    if src_top == dst_top:
        return None
    if target == ROOT:
        return None  # checked by test_only_the_version_is_taken_from_the_root
    if src_top == "":
        return None if dst_top in ROOT_MAY_IMPORT else "the package root re-exports engines " \
            "and below only"
    src_tier, dst_tier = TIERS[src_top], TIERS[dst_top]
    if dst_tier < src_tier:
        return None
    if dst_tier > src_tier:
        return f"tier {src_top} ({src_tier}) imports the outer tier {dst_top} ({dst_tier})"
    if src_tier == 3 and (src_top, dst_top) not in ENGINE_EDGES:
        return f"engine {src_top} imports engine {dst_top}"
    if src_tier in (4, 5):
        return f"{src_top} and {dst_top} share a tier"
    return None  # building blocks and tier 1: acyclic, checked below


@pytest.mark.parametrize(("source", "target", "allowed"), [
    ("ihe_test_util.cli.main", "ihe_test_util.report.outputs", True),
    ("ihe_test_util.replay.engine", "ihe_test_util.ihe.regenerate", True),
    ("ihe_test_util.compare.comparer", "ihe_test_util.ihe.catalogue", True),
    ("ihe_test_util.config", "ihe_test_util.results", True),
    ("ihe_test_util", "ihe_test_util.replay.runner", True),
    ("ihe_test_util", "ihe_test_util.report.base", False),
    ("ihe_test_util.ihe.regenerate", "ihe_test_util.replay.engine", False),
    ("ihe_test_util.report.terminal", "ihe_test_util.cli.context", False),
    ("ihe_test_util.serve.app", "ihe_test_util.sim.soap", False),
    ("ihe_test_util.model", "ihe_test_util.transport.mtom", False),
])
def test_the_tier_rule(source: str, target: str, allowed: bool) -> None:
    assert (_tier_problem(source, target) is None) is allowed


def test_every_top_level_name_has_a_tier() -> None:
    tops = {_top(_module_name(path)) for path in _sources()} - {""}
    assert tops <= set(TIERS), f"give {sorted(tops - set(TIERS))} a tier in TIERS and " \
                               "ARCHITECTURE.md"


def test_dependencies_point_inward() -> None:
    problems = []
    used = set()
    for source, target, path, line in _internal_edges():
        why = _tier_problem(source, target)
        if why is None:
            continue
        if (source, target) in KNOWN_VIOLATIONS:
            used.add((source, target))
            continue
        problems.append(f"{_where(path, line)} imports {target}: {why}")
    assert not problems, "\n".join(problems)
    stale = KNOWN_VIOLATIONS - used
    assert not stale, f"no longer violated, remove from KNOWN_VIOLATIONS: {sorted(stale)}"


def test_only_the_version_is_taken_from_the_root() -> None:
    problems = []
    known = _known_modules()
    for path in _sources():
        if path == PACKAGE / "__init__.py":
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module == ROOT:
                # ``from ihe_test_util import safeyaml`` imports a module, not a root name
                names = {alias.name for alias in node.names
                         if f"{ROOT}.{alias.name}" not in known}
                if names - {"__version__"}:
                    problems.append(f"{_where(path, node.lineno)}: from {ROOT} import "
                                    f"{sorted(names)}")
    assert not problems, "\n".join(problems)


def test_leaf_modules_import_only_tier_one() -> None:
    problems = []
    for source, target, path, line in _internal_edges():
        if source in LEAVES and TIERS.get(_top(target), 0) != 1:
            problems.append(f"{_where(path, line)}: leaf {source} imports {target}")
    assert not problems, "\n".join(problems)


def _cycle(graph: dict[str, set[str]]) -> list[str] | None:
    state: dict[str, int] = {}
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if state.get(nxt) == 1:
                return [*stack[stack.index(nxt):], nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        stack.pop()
        state[node] = 2
        return None

    for node in sorted(graph):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_no_package_cycles_below_the_engines() -> None:
    graph: dict[str, set[str]] = {}
    for source, target, _, _ in _internal_edges():
        src_top, dst_top = _top(source), _top(target)
        if src_top == dst_top or target in LEAVES or not src_top or not dst_top:
            continue
        if TIERS[src_top] <= 2 and TIERS[dst_top] <= 2:
            graph.setdefault(src_top, set()).add(dst_top)
    assert _cycle(graph) is None, f"package cycle: {' -> '.join(_cycle(graph) or [])}"


def test_cycle_finder_finds_a_cycle() -> None:
    assert _cycle({"ihe": {"transport"}, "transport": {"ihe"}}) == ["ihe", "transport", "ihe"]
    assert _cycle({"compare": {"ihe"}, "ihe": {"transport"}}) is None


def _third_party(path: Path) -> set[str]:
    return {name.split(".")[0] for name, _ in _imports(path)}


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_presentation_libraries_only_in_cli_and_report(path: Path) -> None:
    top = _top(_module_name(path))
    used = _third_party(path) & PRESENTATION_LIBRARIES
    if top in ("cli", "__main__"):
        return
    if top in ("report", "pytest_plugin"):  # the plugin renders the terminal report's panel
        assert not used - {"rich"}, f"{path.relative_to(PACKAGE)} (a reporter) imports click"
        return
    assert not used, f"{path.relative_to(PACKAGE)} is core code but imports {sorted(used)}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_only_the_vcr_adapter_imports_vcr(path: Path) -> None:
    if path.relative_to(PACKAGE) != Path("cassette/_vcr.py"):
        assert "vcr" not in _third_party(path), f"{path.relative_to(PACKAGE)} imports vcr"


def _command_modules() -> list[Path]:
    return sorted(p for p in (PACKAGE / "cli" / "commands").glob("*.py")
                  if not p.name.startswith("_"))


@pytest.mark.parametrize("path", _command_modules(), ids=lambda p: p.name)
def test_command_modules_import_only_click_at_module_level(path: Path) -> None:
    allowed = {"click", "rich_click", "ihe_test_util.cli.context"}
    bad = sorted(
        f"{name} (line {line})" for name, line in _imports(path, _module_level(_tree(path)))
        if name not in allowed and name.split(".")[0] not in sys.stdlib_module_names
        | {"click", "rich_click"}
    )
    assert not bad, f"{path.name} imports {bad} at module level; import them in the command"


def _xml_parser_uses(path: Path, tree: ast.Module) -> Iterator[str]:
    aliases: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                if alias.name in XML_MODULES:
                    aliases.add(alias.asname or alias.name)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                if f"{node.module}.{alias.name}" in XML_MODULES:
                    aliases.add(alias.asname or alias.name)
                if node.module in XML_MODULES and alias.name in XML_PARSERS:
                    yield f"line {node.lineno}: from {node.module} import {alias.name}"
    for node in ast.walk(tree):
        if (isinstance(node, ast.Attribute) and node.attr in XML_PARSERS
                and ast.unparse(node.value) in aliases):
            yield f"line {node.lineno}: {ast.unparse(node)}"
    scanner = XML_SCANNERS.get(path.relative_to(PACKAGE).as_posix())
    for name, line in _imports(path, ast.walk(tree)):
        if name.startswith(FORBIDDEN_XML) and name not in XML_ALLOWED and name != scanner:
            yield f"line {line}: imports {name}"


#: The one home of the format-neutral steps of reading a body (ARCHITECTURE.md, transport/):
#: only it splits MTOM packages and undoes content codings; everyone else reads through it
#: (or through ihe/message.py, which builds on it).
BODY_READER = "transport/content.py"
#: Calls that split an MTOM package or decompress a body.
BODY_READING_CALLS = {"parse_multipart", "decompress", "decompressobj", "Decompressor"}


def _body_reading_calls(tree: ast.Module) -> Iterator[str]:
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            func = node.func
            name = func.attr if isinstance(func, ast.Attribute) else \
                func.id if isinstance(func, ast.Name) else ""
            if name in BODY_READING_CALLS:
                yield f"line {node.lineno}: {ast.unparse(func)}"


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_bodies_are_read_through_the_one_body_reader(path: Path) -> None:
    if path.relative_to(PACKAGE).as_posix() == BODY_READER:
        return
    calls = list(_body_reading_calls(_tree(path)))
    assert not calls, f"{path.relative_to(PACKAGE)} splits MTOM or decodes a body itself " \
                      f"(use {BODY_READER} or ihe/message.py): {calls}"


def test_the_body_reader_rule_sees_the_ways_to_read() -> None:
    code = ("import zlib\nfrom ihe_test_util.transport.mtom import parse_multipart\n"
            "parse_multipart(b'', '')\nzlib.decompress(b'')\nzlib.decompressobj(31)\n"
            "zlib.compress(b'')\n")
    assert list(_body_reading_calls(ast.parse(code))) == [
        "line 3: parse_multipart", "line 4: zlib.decompress", "line 5: zlib.decompressobj"]


@pytest.mark.parametrize("path", _sources(), ids=lambda p: str(p.relative_to(PACKAGE)))
def test_all_outside_xml_goes_through_safexml(path: Path) -> None:
    if path == PACKAGE / "safexml.py":
        return
    uses = list(_xml_parser_uses(path, _tree(path)))
    assert not uses, f"{path.relative_to(PACKAGE)} parses XML without safexml: {uses}"


def test_the_xml_rule_sees_the_ways_to_parse() -> None:
    code = ("from lxml import etree\nimport lxml.etree as ET\nfrom lxml.etree import XMLParser\n"
            "from xml.dom import minidom\nfrom xml.sax.saxutils import escape\n"
            "etree.fromstring(b'')\nET.parse('x')\netree.tostring(None)\n")
    uses = _xml_parser_uses(PACKAGE / "ihe" / "probe.py", ast.parse(code))
    assert sorted(uses) == sorted([
        "line 3: from lxml.etree import XMLParser", "line 6: etree.fromstring",
        "line 7: ET.parse", "line 4: imports xml.dom",
    ])


def _subclasses(cls: type[Exception]) -> Iterator[type[Exception]]:
    for sub in cls.__subclasses__():
        yield sub
        yield from _subclasses(sub)


def test_tool_errors_live_in_errors_py_and_exit_2_or_3() -> None:
    # A regression is a result, never an exception: no IheTestError means "regression" (exit 1).
    family = {errors.IheTestError, *_subclasses(errors.IheTestError)}
    assert {cls.exit_code for cls in family} <= {2, 3}
    names = {cls.__name__ for cls in family}
    problems = []
    for path in _sources():
        if path == PACKAGE / "errors.py":
            continue
        for node in ast.walk(_tree(path)):
            if isinstance(node, ast.ClassDef):
                bases = {ast.unparse(base).rsplit(".", 1)[-1] for base in node.bases}
                if bases & names:
                    problems.append(f"{_where(path, node.lineno)}: {node.name}")
    assert not problems, f"tool errors are defined in errors.py only: {problems}"
