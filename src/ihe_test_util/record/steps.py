"""The transactions a scenario step can run: ``with`` parameters -> a message builder call.

:data:`STEP_KINDS` is the table: per transaction, how to read ``with`` (:mod:`.fields`) into
the arguments of an :mod:`ihe_test_util.ihe.builders` function, and which values the builder
reports (``${step_id.documentUniqueId}``). Reading happens before anything is sent (to reject
a bad scenario or CSV row early); building happens when the step runs, so every run gets fresh
message ids, uniqueIds and timestamps.
"""

from __future__ import annotations

import dataclasses
import json
import mimetypes
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any, Protocol
from xml.sax.saxutils import escape

from ihe_test_util.errors import UsageError, XmlInputError
from ihe_test_util.ihe.builders import (
    BuiltMessage,
    DocumentEntrySpec,
    DocumentRequest,
    PatientDemographics,
    PatientId,
    StoredQuery,
    SubmissionSetSpec,
    ccd_document,
    iti18_stored_query,
    iti41_provide_and_register,
    iti43_retrieve,
    iti44_add,
    iti44_merge,
    iti44_revise,
    iti45_query,
    iti47_query,
    iti55_discovery,
)
from ihe_test_util.ihe.builders.fhir import (
    FHIR_JSON,
    FhirRequest,
    http_request,
    is_patient_reference,
    iti65_provide_bundle,
    iti66_search,
    iti67_search,
    iti68_retrieve,
    iti78_read,
    iti78_search,
    iti83_query,
    iti104_feed,
    iti119_match,
)
from ihe_test_util.ihe.builders.hl7v2 import (
    PDQ_PARAMETERS,
    MessageHeader,
    iti8_feed,
    iti8_merge,
    iti9_query,
    iti21_query,
)
from ihe_test_util.ihe.builders.xds import DEFAULT_CODES
from ihe_test_util.ihe.catalogue import detect, spec_for
from ihe_test_util.ihe.cx import escape as er7_escape
from ihe_test_util.ihe.er7 import looks_like_er7
from ihe_test_util.ihe.identifiers import DEFAULT_IDS
from ihe_test_util.ihe.message import Message, read_message
from ihe_test_util.ihe.vocabulary import DOCUMENT_ENTRY_SCHEMES
from ihe_test_util.model import Headers, Request
from ihe_test_util.record import fields as f
from ihe_test_util.record.fields import FieldError
from ihe_test_util.record.variables import Path as TreePath
from ihe_test_util.record.variables import Value, fill_text
from ihe_test_util.transport.mllp import MLLP_METHOD
from ihe_test_util.transport.soap import soap_content_type, soap_request
from ihe_test_util.transport.wssecurity import SecurityHeader

Lookup = Callable[[str], Value]


class Outgoing(Protocol):
    """What a step sends: a :class:`BuiltMessage` or a :class:`RawMessage`."""

    @property
    def transaction(self) -> str: ...

    @property
    def values(self) -> Mapping[str, str]: ...

    def to_request(self, url: str, *, security: SecurityHeader | None = None) -> Request: ...


#: Builds the message when the step runs (fresh identifiers every time).
Build = Callable[[], Outgoing]


@dataclass(frozen=True)
class ReadContext:
    """What reading ``with`` needs besides the values: the scenario's folder (files are
    relative to it) and the variables (raw request files may use them)."""

    base: Path
    lookup: Lookup


@dataclass(frozen=True)
class StepKind:
    transaction: str
    read: Callable[[Mapping[str, Any], ReadContext], Build]
    values: tuple[str, ...]
    value_pattern: str | None = None  # further value names, as a regular expression
    detected: bool = False  # the exchange's transaction is detected (raw, http), not given

    def has_value(self, name: str) -> bool:
        return name in self.values or (
            self.value_pattern is not None and re.fullmatch(self.value_pattern, name) is not None)


# --------------------------------------------------------------------------- HL7 v3


