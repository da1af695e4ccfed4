"""Valid inputs the fuzzers start from: the example cassettes of this repository (recorded
from ``ihe sim``: ITI-41 MTOM, ITI-18, ITI-43, PIX, PDQ, XCPD), a few HL7 v2, JSON and MTOM
bodies written here, and their gzip forms. Computed once per session."""

from __future__ import annotations

import functools
import gzip
import json
from pathlib import Path

from ihe_test_util.cassette import load_cassette
from ihe_test_util.model import Cassette, Request, Response

REPO = Path(__file__).resolve().parents[2]
CASSETTES = (REPO / "cassettes" / "pix-pdq.yaml", REPO / "cassettes" / "xds-documents.yaml")
SCENARIOS = sorted((REPO / "examples" / "scenarios").glob("*.yaml"))

HL7V2 = [
    (b"MSH|^~\\&|SND|FAC|RCV|FAC|20240101120000||ADT^A01^ADT_A01|MSG1|P|2.5\r"
     b"EVN|A01|20240101120000\rPID|1||123^^^HOSP&1.2.3&ISO^MR~456^^^OTHER^PI||Doe^John||"
     b"19700101|M\rPV1|1|I\r"),
    (b"MSH|^~\\&|RCV|FAC|SND|FAC|20240101120001||ACK^A01^ACK|ACK1|P|2.5\r"
     b"MSA|AA|MSG1|accepted\r"),
    (b"MSH|^~\\&|PDQ|FAC|CLI|FAC|20240101120002||RSP^K22^RSP_K21|R1|P|2.5\rMSA|AA|Q1\r"
     b"QAK|Q1|OK|Q22^Find Candidates^HL7\rQPD|Q22^Find Candidates^HL7|Q1|@PID.5.1^Doe\r"
     b"PID|1||123^^^HOSP^MR||Doe^John\rPID|2||124^^^HOSP^MR||Doe^Jane\r"),
]

JSON = [
    json.dumps({"resourceType": "Bundle", "type": "searchset", "total": 2, "entry": [
        {"resource": {"resourceType": "Patient", "id": "p1", "identifier": [
            {"system": "urn:oid:1.2.3", "value": "123"}], "name": [{"family": "Doe"}]}},
        {"resource": {"resourceType": "Patient", "id": "p2", "active": True}}]}).encode(),
    json.dumps({"resourceType": "OperationOutcome", "issue": [
        {"severity": "error", "code": "processing", "diagnostics": "no"}]}).encode(),
]

MTOM_TYPE = ('multipart/related; type="application/xop+xml"; boundary="MIMEBoundary_1"; '
             'start="<root@x>"; start-info="application/soap+xml"')
MTOM = (b"--MIMEBoundary_1\r\nContent-Type: application/xop+xml; charset=UTF-8; "
        b'type="application/soap+xml"\r\nContent-ID: <root@x>\r\n\r\n'
        b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body>'
        b'<r xmlns:xop="http://www.w3.org/2004/08/xop/include"><d><xop:Include '
        b'href="cid:doc@x"/></d></r></s:Body></s:Envelope>\r\n--MIMEBoundary_1\r\n'
        b"Content-Type: text/plain\r\nContent-ID: <doc@x>\r\n\r\nhello document\r\n"
        b"--MIMEBoundary_1--\r\n")


@functools.cache
def cassettes() -> tuple[Cassette, ...]:
    return tuple(load_cassette(path) for path in CASSETTES)


@functools.cache
def cassette_texts() -> list[bytes]:
    return [path.read_bytes() for path in CASSETTES]


@functools.cache
def requests() -> list[Request]:
    return [i.request for c in cassettes() for i in c.interactions]


@functools.cache
def responses() -> list[Response]:
    return [i.response for c in cassettes() for i in c.interactions]


def capture(response: Response) -> bytes:
    """``response`` as ``ihe diff`` reads a raw HTTP capture: status line, headers, body."""
    head = [f"HTTP/1.1 {response.status or 200} {response.reason or 'OK'}"]
    head += [f"{name}: {value}" for name, value in response.headers.items()
             if name.lower() not in ("content-length", "transfer-encoding")]
    return ("\r\n".join(head) + "\r\n\r\n").encode("latin-1") + response.body


@functools.cache
def diff_files() -> list[bytes]:
    """Files as ``ihe diff`` is given them: bare bodies and HTTP captures (gzip ones too)."""
    files = [r.body for r in responses()] + [capture(r) for r in responses()]
    files += HL7V2 + JSON + [MTOM]
    files.append(b"HTTP/1.1 200 OK\r\nContent-Type: " + MTOM_TYPE.encode() + b"\r\n\r\n" + MTOM)
    for body, kind in ((responses()[2].body, "application/soap+xml"), (JSON[0],
                                                                       "application/fhir+json")):
        files.append(b"HTTP/1.1 200 OK\r\nContent-Type: " + kind.encode() +
                     b"\r\nContent-Encoding: gzip\r\n\r\n" + gzip.compress(body))
    return files
