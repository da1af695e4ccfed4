from __future__ import annotations

import pytest
from lxml import etree

from ihe_test_util.errors import ConfigError
from ihe_test_util.replay.capture_rules import load_capture_rules
from ihe_test_util.replay.correlate import find_captures, find_rule_captures

RESPONSE = etree.fromstring(
    '<r xmlns="urn:hl7-org:v3"><subject1><patient><id root="1.2" extension="P7"/>'
    '</patient></subject1></r>'
)
LATER = etree.fromstring('<q xmlns="urn:hl7-org:v3"><value extension="P7"/></q>')
FIRST = etree.fromstring('<q xmlns="urn:hl7-org:v3"/>')


def test_a_rule_captures_what_automatic_correlation_ignores() -> None:
    # "P7" is too short to be correlated automatically (it could collide by chance).
    assert find_captures([FIRST, LATER], [RESPONSE, None]) == []
    rules = load_capture_rules([{"transaction": "ITI-55", "name": "remote id",
                                 "response": "//hl7:patient/hl7:id/@extension"}])
    (capture,) = find_rule_captures(rules, ["ITI-55", "ITI-38"], [FIRST, LATER],
                                    [RESPONSE, None])
    assert capture.value == "P7" and capture.consumers == (1,)
    replayed = etree.fromstring(
        '<r xmlns="urn:hl7-org:v3"><subject1><patient><id root="1.2" extension="P9"/>'
        "</patient></subject1></r>"
    )
    assert capture.resolve(replayed, {}) == "P9"
    assert capture.resolve(etree.fromstring("<r/>"), {}) is None
    assert "correlate[0] remote id" in capture.describe()


def test_rules_scoped_to_another_transaction_do_nothing() -> None:
    rules = load_capture_rules([{"transaction": "ITI-47",
                                 "response": "//hl7:patient/hl7:id/@extension"}])
    assert find_rule_captures(rules, ["ITI-55", None], [FIRST, LATER], [RESPONSE, None]) == []


@pytest.mark.parametrize(
    ("table", "key"),
    [
        ({"response": "//hl7:id[", "transaction": "ITI-55"}, "correlate[0].response"),
        ({"xpath": "//a"}, "correlate[0].xpath"),
        ({}, "correlate[0].response"),
        ({"response": "//a", "transaction": 55}, "correlate[0].transaction"),
    ],
)
def test_bad_rules_name_the_key(table: dict[str, object], key: str) -> None:
    with pytest.raises(ConfigError) as info:
        load_capture_rules([table], "ihe.toml")
    assert key in str(info.value)
