"""Which recorded response answers repeated requests; identifiers learned from a client."""

from __future__ import annotations

from pathlib import Path

from ihe_test_util.model import Headers, Interaction, Request, Response
from ihe_test_util.safexml import parse_xml
from ihe_test_util.serve.index import PlaybackIndex, RecordedEntry
from ihe_test_util.serve.order import ResponseOrder
from ihe_test_util.serve.renames import Renames
from ihe_test_util.serve.shape import shape_of


def _entry(cassette: str, number: int, body: bytes, answer: bytes = b"") -> RecordedEntry:
    request = Request("POST", "http://x/p", Headers([("Content-Type", "text/xml")]), body)
    return RecordedEntry(Path(cassette), number,
                         Interaction(request, Response(200, body=answer or body)),
                         shape_of(request))


def _conversation() -> tuple[PlaybackIndex, list[RecordedEntry]]:
    entries = [_entry("a.yaml", 0, b"<q>1</q>", b"first"), _entry("a.yaml", 1, b"<q>2</q>"),
               _entry("a.yaml", 2, b"<q>1</q>", b"second"), _entry("b.yaml", 0, b"<q>1</q>",
                                                                   b"third")]
    return PlaybackIndex(entries), entries


def test_default_serves_in_order_then_repeats_the_last() -> None:
    index, entries = _conversation()
    order = ResponseOrder(index.entries)
    same = index.lookup(entries[0].shape)
    assert [e.number for e in same] == [0, 2, 0] and same[2].cassette.name == "b.yaml"
    served = [order.choose(same).entry for _ in range(5)]
    assert served == [entries[0], entries[2], entries[3], entries[3], entries[3]]
    order.reset()
    assert order.choose(same).entry is entries[0]


def test_strict_order_serves_each_once_in_cassette_order() -> None:
    index, entries = _conversation()
    order = ResponseOrder(index.entries, strict=True)
    same = index.lookup(entries[0].shape)
    other = index.lookup(entries[1].shape)
    assert order.choose(same).entry is entries[0]  # a#0
    assert order.choose(same).entry is entries[3]  # a#2 must wait for a#1: b#0 is next
    refused = order.choose(same)
    assert refused.entry is None and refused.refusal is not None
    assert "a.yaml#2" in refused.refusal and "a.yaml#1" in refused.refusal
    assert "out of order" in refused.refusal
    assert order.choose(other).entry is entries[1]
    assert order.choose(same).entry is entries[2]
    exhausted = order.choose(same)
    assert exhausted.entry is None and "already served" in (exhausted.refusal or "")


def test_index_groups_by_key_and_summarises_paths() -> None:
    index, entries = _conversation()
    assert len(index) == 4
    assert index.lookup(shape_of(Request("POST", "http://y/p", body=b"<q> 1 </q>"))) == (
        entries[0], entries[2], entries[3])
    assert index.lookup(shape_of(Request("POST", "http://y/other", body=b"<q>1</q>"))) == ()
    [summary] = index.paths()
    assert (summary.path, summary.interactions, summary.transactions) == ("/p", 4, ())
    assert entries[0].label == "a.yaml#0"


def test_renames_learn_pairs_and_substitute_whole_tokens_both_ways() -> None:
    renames = Renames()
    assert renames.learn(["1.2.3"], ["1.2.3"]) == 0  # the client kept the recorded value
    assert renames.learn(["9.9", "8.8"], ["1.1"]) == 0  # counts differ: no guessing
    assert renames.learn(["9.9", "urn:uuid:c"], ["1.1", "urn:uuid:r"]) == 2
    assert renames.learn(["9.9"], ["1.1"]) == 0
    request = parse_xml(b"<a v='9.9'><b>('9.9','9.99')</b><c>urn:uuid:c</c></a>")
    assert renames.to_recorded(request) == 3
    assert request.get("v") == "1.1" and request.findtext("b") == "('1.1','9.99')"
    assert request.findtext("c") == "urn:uuid:r"
    response = parse_xml(b"<a><b>1.1</b><b>1.10</b></a>")
    renames.to_client(response)
    assert [b.text for b in response] == ["9.9", "1.10"]
    assert renames.items() == {"9.9": "1.1", "urn:uuid:c": "urn:uuid:r"}
    renames.clear()
    assert len(renames) == 0 and renames.to_client(response) == 0
