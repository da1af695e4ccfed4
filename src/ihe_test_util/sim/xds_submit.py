"""XDS.b submissions: Provide and Register Document Set-b (ITI-41, repository + registry) and
Register Document Set-b (ITI-42, registry only).

A submission is checked as a whole and stored as a whole: every problem found becomes one
rs:RegistryError (status Failure, nothing stored); otherwise the registry assigns ``urn:uuid:``
entryUUIDs to symbolic ids (rewriting every reference), the repository adds hash, size and
repositoryUniqueId, and replaced documents become Deprecated.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from copy import deepcopy

from lxml import etree

from ihe_test_util.ihe.catalogue import spec_for
from ihe_test_util.ihe.cx import parse_cx
from ihe_test_util.ihe.namespaces import LCM, XDSB, qname
from ihe_test_util.ihe.vocabulary import (
    APPROVED,
    DEPRECATED,
    DOCUMENT_RELATIONSHIPS,
    HAS_MEMBER,
    REPLACING_RELATIONSHIPS,
)
from ihe_test_util.sim.context import ActorContext
from ihe_test_util.sim.ebrim import (
    RegistryError,
    has_slot,
    insert_child,
    make_slot,
    registry_response,
    rim,
    slot_values,
    status_of,
)
from ihe_test_util.sim.profiles import Deviation
from ihe_test_util.sim.store import RegistryRecord, StoredDocument
from ihe_test_util.sim.xds_metadata import (
    ASSOCIATION,
    DOCUMENT_ENTRY,
    FOLDER,
    SUBMISSION_SET,
    Submission,
    SubmittedObject,
    facets_of,
    missing_metadata,
    read_submission,
)
from ihe_test_util.sim.xmlstyle import BASELINE_STYLE, is_element, serialize
from ihe_test_util.transport.soap_server import SoapReply, SoapRequest

METADATA_ERROR = "XDSRegistryMetadataError"
#: Attributes that hold an object id, rewritten together when symbolic ids get entryUUIDs.
_REFERENCES = ("id", "lid", "classifiedObject", "registryObject", "sourceObject", "targetObject")


def provide_and_register(request: SoapRequest, ctx: ActorContext) -> SoapReply:
    """ITI-41: documents (MTOM/XOP or inline base64) and their metadata."""
    body = request.body
    documents = {doc.get("id", ""): request.binary_content(doc)
                 for doc in body.findall(qname(XDSB, "Document"))}
    submit_request = body.find(qname(LCM, "SubmitObjectsRequest"))
    if submit_request is None:
        errors = [RegistryError(METADATA_ERROR, "no lcm:SubmitObjectsRequest in the request")]
    else:
        errors = submit(submit_request, documents, ctx)
    response = registry_response(status_of(errors), errors,
                                 reworded=ctx.has(Deviation.REWORDED_ERROR_CONTEXT))
    return SoapReply(spec_for("ITI-41").response_action(), response, mtom=True)


def register(request: SoapRequest, ctx: ActorContext) -> SoapReply:
    """ITI-42: metadata only; the repository already added hash, size, repositoryUniqueId."""
    errors = submit(request.body, None, ctx)
    response = registry_response(status_of(errors), errors,
                                 reworded=ctx.has(Deviation.REWORDED_ERROR_CONTEXT))
    return SoapReply(spec_for("ITI-42").response_action(), response)


def submit(
    submit_request: etree._Element, documents: dict[str, bytes] | None, ctx: ActorContext,
) -> list[RegistryError]:
    """Check and store one submission; the errors found (none means stored)."""
    submission = read_submission(deepcopy(submit_request))
    errors = _check(submission, documents, ctx)
    if not errors:
        _store(submission, documents, ctx)
    return errors


# -- checks --------------------------------------------------------------------------------


def _check(
    submission: Submission, documents: dict[str, bytes] | None, ctx: ActorContext,
) -> list[RegistryError]:
    errors = _check_structure(submission, from_repository=documents is None)
    errors += _check_patients(submission, ctx)
    errors += _check_unique_ids(submission, ctx)
    if documents is not None:
        errors += _check_documents(submission, documents)
    errors += _check_associations(submission, ctx)
    return errors


def _check_structure(submission: Submission, *, from_repository: bool) -> list[RegistryError]:
    errors: list[RegistryError] = []
    sets = submission.of_kind(SUBMISSION_SET)
    if len(sets) != 1:
        errors.append(RegistryError(
            METADATA_ERROR, f"a submission needs exactly one SubmissionSet, found {len(sets)}",
        ))
    for obj in submission.objects:
        if obj.kind == "RegistryPackage":
            errors.append(RegistryError(
                METADATA_ERROR, f"RegistryPackage {obj.id} is classified neither as "
                "SubmissionSet nor as Folder", obj.id,
            ))
        for label in missing_metadata(obj, from_repository=from_repository):
            errors.append(RegistryError(
                METADATA_ERROR, f"{obj.kind} {obj.id}: required {label} is missing", obj.id,
            ))
    for object_id, count in Counter(o.id for o in submission.objects).items():
        if count > 1 or not object_id:
            errors.append(RegistryError(
                METADATA_ERROR, f"object id {object_id!r} is used {count} times", object_id,
            ))
    return errors


def _check_patients(submission: Submission, ctx: ActorContext) -> list[RegistryError]:
    errors: list[RegistryError] = []
    patients = {o.patient_id for o in submission.objects if o.patient_id}
    if len(patients) > 1:
        errors.append(RegistryError(
            "XDSPatientIdDoesNotMatch", "the submission names more than one patient: "
            + ", ".join(sorted(patients)),
        ))
    for value in sorted(patients):
        cx = parse_cx(value, strict=True)
        if cx is None:
            errors.append(RegistryError(
                METADATA_ERROR, f"patientId {value!r} is not id^^^&OID&ISO", value,
            ))
        elif ctx.store.patient_for(cx) is None:
            errors.append(RegistryError(
                "XDSUnknownPatientId", f"patient {value} is not known in the affinity domain "
                "(feed it with ITI-44 first)", value,
            ))
    return errors


def _check_unique_ids(submission: Submission, ctx: ActorContext) -> list[RegistryError]:
    errors: list[RegistryError] = []
    counted = Counter(o.unique_id for o in submission.objects if o.unique_id)
    duplicate_code = ("XDSRegistryError" if ctx.has(Deviation.DUPLICATE_UNIQUE_ID_CODE_CHANGED)
                      else "XDSDuplicateUniqueIdInRegistry")
    for obj in submission.objects:
        unique_id = obj.unique_id
        if unique_id and counted[unique_id] > 1:
            errors.append(RegistryError(
                "XDSRegistryDuplicateUniqueIdInMessage",
                f"uniqueId {unique_id} is used by more than one object", unique_id,
            ))
            counted[unique_id] = 0  # report each duplicate once
        elif unique_id and ctx.store.objects(kind=obj.kind, unique_ids=[unique_id]):
            errors.append(RegistryError(
                duplicate_code, f"{obj.kind} uniqueId {unique_id} is already registered",
                unique_id,
            ))
        if obj.id.startswith("urn:uuid:") and ctx.store.objects(entry_uuids=[obj.id]):
            errors.append(RegistryError(
                METADATA_ERROR, f"entryUUID {obj.id} already exists in the registry", obj.id,
            ))
    return errors


def _check_documents(submission: Submission, documents: dict[str, bytes]) -> list[RegistryError]:
    errors: list[RegistryError] = []
    entries = {e.id: e for e in submission.of_kind(DOCUMENT_ENTRY)}
    for entry_id, entry in entries.items():
        content = documents.get(entry_id)
        if content is None:
            errors.append(RegistryError(
                "XDSMissingDocument", f"DocumentEntry {entry_id} has no xdsb:Document",
                entry_id,
            ))
            continue
        digest = hashlib.sha1(content).hexdigest()
        for name, actual in (("hash", digest), ("size", str(len(content)))):
            given = slot_values(entry.element, name)
            if given and given[0].lower() != actual:
                errors.append(RegistryError(
                    "XDSRepositoryMetadataError", f"DocumentEntry {entry_id}: {name} "
                    f"{given[0]} does not match the document ({actual})", entry.unique_id,
                ))
    for document_id in documents:
        if document_id not in entries:
            errors.append(RegistryError(
                "XDSMissingDocumentMetadata", f"xdsb:Document {document_id} has no "
                "DocumentEntry", document_id,
            ))
    return errors


def _check_associations(submission: Submission, ctx: ActorContext) -> list[RegistryError]:
    errors: list[RegistryError] = []
    local = submission.by_id()
    sets = submission.of_kind(SUBMISSION_SET)
    members: set[str] = set()
    for association in submission.of_kind(ASSOCIATION):
        element = association.element
        kind = element.get("associationType", "")
        source, target = element.get("sourceObject", ""), element.get("targetObject", "")
        if kind == HAS_MEMBER:
            if sets and source == sets[0].id:
                members.add(target)
            if source not in local or (target not in local and not ctx.store.objects(
                    entry_uuids=[target])):
                errors.append(RegistryError(
                    METADATA_ERROR, f"HasMember association {association.id} links unknown "
                    f"objects ({source} -> {target})", association.id,
                ))
        elif kind in DOCUMENT_RELATIONSHIPS:
            errors += _check_relationship(association, local, ctx)
        else:
            errors.append(RegistryError(
                METADATA_ERROR, f"association {association.id} has unsupported type "
                f"{kind!r}", association.id,
            ))
    for entry in submission.of_kind(DOCUMENT_ENTRY):
        if sets and entry.id not in members:
            errors.append(RegistryError(
                METADATA_ERROR, f"DocumentEntry {entry.id} is not a member of the "
                "SubmissionSet (HasMember association missing)", entry.id,
            ))
    return errors


def _check_relationship(
    association: SubmittedObject, local: dict[str, SubmittedObject], ctx: ActorContext,
) -> list[RegistryError]:
    element = association.element
    kind = element.get("associationType", "")
    source = local.get(element.get("sourceObject", ""))
    target_id = element.get("targetObject", "")
    found = ctx.store.objects(kind=DOCUMENT_ENTRY, entry_uuids=[target_id])
    if source is None or source.kind != DOCUMENT_ENTRY or not found:
        return [RegistryError(
            METADATA_ERROR, f"{kind.rsplit(':', 1)[-1]} association {association.id} must link "
            "a new DocumentEntry to one in the registry", target_id,
        )]
    target = found[0]
    if kind in REPLACING_RELATIONSHIPS and target.status == DEPRECATED:
        return [RegistryError(
            "XDSRegistryDeprecatedDocumentError", f"document {target_id} is already replaced",
            target.unique_id,
        )]
    if source.patient_id and target.patient_id and source.patient_id != target.patient_id:
        return [RegistryError(
            "XDSPatientIdDoesNotMatch", f"{source.id} and the document it replaces belong to "
            "different patients", target.unique_id,
        )]
    return []


# -- storing -------------------------------------------------------------------------------


def _store(
    submission: Submission, documents: dict[str, bytes] | None, ctx: ActorContext,
) -> None:
    original_ids = {id(o): o.id for o in submission.objects}
    _assign_entry_uuids(submission, ctx)
    _absorb_node_classifications(submission)
    records: list[RegistryRecord] = []
    replaced: list[str] = []
    for obj in submission.objects:
        element = obj.element
        if obj.kind == DOCUMENT_ENTRY and documents is not None:
            _store_document(obj, documents[original_ids[id(obj)]], ctx)
        element.set("status", APPROVED)
        if obj.kind in (DOCUMENT_ENTRY, SUBMISSION_SET, FOLDER):
            element.set("lid", element.get("lid") or obj.id)
            if element.find(rim("VersionInfo")) is None:
                insert_child(element, etree.Element(rim("VersionInfo"), versionName="1"))
        kind = element.get("associationType")
        if obj.kind == ASSOCIATION and kind == HAS_MEMBER and not has_slot(
                element, "SubmissionSetStatus"):
            insert_child(element, make_slot("SubmissionSetStatus", ["Original"]))
        if kind in REPLACING_RELATIONSHIPS:
            replaced.append(element.get("targetObject", ""))
        records.append(RegistryRecord(
            entry_uuid=obj.id, kind=obj.kind, status=APPROVED,
            xml=serialize(element, BASELINE_STYLE), unique_id=obj.unique_id,
            patient_id=obj.patient_id, source=element.get("sourceObject"),
            target=element.get("targetObject"), assoc_type=kind, facets=facets_of(obj),
        ))
    ctx.store.add_objects(records)
    for target in replaced:
        ctx.store.set_status(target, DEPRECATED)


def _assign_entry_uuids(submission: Submission, ctx: ActorContext) -> None:
    """Give every symbolic id a fresh ``urn:uuid:`` and rewrite all references to it."""
    roots = [o.element for o in submission.objects] + submission.node_classifications
    mapping: dict[str, str] = {}
    for root in roots:
        for element in root.iter():
            if not is_element(element):
                continue
            value = element.get("id")
            if value and not value.startswith("urn:uuid:") and value not in mapping:
                mapping[value] = ctx.volatility.urn_uuid()
    for root in roots:
        for element in root.iter():
            if not is_element(element):
                continue
            for name in _REFERENCES:
                value = element.get(name)
                if value in mapping:
                    element.set(name, mapping[value])


def _absorb_node_classifications(submission: Submission) -> None:
    """Registries return the SubmissionSet/Folder classification inside its package."""
    packages = {o.id: o.element for o in submission.objects
                if o.kind in (SUBMISSION_SET, FOLDER)}
    for classification in submission.node_classifications:
        package = packages.get(classification.get("classifiedObject", ""))
        if package is not None:
            insert_child(package, classification)


def _store_document(entry: SubmittedObject, content: bytes, ctx: ActorContext) -> None:
    element = entry.element
    digest = hashlib.sha1(content).hexdigest()
    added = {"hash": digest, "size": str(len(content)),
             "repositoryUniqueId": ctx.identity.repository_unique_id}
    for name, value in added.items():
        if not has_slot(element, name):
            insert_child(element, make_slot(name, [value]))
    ctx.store.put_document(StoredDocument(
        unique_id=entry.unique_id or "", repository_id=ctx.identity.repository_unique_id,
        mime_type=element.get("mimeType", "application/octet-stream"), content=content,
        hash=digest, size=len(content),
    ))
