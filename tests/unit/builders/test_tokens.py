"""Identifier tokens (ihe/tokens.py): the one rule for where a value occurs and how mapped
values are replaced, by example and by property."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from ihe_test_util.ihe.tokens import (
    TOKEN_CHARACTER,
    Replacer,
    is_identifier,
    is_token_character,
    mentioned,
    occurs,
    positions,
    tokens,
)

PROPERTY_SETTINGS = settings(max_examples=60, deadline=None)

#: Token pieces: OID arcs, hex, words with - and _ (some non-ASCII letters too).
_token = st.text(alphabet="0123456789abcdefXYZ.-_é", min_size=1, max_size=8)
_separator = st.sampled_from([" ", ":", "^", "&", "/", "'", ",", "(", ")", "\n", "=", "|", "#"])
#: Texts built from tokens and separators, as messages are.
_text = st.lists(st.one_of(_token, _separator), max_size=24).map("".join)


def test_what_a_token_is() -> None:
    assert tokens("urn:oid:1.2.3") == ["urn", "oid", "1.2.3"]
    assert tokens("urn:uuid:a1-b2") == ["urn", "uuid", "a1-b2"]
    assert tokens("123^^^&1.2.840.1&ISO") == ["123", "1.2.840.1", "ISO"]
    assert tokens("http://h/fhir/Patient/123?_id=x_y") == ["http", "h", "fhir", "Patient", "123",
                                                          "_id", "x_y"]
    assert tokens("('a','b')") == ["a", "b"]
    assert [is_token_character(c) for c in "a9_.-:^/ é"] == [True] * 5 + [False] * 4 + [True]
    assert tokens("1.2.3\u00a0x é1") == ["1.2.3\u00a0x", "é1"]  # nothing beyond ASCII separates


def test_occurs_whole_only() -> None:
    assert occurs("1.2.3", "1.2.3")
    assert occurs("1.2.3", "urn:oid:1.2.3")
    assert occurs("1.2.3", "1.2.3^^^&9.9&ISO")
    assert occurs("1.2.3", "('1.2.3','1.2.34')")
    for longer in ("1.2.34", "1.2.3.4", "0.1.2.3", "x1.2.3", "1.2.3-a", "1.2.3_"):
        assert not occurs("1.2.3", longer), longer
    assert occurs("urn:uuid:ab", "('urn:uuid:ab')") and not occurs("urn:uuid:ab", "urn:uuid:abc")
    assert occurs("123", "Patient/123") and not occurs("123", "Patient/1234")
    assert list(positions("1.2", "1.2 1.23 1.2")) == [0, 9]
    # a value starting or ending with a separator is bounded only where it has a token end
    assert occurs("^^^&1.2", "123^^^&1.2") and not occurs("^^^&1.2", "123^^^&1.23")


def test_the_comparers_old_substring_bug_is_gone() -> None:
    """A mapping for ``1.2.3.4.5.6`` used to rewrite ``1.2.3.4.5.67`` to ``<new>7``."""
    replacer = Replacer({"1.2.3.4.5.6": "9.9.9"})
    assert replacer.sub("1.2.3.4.5.67") == "1.2.3.4.5.67"
    assert replacer.sub("1.2.3.4.5.6^^^&1.2&ISO") == "9.9.9^^^&1.2&ISO"
    assert not replacer.search("1.2.3.4.5.67") and replacer.count("1.2.3.4.5.6 1.2.3.4.5.6") == 2


def test_replacement_is_one_pass_longest_first() -> None:
    replacer = Replacer({"1.2.3": "1.2.3.4.5", "1.2.3.4.5": "X", "urn:oid:1.2.3": "urn:oid:Y"})
    assert replacer.sub("1.2.3 1.2.3.4.5 urn:oid:1.2.3") == "1.2.3.4.5 X urn:oid:Y"
    assert Replacer({}).sub("1.2.3") == "1.2.3" and not Replacer({"": "x"})


def test_replacer_counts_what_it_replaces() -> None:
    seen: list[None] = []
    assert Replacer({"abc-1": "d"}).sub("abc-1,abc-12,abc-1", lambda: seen.append(None)) == \
        "d,abc-12,d"
    assert len(seen) == 2


def test_mentioned_finds_keys_occurring_whole() -> None:
    keys = ["1.2.3", "1.2.3.4", "urn:uuid:ab", "urn:uuid:a", "9^^^&1.2&ISO", "zz", "a b"]
    texts = ["<x>1.2.3.4</x>", "('urn:uuid:ab') 9^^^&1.2&ISO and a b"]
    assert mentioned(keys, texts) == {"1.2.3.4", "urn:uuid:ab", "9^^^&1.2&ISO", "a b"}


def test_identifier_shape() -> None:
    for value in ("1.2.3", "urn:uuid:a-b", "Patient/123", "ab+c/d==", "user@host"):
        assert is_identifier(value), value
    for value in ("", "a b", "-x", "'x'", "x^y"):
        assert not is_identifier(value), value


@PROPERTY_SETTINGS
@given(st.data(), _token, _token)
def test_a_value_inside_a_longer_token_is_never_replaced(data: st.DataObject, value: str,
                                                        extra: str) -> None:
    """Text where ``value`` occurs only glued to more token characters is left alone."""
    glued = data.draw(st.sampled_from([value + extra, extra + value, extra + value + extra]))
    assert is_token_character(glued[0]) and is_token_character(glued[-1])
    prefix, suffix = data.draw(_text), data.draw(_text)
    text = f"{prefix} {glued} {suffix}"
    if occurs(value, text):
        return  # the value also occurs on its own in the random parts
    assert Replacer({value: "REPLACED"}).sub(text) == text


@PROPERTY_SETTINGS
@given(_text, st.lists(_token, max_size=6))
def test_identity_maps_change_nothing_and_replacing_twice_with_them_is_the_same(
        text: str, keys: list[str]) -> None:
    identity = Replacer({key: key for key in keys})
    once = identity.sub(text)
    assert once == text and identity.sub(once) == once


@PROPERTY_SETTINGS
@given(_text)
def test_tokens_are_maximal_substrings_bounded_by_non_token_characters(text: str) -> None:
    position = 0
    for token in tokens(text):
        start = text.index(token, position)
        end = start + len(token)
        assert all(is_token_character(c) for c in token)
        assert start == 0 or not is_token_character(text[start - 1])
        assert end == len(text) or not is_token_character(text[end])
        assert occurs(token, text)
        position = end
    assert "".join(tokens(text)) == "".join(c for c in text if is_token_character(c))


@PROPERTY_SETTINGS
@given(_text, st.data())
def test_a_bijective_map_and_its_inverse_restore_the_text(text: str,
                                                          data: st.DataObject) -> None:
    present = sorted(set(tokens(text)))
    if not present:
        return
    keys = data.draw(st.lists(st.sampled_from(present), unique=True, min_size=1))
    fresh = [f"F{index}-{key}" for index, key in enumerate(keys)]  # never in the text
    assert not set(present) & set(fresh)
    forward = dict(zip(keys, fresh, strict=True))
    there = Replacer(forward).sub(text)
    assert not any(occurs(key, there) for key in keys)
    back = Replacer({new: old for old, new in forward.items()}).sub(there)
    assert back == text


@PROPERTY_SETTINGS
@given(_text, _token)
def test_occurs_agrees_with_the_compiled_pattern(text: str, value: str) -> None:
    assert occurs(value, text) == Replacer({value: "x"}).search(text)
    assert occurs(value, text) == (value in mentioned([value], [text]))
    expected = [m.start() for m in re.finditer(
        rf"(?<!{TOKEN_CHARACTER})(?={re.escape(value)}(?!{TOKEN_CHARACTER}))", text)]
    assert list(positions(value, text)) == expected


def test_a_replacer_grown_key_by_key_replaces_as_one_built_whole() -> None:
    """IdMap grows its replacer by one value per message (no rebuild): past the substring-scan
    limit too, and with keys of several tokens, the result is the one a fresh Replacer gives."""
    keys = {f"P{n:05d}-X": f"N{n:05d}" for n in range(40)}
    keys.update({"urn:oid:1.2.3": "urn:oid:9.9", "1^^^&1.2&ISO": "2^^^&1.2&ISO"})
    text = ("P00003-X P00039-X xP00004-X urn:oid:1.2.3 urn:oid:1.2.34 1^^^&1.2&ISO "
            "P00041-X")
    grown = Replacer({})
    for key, value in keys.items():
        grown.add(key, value)
        grown.sub(text)  # used between additions, as during a replay
    whole = Replacer(keys)
    assert grown.sub(text) == whole.sub(text) == (
        "N00003 N00039 xP00004-X urn:oid:9.9 urn:oid:1.2.34 2^^^&1.2&ISO P00041-X")
    grown.add("P00041-X", "N00041")
    assert grown.sub(text).endswith("N00041") and grown.count(text) == 5
