"""Scenario YAML -> plain values that remember the line of every mapping key and sequence item.

Error messages about a scenario must say *where*: ``scenario.yaml:14: steps[2].with.query``.
Reading is :mod:`ihe_test_util.safeyaml`'s (plain tags only, size limit); scenarios may share
blocks with anchors and aliases, within :data:`~ihe_test_util.safeyaml.SCENARIO_ALIAS_BUDGET`.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from ihe_test_util import safeyaml
from ihe_test_util.errors import ConfigError, YamlInputError


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
        node = safeyaml.compose_text(text, source=source, max_bytes=safeyaml.MAX_SCENARIO_BYTES,
                                     max_aliases=safeyaml.SCENARIO_ALIAS_BUDGET)
    except YamlInputError as exc:
        raise _config_error(exc) from None
    return _located(node, source)


def load_located_file(path: Path) -> Located:
    try:
        node = safeyaml.compose_file(path, max_bytes=safeyaml.MAX_SCENARIO_BYTES,
                                     max_aliases=safeyaml.SCENARIO_ALIAS_BUDGET)
    except FileNotFoundError:
        raise ConfigError("file not found", source=str(path)) from None
    except OSError as exc:
        raise ConfigError(f"cannot read: {exc.strerror or exc}", source=str(path)) from None
    except YamlInputError as exc:
        raise _config_error(exc) from None
    return _located(node, str(path))


def _config_error(exc: YamlInputError) -> ConfigError:
    problem = f"invalid YAML: {exc.problem}" if exc.kind == "syntax" else exc.problem
    where = f"{exc.source}:{exc.line}" if exc.line is not None else exc.source
    return ConfigError(problem, source=where, hint=exc.hint)


def _located(node: yaml.Node | None, source: str) -> Located:
    located = Located(None, {}, source)
    if node is not None:
        located.data = _construct(node, (), located, source)
    return located


_TIMESTAMP_TAG = safeyaml.YAML_TAG + "timestamp"


def _construct(
    node: yaml.Node, path: tuple[str | int, ...], located: Located, source: str,
) -> Any:
    """Build plain Python values from a tree :mod:`~ihe_test_util.safeyaml` has checked (plain
    tags only, alias re-visits within the budget, so this walk is bounded too)."""
    where = f"{source}:{node.start_mark.line + 1}"
    located.lines.setdefault(path, node.start_mark.line + 1)
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
            result[key] = _construct(value_node, key_path, located, source)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(item, (*path, index), located, source)
            for index, item in enumerate(node.value)
        ]
    if node.tag == _TIMESTAMP_TAG:
        return str(node.value)  # dates stay text: HL7 and XDS want their own formats
    constructor = yaml.SafeLoader.yaml_constructors[node.tag]
    return constructor(yaml.SafeLoader(""), node)
