"""Message builders: IHE requests from plain typed values, with fresh ids and timestamps.

Each builder returns a :class:`BuiltMessage` (the body element, its SOAP action, MTOM
attachments, and the identifiers it generated); ``.to_request(url)`` wraps it in a SOAP 1.2
envelope with WS-Addressing for :class:`~ihe_test_util.transport.http.HttpTransport`.
"""

from __future__ import annotations

from ihe_test_util.ihe.builders.cda import ccd_document, ccd_entry
from ihe_test_util.ihe.builders.common import ACTIONS, BuiltMessage
from ihe_test_util.ihe.builders.hl7v3 import (
    Device,
    Wrapper,
    iti44_add,
    iti44_merge,
    iti44_revise,
    iti45_query,
    iti47_query,
    iti55_discovery,
)
from ihe_test_util.ihe.builders.patients import Address, PatientDemographics, PatientId, PersonName
from ihe_test_util.ihe.builders.query import (
    DocumentRequest,
    StoredQuery,
    iti18_stored_query,
    iti43_retrieve,
)
from ihe_test_util.ihe.builders.xds import (
    DEFAULT_CODES,
    Author,
    Code,
    DocumentEntrySpec,
    SubmissionSetSpec,
    iti41_provide_and_register,
)
from ihe_test_util.ihe.vocabulary import STORED_QUERIES

__all__ = [
    "ACTIONS",
    "DEFAULT_CODES",
    "STORED_QUERIES",
    "Address",
    "Author",
    "BuiltMessage",
    "Code",
    "Device",
    "DocumentEntrySpec",
    "DocumentRequest",
    "PatientDemographics",
    "PatientId",
    "PersonName",
    "StoredQuery",
    "SubmissionSetSpec",
    "Wrapper",
    "ccd_document",
    "ccd_entry",
    "iti18_stored_query",
    "iti41_provide_and_register",
    "iti43_retrieve",
    "iti44_add",
    "iti44_merge",
    "iti44_revise",
    "iti45_query",
    "iti47_query",
    "iti55_discovery",
]
