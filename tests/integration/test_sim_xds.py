"""XDS.b Registry and Repository over HTTP: ITI-41, ITI-42, ITI-18, ITI-43 with corpus requests."""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Iterator
from copy import deepcopy

import pytest
from lxml import etree

from ihe_test_util.ihe.namespaces import RIM, SOAP12, WSA, XDSB, XOP
from ihe_test_util.sim import Simulator

from .sim_support import (
    APPROVED,
    DE_UNIQUE_ID,
    DEPRECATED,
    FAILURE,
    FIND_SUBMISSION_SETS,
    GET_ASSOCIATIONS,
    GET_DOCUMENTS,
    PARTIAL,
    PIX_ADD,
    PNR,
    REGISTER,
    RETRIEVE,
    SS_UNIQUE_ID,
    STORED_QUERY,
    SUCCESS,
    Answer,
    Patient,
    corpus_body,
    corpus_mtom_envelope,
    corpus_path,
    crlf,
    feed_message,
    find_documents,
    pnr_request,
    post,
    post_raw,
    retrieve_request,
    stored_query,
    unique_id_of,
)

SR7 = Patient("1.2.260", "SR7")  # the patient of the NIST PnrXop requests


@pytest.fixture(params=["baseline", "compatible", "breaking"])
def sim(request: pytest.FixtureRequest) -> Iterator[Simulator]:
    with Simulator(profile=request.param) as running:
        assert post(running.url_for("pix"), PIX_ADD, feed_message(SR7)).ack_code == "AA"
        yield running


def _submit(sim: Simulator, patient: Patient = SR7, **kwargs: object) -> tuple[
        etree._Element, Answer]:
    request, attachments = pnr_request(patient, **kwargs)  # type: ignore[arg-type]
    return request, post(sim.url_for("repository"), PNR, request, attachments=attachments)


def _entry_uuid(sim: Simulator, patient: Patient = SR7) -> str:
    found = post(sim.url_for("registry"), STORED_QUERY, find_documents(patient))
    return found.registry_objects[0].get("id", "")


def test_corpus_mtom_pnr_as_sent_then_duplicate(sim: Simulator) -> None:
    raw = crlf(corpus_path("ITI-41/nist-PnrXop-Xop-body.txt").read_bytes())
    content_type = ('multipart/related; boundary=MIMEBoundary_95b57d7287e4fa4b528a8f050c41f8ad829c'
                    '20332f23b48d; type="application/xop+xml"; start="<0.85b57d7287e4fa4b528a8f05'
                    '0c41f8ad829c20332f23b48d@apache.org>"; start-info="application/soap+xml"')
    answer = post_raw(sim.url_for("repository"), raw, content_type)
    assert answer.content_type.startswith("multipart/related")  # MTOM answer, no attachment
    assert answer.action == "urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-bResponse"
    assert answer.relates_to == "urn:uuid:A51311F0AFB3EBCF891467743286288"
    assert (answer.status, answer.error_codes) == (SUCCESS, [])
    again = post_raw(sim.url_for("repository"), raw, content_type)
    assert again.status == FAILURE
    expected = "XDSRegistryError" if sim.profile.name == "breaking" else (
        "XDSDuplicateUniqueIdInRegistry")
    assert set(again.error_codes) == {expected}  # document and submission set uniqueIds
    retrieved = post(sim.url_for("repository"), RETRIEVE, retrieve_request(
        sim.identity.repository_unique_id, "1.42.20160705093311.6"))
    assert retrieved.documents == {
        "1.42.20160705093311.6": b"This is my document.\r\n\r\nIt is great!\r\n\r\n"}


def test_corpus_inline_base64_in_mtom_framing(sim: Simulator) -> None:
    envelope, parts = corpus_mtom_envelope("ITI-41/nist-PnrXop-NoXop-body.txt")
    assert not parts
    request = envelope.find(f"{{{SOAP12}}}Body/{{{XDSB}}}ProvideAndRegisterDocumentSetRequest")
    assert request is not None
    answer = post(sim.url_for("repository"), PNR, request)
    assert answer.status == SUCCESS
    document = request.find(f"{{{XDSB}}}Document")
    assert document is not None
    expected = base64.b64decode("".join((document.text or "").split()))
    uid = unique_id_of(request)
    retrieved = post(sim.url_for("repository"), RETRIEVE,
                     retrieve_request(sim.identity.repository_unique_id, uid))
    assert retrieved.documents == {uid: expected}


