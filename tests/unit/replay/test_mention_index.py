"""Which regenerated values an exchange mentions: the same answer as the token rule
(:func:`ihe_test_util.ihe.tokens.mentioned`), at a cost per exchange that does not grow with the
number of values earlier exchanges added to the cassette's map."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ihe_test_util.ihe import tokens
from ihe_test_util.ihe.idmap import IdMap
from ihe_test_util.ihe.specs import ValueKind
from ihe_test_util.ihe.tokens import mentioned
from ihe_test_util.replay.correlate import MentionIndex

_piece = st.text(alphabet="0123456789abXY.-_é", min_size=1, max_size=6)
_separator = st.sampled_from([" ", ":", "^", "&", "/", "'", "(", "\n"])
_text = st.lists(st.one_of(_piece, _separator), max_size=16).map("".join)


@settings(max_examples=60, deadline=None)
@given(st.lists(st.lists(_text, min_size=1, max_size=4), min_size=1, max_size=6),
       st.lists(_text, min_size=1, max_size=3))
def test_a_growing_map_gives_what_the_token_rule_gives(batches: list[list[str]],
                                                       bodies: list[str]) -> None:
    index = MentionIndex()
    mapping: dict[str, str] = {}
    encoded = [body.encode() for body in bodies]
    for batch in batches:  # keys arrive exchange by exchange
        for key in batch:
            mapping.setdefault(key, key.upper())
        found = index.relevant(mapping, *encoded)
        expected = mentioned(mapping, bodies)
        assert found == {key: value for key, value in mapping.items() if key in expected}
        assert list(found) == [key for key in mapping if key in found]  # in map order


def test_a_map_that_shrank_is_indexed_again() -> None:
    index = MentionIndex()
    assert index.relevant({"1.2.3": "A", "4.5.6": "B"}, b"<a>4.5.6</a>") == {"4.5.6": "B"}
    assert index.relevant({"7.8.9": "C"}, b"<a>7.8.9 4.5.6</a>") == {"7.8.9": "C"}


def test_the_work_per_exchange_does_not_grow_with_earlier_exchanges() -> None:
    """Each exchange adds its message id to the cassette's map and mentions only its own id:
    the keys examined per exchange stay the same from the 10th exchange to the 1,000th."""
    ids = IdMap()
    index = MentionIndex()
    work: list[int] = []
    for n in range(1000):
        recorded = f"urn:uuid:00000000-0000-4000-8000-{n:012d}"
        fresh = ids.fresh(recorded, ValueKind.MESSAGE_ID)
        body = f"<Envelope><MessageID>{recorded}</MessageID><q>patient-{n}</q></Envelope>"
        before = index.examined
        assert index.relevant(ids.items(), body.encode()) == {recorded: fresh}
        work.append(index.examined - before)
    assert work[10] == work[999] <= 2


def test_the_id_map_hands_out_a_live_view_not_a_copy() -> None:
    ids = IdMap()
    view = ids.items()
    fresh = ids.fresh("1.2.3.4", ValueKind.UNIQUE_ID)
    assert dict(view) == {"1.2.3.4": fresh}
    assert ids.items() is view


def test_the_anchor_cache_stays_bounded_however_many_values_a_run_sees() -> None:
    """Correlation asks for the longest token of every server-assigned value it meets; a long
    run meets tens of thousands, and the memo must not keep them all (flat memory)."""
    for n in range(3 * tokens._ANCHORS_KEPT):
        uuid = f"{n:08d}-0000-4000-8000-000000000000"
        assert tokens.anchor_of(f"urn:uuid:{uuid}") == uuid
        assert len(tokens._ANCHORS) <= tokens._ANCHORS_KEPT
