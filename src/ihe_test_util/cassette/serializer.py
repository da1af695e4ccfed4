"""YAML text <-> a tree of plain values: safe composing with line numbers, deterministic emitting.

Why not ``yaml.safe_load`` / ``yaml.dump``: loading keeps the composed *nodes* (through
:mod:`ihe_test_util.safeyaml`, with no aliases at all) so every error can name the line it is
about, and nothing is ever constructed from a tag; dumping is
our own small emitter because PyYAML's refuses literal blocks for much real text (tabs,
trailing spaces) and folds long double-quoted strings at spaces, which makes CRLF text
unreadable and diffs noisy. The emitter writes a small, fixed subset of YAML:

* mappings (keys in the order given) and block sequences (``- item``, not indented under
  their key, as PyYAML and therefore vcrpy write them);
* ``None``/``bool``/``int``/``float`` and one-line strings as plain, ``'single'`` or
  ``"double"`` quoted scalars, plain only when YAML resolves the text back to a string;
* multi-line text as a literal block (``|``) when the block holds it exactly, else as a
  double-quoted scalar broken after each line ending (``"...\\r\\n\\`` then the next line);
* ``bytes`` as ``!!binary`` base64, 76 characters a line.

Every line the emitter writes is free of trailing whitespace, so editors and pre-commit hooks
that strip it cannot change a recorded byte.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from yaml.nodes import Node, ScalarNode

from ihe_test_util import safeyaml
from ihe_test_util.errors import CassetteError, YamlInputError
from ihe_test_util.safeyaml import YAML_TAG as _TAG
from ihe_test_util.safeyaml import line_of as line_of  # re-exported for the format reader

#: Bytes per ``!!binary`` line (76 base64 characters, the MIME line length).
BINARY_LINE_BYTES = 57
#: Bytes base64-encoded per step: bounded memory for very large bodies.
_BINARY_CHUNK_BYTES = BINARY_LINE_BYTES * 2048

STR_TAG = _TAG + "str"
BINARY_TAG = _TAG + "binary"
#: Tags a cassette may carry. vcrpy's own loader also accepts the three ``python/`` tags
#: below for cassettes written by old vcrpy versions; they only ever mean a string or a list.
ALLOWED_TAGS = safeyaml.PLAIN_TAGS | frozenset(
    _TAG + name for name in ("binary", "python/str", "python/unicode", "python/tuple")
)
#: Scalar tags whose text is taken as a string (a recorded-at time is text, not a date).
TEXT_TAGS = frozenset({STR_TAG, _TAG + "timestamp", _TAG + "python/str", _TAG + "python/unicode"})

_RESOLVER = yaml.resolver.Resolver()
# ... and inside literal blocks / plain scalars also no NEL / line or paragraph separators (YAML
# 1.1 line breaks), no BOM (invisible) and no CR.
_NOT_LITERAL = re.compile(
    "[^\t\n\x20-\x7e\xa0-\u2027\u202a-\ud7ff\ue000-\ufefe\uff00-\ufffd\U00010000-\U0010ffff]"
)
_TRAILING_SPACE = re.compile(r"[ \t]\n|[ \t]\Z")
_PLAIN_FIRST = re.compile(r"[A-Za-z0-9_/.(<$^+=\\~]")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+")
_ESCAPES = {
    "\0": "\\0", "\a": "\\a", "\b": "\\b", "\t": "\\t", "\n": "\\n", "\v": "\\v", "\f": "\\f",
    "\r": "\\r", "\x1b": "\\e", '"': '\\"', "\\": "\\\\", "\x85": "\\N", "\xa0": "\\_",
    "\u2028": "\\L", "\u2029": "\\P",
}
_ESCAPE_CODES = [*range(0x20), *range(0x7F, 0xA1), 0x22, 0x5C, 0x2028, 0x2029, 0xFEFF,
                 *range(0xD800, 0xE000), 0xFFFE, 0xFFFF]


def _escape_of(char: str) -> str:
    known = _ESCAPES.get(char)
    if known is not None:
        return known
    code = ord(char)
    return f"\\x{code:02X}" if code <= 0xFF else f"\\u{code:04X}"


#: str.translate table for double-quoted scalars (C speed, one pass).
_DOUBLE_QUOTE_TABLE = {code: _escape_of(chr(code)) for code in _ESCAPE_CODES}


# --------------------------------------------------------------------------- emitting


def emit_mapping(mapping: Mapping[str, Any], indent: int = 0) -> Iterator[str]:
    """YAML lines (each ending in ``\\n``) for ``mapping``, its keys at column ``indent``."""
    pad = " " * indent
    for key, value in mapping.items():
        head = f"{pad}{_inline(key)}:"
        if isinstance(value, Mapping) and value:
            yield head + "\n"
            yield from emit_mapping(value, indent + 2)
        elif isinstance(value, list | tuple) and value:
            yield head + "\n"
            yield from emit_sequence(value, indent)
        elif isinstance(value, bytes | bytearray | memoryview) and len(value):
            yield head + " !!binary |\n"
            yield from _binary_lines(value, indent + 2)
        elif isinstance(value, str) and ("\n" in value or "\r" in value):
            yield from _multiline(head, value, indent)
        else:
            yield f"{head} {_inline(value)}\n"


def emit_sequence(items: Sequence[Any], indent: int = 0) -> Iterator[str]:
    """A block sequence at column ``indent`` (``- `` then the item)."""
    pad = " " * indent
    for item in items:
        if isinstance(item, Mapping) and item:
            lines = emit_mapping(item, indent + 2)
            first = next(lines)
            yield f"{pad}- {first[indent + 2:]}"
            yield from lines
        elif isinstance(item, list | tuple) and item:
            lines = emit_sequence(item, indent + 2)
            first = next(lines)
            yield f"{pad}- {first[indent + 2:]}"
            yield from lines
        elif isinstance(item, bytes | bytearray | memoryview) and len(item):
            yield f"{pad}- !!binary |\n"
            yield from _binary_lines(item, indent + 2)
        elif isinstance(item, str) and ("\n" in item or "\r" in item):
            yield from _double_quoted_lines(f"{pad}-", item, indent + 2)
        else:
            yield f"{pad}- {_inline(item)}\n"


def _inline(value: Any) -> str:
    """One-line scalar: plain where YAML reads it back as the same value, else quoted."""
    if value is None:
        return "null"
    if value is True:
        return "true"
    if value is False:
        return "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        return _float(value)
    if isinstance(value, Mapping):
        return "{}"
    if isinstance(value, list | tuple):
        return "[]"
    if isinstance(value, bytes | bytearray | memoryview):
        return "''"
    if not isinstance(value, str):
        raise TypeError(f"cannot write {type(value).__name__} to a cassette")
    if _is_plain(value):
        return value
    if "\n" not in value and not _NOT_LITERAL.search(value):
        return "'" + value.replace("'", "''") + "'"
    return '"' + _escape(value) + '"'


def _float(value: float) -> str:
    if value != value:
        return ".nan"
    if value in (float("inf"), float("-inf")):
        return ".inf" if value > 0 else "-.inf"
    text = repr(value)
    if "." not in text and "e" in text:  # YAML 1.1 floats need a dot: 1e+20 -> 1.0e+20
        text = text.replace("e", ".0e", 1)
    return text


def _is_plain(text: str) -> bool:
    if not text or text != text.strip() or not _PLAIN_FIRST.match(text):
        return False
    if ": " in text or " #" in text or text.endswith(":") or "\t" in text:
        return False
    if _NOT_LITERAL.search(text) or "\n" in text:
        return False
    tag: str = _RESOLVER.resolve(ScalarNode, text, (True, False))  # type: ignore[no-untyped-call]
    return tag == STR_TAG


def _escape(text: str) -> str:
    return text.translate(_DOUBLE_QUOTE_TABLE)


def literal_block_holds(text: str) -> bool:
    """True when a ``|`` block reproduces ``text`` exactly and with no trailing whitespace."""
    return (
        "\n" in text and bool(text.strip("\n")) and not _NOT_LITERAL.search(text)
        and not _TRAILING_SPACE.search(text)
    )


def _multiline(head: str, text: str, indent: int) -> Iterator[str]:
    if literal_block_holds(text):
        yield from _literal_lines(head, text, indent + 2)
    else:
        yield from _double_quoted_lines(head, text, indent + 2)


def _literal_lines(head: str, text: str, indent: int) -> Iterator[str]:
    body = text.rstrip("\n")
    trailing = len(text) - len(body)
    chomp = "-" if trailing == 0 else ("" if trailing == 1 else "+")
    lines = body.split("\n")
    first_content = next((line for line in lines if line), "")
    # An explicit indentation indicator whenever auto-detection could misread the block.
    indicator = "2" if (not lines[0] or first_content[:1] in (" ", "\t")) else ""
    yield f"{head} |{indicator}{chomp}\n"
    pad = " " * indent
    for line in lines:
        yield f"{pad}{line}\n" if line else "\n"
    for _ in range(trailing - 1):
        yield "\n"


def _double_quoted_lines(head: str, text: str, indent: int) -> Iterator[str]:
    """``"...`` broken after every line ending; escaped breaks join lines with nothing added."""
    pad = " " * indent
    pieces = _LINE.findall(text)
    last = len(pieces) - 1
    for index, piece in enumerate(pieces):
        escaped = _escape(piece)
        # Leading blanks of a continuation line are dropped by YAML: escape the first one.
        start = f'{head} "' if index == 0 else pad + ("\\" if escaped[:1] == " " else "")
        yield f'{start}{escaped}"\n' if index == last else f"{start}{escaped}\\\n"