def test_openxds_pnr_with_client_uuids_and_its_retrieve(sim: Simulator) -> None:
    patient = Patient("1.3.6.1.4.1.21367.2010.1.2.300", "1100099")
    post(sim.url_for("pix"), PIX_ADD, feed_message(patient))
    request = corpus_body("ITI-41/ProvideAndRegisterDocumentSet-bRequest.xml")
    answer = post(sim.url_for("repository"), PNR, request)
    assert (answer.status, answer.error_codes) == (SUCCESS, [])
    found = post(sim.url_for("registry"), STORED_QUERY, find_documents(patient))
    [entry] = found.registry_objects
    assert entry.get("id") == "urn:uuid:87f7bc82-87f0-3782-afba-0c60760bb03d"  # client's uuid
    classification_ids = [c.get("id", "") for c in entry.iter(f"{{{RIM}}}Classification")]
    assert all(i.startswith("urn:uuid:") for i in classification_ids)  # symbolic ones assigned
    retrieve = corpus_body("ITI-43/RetrieveDocumentSetRequest.xml")
    retrieve.find(f".//{{{XDSB}}}RepositoryUniqueId").text = (  # type: ignore[union-attr]
        sim.identity.repository_unique_id)
    retrieved = post(sim.url_for("repository"), RETRIEVE, retrieve)
    assert retrieved.status == SUCCESS
    text = request.findtext(f"{{{XDSB}}}Document") or ""
    assert retrieved.documents == {
        "1.3.6.1.4.1.21367.2010.1.2.110.1260801017357.8": base64.b64decode(text)}


def test_leaf_class_and_object_ref(sim: Simulator) -> None:
    _request, answer = _submit(sim, content=b"hello world")
    assert answer.status == SUCCESS
    leaf = post(sim.url_for("registry"), STORED_QUERY, find_documents(SR7))
    assert leaf.action == "urn:ihe:iti:2007:RegistryStoredQueryResponse"
    [entry] = leaf.registry_objects
    assert etree.QName(entry).localname == "ExtrinsicObject"
    entry_uuid = entry.get("id", "")
    assert entry_uuid.startswith("urn:uuid:") and entry.get("lid") == entry_uuid
    assert entry.get("status") == APPROVED
    slots = {s.get("name"): s.findtext(f"{{{RIM}}}ValueList/{{{RIM}}}Value")
             for s in entry.findall(f"{{{RIM}}}Slot")}
    assert slots["hash"] == hashlib.sha1(b"hello world").hexdigest()
    assert slots["size"] == "11"
    assert slots["repositoryUniqueId"] == sim.identity.repository_unique_id
    assert ("creationTime" in slots) == (sim.profile.name != "breaking")
    assert ("documentAvailability" in slots) == (sim.profile.name == "compatible")
    refs = post(sim.url_for("registry"), STORED_QUERY, find_documents(SR7, return_type="ObjectRef"))
    assert [(etree.QName(r).localname, r.get("id")) for r in refs.registry_objects] == [
        ("ObjectRef", entry_uuid)]


def test_unknown_patient_and_nothing_is_stored(sim: Simulator) -> None:
    stranger = Patient("1.2.260", "nobody")
    _, answer = _submit(sim, stranger)
    assert (answer.status, answer.error_codes) == (FAILURE, ["XDSUnknownPatientId"])
    assert post(sim.url_for("registry"), STORED_QUERY,
                find_documents(stranger)).registry_objects == []


