"""Safe YAML loading that remembers the line of every mapping key and sequence item.

Error messages about a scenario must say *where*: ``scenario.yaml:14: steps[2].with.query``.
Only plain YAML types are constructed (safe loader); tags and excessive aliases are refused.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ihe_test_util.errors import ConfigError

MAX_ALIASES = 100
#: libyaml's composer when PyYAML has it (several times faster); the same nodes and marks.
_COMPOSER: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Located:
    """A loaded YAML document plus ``{path tuple: line}`` for every node."""

    data: Any
    lines: dict[tuple[str | int, ...], int] = field(default_factory=dict)
    source: str = "<string>"

    def line(self, path: tuple[str | int, ...]) -> int | None:
        while path:
            if path in self.lines:
                return self.lines[path]
            path = path[:-1]
        return self.lines.get(())


def load_located(text: str, *, source: str) -> Located:
    try:
        node = yaml.compose(text, Loader=_COMPOSER)
    except yaml.MarkedYAMLError as exc:
        line = exc.problem_mark.line + 1 if exc.problem_mark else None
        raise ConfigError(
            f"invalid YAML: {exc.problem or exc}", source=f"{source}:{line}" if line else source,
        ) from None
    except yaml.YAMLError as exc:
        raise ConfigError(f"invalid YAML: {exc}", source=source) from None
    located = Located(None, {}, source)
    if node is None:
        return located
    aliases = [0]
    located.data = _construct(node, (), located, aliases, source)
    return located


def load_located_file(path: Path) -> Located:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise ConfigError("file not found", source=str(path)) from None
    except UnicodeDecodeError as exc:
        raise ConfigError(f"not UTF-8 text ({exc.reason} at byte {exc.start})",
                          source=str(path)) from None
    return load_located(text, source=str(path))


_PLAIN_COLLECTIONS: dict[type[yaml.Node], str] = {
    yaml.MappingNode: "tag:yaml.org,2002:map",
    yaml.SequenceNode: "tag:yaml.org,2002:seq",
}
_PLAIN_SCALARS = {
    "tag:yaml.org,2002:str", "tag:yaml.org,2002:int", "tag:yaml.org,2002:float",
    "tag:yaml.org,2002:bool", "tag:yaml.org,2002:null",
}


def _construct(
    node: yaml.Node, path: tuple[str | int, ...], located: Located, aliases: list[int],
    source: str, visited: set[int] | None = None,
) -> Any:
    """Build plain Python values; every re-visit of a node is an alias and is counted."""
    visited = set() if visited is None else visited
    where = f"{source}:{node.start_mark.line + 1}"
    if id(node) in visited:
        aliases[0] += 1
        if aliases[0] > MAX_ALIASES:
            raise ConfigError(f"more than {MAX_ALIASES} YAML alias expansions", source=where)
    visited.add(id(node))
    located.lines.setdefault(path, node.start_mark.line + 1)
    expected = _PLAIN_COLLECTIONS.get(type(node))
    if expected is not None and node.tag != expected:
        raise ConfigError(f"YAML tag {node.tag!r} is not allowed", source=where)
    if isinstance(node, yaml.MappingNode):
        result: dict[str, Any] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, yaml.ScalarNode):
                raise ConfigError("mapping keys must be plain strings", source=where)
            key = str(key_node.value)
            if key == "<<":
                raise ConfigError("YAML merge keys (<<) are not supported", source=where)
            if key in result:
                raise ConfigError(f"duplicate key {key!r}",
                                  source=f"{source}:{key_node.start_mark.line + 1}")
            key_path = (*path, key)
            located.lines[key_path] = key_node.start_mark.line + 1
            result[key] = _construct(value_node, key_path, located, aliases, source, visited)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(item, (*path, index), located, aliases, source, visited)
            for index, item in enumerate(node.value)
        ]
    if isinstance(node, yaml.ScalarNode) and node.tag == "tag:yaml.org,2002:timestamp":
        return str(node.value)  # dates stay text: HL7 and XDS want their own formats
    if isinstance(node, yaml.ScalarNode) and node.tag in _PLAIN_SCALARS:
        constructor = yaml.SafeLoader.yaml_constructors[node.tag]
        return constructor(yaml.SafeLoader(""), node)
    raise ConfigError(f"YAML tag {node.tag!r} is not allowed", source=where)
