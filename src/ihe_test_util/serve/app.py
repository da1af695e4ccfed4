"""Answering one request from the recording: key, lookup, choose, fix up, or explain a miss."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from urllib.parse import urlsplit

from lxml import etree

from ihe_test_util import __version__
from ihe_test_util.ihe.namespaces import FHIR, SOAP11, SOAP12
from ihe_test_util.model import Request
from ihe_test_util.serve.explain import SERVE_NS, Explainer, Mismatch
from ihe_test_util.serve.fixups import fix_response
from ihe_test_util.serve.index import PlaybackIndex, RecordedEntry
from ihe_test_util.serve.negotiation import JSON, XML, is_soap_media, wanted_format
from ihe_test_util.serve.order import ResponseOrder
from ihe_test_util.serve.renames import Renames
from ihe_test_util.serve.shape import RequestShape, shape_of
from ihe_test_util.transport.endpoint import DEFAULT_MAX_BODY_BYTES, HttpAnswer, HttpApp, HttpCall
from ihe_test_util.transport.soap_server import FaultReply, client_soap_version, render_fault_for

logger = logging.getLogger("ihe_test_util.serve")

#: A request that matches nothing is the client's doing (env:Sender) but is answered with
#: HTTP 500, the status SOAP clients read a fault body from whatever SOAP version they speak.
NO_MATCH_STATUS = 500
#: A FHIR / REST client gets a 4xx instead (FHIR clients may retry a 5xx): 404 for a read or
#: search nothing recorded answers, 422 for a body the recorded requests to that URL do not
#: match, 406 for a format the recording does not have, 400 for a body that cannot be read,
#: 409 when --strict-order refuses a recorded answer.
NOT_FOUND, NOT_ACCEPTABLE, UNPROCESSABLE, BAD_REQUEST, CONFLICT = 404, 406, 422, 400, 409
_VERSION_NAMES = {SOAP11: "SOAP 1.1", SOAP12: "SOAP 1.2"}


class PlaybackApp(HttpApp):
    """The HTTP behaviour of ``ihe serve`` over an index (see :mod:`ihe_test_util.serve`)."""

    def __init__(self, index: PlaybackIndex, *, strict_order: bool = False,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
                 on_miss: Callable[[Mismatch], None] | None = None) -> None:
        self.index = index
        #: Told of every request answered with a fault instead of a recording (no match,
        #: refused by the order, another SOAP version), from the server's threads.
        self.on_miss = on_miss
        self.max_body_bytes = max_body_bytes
        self.order = ResponseOrder(index.entries, strict=strict_order)
        self.renames = Renames()
        self.explainer = Explainer(index.entries)
        self._get_paths = {e.shape.path for e in index.entries if e.shape.method == "GET"}

    def handle(self, call: HttpCall) -> HttpAnswer:
        if call.method == "GET" and urlsplit(call.path).path == "/" and \
                "/" not in self._get_paths:
            return HttpAnswer(200, self.index_text(call.base_url).encode(),
                              "text/plain; charset=utf-8")
        try:
            return self._answer(Request(call.method, call.path, call.headers, call.body),
                                call.base_url)
        except Exception:  # a bug must still give the client a proper answer
            logger.exception("internal error while answering %s %s", call.method, call.path)
            return self.fault(FaultReply("Receiver", "internal error in ihe serve; see its log"),
                              client_soap_version(call))

    def _answer(self, request: Request, base_url: str = "") -> HttpAnswer:
        shape = shape_of(request, renames=self.renames)
        candidates = self.index.lookup(shape)
        if not candidates:
            return self._no_match(shape, request)
        same_version = [entry for entry in candidates
                        if entry.shape.soap_version == shape.soap_version]
        if not same_version:
            return self._version_mismatch(shape, candidates[0])
        candidates = tuple(same_version)
        choice = self.order.choose(candidates)
        if choice.entry is None:
            reason = choice.refusal or "refused"
            logger.warning("refused %s %s: %s", shape.method, shape.path, reason)
            self._miss(Mismatch(shape, candidates[0], 1.0, (reason,), ()))
            return self._refusal(shape, FaultReply(
                "Sender", reason, http_status=NO_MATCH_STATUS, relates_to=shape.message_id),
                (CONFLICT, "conflict"))
        entry = choice.entry
        learned = self.renames.learn(shape.identifiers, entry.shape.identifiers)
        logger.info("%s %s -> %s%s", shape.method, shape.path, entry.label,
                    f" (learned {learned} client identifier(s))" if learned else "")
        return fix_response(entry.interaction.response, shape.echoes, self.renames,
                            base_url=base_url, origins=entry.origins)

    def _no_match(self, shape: RequestShape, request: Request) -> HttpAnswer:
        mismatch = self.explainer.explain(shape)
        reason = mismatch.reason_text()
        logger.warning("%s", reason)
        self._miss(mismatch)
        return self._refusal(shape, FaultReply(
            "Sender", reason, http_status=NO_MATCH_STATUS, subcode=(SERVE_NS, "NoRecordedMatch"),
            relates_to=shape.message_id, detail=(mismatch.detail(),)), fhir_status(mismatch))

    def _version_mismatch(self, shape: RequestShape, recorded: RecordedEntry) -> HttpAnswer:
        """What the recorded endpoint would answer a request in another SOAP version: a
        VersionMismatch fault, in the client's own version so that it can read it."""
        spoken = _VERSION_NAMES.get(recorded.shape.soap_version or "", "no SOAP")
        received = _VERSION_NAMES.get(shape.soap_version or "", "not SOAP")
        reason = (f"the recorded endpoint speaks {spoken} (this {shape.transaction or 'request'}"
                  f" was recorded so); the request is {received}")
        logger.warning("%s %s: %s", shape.method, shape.path, reason)
        self._miss(Mismatch(shape, recorded, 1.0, (reason,), ()))
        return self.fault(FaultReply(
            "VersionMismatch" if shape.soap else "Sender", reason,
            upgrade=recorded.shape.soap_version == SOAP12, relates_to=shape.message_id),
            shape.soap_version)

    def report_miss(self, mismatch: Mismatch) -> None:
        """Tell ``on_miss`` (from any thread; its failure never changes an answer)."""
        self._miss(mismatch)

    def _miss(self, mismatch: Mismatch) -> None:
        if self.on_miss is not None:
            try:
                self.on_miss(mismatch)
            except Exception:  # showing a miss must not change the client's answer
                logger.exception("could not report a request without a recorded match")

    def _refusal(self, shape: RequestShape, fault: FaultReply,
                 fhir: tuple[int, str]) -> HttpAnswer:
        """A SOAP fault, except to a FHIR / REST client (:attr:`RequestShape.fhir`): it gets
        the same explanation as an OperationOutcome in the format it asked for, with the 4xx
        ``fhir`` status and issue code (a FHIR client may retry a 5xx)."""
        if not shape.fhir:
            return self.fault(fault, shape.soap_version)
        return operation_outcome(fhir[0], fhir[1], fault.reason, shape.format)

    def problem(self, status: int, reason: str, call: HttpCall) -> HttpAnswer:
        wanted = wanted_format(call.headers, urlsplit(call.path).query)
        if wanted in (JSON, XML) and not is_soap_media(call.content_type):
            return operation_outcome(status, "invalid" if status == 400 else "processing",
                                     reason, wanted)
        return self.fault(FaultReply("Sender", reason, http_status=status),
                          client_soap_version(call))

    def fault(self, fault: FaultReply, soap_version: str | None = None) -> HttpAnswer:
        """``fault`` in the client's SOAP version (SOAP 1.2 unless it spoke SOAP 1.1)."""
        return render_fault_for(fault, soap_version)

    def reset(self) -> None:
        """Forget what was served and learned: the next request starts from the top."""
        self.order.reset()
        self.renames.clear()

    def index_text(self, base_url: str) -> str:
        """What ``GET /`` shows: the cassettes, and what is served at which URL."""
        lines = [f"ihe-test-utility playback stub {__version__}: {len(self.index)} "
                 f"interaction(s) from {len(self.index.cassettes)} cassette(s)", ""]
        lines += [f"{base_url}{summary.path}  {summary.interactions}  "
                  f"{' '.join(summary.transactions)}" for summary in self.index.paths()]
        return "\n".join(lines) + "\n"