def test_hash_size_and_missing_documents(sim: Simulator) -> None:
    request, attachments = pnr_request(SR7, content=b"abc")
    entry = request.find(f".//{{{RIM}}}ExtrinsicObject")
    assert entry is not None
    for name, value in (("hash", "0" * 40), ("size", "99")):
        slot = etree.SubElement(entry, f"{{{RIM}}}Slot", name=name)
        etree.SubElement(etree.SubElement(slot, f"{{{RIM}}}ValueList"), f"{{{RIM}}}Value").text = (
            value)
        entry.insert(0, slot)
    answer = post(sim.url_for("repository"), PNR, request, attachments=attachments)
    assert answer.error_codes == ["XDSRepositoryMetadataError"] * 2

    request, attachments = pnr_request(SR7)
    request.remove(request.find(f"{{{XDSB}}}Document"))  # type: ignore[arg-type]
    answer = post(sim.url_for("repository"), PNR, request)
    assert answer.error_codes == ["XDSMissingDocument"]

    request, attachments = pnr_request(SR7)
    extra = deepcopy(request.find(f"{{{XDSB}}}Document"))
    assert extra is not None
    extra.set("id", "Document99")
    request.append(extra)
    answer = post(sim.url_for("repository"), PNR, request, attachments=attachments)
    assert answer.error_codes == ["XDSMissingDocumentMetadata"]


def test_required_metadata(sim: Simulator) -> None:
    request, attachments = pnr_request(SR7)
    entry = request.find(f".//{{{RIM}}}ExtrinsicObject")
    assert entry is not None
    for slot in entry.findall(f"{{{RIM}}}Slot"):
        if slot.get("name") == "creationTime":
            entry.remove(slot)
    for classification in entry.findall(f"{{{RIM}}}Classification"):
        if classification.get("classificationScheme") == (
                "urn:uuid:41a5887f-8865-4c09-adf7-e362475b143a"):
            entry.remove(classification)
    answer = post(sim.url_for("repository"), PNR, request, attachments=attachments)
    assert answer.status == FAILURE
    assert answer.error_codes == ["XDSRegistryMetadataError"] * 2
    contexts = " ".join(e.get("codeContext", "") for e in answer.body.iter(
        "{urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0}RegistryError"))
    assert "creationTime" in contexts and "classCode" in contexts


def test_nist_soap_pnr_without_documents(sim: Simulator) -> None:
    raw = corpus_path("ITI-41/soap-pnr.xml").read_bytes()  # no wsa:MessageID in the capture
    fault = post_raw(sim.url_for("repository"), raw, "application/soap+xml")
    assert fault.status_code == 400 and fault.fault_subcode.endswith(
        "MessageAddressingHeaderRequired")
    post(sim.url_for("pix"), PIX_ADD, feed_message(
        Patient("1.3.6.1.4.1.21367.2005.3.7", "53ff11cb404344e")))
    answer = post(sim.url_for("repository"), PNR, corpus_body("ITI-41/soap-pnr.xml"))
    assert answer.error_codes == ["XDSMissingDocument"] * 2


def _replacement(sim: Simulator, target: str) -> tuple[etree._Element, dict[str, bytes] | None]:
    request, attachments = pnr_request(SR7, content=b"version 2")
    listing = request.find(f".//{{{RIM}}}RegistryObjectList")
    assert listing is not None
    etree.SubElement(listing, f"{{{RIM}}}Association", id="rplc", sourceObject="Document01",
                     targetObject=target,
                     associationType="urn:ihe:iti:2007:AssociationType:RPLC")
    return request, attachments


def test_replacement_deprecates_and_find_documents_honours_status(sim: Simulator) -> None:
    _submit(sim, content=b"version 1")
    original = _entry_uuid(sim)
    request, attachments = _replacement(sim, original)
    answer = post(sim.url_for("repository"), PNR, request, attachments=attachments)
    assert (answer.status, answer.error_codes) == (SUCCESS, [])
    approved = post(sim.url_for("registry"), STORED_QUERY, find_documents(SR7))
    ids = [e.get("id") for e in approved.registry_objects]
    if sim.profile.name == "breaking":  # status filter ignored: the replaced one comes back
        assert len(ids) == 2
    else:
        assert len(ids) == 1 and original not in ids
    deprecated = post(sim.url_for("registry"), STORED_QUERY, find_documents(SR7, DEPRECATED))
    statuses = {e.get("id"): e.get("status") for e in deprecated.registry_objects}
    assert statuses[original] == DEPRECATED
    assert len(statuses) == (2 if sim.profile.name == "breaking" else 1)
    both = post(sim.url_for("registry"), STORED_QUERY, find_documents(SR7, APPROVED, DEPRECATED))
    assert len(both.registry_objects) == 2
    again, attachments = _replacement(sim, original)
    replaced_twice = post(sim.url_for("repository"), PNR, again, attachments=attachments)
    assert replaced_twice.error_codes == ["XDSRegistryDeprecatedDocumentError"]
    unknown, attachments = _replacement(sim, "urn:uuid:00000000-0000-0000-0000-000000000000")
    assert post(sim.url_for("repository"), PNR, unknown,
                attachments=attachments).error_codes == ["XDSRegistryMetadataError"]


