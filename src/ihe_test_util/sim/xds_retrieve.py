"""Retrieve Document Set (ITI-43): documents by uniqueId, answered as MTOM.

All found: Success. Some found: PartialSuccess (``urn:ihe:iti:2007:ResponseStatusType:
PartialSuccess``) with the found documents and one error per missing one. None found:
Failure. Unknown documents are XDSDocumentUniqueIdError, another repository's id
XDSUnknownRepositoryId; ``location`` names the id (ITI TF-2 3.43.4.2.3).
"""

from __future__ import annotations

import base64

from lxml import etree

from ihe_test_util.ihe.catalogue import spec_for
from ihe_test_util.ihe.namespaces import XDSB, XOP, qname
from ihe_test_util.ihe.vocabulary import (
    STATUS_FAILURE,
    STATUS_PARTIAL_SUCCESS,
    STATUS_SUCCESS,
)
from ihe_test_util.sim.context import ActorContext
from ihe_test_util.sim.ebrim import (
    RegistryError,
    registry_response,
)
from ihe_test_util.sim.profiles import Deviation
from ihe_test_util.sim.store import StoredDocument
from ihe_test_util.transport.mtom import Attachment
from ihe_test_util.transport.soap_server import SoapReply, SoapRequest


def _x(local: str) -> str:
    return qname(XDSB, local)


def _text(parent: etree._Element, local: str) -> str:
    element = parent.find(_x(local))
    return (element.text or "").strip() if element is not None else ""


def retrieve(request: SoapRequest, ctx: ActorContext) -> SoapReply:
    found: list[tuple[StoredDocument, str]] = []
    errors: list[RegistryError] = []
    wanted = request.body.findall(_x("DocumentRequest"))
    if not wanted:
        errors.append(RegistryError("XDSRepositoryError", "the request has no DocumentRequest"))
    for document_request in wanted:
        repository = _text(document_request, "RepositoryUniqueId")
        unique_id = _text(document_request, "DocumentUniqueId")
        document = ctx.store.document(unique_id)
        if repository != ctx.identity.repository_unique_id:
            errors.append(RegistryError(
                "XDSUnknownRepositoryId", f"repository {repository!r} is not this repository "
                f"({ctx.identity.repository_unique_id})", repository,
            ))
        elif document is None:
            errors.append(RegistryError(
                "XDSDocumentUniqueIdError", f"no document {unique_id!r} in this repository",
                unique_id,
            ))
        else:
            found.append((document, _text(document_request, "HomeCommunityId")))
    if not errors:
        status = STATUS_SUCCESS
    elif found and not ctx.has(Deviation.RETRIEVE_PARTIAL_AS_FAILURE):
        status = STATUS_PARTIAL_SUCCESS
    else:
        status, found = STATUS_FAILURE, []
    response = etree.Element(_x("RetrieveDocumentSetResponse"))
    response.append(registry_response(
        status, errors, reworded=ctx.has(Deviation.REWORDED_ERROR_CONTEXT)))
    if ctx.has(Deviation.REORDERED_RESULTS):
        found.reverse()
    attachments: list[Attachment] = []
    for document, home in found:
        item = etree.SubElement(response, _x("DocumentResponse"))
        if home:
            etree.SubElement(item, _x("HomeCommunityId")).text = home
        etree.SubElement(item, _x("RepositoryUniqueId")).text = document.repository_id
        etree.SubElement(item, _x("DocumentUniqueId")).text = document.unique_id
        etree.SubElement(item, _x("mimeType")).text = document.mime_type
        content = etree.SubElement(item, _x("Document"))
        if ctx.has(Deviation.DOCUMENTS_INLINE):
            content.text = base64.b64encode(document.content).decode("ascii")
            continue
        cid = f"{ctx.volatility.plain_uuid()}@ihe-sim"
        etree.SubElement(content, qname(XOP, "Include"), href=f"cid:{cid}")
        attachments.append(Attachment(cid, document.mime_type, document.content))
    return SoapReply(spec_for("ITI-43").response_action(), response, tuple(attachments), mtom=True)
