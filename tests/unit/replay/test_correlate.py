from __future__ import annotations

from lxml import etree

from ihe_test_util.replay.capture_rules import CaptureRule
from ihe_test_util.replay.correlate import (
    find_captures,
    find_rule_captures,
    relevant_values,
    resolve,
    substitute,
)

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
UID = "urn:uuid:2e82c1f6-a085-4c72-9da3-8640a32e42ab"


def leafclass(objects: list[tuple[str, str]]) -> etree._Element:
    items = "".join(
        f'<rim:ExtrinsicObject id="{entry}" status="Approved">'
        f'<rim:ExternalIdentifier id="urn:uuid:ei-{n}" identificationScheme="{UID}" '
        f'registryObject="{entry}" value="{unique}"/></rim:ExtrinsicObject>'
        for n, (entry, unique) in enumerate(objects)
    )
    return etree.fromstring(
        f'<q:AdhocQueryResponse xmlns:q="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" '
        f'xmlns:rim="{RIM}"><rim:RegistryObjectList>{items}</rim:RegistryObjectList>'
        f"</q:AdhocQueryResponse>"
    )


def get_documents(uuids: list[str]) -> etree._Element:
    values = ",".join(f"'{u}'" for u in uuids)
    return etree.fromstring(
        f'<q:AdhocQueryRequest xmlns:q="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" '
        f'xmlns:rim="{RIM}"><rim:AdhocQuery id="urn:uuid:5c4f972b-d56b-40ac-a5fc-c8ca9b40b9d4">'
        f'<rim:Slot name="$XDSDocumentEntryEntryUUID"><rim:ValueList>'
        f"<rim:Value>({values})</rim:Value></rim:ValueList></rim:Slot></rim:AdhocQuery>"
        f"</q:AdhocQueryRequest>"
    )


FIND = etree.fromstring(
    '<q:AdhocQueryRequest xmlns:q="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0">'
    "<p>'IHERED-1039^^^&amp;1.3.6.1.4.1.21367.13.20.1000&amp;ISO'</p></q:AdhocQueryRequest>"
)


def test_entry_uuids_reused_by_a_later_request_are_captured_and_anchored_by_unique_id() -> None:
    recorded = leafclass([("urn:uuid:old-a", "1.2.3.1"), ("urn:uuid:old-b", "1.2.3.2")])
    captures = find_captures([FIND, get_documents(["urn:uuid:old-b"])], [recorded, None])
    values = {c.value for c in captures}
    assert values == {"urn:uuid:old-b"}
    (capture,) = captures
    assert capture.source == 0 and capture.consumers == (1,)
    assert "ExtrinsicObject[uniqueId=1.2.3.2]" in capture.location.render()
    # The replayed response has other entryUUIDs and another order: still found by uniqueId.
    replayed = leafclass([("urn:uuid:new-b", "1.2.3.2"), ("urn:uuid:new-a", "1.2.3.1")])
    assert resolve(replayed, capture.location, {}) == "urn:uuid:new-b"


def test_anchor_key_goes_through_the_value_map() -> None:
    recorded = leafclass([("urn:uuid:old-a", "1.2.3.1")])
    (capture,) = find_captures([FIND, get_documents(["urn:uuid:old-a"])], [recorded, None])
    replayed = leafclass([("urn:uuid:new-a", "9.9.9.1")])
    assert resolve(replayed, capture.location, {}) is None
    assert resolve(replayed, capture.location, {"1.2.3.1": "9.9.9.1"}) == "urn:uuid:new-a"


def test_values_the_client_sent_are_not_server_assigned() -> None:
    request = get_documents(["urn:uuid:old-a"])
    response = leafclass([("urn:uuid:old-a", "1.2.3.1")])
    later = get_documents(["urn:uuid:old-a"])
    assert find_captures([request, later], [response, None]) == []


