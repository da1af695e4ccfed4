"""The small rule tables: stored-query literals, time ranges, codes, CX ids, PDQ matching,
and the profile table against its documentation."""

from __future__ import annotations

import re

import pytest

from ihe_test_util.errors import UsageError
from ihe_test_util.ihe.cx import PatientId, parse_cx
from ihe_test_util.sim.demographics import Criteria, matches
from ihe_test_util.sim.profiles import DEVIATIONS, PROFILE_TABLE, Kind, get_profile
from ihe_test_util.sim.xds_query import QueryFailed, _codes_match, _time_in, parse_values

from ...conftest import REPO_ROOT


@pytest.mark.parametrize(("raw", "values"), [
    ("'a'", ["a"]),
    ("('a','b')", ["a", "b"]),
    ("( 'a' , 'b' )", ["a", "b"]),
    ("('it''s')", ["it's"]),
    ("2", ["2"]),
    ("('a^^^&1.2&ISO')", ["a^^^&1.2&ISO"]),
])
def test_sql_literals(raw: str, values: list[str]) -> None:
    assert parse_values(raw, "$p") == values


@pytest.mark.parametrize("raw", ["unquoted", "('open"])
def test_bad_literals(raw: str) -> None:
    with pytest.raises(QueryFailed) as caught:
        parse_values(raw, "$p")
    assert caught.value.error.code == "XDSRegistryError"


def test_time_ranges_compare_on_common_precision() -> None:
    assert _time_in(["20051224"], "2005", None)
    assert _time_in(["20051224"], None, "2006")
    assert not _time_in(["20051224"], None, "20051224")  # "to" is exclusive
    assert _time_in(["20051224"], "20051224", None)  # "from" is inclusive
    assert not _time_in(["200412230800"], "200501", None)
    assert _time_in([], None, None)


def test_codes_or_within_and_across_slots() -> None:
    facet = ["a^^s1", "b^^s2"]
    assert _codes_match(facet, [["x^^s", "a^^s1"]])
    assert _codes_match(facet, [["a"], ["b^^s2"]])
    assert not _codes_match(facet, [["a^^s1"], ["c"]])


def test_cx() -> None:
    assert parse_cx("SR7^^^&1.2.260&ISO", strict=True) == PatientId("SR7", "1.2.260")
    assert parse_cx("SR7", strict=True) is None
    assert parse_cx("SR7^^^&1.2.260&L", strict=True) is None


def test_matching() -> None:
    facets = {"names": [{"family": ["jones"], "given": ["jimmy", "j"]}], "gender": "M",
              "birth_time": "19630804", "addresses": [{"city": ["some city"]}]}
    assert matches(facets, Criteria(names=({"family": ["jones"], "given": []},)))
    assert matches(facets, Criteria(names=({"family": ["jo*"], "given": ["jim*"]},)))
    assert not matches(facets, Criteria(names=({"family": ["smith"], "given": []},)))
    assert matches(facets, Criteria(birth_time="1963"))
    assert not matches(facets, Criteria(birth_time="19630805"))
    assert matches(facets, Criteria(birth_time="19630805"), use_birth_time=False)
    assert not matches(facets, Criteria(gender="F"))
    assert matches(facets, Criteria(address={"city": ["some city"]}))
    assert not matches(facets, Criteria(address={"city": ["elsewhere"]}))


def test_profile_table() -> None:
    assert get_profile("baseline").deviations == frozenset()
    compatible, breaking = PROFILE_TABLE["compatible"], PROFILE_TABLE["breaking"]
    assert not compatible & breaking
    assert compatible | breaking == set(DEVIATIONS)
    assert all(DEVIATIONS[d].kind is not Kind.REGRESSION for d in compatible)
    assert all(DEVIATIONS[d].kind is Kind.REGRESSION for d in breaking)
    with pytest.raises(UsageError, match="unknown simulator profile"):
        get_profile("upgraded")


def test_every_deviation_is_documented() -> None:
    text = (REPO_ROOT / "docs" / "simulator.md").read_text(encoding="utf-8")
    for deviation in DEVIATIONS:
        assert re.search(rf"`{re.escape(deviation.value)}`", text), deviation.value