def _iti44(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    action = f.choice(data.get("action", "add"), ("action",), ("add", "revise", "merge"),
                      "ITI-44 action")
    patient = f.demographics(data["patient"], ("patient",), need_id=True)
    custodian = f.oid(data["custodian"], ("custodian",)) if "custodian" in data else None
    wrapper = f.wrapper(data, ())
    if action == "merge":
        if "subsumed" not in data:
            raise FieldError((), "a merge needs subsumed: the id merged into the patient")
        subsumed = f.patient_id(data["subsumed"], ("subsumed",))
        return lambda: iti44_merge(patient, subsumed, wrapper=wrapper, custodian=custodian)
    if "subsumed" in data:
        raise FieldError(("subsumed",), "subsumed is only for action: merge")
    builder = iti44_add if action == "add" else iti44_revise
    return lambda: builder(patient, wrapper=wrapper, custodian=custodian)


def _iti45(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    pid = f.patient_id(data["patient_id"], ("patient_id",))
    sources = tuple(f.oid(v, ("data_sources",)) for v in
                    f.texts(data["data_sources"], ("data_sources",))) \
        if "data_sources" in data else ()
    wrapper = f.wrapper(data, ())
    return lambda: iti45_query(pid, data_sources=sources, wrapper=wrapper)


def _traits(data: Mapping[str, Any]) -> PatientDemographics:
    traits = f.demographics(data["patient"], ("patient",), need_id=False)
    if not (traits.ids or traits.name or traits.gender or traits.birth_date or traits.address
            or traits.telecom or traits.mothers_maiden_name):
        raise FieldError(("patient",), "a query needs at least one trait (id, family, gender, "
                         "birth_date, address, ...)")
    return traits


def _iti47(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    traits = _traits(data)
    domains = f.texts(data["other_ids_domains"], ("other_ids_domains",)) \
        if "other_ids_domains" in data else ()
    initial = f.integer(data["initial_quantity"], ("initial_quantity",), minimum=1) \
        if "initial_quantity" in data else None
    degree = f.integer(data["minimum_degree_match"], ("minimum_degree_match",), minimum=0) \
        if "minimum_degree_match" in data else None
    wrapper = f.wrapper(data, ())
    return lambda: iti47_query(traits, other_ids_domains=domains, initial_quantity=initial,
                               minimum_degree_match=degree, wrapper=wrapper)


def _iti55(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    traits = _traits(data)
    missing = [key for key, present in (("gender", traits.gender),
                                        ("birth_date", traits.birth_date),
                                        ("family", traits.name)) if not present]
    if missing:
        raise FieldError(("patient",), f"an XCPD query needs the patient's {', '.join(missing)}",
                         hint="ITI-55 requires gender, birth time and name")
    community = f.oid(data["home_community_id"], ("home_community_id",))
    gateway = f.optional_text(data, "responding_gateway", ())
    wrapper = f.wrapper(data, ())
    return lambda: iti55_discovery(traits, home_community_id=community,
                                   responding_gateway=gateway, wrapper=wrapper)


# --------------------------------------------------------------------------- HL7 v2


_HEADER_KEYS = ("sending_application", "sending_facility", "receiving_application",
                "receiving_facility", "version", "processing_id")


def _header(data: Mapping[str, Any]) -> MessageHeader:
    """MSH-3..6, -11, -12 from ``with`` (the builder's defaults for what is not given)."""
    given = {key: f.text(data[key], (key,)) for key in _HEADER_KEYS if key in data}
    return MessageHeader(**given)


def _iti8(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    event = f.choice(data.get("event", "A01"), ("event",), ("A01", "A04", "A08", "A40"),
                     "ITI-8 event")
    patient = f.demographics(data["patient"], ("patient",), need_id=True)
    header = _header(data)
    if event == "A40":
        if "subsumed" not in data:
            raise FieldError((), "an A40 merge needs subsumed: the id merged into the patient")
        subsumed = f.patient_id(data["subsumed"], ("subsumed",))
        return lambda: iti8_merge(patient, subsumed, header=header)
    if "subsumed" in data:
        raise FieldError(("subsumed",), "subsumed is only for event: A40")
    return lambda: iti8_feed(patient, event=event, header=header)


def _iti9(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    pid = f.patient_id(data["patient_id"], ("patient_id",))
    domains = tuple(f.oid(v, ("domains",)) for v in f.texts(data["domains"], ("domains",))) \
        if "domains" in data else ()
    header = _header(data)
    return lambda: iti9_query(pid, domains=domains, header=header)


def _iti21(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    parameters = {name: f.text(value, ("parameters", name))
                  for name, value in f.mapping(data["parameters"], ("parameters",)).items()}
    for name in parameters:
        if name not in PDQ_PARAMETERS and not re.fullmatch(r"@PID\.\d+(\.\d+){0,2}", name):
            raise FieldError(("parameters", name), f"unknown PDQ parameter {name!r}",
                             hint="use one of " + ", ".join(PDQ_PARAMETERS)
                             + " or a field such as @PID.13.1")
    if not parameters:
        raise FieldError(("parameters",), "a PDQ query needs at least one parameter")
    quantity = f.integer(data["quantity"], ("quantity",), minimum=1) \
        if "quantity" in data else None
    domains = tuple(f.oid(v, ("domains",)) for v in f.texts(data["domains"], ("domains",))) \
        if "domains" in data else ()
    header = _header(data)
    return lambda: iti21_query(parameters, quantity=quantity, domains=domains, header=header)


# --------------------------------------------------------------------------- XDS


def _iti41(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    raw_patient = data["patient"]
    patient = f.patient_id(raw_patient, ("patient",)) if not isinstance(raw_patient, Mapping) \
        else f.demographics(raw_patient, ("patient",), need_id=True)
    source = f.patient_id(data["source_patient_id"], ("source_patient_id",)) \
        if "source_patient_id" in data else None
    raw_documents = data["documents"]
    if not isinstance(raw_documents, list) or not raw_documents:
        raise FieldError(("documents",), "needs a list of at least one document")
    documents = [_document(item, ("documents", index), patient, ctx)
                 for index, item in enumerate(raw_documents)]
    submission = _submission(data["submission"], ("submission",)) if "submission" in data \
        else SubmissionSetSpec()
    mtom = f.boolean(data["mtom"], ("mtom",)) if "mtom" in data else True

    def build() -> BuiltMessage:
        return iti41_provide_and_register(patient, [make() for make in documents],
                                          submission=submission, source_patient_id=source,
                                          mtom=mtom)
    return build


#: Usual MIME types of XDS documents by file suffix (the platform's table varies for these).
_MIME_TYPES = {".xml": "text/xml", ".pdf": "application/pdf", ".txt": "text/plain",
               ".json": "application/json"}
_CCD_KEYS = ("title", "problems", "allergies", "medications", "author_root", "custodian_root",
             "custodian_name")


def _document(value: Any, path: TreePath, patient: PatientDemographics | PatientId,
              ctx: ReadContext) -> Callable[[], DocumentEntrySpec]:
    data = f.mapping(value, path)
    if ("file" in data) == ("ccd" in data):
        raise FieldError(path, "a document needs exactly one of file or ccd")
    codes = {}
    if "codes" in data:
        given = f.mapping(data["codes"], (*path, "codes"))
        for name, raw in given.items():
            if name not in DOCUMENT_ENTRY_SCHEMES:
                raise FieldError((*path, "codes", name), f"unknown DocumentEntry code {name!r}; "
                                 f"use one of {', '.join(sorted(DOCUMENT_ENTRY_SCHEMES))}")
            codes[name] = f.code(raw, (*path, "codes", name))
    slots: dict[str, str | tuple[str, ...]] = {}
    if "slots" in data:
        for name, raw in f.mapping(data["slots"], (*path, "slots")).items():
            where = (*path, "slots", name)
            slots[name] = f.texts(raw, where) if isinstance(raw, list) else f.text(raw, where)
    author = f.author(data["author"], (*path, "author")) if "author" in data else None
    options: dict[str, Any] = {"codes": codes, "slots": slots}
    if "author" in data:
        options["author"] = author
    for key in ("mime_type", "title", "unique_id"):
        if key in data:
            options[key] = f.text(data[key], (*path, key))
    if "file" in data:
        location = f.file_path(data["file"], (*path, "file"), ctx.base)
        guessed = _MIME_TYPES.get(location.suffix.lower()) or \
            mimetypes.guess_type(location.name)[0] or "application/octet-stream"
        spec = DocumentEntrySpec(path=location, **{"title": location.name,
                                                   "mime_type": guessed, **options})
        return lambda: spec
    ccd = data["ccd"]
    template = {} if ccd is True else f.mapping(ccd, (*path, "ccd"))
    values = {key: f.text(template[key], (*path, "ccd", key)) for key in _CCD_KEYS
              if key in template}
    if not isinstance(patient, PatientDemographics) or patient.name is None:
        raise FieldError((*path, "ccd"), "a CCD needs the patient's name",
                         hint="give patient as a mapping with id and family (and given)")
    demographics = patient
    title = values.get("title", "Continuity of Care Document")

    def make() -> DocumentEntrySpec:
        unique_id = options.get("unique_id") or DEFAULT_IDS.oid()
        content = ccd_document(demographics, document_id=unique_id, **values)  # type: ignore[arg-type]
        return DocumentEntrySpec(content=content, **{"title": title, **options,
                                                     "unique_id": unique_id})
    return make


def _submission(value: Any, path: TreePath) -> SubmissionSetSpec:
    data = f.mapping(value, path)
    default = SubmissionSetSpec()
    return SubmissionSetSpec(
        source_id=f.oid(data["source_id"], (*path, "source_id")) if "source_id" in data
        else default.source_id,
        unique_id=f.optional_text(data, "unique_id", path),
        content_type=f.code(data["content_type"], (*path, "content_type"))
        if "content_type" in data else DEFAULT_CODES["contentTypeCode"],
        title=f.optional_text(data, "title", path),
        author=f.author(data["author"], (*path, "author")) if "author" in data
        else default.author,
    )


def _iti18(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    parameters: dict[str, str | tuple[str, ...]] = {}
    if "parameters" in data:
        for name, raw in f.mapping(data["parameters"], ("parameters",)).items():
            where = ("parameters", name)
            parameters[name] = f.texts(raw, where) if isinstance(raw, list) else \
                f.text(raw, where)
    return_type = f.choice(data.get("return_type", "LeafClass"), ("return_type",),
                           ("LeafClass", "ObjectRef"), "return type")
    name = f.text(data["query"], ("query",))
    try:
        query = StoredQuery(name, parameters, return_type,
                            f.optional_text(data, "home_community_id", ()))
    except UsageError as exc:
        raise FieldError(("query",), exc.message, exc.hint) from None
    try:
        query.resolved_parameters()
    except UsageError as exc:
        raise FieldError(("parameters",), exc.message, exc.hint) from None
    return lambda: iti18_stored_query(query)


def _iti43(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    requests: list[DocumentRequest] = []
    if "documents" in data:
        items = data["documents"]
        if not isinstance(items, list) or not items:
            raise FieldError(("documents",), "needs a list of at least one document")
        for index, item in enumerate(items):
            where: TreePath = ("documents", index)
            entry = f.mapping(item, where)
            for key in ("document_unique_id", "repository_unique_id"):
                if key not in entry:
                    raise FieldError(where, f"missing {key}")
            requests.append(DocumentRequest(
                f.text(entry["document_unique_id"], (*where, "document_unique_id")),
                f.text(entry["repository_unique_id"], (*where, "repository_unique_id")),
                f.optional_text(entry, "home_community_id", where)))
    else:
        for key in ("repository_unique_id", "document_unique_ids"):
            if key not in data:
                raise FieldError((), f"missing {key} (or give a documents list)")
        repository = f.text(data["repository_unique_id"], ("repository_unique_id",))
        community = f.optional_text(data, "home_community_id", ())
        requests = [DocumentRequest(uid, repository, community) for uid in
                    f.texts(data["document_unique_ids"], ("document_unique_ids",))]
    return lambda: iti43_retrieve(requests)


# --------------------------------------------------------------------------- HTTP / FHIR

#: HTTP methods an ``http`` step may use (FHIR's, and what REST APIs around it use).
HTTP_METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS")
_HEADER_NAME = re.compile(r"[!#$%&'*+.^_`|~0-9A-Za-z-]+")
#: Body media types that make ``${...}`` in a body file JSON-escaped.
_JSON_MEDIA = re.compile(r"^application/([a-z.+-]+\+)?json$")


def _parameters(data: Mapping[str, Any], key: str) -> dict[str, str | tuple[str, ...]]:
    """Query parameters: name -> one value or a list (repeated as ``name=a&name=b``)."""
    given: dict[str, str | tuple[str, ...]] = {}
    for name, raw in f.mapping(data[key], (key,)).items():
        where = (key, name)
        given[name] = f.texts(raw, where) if isinstance(raw, list) else \
            f.text(raw, where, allow_empty=True)
    return given


def _step_headers(data: Mapping[str, Any]) -> tuple[tuple[str, str], ...]:
    if "headers" not in data:
        return ()
    headers = []
    for name, raw in f.mapping(data["headers"], ("headers",)).items():
        if not _HEADER_NAME.fullmatch(str(name)):
            raise FieldError(("headers", name), f"{name!r} is not an HTTP header name")
        value = f.text(raw, ("headers", name), allow_empty=True)
        if "\r" in value or "\n" in value:
            raise FieldError(("headers", name), "a header value cannot hold a line break")
        headers.append((str(name), value))
    return tuple(headers)


def _with_headers(build: Callable[[], FhirRequest], data: Mapping[str, Any]) -> Build:
    """``build`` with the step's own ``headers`` added (an ``Accept`` replaces the default)."""
    extra = _step_headers(data)
    if not extra:
        return build

    def built() -> FhirRequest:
        request = build()
        accept = request.accept if all(n.lower() != "accept" for n, _ in extra) else None
        return dataclasses.replace(request, headers=(*request.headers, *extra), accept=accept)
    return built


def _pairs_of(parameters: Mapping[str, str | tuple[str, ...]]) -> list[tuple[str, str]]:
    return [(name, item) for name, value in parameters.items()
            for item in ((value,) if isinstance(value, str) else value)]


def _http(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    method = f.text(data.get("method", "GET"), ("method",)).upper()
    if method not in HTTP_METHODS:
        raise FieldError(("method",), f"unknown HTTP method {method!r}; use one of "
                         + ", ".join(HTTP_METHODS))
    path = f.text(data["path"], ("path",), allow_empty=True) if "path" in data else ""
    if any(c.isspace() for c in path):
        raise FieldError(("path",), f"{path!r} holds white space, which a URL cannot carry",
                         hint="put values with spaces in query:, which encodes them")
    query = _pairs_of(_parameters(data, "query")) if "query" in data else []
    headers = _step_headers(data)
    content_type = f.optional_text(data, "content_type", ())
    if "json" in data and "file" in data:
        raise FieldError((), "a body comes from json or from file, not both")
    body = b""
    if "json" in data:
        body = json.dumps(data["json"], indent=2, ensure_ascii=False).encode("utf-8")
        content_type = content_type or FHIR_JSON
    elif "file" in data:
        location = f.file_path(data["file"], ("file",), ctx.base)
        content_type = content_type or _FHIR_FILE_TYPES.get(location.suffix.lower()) or \
            mimetypes.guess_type(location.name)[0] or "application/octet-stream"
        media = content_type.split(";", 1)[0].strip().lower()
        body = fill_file(location, ctx.lookup, as_json=_JSON_MEDIA.match(media) is not None) \
            if _JSON_MEDIA.match(media) or media.endswith(("/xml", "+xml")) else \
            location.read_bytes()
        if _JSON_MEDIA.match(media):
            try:
                json.loads(body.decode("utf-8-sig"))
            except (UnicodeDecodeError, ValueError) as exc:
                raise FieldError(("file",), f"{location.name} is not JSON once filled in: "
                                 f"{exc}", hint="a value inside a JSON string is written "
                                 "\"${name}\"") from None
    elif content_type is not None:
        raise FieldError(("content_type",), "content_type describes a body: give json or file")
    if body and method in ("GET", "HEAD", "DELETE"):
        raise FieldError(("json" if "json" in data else "file",),
                         f"a {method} request carries no body")
    request = http_request(method, path, query=query, headers=headers, body=body,
                           content_type=content_type)
    return lambda: request


#: Content-Types of body files by suffix (FHIR's own for .json and .xml).
_FHIR_FILE_TYPES = {".json": FHIR_JSON, ".xml": "application/fhir+xml"}


def _search(data: Mapping[str, Any], transaction: str) -> Mapping[str, str | tuple[str, ...]]:
    parameters = _parameters(data, "parameters") if "parameters" in data else {}
    if not parameters:
        raise FieldError(("parameters",) if "parameters" in data else (),
                         f"an {transaction} search needs at least one parameter "
                         "(parameters: {name: value})")
    return parameters


def _iti104(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    action = f.choice(data.get("action", "update"), ("action",), ("update", "delete"),
                      "ITI-104 action")
    patient = f.demographics(data["patient"], ("patient",), need_id=True)
    return _with_headers(lambda: iti104_feed(patient, delete=action == "delete"), data)


def _iti78(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    if ("id" in data) == ("parameters" in data):
        raise FieldError((), "an ITI-78 step needs exactly one of id (read) or parameters "
                         "(search)")
    if "id" in data:
        resource_id = f.text(data["id"], ("id",))
        return _with_headers(lambda: iti78_read(resource_id), data)
    parameters = _search(data, "ITI-78")
    return _with_headers(lambda: iti78_search(parameters), data)


def _iti83(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    text = f.text(data["source_identifier"], ("source_identifier",))
    try:
        source: PatientId | str = PatientId.parse(text)
    except UsageError as exc:
        if "|" not in text:
            raise FieldError(("source_identifier",), exc.message,
                             hint="write a CX, root|id, or a FHIR token system|value") from None
        source = text  # a FHIR token with a URI system
    targets = f.texts(data["target_systems"], ("target_systems",)) \
        if "target_systems" in data else ()
    return _with_headers(lambda: iti83_query(source, targets), data)


def _iti119(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    patient = _traits(data)
    count = f.integer(data["count"], ("count",), minimum=1) if "count" in data else None
    certain = f.boolean(data["only_certain_matches"], ("only_certain_matches",)) \
        if "only_certain_matches" in data else None
    return _with_headers(lambda: iti119_match(patient, count=count,
                                              only_certain_matches=certain), data)


def _iti65(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    text = f.text(data["patient"], ("patient",))
    patient: PatientId | str = text if is_patient_reference(text) else \
        f.patient_id(text, ("patient",))
    raw_documents = data["documents"]
    if not isinstance(raw_documents, list) or not raw_documents:
        raise FieldError(("documents",), "needs a list of at least one document")
    for index, item in enumerate(raw_documents):
        if isinstance(item, Mapping) and "ccd" in item and isinstance(patient, str):
            raise FieldError(("documents", index, "ccd"), "a CCD needs the patient's name",
                             hint="give the document as file: for a Patient/ID patient")
    demographics = PatientDemographics(ids=(patient,)) if isinstance(patient, PatientId) \
        else PatientDemographics()
    documents = [_document(item, ("documents", index), demographics, ctx)
                 for index, item in enumerate(raw_documents)]
    submission = _submission(data["submission"], ("submission",)) if "submission" in data \
        else SubmissionSetSpec()
    return _with_headers(lambda: iti65_provide_bundle(
        patient, [make() for make in documents], submission=submission), data)


def _iti67(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    parameters = _search(data, "ITI-67")
    return _with_headers(lambda: iti67_search(parameters), data)


def _iti66(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    parameters = _search(data, "ITI-66")
    return _with_headers(lambda: iti66_search(parameters), data)


def _iti68(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    location = f.text(data["url"], ("url",))
    accept = f.optional_text(data, "accept", ())
    return _with_headers(lambda: iti68_retrieve(location, accept=accept), data)


# --------------------------------------------------------------------------- raw


#: Content-Types that make a raw step's file an HL7 v2 (ER7) message for an mllp:// endpoint.
ER7_MEDIA_TYPES = frozenset({"application/hl7-v2", "x-application/hl7-v2+er7"})


def is_er7_media(content_type: str | None) -> bool:
    return (content_type or "").split(";", 1)[0].strip().lower() in ER7_MEDIA_TYPES


@dataclass(frozen=True)
class RawMessage:
    """A request body from a file: a SOAP envelope (sent as it is), an IHE payload (wrapped in
    a SOAP 1.2 envelope with WS-Addressing), an HL7 v2 message (``content_type:
    application/hl7-v2``, line ends made segment terminators: sent over MLLP to an mllp://
    endpoint, POSTed to an http:// one) or any other bytes with their Content-Type."""

    body: bytes
    action: str | None
    content_type: str | None
    transaction: str = "raw"
    values: Mapping[str, str] = field(default_factory=dict)

    def to_request(self, url: str, *, security: SecurityHeader | None = None) -> Request:
        if url.lower().startswith(("mllp://", "mllps://")):
            return Request(MLLP_METHOD, url, body=self.body)  # HL7 v2 over MLLP
        if not self.is_xml:
            return Request("POST", url, Headers([("Content-Type", self.content_type or "")]),
                           self.body)
        content_type = self.content_type or soap_content_type(self.action)
        if self.is_envelope and security is None:
            return Request("POST", url, Headers([("Content-Type", content_type)]), self.body)
        tree = self._message.editable()  # soap_request moves it into the envelope it builds
        assert tree is not None
        request = soap_request(url, tree, self.action or "", security=security)
        return request.evolve(headers=request.headers.with_value("Content-Type", content_type))

    @property
    def is_xml(self) -> bool:
        media = (self.content_type or "").split(";", 1)[0].strip().lower()
        return not media or media.endswith(("/xml", "+xml"))

    @property
    def is_envelope(self) -> bool:
        """Whether the file is a SOAP envelope; XmlInputError when it is not XML at all."""
        message = self._message
        if message.kind != "xml":
            raise XmlInputError(message.error or f"a {message.kind} body, not XML",
                                source="raw request")
        return message.envelope is not None

    @cached_property
    def _message(self) -> Message:
        """The file read once by the message reader (BOM, declared charset)."""
        return read_message(self.body, content_type=self.content_type, source="raw request")


def _raw(data: Mapping[str, Any], ctx: ReadContext) -> Build:
    location = f.file_path(data["file"], ("file",), ctx.base)
    action = f.optional_text(data, "action", ())
    content_type = f.optional_text(data, "content_type", ())
    if action is None and content_type is None:
        raise FieldError((), "a raw step needs action (SOAP) or content_type (anything else)")
    if is_er7_media(content_type):
        body = er7_segments(fill_file(location, ctx.lookup, er7=True))
        if not looks_like_er7(body):
            raise FieldError(("file",), f"{location.name} is not an HL7 v2 message (it must "
                             "start with an MSH segment)")
        transaction = detect(request=read_message(body)).id or "raw"
        return lambda: RawMessage(body, None, content_type, transaction)
    message = RawMessage(fill_file(location, ctx.lookup), action, content_type)
    if message.is_xml:
        try:
            envelope = message.is_envelope  # parsed now: a malformed file fails before sending
        except XmlInputError as exc:
            raise FieldError(("file",), f"{location.name} is not well-formed XML: {exc.message}",
                             hint="give content_type for a body that is not XML") from None
        if not envelope and action is None:
            raise FieldError((), f"{location.name} is not a SOAP envelope: give action: to wrap "
                             "it in one")
    return lambda: message


def er7_segments(data: bytes) -> bytes:
    """A message file as it goes on the wire: CR after every segment (a file written with LF
    or CRLF line ends, trailing blank lines dropped)."""
    lines = [line for line in data.replace(b"\r\n", b"\n").replace(b"\r", b"\n").split(b"\n")
             if line.strip()]
    return b"\r".join(lines) + b"\r" if lines else b""


def fill_file(location: Path, lookup: Lookup, *, er7: bool = False,
              as_json: bool = False) -> bytes:
    """The file's bytes with ``${...}`` filled in when it is UTF-8 text: values XML-escaped,
    with ``er7`` HL7 v2-escaped (``^`` -> ``\\S\\``, ``|`` -> ``\\F\\``, ...), with
    ``as_json`` escaped for a JSON string (``"`` -> ``\\"``; write ``"${name}"``)."""
    data = location.read_bytes()
    if b"${" not in data:
        return data
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        return data

    def escaped(name: str) -> Value:
        value = lookup(name)
        if as_json:
            return [json_escape(v) for v in value] if isinstance(value, list) else \
                json_escape(value)
        if er7:
            return [er7_escape(v) for v in value] if isinstance(value, list) else \
                er7_escape(value)
        if isinstance(value, list):
            return [escape(v, {'"': "&quot;", "'": "&apos;"}) for v in value]
        return escape(value, {'"': "&quot;", "'": "&apos;"})

    filled = fill_text(text, escaped)
    return (filled if isinstance(filled, str) else " ".join(filled)).encode("utf-8")


def json_escape(value: str) -> str:
    """``value`` as the inside of a JSON string (quotes, backslashes, controls escaped)."""
    return json.dumps(value, ensure_ascii=False)[1:-1]


def file_references(location: Path) -> list[str]:
    """Names referenced in a raw request file (for the checks before anything is sent)."""
    from ihe_test_util.record.variables import references

    try:
        text = location.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return []
    return references(text) if "${" in text else []


_HL7_VALUES = ("messageId", "queryId")
_V2_VALUES = ("messageControlId",)


def _step(transaction: str, read: Callable[[Mapping[str, Any], ReadContext], Build],
          values: tuple[str, ...], value_pattern: str | None = None) -> StepKind:
    """A step kind for a catalogue transaction (KeyError at import for an id it lacks)."""
    return StepKind(spec_for(transaction).id or transaction, read, values, value_pattern)


#: Transaction name in a scenario -> how its step is read and built. Keyed by the catalogue's
#: transaction ids; ``raw`` sends a file as it is.
STEP_KINDS: Mapping[str, StepKind] = {kind.transaction: kind for kind in (
    _step("ITI-44", _iti44, ("messageId", "patientId", "subsumedPatientId")),
    _step("ITI-45", _iti45, _HL7_VALUES),
    _step("ITI-47", _iti47, _HL7_VALUES),
    _step("ITI-55", _iti55, (*_HL7_VALUES, "homeCommunityId")),
    _step("ITI-8", _iti8, _V2_VALUES),
    _step("ITI-9", _iti9, (*_V2_VALUES, "queryTag")),
    _step("ITI-21", _iti21, (*_V2_VALUES, "queryTag")),
    _step("ITI-41", _iti41, ("patientId", "documentUniqueId", "submissionSetUniqueId"),
          value_pattern=r"documentUniqueId:Document\d{2,}"),
    _step("ITI-18", _iti18, ("queryId",)),
    _step("ITI-43", _iti43, ("documentUniqueId",)),
    _step("ITI-104", _iti104, ("patientIdentifier",)),
    _step("ITI-78", _iti78, ()),
    _step("ITI-83", _iti83, ("sourceIdentifier",)),
    _step("ITI-119", _iti119, ()),
    _step("ITI-65", _iti65, ("documentUniqueId", "submissionSetUniqueId",
                             "submissionSetFullUrl", "patientIdentifier"),
          value_pattern=r"documentUniqueId:Document\d{2,}"),
    _step("ITI-67", _iti67, ()),
    _step("ITI-66", _iti66, ()),
    _step("ITI-68", _iti68, ()),
    StepKind("raw", _raw, (), detected=True),
    StepKind("http", _http, (), detected=True),
)}