def test_hl7_ids_anchored_by_root() -> None:
    response = etree.fromstring(
        '<r xmlns="urn:hl7-org:v3"><patient><id root="1.1.1" extension="OTHER-1"/>'
        '<id root="1.3.6.1.4.1.21367.13.20.1000" extension="IHERED-1039"/></patient></r>'
    )
    query = etree.fromstring(
        '<q xmlns="urn:hl7-org:v3"><id extension="IHEBLUE-7"/>'
        '<dataSource><value root="1.3.6.1.4.1.21367.13.20.1000"/></dataSource></q>'
    )
    captures = find_captures([query, FIND], [response, None])
    (capture,) = captures
    assert capture.value == "IHERED-1039"
    reordered = etree.fromstring(
        '<r xmlns="urn:hl7-org:v3"><patient><id root="1.3.6.1.4.1.21367.13.20.1000" '
        'extension="IHERED-2000"/><id root="1.1.1" extension="OTHER-1"/></patient></r>'
    )
    assert resolve(reordered, capture.location, {}) == "IHERED-2000"


def test_short_values_are_ignored() -> None:
    response = etree.fromstring('<r><count>42</count><flag v="true"/></r>')
    request = etree.fromstring("<q><n>42</n><b>true</b></q>")
    assert find_captures([etree.fromstring("<q/>"), request], [response, None]) == []


def test_substitute_replaces_inside_sql_literals_and_attributes() -> None:
    request = get_documents(["urn:uuid:old-a", "urn:uuid:old-b"])
    request.set("ref", "urn:uuid:old-a")
    count = substitute(request, {"urn:uuid:old-a": "urn:uuid:NEW-A"})
    text = etree.tostring(request).decode()
    assert count == 2
    assert "urn:uuid:NEW-A" in text and "old-a" not in text and "old-b" in text


def test_longest_value_wins_in_substitution() -> None:
    root = etree.fromstring("<a>1.2.3.4.5</a>")
    substitute(root, {"1.2.3": "X", "1.2.3.4.5": "Y"})
    assert root.text == "Y"
    spelled = etree.fromstring("<a>urn:oid:1.2.3</a>")
    substitute(spelled, {"1.2.3": "X", "urn:oid:1.2.3": "urn:oid:Y"})
    assert spelled.text == "urn:oid:Y"


def test_substitution_replaces_whole_tokens_only() -> None:
    root = etree.fromstring("<a v='urn:oid:1.2.3'>1.2.3.4.5 1.2.34 1.2.3^^^&amp;9&amp;ISO</a>")
    assert substitute(root, {"1.2.3": "X"}) == 2
    assert root.text == "1.2.3.4.5 1.2.34 X^^^&9&ISO" and root.get("v") == "urn:oid:X"


def test_a_value_is_consumed_only_where_it_is_a_whole_token() -> None:
    response = etree.fromstring("<r><pid>1.2.840.555.1</pid></r>")
    inside = etree.fromstring("<q><id>1.2.840.555.17</id></q>")
    as_urn = etree.fromstring("<q><id>urn:oid:1.2.840.555.1</id></q>")
    captures = find_captures([FIND, inside, as_urn], [response, None, None])
    assert [(c.value, c.consumers) for c in captures] == [("1.2.840.555.1", (2,))]
    (by_rule,) = find_rule_captures([CaptureRule(0, "//pid")], [None] * 3,
                                    [FIND, inside, as_urn], [response, None, None])
    assert (by_rule.value, by_rule.consumers) == ("1.2.840.555.1", (2,))


def test_relevant_values_are_those_occurring_as_whole_tokens() -> None:
    mapping = {"1.2.3": "A", "1.2.3.4": "B", "urn:uuid:ab": "C", "short": "D"}
    body = b"<x r='urn:oid:1.2.3'>('urn:uuid:ab') 1.2.3.45 shorter</x>"
    assert relevant_values(mapping, body) == {"1.2.3": "A", "urn:uuid:ab": "C"}
