"""The one hardened YAML reader: tags, alias budget, size limit, line-numbered errors."""

from __future__ import annotations

from pathlib import Path

import pytest
from yaml.nodes import MappingNode, ScalarNode

from ihe_test_util import safeyaml
from ihe_test_util.errors import IheTestError, YamlInputError
from ihe_test_util.record.yaml_lines import load_located


def _error(text: str, **options: object) -> YamlInputError:
    with pytest.raises(YamlInputError) as caught:
        safeyaml.compose_text(text, source="in.yaml", **options)  # type: ignore[arg-type]
    return caught.value


def _bomb(levels: int) -> str:
    rows = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    rows += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, levels)]
    return "\n".join(rows) + "\n"


def test_plain_yaml_composes_with_lines() -> None:
    node = safeyaml.compose_text("a: 1\nb:\n  - x\n", source="in.yaml")
    assert isinstance(node, MappingNode)
    assert [safeyaml.line_of(key) for key, _ in node.value] == [1, 2]
    assert safeyaml.compose_text("# nothing\n", source="in.yaml") is None


@pytest.mark.parametrize("tagged", ["!!python/object/apply:os.system ['true']",
                                    "!!python/name:os.system", "!custom 1", "!!binary eA=="])
def test_tags_outside_the_allow_list_are_refused_at_their_line(tagged: str) -> None:
    error = _error(f"a: 1\nb: {tagged}\n")
    assert (error.kind, error.line, error.source) == ("tag", 2, "in.yaml")
    assert "is not allowed" in error.message and error.message.startswith("in.yaml:2: ")
    assert isinstance(error, IheTestError)


def test_a_caller_may_allow_more_tags() -> None:
    binary = safeyaml.YAML_TAG + "binary"
    node = safeyaml.compose_text("b: !!binary eA==\n", source="in.yaml",
                                 tags=safeyaml.PLAIN_TAGS | {binary})
    assert isinstance(node, MappingNode) and node.value[0][1].tag == binary


def test_a_tag_on_a_key_is_checked_too() -> None:
    assert _error("ok: 1\n!!python/name:os.system : 1\n").line == 2


def test_merge_keys_are_refused_with_their_own_message() -> None:
    error = _error("base: &b {x: 1}\nother:\n  <<: *b\n", max_aliases=10)
    assert "merge keys" in error.problem and error.line == 3


def test_no_alias_at_all_with_a_zero_budget() -> None:
    error = _error("a: &x 1\nb: *x\n")
    assert error.kind == "alias" and "billion laughs" in error.problem and error.line == 1


def test_aliases_within_the_budget_are_allowed() -> None:
    text = "shared: &p {id: 1, name: x}\nfirst: *p\nsecond: *p\n"
    # Each use of the 5-node block (mapping, 2 keys, 2 values) re-visits 5 nodes.
    assert safeyaml.compose_text(text, source="in.yaml", max_aliases=10) is not None
    assert _error(text, max_aliases=9).kind == "alias"


@pytest.mark.parametrize("budget", [0, safeyaml.SCENARIO_ALIAS_BUDGET])
def test_billion_laughs_stops_within_the_budget(budget: int) -> None:
    error = _error(_bomb(10), max_aliases=budget)
    assert error.kind == "alias" and "billion laughs" in error.problem
    assert error.line is not None


def test_scenarios_share_blocks_but_not_bombs() -> None:
    shared = "version: 1\npatient: &p {id: 'A^^^&1.2&ISO', family: Doe}\nagain: *p\n"
    assert load_located(shared, source="s.yaml").data["again"]["family"] == "Doe"
    with pytest.raises(IheTestError, match=r"s\.yaml:\d+: .*billion laughs"):
        load_located(_bomb(10), source="s.yaml")


def test_size_limit_before_parsing(tmp_path: Path) -> None:
    assert _error("a: 1\n" * 10, max_bytes=20).kind == "size"
    path = tmp_path / "big.yaml"
    path.write_text("a: 1\n" * 10, encoding="utf-8")
    with pytest.raises(YamlInputError, match="above the limit of 20") as caught:
        safeyaml.compose_file(path, max_bytes=20)
    assert caught.value.source == str(path)


def test_syntax_errors_name_the_line() -> None:
    error = _error("a: 1\nb: [unclosed\nc: 2\n")
    assert error.kind == "syntax" and error.line == 3


def test_several_documents_are_refused() -> None:
    assert _error("a: 1\n---\nb: 2\n").kind == "syntax"


def test_bad_bytes_name_the_line(tmp_path: Path) -> None:
    path = tmp_path / "latin.yaml"
    path.write_bytes("a: 1\nb: M\xfcller\n".encode("latin-1"))
    with pytest.raises(YamlInputError) as caught:
        safeyaml.compose_file(path)
    assert (caught.value.kind, caught.value.line) == ("encoding", 2)
    assert "0xFC" in caught.value.problem
    control = _error("a: 1\nb: x\x01y\n")
    assert (control.kind, control.line) == ("encoding", 2) and "U+0001" in control.problem


def test_a_missing_file_is_an_os_error_for_the_caller_to_word(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        safeyaml.compose_file(tmp_path / "nope.yaml")


def test_the_file_and_text_readers_agree(tmp_path: Path) -> None:
    text = "a: 'x'\nb: [1, 2.5, null, true]\nc: 2024-01-02\n"
    path = tmp_path / "same.yaml"
    path.write_text(text, encoding="utf-8")
    from_file = safeyaml.compose_file(path)
    from_text = safeyaml.compose_text(text, source="t")
    assert isinstance(from_file, MappingNode) and isinstance(from_text, MappingNode)
    scalars = [(k.value, v.tag) for k, v in from_file.value if isinstance(v, ScalarNode)]
    assert scalars == [(k.value, v.tag) for k, v in from_text.value if isinstance(v, ScalarNode)]