def test_get_documents_by_uuid_and_unique_id(sim: Simulator) -> None:
    first, _ = _submit(sim)
    second, _ = _submit(sim)
    uuids = [e.get("id", "") for e in post(sim.url_for("registry"), STORED_QUERY,
                                           find_documents(SR7)).registry_objects]
    by_uuid = post(sim.url_for("registry"), STORED_QUERY, stored_query(GET_DOCUMENTS, {
        "$XDSDocumentEntryEntryUUID": ["(" + ",".join(f"'{u}'" for u in uuids) + ")"]}))
    by_uid = post(sim.url_for("registry"), STORED_QUERY, stored_query(GET_DOCUMENTS, {
        "$XDSDocumentEntryUniqueId": [f"'{unique_id_of(first)}'", f"'{unique_id_of(second)}'"]},
        return_type="ObjectRef"))
    expected = 1 if sim.profile.name == "breaking" else 2  # breaking drops the last one
    assert len(by_uuid.registry_objects) == len(by_uid.registry_objects) == expected
    # corpus template: GetDocuments with $MetadataLevel
    template = corpus_body("ITI-18/nist-12319-verify_deprecated_and_confCode-query.xml",
                           deuuid=uuids[0])
    answer = post(sim.url_for("registry"), STORED_QUERY, template)
    assert len(answer.registry_objects) == (0 if sim.profile.name == "breaking" else 1)


def test_associations_submission_sets_and_contents(sim: Simulator) -> None:
    request, _ = _submit(sim)
    entry_uuid = _entry_uuid(sim)
    registry = sim.url_for("registry")
    associations = post(registry, STORED_QUERY, stored_query(GET_ASSOCIATIONS, {
        "$uuid": [f"('{entry_uuid}')"]}))
    [association] = associations.registry_objects
    assert association.get("associationType") == (
        "urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember")
    assert association.get("targetObject") == entry_uuid
    corpus_template = post(registry, STORED_QUERY, corpus_body(
        "ITI-18/nist-11903-multiple_assoc_from_doc-query2.xml", uuid=entry_uuid))
    assert len(corpus_template.registry_objects) == 1

    with_docs = post(registry, STORED_QUERY, corpus_body(
        "ITI-18/nist-tests-11904-query3.xml", uuid=entry_uuid))  # GetDocumentsAndAssociations
    kinds = sorted(etree.QName(o).localname for o in with_docs.registry_objects)
    if sim.profile.name == "breaking":  # its GetDocuments part drops the last document
        assert kinds == []
    else:
        assert kinds == ["Association", "ExtrinsicObject"]

    ss_uid = unique_id_of(request, SS_UNIQUE_ID)
    contents = post(registry, STORED_QUERY, corpus_body(
        "ITI-18/nist-11906-objectrefs-query.xml", uniqueid=ss_uid))  # ObjectRef
    assert len(contents.registry_objects) == 3  # submission set, document, association
    package_uuid = association.get("sourceObject")
    assert package_uuid in {o.get("id") for o in contents.registry_objects}

    sets = post(registry, STORED_QUERY, corpus_body(
        "ITI-18/nist-GetSubmissionSets-XDS-query.xml", id0=entry_uuid,
        **{f"id{n}": f"urn:uuid:00000000-0000-0000-0000-00000000000{n}" for n in range(1, 10)}))
    kinds = sorted(etree.QName(o).localname for o in sets.registry_objects)
    assert kinds == ["Association", "RegistryPackage"]
    package = next(o for o in sets.registry_objects if etree.QName(o).localname ==
                   "RegistryPackage")
    assert package.get("id") == package_uuid
    nodes = [c.get("classificationNode") for c in package.findall(f"{{{RIM}}}Classification")]
    assert "urn:uuid:a54d6aa5-d40d-43f9-88c5-b4633d873bdd" in nodes

    found_sets = post(registry, STORED_QUERY, stored_query(FIND_SUBMISSION_SETS, {
        "$XDSSubmissionSetPatientId": [f"'{SR7.cx}'"],
        "$XDSSubmissionSetStatus": [f"('{APPROVED}')"]}, return_type="ObjectRef"))
    assert [o.get("id") for o in found_sets.registry_objects] == [package_uuid]


