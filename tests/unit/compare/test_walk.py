"""The tree walk and its aligners: canonical equality, value maps, echoes, ordered lists, hostile
nesting."""

from __future__ import annotations

from ihe_test_util.compare import compare_responses
from ihe_test_util.compare.elements import snippet
from ihe_test_util.compare.walk import MAX_DEPTH
from ihe_test_util.model import Request, Response
from ihe_test_util.results import DifferenceKind, Outcome
from tests.conftest import corpus_file


def xml(body: str) -> Response:
    return Response(200, body=body.encode())


def test_prefixes_attribute_order_whitespace_comments_and_xsi_type_do_not_matter() -> None:
    recorded = xml('<a:r xmlns:a="urn:x" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"'
                   ' xmlns:v="urn:hl7-org:v3"><a:c p="1" q="2" xsi:type="v:II">'
                   " text </a:c><!-- c --></a:r>")
    replayed = xml('<r xmlns="urn:x" xmlns:i="http://www.w3.org/2001/XMLSchema-instance"'
                   ' xmlns:h="urn:hl7-org:v3">\n  <c q="2" i:type="h:II" p="1">text</c>\n</r>')
    assert compare_responses(recorded, replayed).outcome is Outcome.PASS


def test_a_namespace_change_is_a_renamed_element() -> None:
    comparison = compare_responses(xml('<r xmlns="urn:a"><c/></r>'), xml('<r xmlns="urn:b"><c/>'
                                                                          "</r>"))
    kinds = [d.kind for d in comparison.differences]
    assert DifferenceKind.RENAMED in kinds


def test_value_map_makes_regenerated_values_equal_as_whole_tokens_of_longer_strings() -> None:
    recorded = xml('<r><id>1.2.840.99.1</id><pid>1.2.840.99.1^^^&amp;1.2&amp;ISO</pid></r>')
    replayed = xml('<r><id>1.2.840.99.7</id><pid>1.2.840.99.7^^^&amp;1.2&amp;ISO</pid></r>')
    assert compare_responses(recorded, replayed).outcome is Outcome.CHANGED
    mapped = compare_responses(recorded, replayed, value_map={"1.2.840.99.1": "1.2.840.99.7"})
    assert mapped.outcome is Outcome.PASS
    assert mapped.noise_suppressed == 2
    assert "value map" in mapped.rules_applied


def test_value_map_never_maps_inside_a_longer_token() -> None:
    """A map for 1.2.3.4.5.6 says nothing about 1.2.3.4.5.67 (it used to make it 9.9.97)."""
    recorded = xml("<r><id>1.2.3.4.5.67</id><pid>1.2.3.4.5.67^^^&amp;1.2&amp;ISO</pid></r>")
    replayed = xml("<r><id>9.9.97</id><pid>9.9.97^^^&amp;1.2&amp;ISO</pid></r>")
    comparison = compare_responses(recorded, replayed, value_map={"1.2.3.4.5.6": "9.9.9"})
    assert comparison.outcome is Outcome.CHANGED
    assert len(comparison.differences) == 2


def test_a_stale_cx_value_is_found_although_serialised_with_escapes() -> None:
    """The identical-region prefilter looks for ``&amp;`` in serialised XML, as lxml writes it."""
    cx = "ABCDEF^^^&amp;1.2.3&amp;ISO"
    recorded = xml("<r>" + "".join(f"<v>{n}</v>" for n in range(12)) + f"<v>{cx}</v></r>")
    comparison = compare_responses(recorded, recorded,
                                   value_map={"ABCDEF^^^&1.2.3&ISO": "GHIJKL^^^&1.2.3&ISO"})
    assert comparison.outcome is Outcome.CHANGED


def test_value_map_pins_identifier_renaming() -> None:
    data = corpus_file("ITI-18/sq-resp-objectref.xml").read_bytes()
    first = b"urn:uuid:22c85315-12cd-4d52-97a9-8d827f03ddc5"
    response = Response(200, body=data)
    # The replay learned that the first object is now ...-0001; the registry still says ...dc5.
    pinned = compare_responses(response, response,
                               value_map={first.decode(): "urn:uuid:0001"})
    assert pinned.outcome is Outcome.CHANGED
    assert "reference changed target" in (pinned.differences[0].description or "")


def test_a_regenerated_value_inside_an_identical_region_is_still_checked() -> None:
    recorded = xml("<r>" + "".join(f"<v>{n}</v>" for n in range(12)) + "<v>ABCDEF-1</v></r>")
    # The replay regenerated ABCDEF-1 as ABCDEF-2 but the response repeats the old value.
    comparison = compare_responses(recorded, recorded, value_map={"ABCDEF-1": "ABCDEF-2"})
    assert comparison.outcome is Outcome.CHANGED