def _binary_lines(data: bytes | bytearray | memoryview, indent: int) -> Iterator[str]:
    pad = " " * indent
    view = memoryview(data)
    for offset in range(0, len(view), _BINARY_CHUNK_BYTES):
        chunk = base64.b64encode(view[offset:offset + _BINARY_CHUNK_BYTES]).decode("ascii")
        yield "".join(f"{pad}{chunk[i:i + 76]}\n" for i in range(0, len(chunk), 76))


# --------------------------------------------------------------------------- composing


def compose_file(path: Path) -> Node:
    """The YAML node tree of ``path``, read by :mod:`ihe_test_util.safeyaml` with no aliases.

    Raises :class:`CassetteError` naming the file and line for: unreadable files, bytes that
    are not UTF-8, YAML syntax errors, several documents, tags other than plain YAML types
    (``!!python/object...``), and anchors/aliases (vcrpy never writes one; any alias is a hand
    edit or a "billion laughs" expansion attack).
    """
    try:
        node = safeyaml.compose_file(path, max_aliases=0, tags=ALLOWED_TAGS)
    except OSError as exc:
        raise CassetteError(f"cannot read cassette: {exc.strerror or exc}", path=path) from None
    except YamlInputError as exc:
        problem = f"not valid YAML: {exc.problem}" if exc.kind == "syntax" else exc.problem
        hint = exc.hint
        if exc.kind == "tag":
            hint = "never load this file with an unsafe YAML loader; re-record it"
        raise CassetteError(problem, path=path, line=exc.line, hint=hint) from None
    if node is None:
        raise CassetteError("empty file: not a cassette", path=path, line=1,
                            hint="record it again, or delete it")
    return node
