"""Property tests on generated registry responses (SubmissionSet, DocumentEntries, associations):
compare(x, x) passes; consistent renaming of every registry-assigned id passes; reordering
unordered lists passes; swapping two references that point at different objects does not."""

from __future__ import annotations

import uuid
from dataclasses import dataclass

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from lxml import etree

from ihe_test_util.compare import compare_responses
from ihe_test_util.ihe import vocabulary as v
from ihe_test_util.model import Response
from ihe_test_util.results import Outcome
from tests.conftest import corpus_file

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
REFERENCES = ("classifiedObject", "registryObject", "sourceObject", "targetObject")
IDENTIFIERS = ("id", "lid", *REFERENCES)
HAS_MEMBER = "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember"
RPLC = "urn:ihe:iti:2007:AssociationType:RPLC"
CLASS_CODE = "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"

PROPERTY_SETTINGS = settings(max_examples=40, deadline=None,
                             suppress_health_check=[HealthCheck.too_slow])


def r(tag: str) -> str:
    return f"{{{RIM}}}{tag}"


@dataclass
class Registry:
    """A generated response and where its interesting parts are."""

    root: etree._Element

    def body(self) -> bytes:
        return etree.tostring(self.root)

    def copy(self) -> Registry:
        return Registry(etree.fromstring(self.body()))

    def objects(self) -> etree._Element:
        found = self.root.find(r("RegistryObjectList"))
        assert found is not None
        return found


def slot(parent: etree._Element, name: str, *values: str) -> None:
    element = etree.SubElement(parent, r("Slot"), name=name)
    holder = etree.SubElement(element, r("ValueList"))
    for value in values:
        etree.SubElement(holder, r("Value")).text = value


def ids(draw: st.DrawFn) -> str:
    return f"urn:uuid:{draw(st.uuids(version=4))}"


