"""Answering one request from the recording: key, lookup, choose, fix up, or explain a miss."""

from __future__ import annotations

import json
import logging
from urllib.parse import urlsplit

from ihe_test_util import __version__
from ihe_test_util.model import Request
from ihe_test_util.serve.explain import SERVE_NS, Explainer
from ihe_test_util.serve.fixups import fix_response
from ihe_test_util.serve.index import PlaybackIndex
from ihe_test_util.serve.order import ResponseOrder
from ihe_test_util.serve.renames import Renames
from ihe_test_util.serve.shape import RequestShape, shape_of
from ihe_test_util.transport.endpoint import DEFAULT_MAX_BODY_BYTES, HttpAnswer, HttpApp, HttpCall
from ihe_test_util.transport.soap_server import FaultReply, render_fault

logger = logging.getLogger("ihe_test_util.serve")

#: A request that matches nothing is the client's doing (env:Sender) but is answered with
#: HTTP 500, the status SOAP clients read a fault body from whatever SOAP version they speak.
NO_MATCH_STATUS = 500


class PlaybackApp(HttpApp):
    """The HTTP behaviour of ``ihe serve`` over an index (see :mod:`ihe_test_util.serve`)."""

    def __init__(self, index: PlaybackIndex, *, strict_order: bool = False,
                 max_body_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.index = index
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
            return self._answer(Request(call.method, call.path, call.headers, call.body))
        except Exception:  # a bug must still give the client a proper answer
            logger.exception("internal error while answering %s %s", call.method, call.path)
            return self.fault(FaultReply("Receiver", "internal error in ihe serve; see its log"))

    def _answer(self, request: Request) -> HttpAnswer:
        shape = shape_of(request, renames=self.renames)
        candidates = self.index.lookup(shape)
        if not candidates:
            return self._no_match(shape, request)
        choice = self.order.choose(candidates)
        if choice.entry is None:
            reason = choice.refusal or "refused"
            logger.warning("refused %s %s: %s", shape.method, shape.path, reason)
            return self._refusal(shape, request, FaultReply(
                "Sender", reason, http_status=NO_MATCH_STATUS, relates_to=shape.message_id))
        entry = choice.entry
        learned = self.renames.learn(shape.identifiers, entry.shape.identifiers)
        logger.info("%s %s -> %s%s", shape.method, shape.path, entry.label,
                    f" (learned {learned} client identifier(s))" if learned else "")
        return fix_response(entry.interaction.response, shape.echoes, self.renames)

    def _no_match(self, shape: RequestShape, request: Request) -> HttpAnswer:
        mismatch = self.explainer.explain(shape)
        reason = mismatch.reason_text()
        logger.warning("%s", reason)
        return self._refusal(shape, request, FaultReply(
            "Sender", reason, http_status=NO_MATCH_STATUS, subcode=(SERVE_NS, "NoRecordedMatch"),
            relates_to=shape.message_id, detail=(mismatch.detail(),)))

    def _refusal(self, shape: RequestShape, request: Request, fault: FaultReply) -> HttpAnswer:
        """A SOAP fault, except to a client that speaks JSON/FHIR and sent no SOAP envelope:
        it gets the same explanation as a FHIR OperationOutcome."""
        wanted = " ".join(request.headers.get(name) or "" for name in ("Accept", "Content-Type"))
        if shape.soap or "json" not in wanted.lower():
            return self.fault(fault)
        outcome = {"resourceType": "OperationOutcome", "issue": [
            {"severity": "error", "code": "not-found", "diagnostics": fault.reason}]}
        return HttpAnswer(fault.http_status, json.dumps(outcome).encode(),
                          "application/fhir+json; charset=utf-8")

    def problem(self, status: int, reason: str, call: HttpCall) -> HttpAnswer:
        return self.fault(FaultReply("Sender", reason, http_status=status))

    def fault(self, fault: FaultReply) -> HttpAnswer:
        return render_fault(fault)

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


