"""``${name}`` references: lone references keep lists, text interpolation, escapes, errors."""

from __future__ import annotations

import pytest

from ihe_test_util.record.variables import (
    MissingVariable,
    VariableError,
    fill_text,
    fill_tree,
    references,
    render_path,
)

VALUES = {"pid": "P1", "root": "1.2.3", "uuids": ["urn:uuid:a", "urn:uuid:b"],
          "row.family": "O'Brien & <Sons>", "pnr.documentUniqueId:Document01": "1.2.3.4"}


def lookup(name: str) -> str | list[str]:
    if name not in VALUES:
        raise MissingVariable(name)
    return VALUES[name]


def test_a_lone_reference_keeps_its_value_even_a_list() -> None:
    assert fill_text("${uuids}", lookup) == ["urn:uuid:a", "urn:uuid:b"]
    assert fill_text("${ pid }", lookup) == "P1"


def test_references_inside_text_are_interpolated() -> None:
    assert fill_text("${pid}^^^&${root}&ISO", lookup) == "P1^^^&1.2.3&ISO"
    assert fill_text("${pnr.documentUniqueId:Document01}", lookup) == "1.2.3.4"


def test_a_list_inside_text_is_refused_with_the_count() -> None:
    with pytest.raises(VariableError, match=r"\$\{uuids\} holds 2 values"):
        fill_text("ids: ${uuids}", lookup)


def test_dollar_dollar_brace_writes_a_literal() -> None:
    assert fill_text("cost $${pid} is ${pid}", lookup) == "cost ${pid} is P1"
    assert references("$${not} ${pid}") == ["pid"]


def test_missing_variables_name_themselves() -> None:
    with pytest.raises(MissingVariable) as caught:
        fill_text("x ${nope} y", lookup)
    assert caught.value.name == "nope"


@pytest.mark.parametrize("text", ["${}", "${1abc}", "${a b}", "${a.}", "open ${pid"])
def test_bad_reference_syntax_is_an_error(text: str) -> None:
    with pytest.raises(VariableError):
        references(text)


def test_fill_tree_records_which_names_fed_which_leaf() -> None:
    filled = fill_tree({"patient": {"id": "${pid}^^^&${root}&ISO", "family": "${row.family}"},
                        "ids": ["${uuids}", "plain"], "count": 3}, lookup)
    assert filled.value == {"patient": {"id": "P1^^^&1.2.3&ISO", "family": "O'Brien & <Sons>"},
                            "ids": [["urn:uuid:a", "urn:uuid:b"], "plain"], "count": 3}
    assert filled.used == {("patient", "id"): {"pid", "root"},
                           ("patient", "family"): {"row.family"}, ("ids", 0): {"uuids"}}


def test_paths_render_like_the_problem_messages() -> None:
    assert render_path(("steps", 2, "with", "query")) == "steps[2].with.query"
    assert render_path(()) == ""