@st.composite
def registries(draw: st.DrawFn) -> Registry:
    root = etree.Element(f"{{{QUERY}}}AdhocQueryResponse", nsmap={"query": QUERY, "rim": RIM},
                         status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success")
    objects = etree.SubElement(root, r("RegistryObjectList"))
    package = ids(draw)
    rp = etree.SubElement(objects, r("RegistryPackage"), id=package, lid=package)
    slot(rp, "submissionTime", "20240101101010")
    etree.SubElement(rp, r("ExternalIdentifier"), id=ids(draw), registryObject=package,
                     identificationScheme=v.SUBMISSION_SET_UNIQUE_ID, value="1.2.3.99")
    etree.SubElement(objects, r("Classification"), id=ids(draw), classifiedObject=package,
                     classificationNode=v.SUBMISSION_SET_NODE)
    count = draw(st.integers(min_value=2, max_value=5))
    entries = []
    for number in range(count):
        entry = ids(draw)
        entries.append(entry)
        eo = etree.SubElement(objects, r("ExtrinsicObject"), id=entry, lid=entry,
                              mimeType="text/xml",
                              objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1")
        slot(eo, "creationTime", draw(st.from_regex(r"20[0-9]{6}", fullmatch=True)))
        slot(eo, "languageCode", draw(st.sampled_from(["en-US", "de-CH", "fr-CH"])))
        slot(eo, "sourcePatientInfo", *draw(st.lists(
            st.sampled_from(["PID-5|Doe^John", "PID-7|19560527", "PID-8|M", "PID-8|F"]),
            min_size=1, max_size=3, unique=True)))
        etree.SubElement(eo, r("Classification"), id=ids(draw), classifiedObject=entry,
                         classificationScheme=CLASS_CODE,
                         nodeRepresentation=draw(st.sampled_from(["11488-4", "34133-9"])))
        etree.SubElement(eo, r("ExternalIdentifier"), id=ids(draw), registryObject=entry,
                         identificationScheme=v.DOCUMENT_ENTRY_UNIQUE_ID,
                         value=f"1.2.3.4.{number}")
    for entry in entries:
        etree.SubElement(objects, r("Association"), id=ids(draw), associationType=HAS_MEMBER,
                         sourceObject=package, targetObject=entry)
    etree.SubElement(objects, r("Association"), id=ids(draw), associationType=RPLC,
                     sourceObject=entries[1], targetObject=entries[0])
    return Registry(root)


def compare(recorded: Registry, replayed: Registry) -> Outcome:
    return compare_responses(Response(200, body=recorded.body()),
                             Response(200, body=replayed.body()),
                             transaction="ITI-18").outcome


@PROPERTY_SETTINGS
@given(registries())
def test_a_response_equals_itself(registry: Registry) -> None:
    assert compare(registry, registry.copy()) is Outcome.PASS


def test_every_corpus_response_equals_itself() -> None:
    for name in ("ITI-18/sq-resp-lc.xml", "ITI-43/soap-ret-resp.xml", "ITI-47/PDQv3_Response.xml",
                 "ITI-9/ok-2_Response.hl7", "ITI-67/Bundle-FindDocumentReferences.json",
                 "ITI-55/FindPatientResponse.xml", "ITI-38/soap-xcq-resp.xml"):
        body = corpus_file(name).read_bytes()
        assert compare_responses(Response(200, body=body), Response(200, body=body)).outcome \
            is Outcome.PASS, name


@PROPERTY_SETTINGS
@given(registries(), st.uuids())
def test_consistently_renamed_registry_ids_pass(registry: Registry, seed: uuid.UUID) -> None:
    renamed = registry.copy()
    for element in renamed.root.iter():
        for name in IDENTIFIERS:
            value = element.get(name)
            if value is not None:  # one-to-one: a name-based UUID per recorded id
                element.set(name, f"urn:uuid:{uuid.uuid5(seed, value)}")
    assert renamed.body() != registry.body()
    assert compare(registry, renamed) is Outcome.PASS


@PROPERTY_SETTINGS
@given(registries(), st.randoms(use_true_random=False))
def test_reordering_unordered_lists_passes(registry: Registry, rng: object) -> None:
    shuffled = registry.copy()
    for parent in [shuffled.objects(), *shuffled.root.iter(r("ExtrinsicObject")),
                   *shuffled.root.iter(r("ValueList"))]:
        children = list(parent)
        rng.shuffle(children)  # type: ignore[attr-defined]
        for child in children:
            parent.remove(child)
            parent.append(child)
    assert compare(registry, shuffled) is Outcome.PASS


@PROPERTY_SETTINGS
@given(registries(), st.data())
def test_swapping_two_references_does_not_pass(registry: Registry, data: st.DataObject) -> None:
    swapped = registry.copy()
    kind = data.draw(st.sampled_from(["nested", "reverse", "across types"]))
    if kind == "nested":
        # Two DocumentEntries' classCodes now each point at the other entry.
        entries = list(swapped.root.iter(r("ExtrinsicObject")))
        first, second = data.draw(st.lists(st.sampled_from(entries), min_size=2, max_size=2,
                                           unique=True))
        a = first.find(r("Classification"))
        b = second.find(r("Classification"))
        assert a is not None and b is not None
        left, right = a.get("classifiedObject"), b.get("classifiedObject")
        a.set("classifiedObject", right or "")
        b.set("classifiedObject", left or "")
    elif kind == "reverse":
        # The replacement points the other way round.
        association = next(x for x in swapped.root.iter(r("Association"))
                           if x.get("associationType") == RPLC)
        source, target = association.get("sourceObject"), association.get("targetObject")
        association.set("sourceObject", target or "")
        association.set("targetObject", source or "")
    else:
        # A HasMember and the replacement exchange their targets.
        rplc = next(x for x in swapped.root.iter(r("Association"))
                    if x.get("associationType") == RPLC)
        members = [x for x in swapped.root.iter(r("Association"))
                   if x.get("associationType") == HAS_MEMBER
                   and x.get("targetObject") != rplc.get("targetObject")]
        member = data.draw(st.sampled_from(members))
        left, right = member.get("targetObject"), rplc.get("targetObject")
        member.set("targetObject", right or "")
        rplc.set("targetObject", left or "")
    assert swapped.body() != registry.body()
    assert compare(registry, swapped) is not Outcome.PASS
