"""The one way this package reads YAML: hardened against hostile input, every error at a line.

Cassettes and scenario files both come from outside (a colleague, a CI artefact, an attacker),
so both are read the same way:

* **Compose only, never construct from a tag.** The file is composed into a node tree (libyaml
  when PyYAML has it: several times faster, same nodes and marks) and each node's tag is checked
  against an allow-list of plain data types (:data:`PLAIN_TAGS`) before anything is built from
  it. ``!!python/object...`` and custom ``!tags`` are refused, so no loader ever imports or calls
  anything the file names.
* **Aliases cost expansion budget.** Composing an alias only points at the anchored node; the
  danger ("billion laughs") is a reader walking that node again and again. The check walks the
  tree once per *use*, and every node it meets for a second time spends one unit of the caller's
  ``max_aliases`` budget; over budget is an error, so the walk is bounded whatever the file.
  The one policy, two budgets: cassettes get 0 (vcrpy never writes an anchor, so any alias is a
  hand edit or an attack), scenario files get :data:`SCENARIO_ALIAS_BUDGET` (users share blocks
  with ``&patient`` / ``*patient``, as ``examples/scenarios/patients-loop.yaml`` does).
* **Size limits** before parsing: :data:`MAX_YAML_BYTES` by default, smaller for scenarios.
* **One error type**, :class:`~ihe_test_util.errors.YamlInputError`, with the source, the line
  and a ``kind``; callers re-raise it as their own error (``CassetteError``, ``ConfigError``).
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable
from pathlib import Path
from typing import BinaryIO

import yaml
from yaml.nodes import MappingNode, Node, SequenceNode

from ihe_test_util.errors import YamlInputError

try:  # libyaml: several times faster; the pure-Python loader behaves the same
    from yaml import CSafeLoader as _SafeLoader
except ImportError:  # pragma: no cover - PyYAML built without libyaml
    from yaml import SafeLoader as _SafeLoader  # type: ignore[assignment]

#: Default ceiling for one YAML file (bytes): a cassette holding a few large MTOM exchanges.
MAX_YAML_BYTES = 1024 * 1024 * 1024
#: Ceiling for a hand-written scenario file.
MAX_SCENARIO_BYTES = 16 * 1024 * 1024
#: Node re-visits (alias expansions) a scenario file may make: shared blocks, not bombs.
SCENARIO_ALIAS_BUDGET = 100

YAML_TAG = "tag:yaml.org,2002:"
#: Tags of plain data: what every caller accepts. Callers may add a few (cassettes: ``binary``).
PLAIN_TAGS = frozenset(
    YAML_TAG + name for name in ("str", "int", "float", "bool", "null", "timestamp", "map", "seq")
)
_MERGE_TAG = YAML_TAG + "merge"

# Characters YAML 1.1 (PyYAML) can hold unescaped; everything else needs a "\" escape.
_UNPRINTABLE = re.compile(
    "[^\t\n\x20-\x7e\xa0-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)


def compose_file(
    path: Path, *, max_bytes: int = MAX_YAML_BYTES, max_aliases: int = 0,
    tags: frozenset[str] = PLAIN_TAGS,
) -> Node | None:
    """The checked node tree of the single document in ``path`` (None when it holds none).

    Streams the file into the composer (a large cassette is not read into memory twice).
    Raises :class:`OSError` when the file cannot be opened (callers word that themselves) and
    :class:`YamlInputError` for everything about its content.
    """
    source = str(path)
    stream: BinaryIO = path.open("rb")
    with stream:
        size = _size_of(stream)
        if size is not None and size > max_bytes:
            raise _too_large(source, size, max_bytes)
        node = _compose(stream, source, path.read_bytes)
    if node is not None:
        check_tree(node, source=source, max_aliases=max_aliases, tags=tags)
    return node


def compose_text(
    text: str, *, source: str, max_bytes: int = MAX_YAML_BYTES, max_aliases: int = 0,
    tags: frozenset[str] = PLAIN_TAGS,
) -> Node | None:
    """As :func:`compose_file`, for text already in memory (``source`` names it in errors)."""
    if len(text) > max_bytes:  # characters <= bytes: a cheap lower bound of the encoded size
        raise _too_large(source, len(text), max_bytes)
    node = _compose(text, source, lambda: text.encode("utf-8", "surrogatepass"))
    if node is not None:
        check_tree(node, source=source, max_aliases=max_aliases, tags=tags)
    return node


def line_of(node: Node) -> int:
    """The 1-based line a node starts on."""
    return int(node.start_mark.line) + 1


def check_tree(
    root: Node, *, source: str, max_aliases: int = 0, tags: frozenset[str] = PLAIN_TAGS,
) -> None:
    """Refuse tags outside ``tags`` and more than ``max_aliases`` node re-visits.

    Walks each use of a node (an alias use walks the anchored subtree again) until the budget is
    spent, so the work is bounded by the file size plus ``max_aliases``.
    """
    seen: set[int] = set()
    spent = 0
    stack: list[Node] = [root]
    while stack:
        node = stack.pop()
        if id(node) in seen:
            spent += 1
            if spent > max_aliases:
                raise _alias_error(source, line_of(node), max_aliases)
        seen.add(id(node))
        if node.tag == _MERGE_TAG:
            raise YamlInputError("YAML merge keys (<<) are not supported", kind="tag",
                                 source=source, line=line_of(node),
                                 hint="repeat the keys, or alias the whole block")
        if node.tag not in tags:
            raise YamlInputError(
                f"YAML tag {node.tag.replace(YAML_TAG, '!!')!r} is not allowed: only plain YAML "
                "values (strings, numbers, lists, mappings) are read", kind="tag",
                source=source, line=line_of(node),
                hint="never load this file with an unsafe YAML loader",
            )
        # Children pushed in reverse: the first problem in document order is reported.
        if isinstance(node, MappingNode):
            for key, value in reversed(node.value):
                stack.append(value)
                stack.append(key)
        elif isinstance(node, SequenceNode):
            stack.extend(reversed(node.value))


def _alias_error(source: str, line: int, budget: int) -> YamlInputError:
    if budget == 0:
        return YamlInputError(
            "YAML anchors and aliases (&name / *name) are not allowed here (they can expand a "
            "small file into gigabytes: 'billion laughs')", kind="alias", source=source,
            line=line, hint="write the repeated value out in full",
        )
    return YamlInputError(
        f"YAML aliases expand to more than {budget} repeated nodes (a 'billion laughs' "
        "expansion is refused)", kind="alias", source=source, line=line,
        hint="share fewer or smaller blocks with &anchor / *alias",
    )


def _size_of(stream: BinaryIO) -> int | None:
    try:
        return os.fstat(stream.fileno()).st_size
    except (OSError, ValueError):  # pragma: no cover - not a regular file
        return None


def _too_large(source: str, size: int, limit: int) -> YamlInputError:
    return YamlInputError(
        f"YAML file is {size:,} bytes, above the limit of {limit:,}", kind="size",
        source=source, line=1, hint="split it, or check it is the file you meant",
    )


def _compose(stream: str | BinaryIO, source: str, data: Callable[[], bytes]) -> Node | None:
    loader = _SafeLoader(stream)
    try:
        node: Node | None = loader.get_single_node()
    except yaml.reader.ReaderError:
        raise _reader_error(source, data()) from None
    except yaml.MarkedYAMLError as exc:
        raise _syntax_error(source, exc) from None
    except yaml.YAMLError as exc:
        raise YamlInputError(f"{exc}", kind="syntax", source=source) from None
    finally:
        loader.dispose()
    return node


def _syntax_error(source: str, exc: yaml.MarkedYAMLError) -> YamlInputError:
    mark = exc.problem_mark or exc.context_mark
    line = int(mark.line) + 1 if mark is not None else None
    problem = exc.problem or "invalid YAML"
    if exc.context:
        problem = f"{exc.context}: {problem}"
    hint = None
    if "end of the stream" in problem or "expected" in problem:
        hint = "the file may be truncated or hand-edited; restore it from version control"
    return YamlInputError(problem, kind="syntax", source=source, line=line, hint=hint)


def _reader_error(source: str, data: bytes) -> YamlInputError:
    """Locate the first byte that is not UTF-8, or the first character YAML forbids."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        column = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return YamlInputError(
            f"not UTF-8: byte 0x{data[exc.start]:02X} at column {column}", kind="encoding",
            source=source, line=line, hint="YAML files are UTF-8 text; was the file re-encoded?",
        )
    bad = _UNPRINTABLE.search(text)
    offset = bad.start() if bad else 0
    line = text.count("\n", 0, offset) + 1
    what = f"U+{ord(bad.group()):04X}" if bad else "an unreadable character"
    return YamlInputError(
        f"control character {what} is not allowed in YAML text", kind="encoding",
        source=source, line=line,
    )
