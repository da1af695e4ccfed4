"""ITI-18 Registry Stored Query and ITI-43 Retrieve Document Set requests.

Stored queries are named as in ITI TF-2 3.18.4.1.2.3.7; parameter values are written as the SQL
literals the registry parses: ``'x'`` for one value, ``('a','b')`` for a list, bare digits for
times. Which parameters are lists or times is data (:data:`LIST_PARAMETERS`,
:data:`TIME_PARAMETER_SUFFIXES`), not guessed from the value.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from lxml import etree

from ihe_test_util.errors import UsageError
from ihe_test_util.ihe.builders.common import BuiltMessage
from ihe_test_util.ihe.namespaces import QUERY, RIM, XDSB, qname
from ihe_test_util.ihe.vocabulary import APPROVED, STORED_QUERIES

#: Parameters a query cannot do without, and defaults filled in when they are not given.
REQUIRED_PARAMETERS: Mapping[str, tuple[str, ...]] = {
    "FindDocuments": ("$XDSDocumentEntryPatientId", "$XDSDocumentEntryStatus"),
    "FindSubmissionSets": ("$XDSSubmissionSetPatientId", "$XDSSubmissionSetStatus"),
    "FindFolders": ("$XDSFolderPatientId", "$XDSFolderStatus"),
    "GetAll": ("$patientId", "$XDSDocumentEntryStatus", "$XDSSubmissionSetStatus",
               "$XDSFolderStatus"),
    "FindDocumentsByReferenceId": ("$XDSDocumentEntryPatientId", "$XDSDocumentEntryStatus",
                                   "$XDSDocumentEntryReferenceIdList"),
}
DEFAULT_PARAMETERS: Mapping[str, str | tuple[str, ...]] = {
    "$XDSDocumentEntryStatus": (APPROVED,),
    "$XDSSubmissionSetStatus": (APPROVED,),
    "$XDSFolderStatus": (APPROVED,),
}

#: Parameters whose value is always a list literal ``('a','b')``, even with one value.
LIST_PARAMETERS = frozenset({
    "$XDSDocumentEntryStatus", "$XDSSubmissionSetStatus", "$XDSFolderStatus",
    "$XDSDocumentEntryClassCode", "$XDSDocumentEntryTypeCode",
    "$XDSDocumentEntryPracticeSettingCode", "$XDSDocumentEntryHealthcareFacilityTypeCode",
    "$XDSDocumentEntryEventCodeList", "$XDSDocumentEntryConfidentialityCode",
    "$XDSDocumentEntryAuthorPerson", "$XDSDocumentEntryFormatCode",
    "$XDSDocumentEntryType", "$XDSDocumentEntryEntryUUID", "$XDSDocumentEntryUniqueId",
    "$XDSDocumentEntryReferenceIdList", "$XDSDocumentEntryPatientIdList",
    "$XDSSubmissionSetSourceId", "$XDSSubmissionSetContentType",
    "$XDSSubmissionSetEntryUUID", "$XDSSubmissionSetUniqueId", "$XDSFolderCodeList",
    "$XDSFolderEntryUUID", "$XDSFolderUniqueId", "$AssociationTypes", "$XDSAssociationStatus",
    "$XDSDocumentEntryLogicalID", "$XDSDocumentEntryVersion",
})
#: Parameter name endings that mark a time (DTM): written without quotes.
TIME_PARAMETER_SUFFIXES = ("TimeFrom", "TimeTo")

Value = str | Sequence[str]


@dataclass(frozen=True)
class StoredQuery:
    """A stored query by name (or ``urn:uuid:`` id) with its parameters.

    Parameter names may omit the leading ``$``. A value that already is an SQL literal
    (starts with ``'`` or ``(``) is sent as it is.
    """

    name: str
    params: Mapping[str, Value] = field(default_factory=dict)
    return_type: str = "LeafClass"
    home_community_id: str | None = None

    def __post_init__(self) -> None:
        if self.return_type not in ("LeafClass", "ObjectRef"):
            raise UsageError(f"returnType {self.return_type!r} is neither LeafClass nor "
                             "ObjectRef")
        _ = self.query_id  # an unknown name fails here, where the step is defined

    @property
    def query_id(self) -> str:
        if self.name in STORED_QUERIES:
            return STORED_QUERIES[self.name]
        if self.name.lower().startswith("urn:uuid:"):
            return self.name
        raise UsageError(
            f"unknown stored query {self.name!r}",
            hint="use one of " + ", ".join(STORED_QUERIES) + " or its urn:uuid: id",
        )

    def resolved_parameters(self) -> dict[str, Value]:
        """Parameters with ``$`` names, defaults filled, and required ones checked."""
        given = {(k if k.startswith("$") else f"${k}"): v for k, v in self.params.items()}
        required = REQUIRED_PARAMETERS.get(self.name, ())
        for name in required:
            if name not in given and name in DEFAULT_PARAMETERS:
                given[name] = DEFAULT_PARAMETERS[name]
        missing = [name for name in required if name not in given]
        if missing:
            raise UsageError(f"stored query {self.name} needs {', '.join(missing)}",
                             hint="add the parameter(s) to the step")
        return given


def sql_literal(name: str, value: Value) -> str:
    """The slot value for parameter ``name``: ``'x'``, ``('a','b')`` or bare digits."""
    if isinstance(value, str):
        stripped = value.strip()
        if stripped.startswith(("'", "(")):
            return stripped
        if name.endswith(TIME_PARAMETER_SUFFIXES):
            if not stripped.isdigit():
                raise UsageError(f"{name} must be a timestamp YYYY[MMDD[hhmmss]], got {value!r}")
            return stripped
        if name in LIST_PARAMETERS:
            return f"({_quote(stripped)})"
        return _quote(stripped)
    return "(" + ",".join(_quote(v) for v in value) + ")"


def _quote(value: str) -> str:
    return "'" + value.replace("'", "''") + "'"


def iti18_stored_query(query: StoredQuery) -> BuiltMessage:
    """An AdhocQueryRequest running ``query`` (``ResponseOption returnComposedObjects``)."""
    request = etree.Element(qname(QUERY, "AdhocQueryRequest"),
                            nsmap={"query": QUERY, "rim": RIM})
    etree.SubElement(request, qname(QUERY, "ResponseOption"), returnComposedObjects="true",
                     returnType=query.return_type)
    adhoc = etree.SubElement(request, qname(RIM, "AdhocQuery"), id=query.query_id)
    if query.home_community_id:
        adhoc.set("home", query.home_community_id)
    for name, value in query.resolved_parameters().items():
        slot = etree.SubElement(adhoc, qname(RIM, "Slot"), name=name)
        values = etree.SubElement(slot, qname(RIM, "ValueList"))
        etree.SubElement(values, qname(RIM, "Value")).text = sql_literal(name, value)
    return BuiltMessage("ITI-18", request,
                        values={"queryId": query.query_id})


@dataclass(frozen=True)
class DocumentRequest:
    document_unique_id: str
    repository_unique_id: str
    home_community_id: str | None = None


def iti43_retrieve(documents: Sequence[DocumentRequest]) -> BuiltMessage:
    """A RetrieveDocumentSetRequest for one or more documents."""
    if not documents:
        raise UsageError("an ITI-43 retrieve needs at least one document")
    request = etree.Element(qname(XDSB, "RetrieveDocumentSetRequest"), nsmap={"xdsb": XDSB})
    for document in documents:
        item = etree.SubElement(request, qname(XDSB, "DocumentRequest"))
        if document.home_community_id:
            etree.SubElement(item, qname(XDSB, "HomeCommunityId")).text = \
                document.home_community_id
        etree.SubElement(item, qname(XDSB, "RepositoryUniqueId")).text = \
            document.repository_unique_id
        etree.SubElement(item, qname(XDSB, "DocumentUniqueId")).text = \
            document.document_unique_id
    return BuiltMessage("ITI-43", request,
                        values={"documentUniqueId": documents[0].document_unique_id})
