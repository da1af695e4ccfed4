"""A small IHE endpoint with volatile fields the catalogue does not know, run as its own process.

``python volatile_target.py [--regress]`` listens on a free port of 127.0.0.1 and prints
``{"base_url": ...}`` on one line. It answers:

* ``POST /xds/registry`` (ITI-18, SOAP 1.2): an AdhocQueryResponse with two ObjectRefs and, in
  the SOAP Header, a vendor ``ServerTime`` element holding a fresh value on every answer;
* ``GET /fhir/Patient/$ihe-pix`` (ITI-83): an OperationOutcome (not-found) whose
  ``meta.source`` (a request id, as HAPI writes it) and ``id`` are fresh on every answer (the
  catalogue knows the id is noise, not the source);
* ``GET /fhir/DocumentReference`` (ITI-67): a searchset Bundle of two DocumentReferences.

Every response carries an ``X-Vendor-Trace`` header with a fresh value. With ``--regress`` the
same endpoint has regressed: the registry answers ``Failure`` with a RegistryError, and the
DocumentReference search drops its last result. With ``--upgrade`` every DocumentReference
found carries a new ``description`` (a stable change to approve).
"""

from __future__ import annotations

import argparse
import json
import sys
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import urlsplit

SOAP = "http://www.w3.org/2003/05/soap-envelope"
WSA = "http://www.w3.org/2005/08/addressing"
QUERY = "urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"
RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
RS = "urn:oasis:names:tc:ebxml-regrep:xsd:rs:3.0"
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
FAILURE = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Failure"
OBJECT_REFS = ("urn:uuid:6f0c6b2a-1f2e-4c39-9f7e-6a1d2b3c4d5e",
               "urn:uuid:7a1d7c3b-2e3f-4d4a-8e8f-7b2e3c4d5e6f")


def registry_answer(request: bytes, regress: bool) -> bytes:
    message_id = ""
    text = request.decode("utf-8", "replace")
    start = text.find("MessageID")
    if start >= 0:
        start = text.find(">", start) + 1
        message_id = text[start:text.find("<", start)].strip()
    status = FAILURE if regress else SUCCESS
    errors = ('<rs:RegistryErrorList><rs:RegistryError errorCode="XDSRegistryError" '
              'severity="urn:oasis:names:tc:ebxml-regrep:ErrorSeverityType:Error" '
              'codeContext="backend unavailable"/></rs:RegistryErrorList>') if regress else ""
    objects = "" if regress else "".join(f'<rim:ObjectRef id="{i}"/>' for i in OBJECT_REFS)
    return (
        f'<?xml version="1.0" encoding="UTF-8"?>'
        f'<soap:Envelope xmlns:soap="{SOAP}" xmlns:wsa="{WSA}">'
        f'<soap:Header>'
        f'<wsa:Action>urn:ihe:iti:2007:RegistryStoredQueryResponse</wsa:Action>'
        f'<wsa:MessageID>urn:uuid:{uuid.uuid4()}</wsa:MessageID>'
        f'<wsa:RelatesTo>{message_id}</wsa:RelatesTo>'
        f'<v:ServerTime xmlns:v="urn:example:vendor">{time.time_ns()}</v:ServerTime>'
        f'</soap:Header><soap:Body>'
        f'<query:AdhocQueryResponse xmlns:query="{QUERY}" xmlns:rim="{RIM}" xmlns:rs="{RS}" '
        f'status="{status}">{errors}<rim:RegistryObjectList>{objects}</rim:RegistryObjectList>'
        f'</query:AdhocQueryResponse></soap:Body></soap:Envelope>'
    ).encode()


def pix_answer() -> dict[str, object]:
    return {"resourceType": "OperationOutcome", "id": str(uuid.uuid4()),
            "meta": {"source": f"#{uuid.uuid4().hex[:16]}"},
            "issue": [{"severity": "error", "code": "not-found",
                       "diagnostics": "sourceIdentifier not found"}]}


def documents_answer(regress: bool, upgrade: bool) -> dict[str, object]:
    entries: list[dict[str, object]] = [
        {"resource": {"resourceType": "DocumentReference", "status": "current",
                      "masterIdentifier": {"value": f"urn:oid:1.2.3.{n}"}}} for n in (1, 2)]
    if upgrade:  # a new optional element in every answer: the same on every run
        for entry in entries:
            entry["resource"]["description"] = "indexed by v2"  # type: ignore[index]
    if regress:
        entries = entries[:1]
    return {"resourceType": "Bundle", "type": "searchset", "total": len(entries),
            "entry": entries}


def handler(regress: bool, upgrade: bool) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:  # quiet
            pass

        def answer(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("X-Vendor-Trace", uuid.uuid4().hex)
            self.end_headers()
            self.wfile.write(body)

        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            if urlsplit(self.path).path != "/xds/registry":
                self.answer(404, b"", "text/plain")
                return
            self.answer(200, registry_answer(body, regress),
                        'application/soap+xml; charset=UTF-8')

        def do_GET(self) -> None:
            path = urlsplit(self.path).path
            if path == "/fhir/Patient/$ihe-pix":
                payload = pix_answer()
                status = 404
            elif path == "/fhir/DocumentReference":
                payload, status = documents_answer(regress, upgrade), 200
            else:
                self.answer(404, b"", "text/plain")
                return
            self.answer(status, json.dumps(payload).encode("utf-8"), "application/fhir+json")

    return Handler


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--regress", action="store_true")
    parser.add_argument("--upgrade", action="store_true")
    args = parser.parse_args()
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler(args.regress, args.upgrade))
    print(json.dumps({"base_url": f"http://127.0.0.1:{server.server_address[1]}"}), flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    sys.exit(0)


if __name__ == "__main__":
    main()
