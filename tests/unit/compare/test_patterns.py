"""The rule language: XPath match patterns with namespace-free local names."""

from __future__ import annotations

import pytest
from lxml import etree

from ihe_test_util.ihe.patterns import Pattern, PatternError, compile_patterns, translate

DOC = etree.fromstring(
    b"""<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"
                   xmlns:a="http://www.w3.org/2005/08/addressing">
      <s:Header><a:MessageID>urn:uuid:1</a:MessageID><a:RelatesTo>x</a:RelatesTo></s:Header>
      <s:Body>
        <q:AdhocQueryResponse xmlns:q="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
            xmlns:r="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0" status="S">
          <r:RegistryObjectList>
            <r:ExtrinsicObject id="e1"><r:Slot name="creationTime"><r:ValueList>
              <r:Value>20240101</r:Value></r:ValueList></r:Slot></r:ExtrinsicObject>
            <r:ExtrinsicObject id="e2"><r:Slot name="size"/></r:ExtrinsicObject>
          </r:RegistryObjectList>
        </q:AdhocQueryResponse>
      </s:Body>
    </s:Envelope>"""
)


def elements(pattern: Pattern) -> list[str]:
    return [str(e.get("id") or etree.QName(e).localname) for e in DOC.iter()
            if isinstance(e.tag, str) and pattern.matches(e)]


def test_unprefixed_names_match_any_namespace_and_anchoring_works() -> None:
    assert elements(Pattern("/Envelope/Header/MessageID")) == ["MessageID"]
    assert elements(Pattern("/Header/MessageID")) == []  # anchored at the document root
    assert elements(Pattern("MessageID")) == ["MessageID"]  # relative = anywhere
    assert elements(Pattern("//wsa:MessageID")) == ["MessageID"]
    assert elements(Pattern("//rim:MessageID")) == []  # prefixed = that namespace only


def test_positions_count_same_named_siblings_like_report_paths() -> None:
    pattern = Pattern("/Envelope/Body/AdhocQueryResponse/RegistryObjectList/ExtrinsicObject[2]"
                      "/@id")
    assert pattern.target == "attribute" and pattern.attribute == "id"
    assert elements(pattern) == ["e2"]
    assert [str(v) for v in pattern.select(DOC)] == ["e2"]


def test_predicates_descendant_steps_and_text_targets() -> None:
    slot = Pattern("rim:ExtrinsicObject[rim:Slot/@name='creationTime']")
    assert elements(slot) == ["e1"]
    text = Pattern("rim:Slot[@name='creationTime']//rim:Value/text()")
    assert text.target == "text"
    assert elements(text) == ["Value"]
    assert [str(v) for v in text.select(DOC)] == ["20240101"]


def test_unions_and_bare_attribute_patterns() -> None:
    patterns = compile_patterns("wsa:MessageID | wsa:RelatesTo")
    assert [p.text for p in patterns] == ["wsa:MessageID", "wsa:RelatesTo"]
    bare = Pattern("@status")
    assert bare.matches_attribute(DOC[1][0], "status")
    assert not bare.matches_attribute(DOC[1][0], "id")


def test_translate_rewrites_only_unprefixed_element_names() -> None:
    assert translate("rim:Slot[@name='x' and Value]/@value") == (
        "rim:Slot[@name='x' and *[local-name()='Value']]/@value")
    assert translate("local-name(*)") == "local-name(*)"


@pytest.mark.parametrize("text", ["", "foo:bar", "//a[", "a/@b/c", "child::a", "a[0]", "a/",
                                  "a | ", "a[@x='1'"])
def test_invalid_patterns_raise_pattern_error(text: str) -> None:
    with pytest.raises(PatternError):
        compile_patterns(text)