def test_find_documents_filters(sim: Simulator) -> None:
    _submit(sim)
    registry = sim.url_for("registry")

    def count(**slots: list[str]) -> int:
        query = find_documents(SR7)
        adhoc = query.find(f"{{{RIM}}}AdhocQuery")
        assert adhoc is not None
        for name, values in slots.items():
            slot = etree.SubElement(adhoc, f"{{{RIM}}}Slot", name=f"${name}")
            listing = etree.SubElement(slot, f"{{{RIM}}}ValueList")
            for value in values:
                etree.SubElement(listing, f"{{{RIM}}}Value").text = value
        return len(post(registry, STORED_QUERY, query).registry_objects)

    assert count() == 1
    # the NIST document: classCode DEMO-Ext Summary^^1.3.6.1.4.1.21367.100.1, created 20051224
    assert count(XDSDocumentEntryClassCode=["('DEMO-Ext Summary^^1.3.6.1.4.1.21367.100.1')"]) == 1
    assert count(XDSDocumentEntryClassCode=["('other^^1.2','DEMO-Ext Summary')"]) == 1
    assert count(XDSDocumentEntryClassCode=["('DEMO-Ext Summary')"],
                 XDSDocumentEntryFormatCode=["('nope')"]) == 0
    assert count(XDSDocumentEntryClassCode=["('value^^scheme')"]) == 0
    assert count(XDSDocumentEntryCreationTimeFrom=["20050101"],
                 XDSDocumentEntryCreationTimeTo=["20060101"]) == 1
    assert count(XDSDocumentEntryCreationTimeFrom=["20060101"]) == 0
    assert count(XDSDocumentEntryAuthorPerson=["('%Smitty%')"]) == 1
    assert count(XDSDocumentEntryType=[
        "('urn:uuid:34268e47-fdf5-41a6-ba33-82133c465248')"]) == 0


@pytest.mark.parametrize(("relative", "placeholders", "code"), [
    ("ITI-18/sq-req-missing-stat.xml", {}, "XDSStoredQueryMissingParam"),
    ("ITI-18/sq-req-bad-pid-format.xml", {}, "XDSRegistryError"),
    ("ITI-18/nist-tests-11908-query2.xml", {"uuid": "urn:uuid:1"}, "XDSUnknownStoredQuery"),
])
def test_query_errors(sim: Simulator, relative: str, placeholders: dict[str, str],
                      code: str) -> None:
    answer = post(sim.url_for("registry"), STORED_QUERY, corpus_body(relative, **placeholders))
    assert (answer.status, answer.error_codes) == (FAILURE, [code])
    assert answer.registry_objects == []


def test_query_errors_built_here(sim: Simulator) -> None:
    registry = sim.url_for("registry")
    unknown = post(registry, STORED_QUERY, stored_query("urn:uuid:not-a-query", {}))
    assert unknown.error_codes == ["XDSUnknownStoredQuery"]
    both = post(registry, STORED_QUERY, stored_query(GET_DOCUMENTS, {
        "$XDSDocumentEntryEntryUUID": ["('urn:uuid:a')"],
        "$XDSDocumentEntryUniqueId": ["('1.2')"]}))
    assert both.error_codes == ["XDSStoredQueryParamNumber"]
    two_patients = find_documents(SR7)
    slot = two_patients.find(f".//{{{RIM}}}Value")
    assert slot is not None
    slot.text = "('a^^^&1.2&ISO','b^^^&1.2&ISO')"
    assert post(registry, STORED_QUERY, two_patients).error_codes == ["XDSStoredQueryParamNumber"]
    bad_type = find_documents(SR7, return_type="RegistryObject")
    assert post(registry, STORED_QUERY, bad_type).error_codes == ["XDSRegistryError"]
    sq = corpus_body("ITI-18/sq-req.xml")  # classCode 'value^^scheme' matches nothing
    answer = post(registry, STORED_QUERY, sq)
    assert (answer.status, answer.registry_objects) == (SUCCESS, [])


