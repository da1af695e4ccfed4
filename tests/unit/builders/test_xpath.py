"""One XPath cache and one rule for the value of a node (ihe/xpath.py), shared by ``ihe record``
captures and replay's ``[[correlate]]`` rules."""

from __future__ import annotations

import threading

from lxml import etree

from ihe_test_util.ihe.message import read_message
from ihe_test_util.ihe.xpath import (
    PerThread,
    compile_xpath,
    compiled_xpath,
    identifier_attribute,
    node_value,
    values_of,
)
from ihe_test_util.record.responses import capture
from ihe_test_util.replay.capture_rules import CaptureRule

RESPONSE = b"""<r xmlns:hl7="urn:hl7-org:v3">
  <hl7:id root="1.2.840.555" extension="P7-REMOTE"/>
  <hl7:id root="1.2.840.556"/>
  <hl7:id nullFlavor="NI"/>
  <name>
    <given>Ann</given>
    <family>Lee</family>
  </name>
  <Value>  urn:uuid:abc-1  </Value>
  <note>see <b>this</b> and that</note>
</r>"""


def test_the_value_of_a_node() -> None:
    root = etree.fromstring(RESPONSE)
    nodes = root.xpath("*")
    assert [node_value(node) for node in nodes] == [
        "P7-REMOTE", "1.2.840.556", None, "Ann Lee", "urn:uuid:abc-1", "see this and that"]
    assert node_value(root.xpath("string(//family)")) == "Lee"
    assert node_value(root.xpath("//Value/text()")[0]) == "urn:uuid:abc-1"
    assert node_value(root.xpath("//hl7:id/@root", namespaces={"hl7": "urn:hl7-org:v3"})[1]) \
        == "1.2.840.556"
    assert values_of(root.xpath("count(//hl7:id)", namespaces={"hl7": "urn:hl7-org:v3"})) == ["3"]
    assert values_of(root.xpath("count(//x) > 0")) == ["false"]
    assert values_of(root.xpath("1 div 4")) == ["0.25"]
    assert values_of(etree.fromstring("<a><!-- c --></a>").xpath("//comment()")) == ["c"]
    assert values_of(root.xpath("//nothing")) == [] and values_of(root.xpath("string(//x)")) == []
    assert [identifier_attribute(node) for node in nodes[:3]] == ["extension", "root", None]


def test_record_captures_and_correlate_rules_read_the_same_values() -> None:
    """``ihe record`` used to take all descendant text and ``[[correlate]]`` only
    ``element.text``: ``//name`` read ``Ann Lee`` in one and nothing in the other."""
    body = read_message(RESPONSE, content_type="text/xml")
    assert body.root is not None
    for expression in ("//hl7:id", "//name", "//note", "//Value", "//hl7:id/@root",
                       "//given/text()", "string(//family)", "count(//hl7:id)"):
        recorded = capture(body, {"v": compile_xpath(expression)}).values.get("v")
        as_list = recorded if isinstance(recorded, list) else [recorded] if recorded else []
        assert as_list == CaptureRule(0, expression).values(body.root), expression
        assert as_list, expression
    assert CaptureRule(0, "//name").values(body.root) == ["Ann Lee"]
    assert CaptureRule(0, "//hl7:id").values(body.root) == ["P7-REMOTE", "1.2.840.556"]


def test_compiled_expressions_are_cached_per_thread() -> None:
    made: list[str] = []

    def make(text: str) -> str:
        made.append(text)
        return text.upper()

    cache = PerThread(make)
    assert cache("a") == "A" and cache("a") == "A" and made == ["a"]
    other = threading.Thread(target=cache, args=("a",))
    other.start()
    other.join()
    assert made == ["a", "a"]  # the other thread compiled its own
    first = compiled_xpath("//hl7:id/@root")
    assert compiled_xpath("//hl7:id/@root") is first
    assert first(etree.fromstring(RESPONSE)) == ["1.2.840.555", "1.2.840.556"]
    seen: list[etree.XPath] = []
    other = threading.Thread(target=lambda: seen.append(compiled_xpath("//hl7:id/@root")))
    other.start()
    other.join()
    assert seen[0] is not first
