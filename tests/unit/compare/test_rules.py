"""User rules from ihe.toml: validation that names the rule, and what each kind of rule does."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from ihe_test_util.compare import RuleSet, compare_responses, load_rules
from ihe_test_util.config import load_settings
from ihe_test_util.errors import ConfigError
from ihe_test_util.model import Response
from ihe_test_util.results import Outcome
from tests.unit.compare.helpers import compare_captures, raw, reorder, replace

PDQ = "ITI-47/ITI-47_response_raw.xml"


@pytest.mark.parametrize(("tables", "key", "message"), [
    ([{"noise": "//a", "frobnicate": 1}], "rules[0].frobnicate", "unknown key"),
    ([{"noise": "//a"}, {"noise": "//hl7:x[", "name": "bad"}], "rules[1].noise", "invalid XPath"),
    ([{"noise": "//nope:x"}], "rules[0].noise", "unknown namespace prefix 'nope'"),
    ([{"noise": "//a", "transaction": "ITI-99"}], "rules[0].transaction", "unknown transaction"),
    ([{"name": "only a name"}], "rules[0]", "needs at least one of"),
    ([{"noise": "//a", "key": ["@x"]}], "rules[0].key", "only makes sense with 'unordered'"),
    ([{"unordered": "//a", "key": ["@x["]}], "rules[0].key", "invalid XPath"),
    ([{"noise": 3}], "rules[0].noise", "expected a string or a list of strings"),
    ([{"verdict": ["//a", ""]}], "rules[0].verdict", "expected a string or a list of strings"),
])
def test_invalid_rules_name_the_rule_and_key(tables: list[dict[str, Any]], key: str,
                                             message: str) -> None:
    with pytest.raises(ConfigError) as raised:
        load_rules(tables, source="ihe.toml")
    assert raised.value.key == key
    assert f"ihe.toml: {key}: " in str(raised.value)
    assert message in str(raised.value)


def test_rules_load_from_ihe_toml_with_scopes(tmp_path: Path) -> None:
    config = tmp_path / "ihe.toml"
    config.write_text(
        '[[rules]]\nname = "scores"\ntransaction = ["iti47", "ITI-55"]\n'
        'noise = "//hl7:queryMatchObservation/hl7:value/@value"\n'
        '[[rules]]\ncassette = "pdq/*.yaml"\nverdict = "//hl7:resultTotalQuantity/@value"\n',
        encoding="utf-8")
    settings = load_settings(config)
    rules = load_rules(settings.rules, source=settings.source)
    assert [rule.name for rule in rules.rules] == ["scores", "rules[1]"]
    assert rules.rules[0].transactions == ("ITI-47", "ITI-55")
    assert [r.name for r in rules.for_exchange("ITI-47", "pdq/a.yaml")] == ["scores", "rules[1]"]
    assert [r.name for r in rules.for_exchange("ITI-45", "pdq/a.yaml")] == ["rules[1]"]
    assert [r.name for r in rules.for_exchange("ITI-47", "xds/a.yaml")] == ["scores"]
    assert [r.name for r in rules.for_exchange("ITI-47", None)] == ["scores"]


def compare(mutation: Any, rules: RuleSet | None = None, cassette: str | None = None) -> Any:
    recorded = raw(PDQ)
    return compare_captures(recorded, mutation(recorded), rules=rules, cassette=cassette)


SCORE = replace('xsi:type="ns1:INT" value="100"', 'xsi:type="ns1:INT" value="97"')


def test_noise_rule_explains_a_difference_and_is_named() -> None:
    assert compare(SCORE).outcome is Outcome.CHANGED
    rules = load_rules([{"name": "match score drifts", "transaction": "ITI-47",
                         "noise": "//hl7:queryMatchObservation/hl7:value/@value"}])
    comparison = compare(SCORE, rules)
    assert comparison.outcome is Outcome.PASS
    assert comparison.noise_suppressed == 1
    assert "rules[0] match score drifts" in comparison.rules_applied


def test_rules_apply_only_in_their_scope() -> None:
    other_transaction = load_rules([{"transaction": "ITI-45", "noise": "//hl7:value/@value"}])
    assert compare(SCORE, other_transaction).outcome is Outcome.CHANGED
    by_cassette = load_rules([{"cassette": "pdq/*", "noise": "//hl7:value/@value"}])
    assert compare(SCORE, by_cassette, cassette="pdq/one.yaml").outcome is Outcome.PASS
    assert compare(SCORE, by_cassette, cassette="xds/one.yaml").outcome is Outcome.CHANGED


def test_verdict_rule_turns_a_change_into_a_regression() -> None:
    rules = load_rules([{"name": "total", "verdict": "//hl7:resultTotalQuantity/@value"}])
    mutation = replace('xsi:type="ns1:INT" value="1"/>\n     <ns1:resultCurrentQuantity',
                       'xsi:type="ns1:INT" value="2"/>\n     <ns1:resultCurrentQuantity')
    assert compare(mutation).outcome is Outcome.CHANGED
    comparison = compare(mutation, rules)
    assert comparison.outcome is Outcome.REGRESSION
    first = comparison.differences[0]
    assert first.rule == "rules[0] total"
    assert first.path.endswith("queryAck/resultTotalQuantity/@value")
    assert comparison.verdict_recorded is not None
    assert comparison.verdict_recorded["total"] == ["1"]


def test_unordered_rule_with_key() -> None:
    mutation = reorder("//hl7:patientPerson/*[self::hl7:birthTime or self::hl7:addr]")
    assert compare(mutation).outcome is Outcome.CHANGED
    rules = load_rules([{"unordered": "//hl7:patientPerson", "key": ["local-name()"]}])
    assert compare(mutation, rules).outcome is Outcome.PASS


def test_identifier_rule_compares_up_to_consistent_renaming() -> None:
    old = "25f98b34-0e01-48b7-a06c-f706eb4c485f"
    mutation = replace(old, "new-local-id")
    assert compare(mutation).outcome is Outcome.CHANGED
    rules = load_rules([{"identifiers": "//hl7:patient/hl7:id/@extension"}])
    comparison = compare(mutation, rules)
    assert comparison.outcome is Outcome.PASS
    assert comparison.noise_suppressed == 1


def test_a_key_on_an_hl7_ii_element_reads_its_value() -> None:
    """An element key is read as every other XPath value is (ihe.xpath.node_value): an II
    without text stands for its extension, so members pair by it even when both changed."""
    def items(*members: tuple[str, str]) -> Response:
        body = "".join(f'<item><id root="1.2" extension="{ext}"/><v>{v}</v></item>'
                       for ext, v in members)
        return Response(200, body=f"<r><list>{body}</list></r>".encode())

    rules = load_rules([{"unordered": "//list", "key": ["id"]}])
    comparison = compare_responses(items(("A", "1"), ("B", "2")), items(("B", "20"), ("A", "10")),
                                   rules=rules)
    changed = sorted((d.recorded, d.replayed) for d in comparison.differences)
    assert changed == [("1", "10"), ("2", "20")]