def test_retrieve_success_partial_and_failure(sim: Simulator) -> None:
    first, _ = _submit(sim, content=b"one")
    second, _ = _submit(sim, content=b"two" * 1000)
    repo = sim.identity.repository_unique_id
    url = sim.url_for("repository")
    both = post(url, RETRIEVE, retrieve_request(repo, unique_id_of(first), unique_id_of(second)))
    assert both.action == "urn:ihe:iti:2007:RetrieveDocumentSetResponse"
    assert both.content_type.startswith("multipart/related")
    assert (both.status, both.error_codes) == (SUCCESS, [])
    assert both.documents == {unique_id_of(first): b"one", unique_id_of(second): b"two" * 1000}
    includes = both.body.findall(f".//{{{XOP}}}Include")
    assert len(includes) == (0 if sim.profile.name == "compatible" else 2)

    partial = post(url, RETRIEVE, retrieve_request(repo, unique_id_of(first), "9.9.9"))
    if sim.profile.name == "breaking":
        assert (partial.status, partial.documents) == (FAILURE, {})
    else:
        assert (partial.status, list(partial.documents)) == (PARTIAL, [unique_id_of(first)])
    assert partial.error_codes == ["XDSDocumentUniqueIdError"]
    error = next(partial.body.iter("{urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0}RegistryError"))
    assert error.get("location") == "9.9.9"

    none = post(url, RETRIEVE, retrieve_request(repo, "9.9.9"))
    assert (none.status, none.error_codes, none.documents) == (
        FAILURE, ["XDSDocumentUniqueIdError"], {})
    other_repo = post(url, RETRIEVE, retrieve_request("1.2.3.4", unique_id_of(first)))
    assert other_repo.error_codes == ["XDSUnknownRepositoryId"]


def test_register_document_set_b(sim: Simulator) -> None:
    patient = Patient("2.3.4", "103")
    post(sim.url_for("pix"), PIX_ADD, feed_message(patient))
    request = corpus_body("ITI-42/submission-set.xml")
    answer = post(sim.url_for("registry"), REGISTER, request)
    assert answer.action == "urn:ihe:iti:2007:RegisterDocumentSet-bResponse"
    assert answer.content_type.startswith("application/soap+xml")
    assert (answer.status, answer.error_codes) == (SUCCESS, [])
    assert len(post(sim.url_for("registry"), STORED_QUERY,
                    find_documents(patient)).registry_objects) == 1
    # without the repository's hash/size/repositoryUniqueId the registry refuses
    trimmed = corpus_body("ITI-42/submission-set.xml")
    for slot in trimmed.iter(f"{{{RIM}}}Slot"):
        if slot.get("name") == "hash":
            slot.getparent().remove(slot)  # type: ignore[union-attr]
    for ident in trimmed.iter(f"{{{RIM}}}ExternalIdentifier"):
        if ident.get("identificationScheme") in (DE_UNIQUE_ID, SS_UNIQUE_ID):
            ident.set("value", ident.get("value", "") + ".2")
    answer = post(sim.url_for("registry"), REGISTER, trimmed)
    assert answer.error_codes == ["XDSRegistryMetadataError"]


def test_multi_patient_submission_is_refused(sim: Simulator) -> None:
    request, attachments = pnr_request(SR7)
    submission_set = request.find(f".//{{{RIM}}}RegistryPackage")
    assert submission_set is not None
    for ident in submission_set.findall(f"{{{RIM}}}ExternalIdentifier"):
        if ident.get("identificationScheme") == "urn:uuid:6b5aea1a-874d-4603-a4bc-96a0a7b38446":
            ident.set("value", "other^^^&1.2.260&ISO")
    answer = post(sim.url_for("repository"), PNR, request, attachments=attachments)
    assert "XDSPatientIdDoesNotMatch" in answer.error_codes


def test_dangling_xop_include_is_a_sender_fault(sim: Simulator) -> None:
    request, _ = pnr_request(SR7)
    answer = post(sim.url_for("repository"), PNR, request, attachments={"other@x": b"zz"})
    assert answer.status_code == 400
    assert answer.envelope.find(f".//{{{SOAP12}}}Fault") is not None
    assert answer.envelope.findtext(f".//{{{WSA}}}RelatesTo")
