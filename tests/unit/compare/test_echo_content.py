"""``content``: what an echoed element says, independent of prefixes and attribute order."""

from __future__ import annotations

from lxml import etree

from ihe_test_util.compare.echoes import content


def test_attributes_sort_by_their_qualified_name_and_render_by_local_name() -> None:
    # "b" sorts before "{urn:z}a": the order follows the qualified names, so a namespaced
    # attribute keeps its place whatever prefix a system gives it.
    element = etree.fromstring(
        b'<r xmlns:p="urn:z"><a p:a="URN:UUID:AB" b=" 1 " type="x" p:type="y">T<!--c-->'
        b'<c/>tail</a></r>')
    assert content(element) == "<a>[b='1' a='ab']t<c></></>"


def test_prefixes_and_attribute_order_do_not_matter() -> None:
    one = etree.fromstring(b'<x:q xmlns:x="urn:hl7-org:v3"><x:id root="R" extension="E"/></x:q>')
    two = etree.fromstring(b'<q xmlns="urn:hl7-org:v3"><id extension="E" root="R"/></q>')
    assert content(one) == content(two) == "<id>[extension='e' root='r']</>"
