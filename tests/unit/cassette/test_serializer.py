"""The emitter writes YAML that every loader (PyYAML, libyaml, vcrpy's) reads back exactly."""

from __future__ import annotations

import re
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st
from vcr.serializers import yamlserializer

from ihe_test_util.cassette.serializer import emit_mapping, emit_sequence, literal_block_holds

LOADERS = [yaml.SafeLoader, yaml.CSafeLoader]

# Characters that stress YAML: quotes, indicators, line breaks YAML 1.1 knows, controls, BOM.
_TRICKY = list(" \t\r\n\x00\x0b\x1c\x1b\x7f\x85\xa0\u2028\u2029\ufeff'\"\\#:-|>!&*%@`,[]{}?")
_TEXT = (
    st.text(alphabet=st.sampled_from([*_TRICKY, "a", "Z", "0", "é", "—", "𝄞", "~", "=", "."]),
             max_size=40)
    | st.text(max_size=30)
)


def _dump(tree: dict[str, Any]) -> str:
    return "".join(emit_mapping(tree))


def _assert_loads_back(tree: dict[str, Any]) -> str:
    document = _dump(tree)
    for loader in LOADERS:
        assert yaml.load(document, Loader=loader) == tree, (loader, document)
    assert yamlserializer.deserialize(document) == tree
    trailing = [line for line in document.split("\n") if line != line.rstrip(" \t")]
    assert not trailing, f"trailing whitespace in {trailing!r}"
    return document


@settings(max_examples=400, deadline=None)
@given(_TEXT)
def test_any_string_round_trips_in_every_position(text: str) -> None:
    _assert_loads_back({"k": text, "nested": {"x": text, "list": [text, text]}, text: 1})


@settings(max_examples=200, deadline=None)
@given(st.binary(max_size=300))
def test_bytes_round_trip_as_binary(data: bytes) -> None:
    document = _assert_loads_back({"b": data, "l": [data]} if data else {"b": "", "l": [""]})
    if data:
        assert "!!binary |" in document
        assert all(len(line.strip()) <= 76 for line in document.splitlines())


@pytest.mark.parametrize(
    "value",
    [None, True, False, 0, -7, 200, 1.5, 12.346, 1e20, -0.0, "", "null", "~", "yes", "No", "on",
     "12", "012", "0x1F", "1_000", "1.5", ".inf", "=", "2024-01-01", "2024-01-01T00:00:00Z",
     "- x", "? x", ": x", "a: b", "a #b", "#x", "x:", "&a", "*a", "!t", "%x", "@x", "`x",
     "'q'", '"q"', " lead", "trail ", "tab\there", "<root@x>", "text/xml; charset=UTF-8",
     "multipart/related; boundary=\"b\"; start=\"<r@x>\"", "http://h:1/p?q=1&r=[2]"],
)
def test_scalars_keep_their_type_and_value(value: object) -> None:
    _assert_loads_back({"v": value, "l": [value]})


def test_floats_always_read_back_as_floats() -> None:
    document = _dump({"f": 1e20, "g": 3.0})
    assert document == "f: 1.0e+20\ng: 3.0\n"


def test_text_with_lf_only_is_a_literal_block() -> None:
    text = '<a x="1">\n  <b>é</b>\n\t<c/>\n</a>\n'
    document = _assert_loads_back({"body": text})
    assert document == 'body: |\n  <a x="1">\n    <b>é</b>\n  \t<c/>\n  </a>\n'


@pytest.mark.parametrize(
    ("text", "header"),
    [("a\nb", "|-"), ("a\nb\n", "|"), ("a\nb\n\n\n", "|+"), ("  indented\nx\n", "|2"),
     ("\nleading empty\n", "|2"), ("\tx\ny\n", "|2")],
)
def test_literal_block_chomping_and_indentation(text: str, header: str) -> None:
    document = _assert_loads_back({"body": text})
    assert document.startswith(f"body: {header}\n")


@pytest.mark.parametrize(
    "text",
    ["MSH|^~\\&|A\rPID|1\r", "<a>\r\n  <b/>\r\n</a>\r\n", "trailing space \nx\n",
     "x\n   \ny\n", "nel\x85x\n", "bom\ufeff\nx\n", "\n", "ctl\x01\nx\n"],
)
def test_text_a_block_cannot_hold_is_double_quoted_line_by_line(text: str) -> None:
    assert not literal_block_holds(text)
    document = _assert_loads_back({"body": text})
    lines = document.splitlines()
    assert lines[0].startswith('body: "')
    assert len(lines) == len(re.findall(r"\r\n|\r|\n", text)) + (0 if text[-1:] in "\r\n" else 1)


def test_crlf_xml_reads_line_by_line() -> None:
    document = _dump({"string": '<a x="1">\r\n  <b/>\r\n</a>'})
    assert document == (
        'string: "<a x=\\"1\\">\\r\\n\\\n'
        '  \\  <b/>\\r\\n\\\n'
        '  </a>"\n'
    )


def test_sequences_of_mappings_are_not_indented_under_their_key() -> None:
    document = _dump({"interactions": [{"a": 1, "b": {"c": [1, 2]}}, {"a": 2}], "e": [], "m": {}})
    assert document == (
        "interactions:\n- a: 1\n  b:\n    c:\n    - 1\n    - 2\n- a: 2\ne: []\nm: {}\n"
    )
    assert "".join(emit_sequence([[1, [2]], "x\ny"])) == '- - 1\n  - - 2\n- "x\\n\\\n  y"\n'