def test_echo_fields_are_checked_against_the_requests() -> None:
    response = corpus_file("ITI-45/ITI-45_response_raw.xml").read_bytes()
    request = corpus_file("ITI-45/ITI-45_request_raw.xml").read_bytes()
    old_id = b"c12e1f14-c2c9-4a94-ba27-6411e8c90b75"
    new_id = b"0badc0de-c2c9-4a94-ba27-6411e8c90b75"
    new_request = Request("POST", "/", body=request.replace(old_id, new_id))
    good = Response(200, body=response.replace(old_id, new_id))
    stale = Response(200, body=response)
    options = {"recorded_request": Request("POST", "/", body=request),
               "replayed_request": new_request}
    assert compare_responses(Response(200, body=response), good,
                             **options).outcome is Outcome.PASS  # type: ignore[arg-type]
    comparison = compare_responses(Response(200, body=response), stale,
                                   **options)  # type: ignore[arg-type]
    assert comparison.outcome is Outcome.CHANGED
    (difference,) = comparison.differences
    assert difference.path == "/Envelope/Header/RelatesTo"
    assert "no longer echoes the request" in (difference.description or "")
    # Without the requests the same change is noise.
    assert compare_responses(Response(200, body=response), good).outcome is Outcome.PASS


def test_ordered_content_reports_added_removed_and_moved_precisely() -> None:
    recorded = xml("<r><name><given>A</given><family>F</family></name><birth v='1'/></r>")
    replayed = xml("<r><name><given>A</given><given>B</given><family>F</family></name>"
                   "<birth v='1'/></r>")
    comparison = compare_responses(recorded, replayed)
    assert [(d.kind, d.path, d.replayed) for d in comparison.differences] == [
        (DifferenceKind.ADDED, "/r/name/given", "<given>B</given>")]
    removed = compare_responses(replayed, recorded)
    assert [(d.kind, d.path) for d in removed.differences] == [
        (DifferenceKind.REMOVED, "/r/name/given[2]")]


def test_hostile_nesting_is_compared_as_a_whole_below_the_depth_limit() -> None:
    depth = MAX_DEPTH + 50
    recorded = xml("<a>" * depth + "x" + "</a>" * depth)
    replayed = xml("<a>" * depth + "y" + "</a>" * depth)
    comparison = compare_responses(recorded, replayed)
    assert comparison.outcome is Outcome.CHANGED
    assert "compared as a whole" in (comparison.differences[0].description or "")


def test_json_numbers_and_strings_differ_outside_fhir() -> None:
    recorded = Response(200, body=b'{"count": 1, "items": ["a", "b"]}')
    assert compare_responses(recorded, Response(200, body=b'{"count": "1", "items": ["a", "b"]}'))\
        .outcome is Outcome.CHANGED
    assert compare_responses(recorded, Response(200, body=b'{"items": ["a", "b"], "count": 1}'))\
        .outcome is Outcome.PASS


def test_content_type_packaging_is_noise_but_a_new_type_is_a_change() -> None:
    from ihe_test_util.model import Headers

    body = corpus_file("ITI-18/sq-resp-objectref.xml").read_bytes()
    soap12 = Response(200, headers=Headers([("Content-Type", "application/soap+xml")]), body=body)
    charset = soap12.evolve(headers=Headers([("Content-Type",
                                              "application/soap+xml; charset=UTF-8")]))
    text = soap12.evolve(headers=Headers([("Content-Type", "text/xml")]))
    assert compare_responses(soap12, charset).outcome is Outcome.PASS
    comparison = compare_responses(soap12, text)
    assert comparison.differences[0].path == "http:content-type"


def test_snippets_are_short_and_without_namespace_declarations() -> None:
    from lxml import etree

    big = etree.fromstring(b'<r xmlns="urn:x" a="1">' + b"<c/>" * 100 + b"</r>")
    assert snippet(big) == '<r a="1">…</r>'
    assert snippet(etree.fromstring(b'<r xmlns="urn:x"><c>v</c></r>')) == "<r><c>v</c></r>"


def test_soap_11_and_12_envelopes_compare_their_content() -> None:
    payload = corpus_file("ITI-18/sq-resp-objectref.xml").read_bytes().split(b"?>")[-1]
    soap12 = (b'<e:Envelope xmlns:e="http://www.w3.org/2003/05/soap-envelope"><e:Body>'
              + payload + b"</e:Body></e:Envelope>")
    soap11 = soap12.replace(b"http://www.w3.org/2003/05/soap-envelope",
                            b"http://schemas.xmlsoap.org/soap/envelope/").replace(
        b"ResponseStatusType:Success", b"ResponseStatusType:Failure")
    comparison = compare_responses(Response(200, body=soap12), Response(200, body=soap11))
    assert comparison.outcome is Outcome.REGRESSION
    kinds = {(d.kind, d.path) for d in comparison.differences}
    assert (DifferenceKind.RENAMED, "/Envelope") in kinds
    assert (DifferenceKind.RENAMED, "/Envelope/Body") in kinds
    assert (DifferenceKind.STATUS, "/Envelope/Body/AdhocQueryResponse/@status") in kinds


def test_removing_one_ordered_child_reports_only_that_child() -> None:
    from tests.unit.compare.helpers import compare_captures, raw, remove

    recorded = raw("ITI-47/02_PDQQuery1Response.xml")
    comparison = compare_captures(recorded,
                                  remove("(//hl7:patientPerson)[1]/hl7:birthTime")(recorded))
    assert [(d.kind, d.path.rsplit("/", 1)[-1]) for d in comparison.differences] == [
        (DifferenceKind.REMOVED, "birthTime")]
    assert comparison.differences[0].description == (
        "patient 1^^^1.2.840.114350.1.13.99998.8734 patientPerson: birthTime removed")
