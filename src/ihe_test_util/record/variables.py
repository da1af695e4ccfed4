"""``${name}`` references in scenario values: finding them, and filling them in.

A value that is exactly one reference (``${entry_uuids}``) takes the variable's value as it is,
a list included, so a capture that matched several nodes can feed a list parameter. Inside a
longer string (``${id}^^^&${root}&ISO``) every reference must hold one text value. ``$${``
writes a literal ``${``.

Names: ``patient_id`` (a variable or a capture), ``row.family`` (a CSV column),
``pnr.documentUniqueId`` (a value an earlier step's builder generated), ``secret.api_token``
(a ``[secrets]`` entry; only in headers and security).

References add at most :data:`MAX_VALUE_CHARS` characters to a text: variables built from
variables (``b: ${a}${a}``, ``c: ${b}${b}``, ...) double at each level, and past the bound the
expansion is a :class:`VariableError`, not gigabytes.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

#: A variable's value: one text, or several (a capture that matched several nodes).
Value = str | list[str]
Path = tuple[str | int, ...]

#: Most characters references may add to one text (a large value fits; a doubling bomb not).
MAX_VALUE_CHARS = 16 * 1024 * 1024

_TOKEN = re.compile(r"\$\$\{|\$\{([^}]*)\}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z0-9_][A-Za-z0-9_:.\-]*)?")
_WHOLE = re.compile(r"\$\{([^}]*)\}")


class MissingVariable(Exception):
    """A reference names a variable that has no value (yet)."""

    def __init__(self, name: str) -> None:
        super().__init__(name)
        self.name = name


class VariableError(Exception):
    """A reference that cannot be filled in: bad syntax, or a list inside a longer text."""


def is_valid_name(name: str) -> bool:
    return _NAME.fullmatch(name) is not None


def references(text: str) -> list[str]:
    """The names referenced in ``text`` (in order; syntax errors raise VariableError)."""
    names: list[str] = []
    for match in _TOKEN.finditer(text):
        name = match.group(1)
        if name is None:  # $${ escape
            continue
        if not is_valid_name(name.strip()):
            raise VariableError(f"${{{name}}} is not a valid reference (write ${{name}}, "
                                "${row.column}, ${step_id.value} or ${secret.name})")
        names.append(name.strip())
    if "${" in _TOKEN.sub("", text):
        raise VariableError("an unclosed ${ (write $${ for a literal ${)")
    return names


def walk_strings(tree: Any, path: Path = ()) -> Iterator[tuple[Path, str]]:
    """Every string leaf of a YAML tree with its path (mapping keys are never templates)."""
    if isinstance(tree, str):
        yield path, tree
    elif isinstance(tree, Mapping):
        for key, value in tree.items():
            yield from walk_strings(value, (*path, key))
    elif isinstance(tree, list):
        for index, value in enumerate(tree):
            yield from walk_strings(value, (*path, index))


def fill_text(text: str, lookup: Callable[[str], Value]) -> Value:
    """``text`` with its references filled in (a lone reference keeps a list value)."""
    whole = _WHOLE.fullmatch(text)
    if whole is not None:
        return lookup(whole.group(1).strip())

    def one(match: re.Match[str]) -> str:
        name = match.group(1)
        if name is None:
            return "${"
        value = lookup(name.strip())
        if isinstance(value, list):
            raise VariableError(
                f"${{{name.strip()}}} holds {len(value)} values; a list can only be used as a "
                "whole value, not inside other text")
        return value

    filled = _TOKEN.sub(one, text)
    if len(filled) - len(text) > MAX_VALUE_CHARS:
        raise VariableError(f"filling in references adds {len(filled) - len(text)} characters "
                            f"(at most {MAX_VALUE_CHARS}); do variables double each other?")
    return filled


@dataclass
class Filled:
    """A tree with references filled in, and which names fed which leaf (for row errors)."""

    value: Any
    used: dict[Path, set[str]] = field(default_factory=dict)


def fill_tree(tree: Any, lookup: Callable[[str], Value], path: Path = ()) -> Filled:
    """A copy of ``tree`` with every string filled; MissingVariable/VariableError propagate."""
    used: dict[Path, set[str]] = {}

    def recording(where: Path) -> Callable[[str], Value]:
        def look(name: str) -> Value:
            used.setdefault(where, set()).add(name)
            return lookup(name)
        return look

    def fill(node: Any, where: Path) -> Any:
        if isinstance(node, str):
            return fill_text(node, recording(where)) if "${" in node else node
        if isinstance(node, Mapping):
            return {key: fill(value, (*where, key)) for key, value in node.items()}
        if isinstance(node, list):
            return [fill(value, (*where, index)) for index, value in enumerate(node)]
        return node

    return Filled(fill(tree, path), used)


def render_path(path: Path) -> str:
    """``("steps", 2, "with", "query")`` -> ``steps[2].with.query``."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out