def fhir_status(mismatch: Mismatch) -> tuple[int, str]:
    """The HTTP status and OperationOutcome issue code a FHIR client gets for ``mismatch``."""
    request, closest = mismatch.request, mismatch.closest
    if request.opaque is not None:
        return BAD_REQUEST, "structure"
    if closest is None:
        return NOT_FOUND, "not-found"
    recorded = closest.shape
    if (recorded.method, recorded.path, recorded.digest) == (
            request.method, request.path, request.digest) and recorded.format != request.format:
        return NOT_ACCEPTABLE, "not-supported"
    if request.method in ("POST", "PUT", "PATCH") and \
            (recorded.method, recorded.path) == (request.method, request.path):
        return UNPROCESSABLE, "processing"
    return NOT_FOUND, "not-found"


def operation_outcome(status: int, code: str, diagnostics: str, wanted: str) -> HttpAnswer:
    """An OperationOutcome with one error issue, in XML when the client asked for XML, else in
    JSON (FHIR's default)."""
    if wanted == XML:
        root = etree.Element(f"{{{FHIR}}}OperationOutcome",
                             nsmap={None: FHIR})  # type: ignore[dict-item]
        issue = etree.SubElement(root, f"{{{FHIR}}}issue")
        for name, value in (("severity", "error"), ("code", code),
                            ("diagnostics", diagnostics)):
            etree.SubElement(issue, f"{{{FHIR}}}{name}", value=value)
        return HttpAnswer(status, etree.tostring(root, xml_declaration=True, encoding="UTF-8"),
                          "application/fhir+xml; charset=utf-8")
    outcome = {"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": code, "diagnostics": diagnostics}]}
    return HttpAnswer(status, json.dumps(outcome).encode(),
                      "application/fhir+json; charset=utf-8")
