"""``ihe sim`` throughput (requests/s over keep-alive HTTP) against a trivial ``http.server``
that answers every POST with a fixed SOAP envelope, measured in the same run.

The ratio says what SOAP parsing, dispatch, SQLite and XML building cost on top of the bare
HTTP round trip. Sizes are modest: the machine is shared.
"""

from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import requests

from ihe_test_util.sim import Simulator
from ihe_test_util.transport.mtom import Attachment, build_mtom

ROUNDS = 300
#: submissions (so FindDocuments answers with this many LeafClass DocumentEntries)
SUBMISSIONS = 50
SOAP = "application/soap+xml; charset=UTF-8"
ENVELOPE = (
    '<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope" '
    'xmlns:a="http://www.w3.org/2005/08/addressing"><s:Header><a:Action>{action}</a:Action>'
    "<a:MessageID>urn:uuid:{id}</a:MessageID></s:Header><s:Body>{body}</s:Body></s:Envelope>"
)
FEED = (
    '<PRPA_IN201301UV02 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0"><id root="1.2.3" '
    'extension="{n}"/><creationTime value="20240101000000"/><interactionId '
    'root="2.16.840.1.113883.1.6" extension="PRPA_IN201301UV02"/><processingCode code="P"/>'
    '<processingModeCode code="T"/><acceptAckCode code="AL"/><receiver typeCode="RCV"><device '
    'classCode="DEV" determinerCode="INSTANCE"><id root="1.2"/></device></receiver><sender '
    'typeCode="SND"><device classCode="DEV" determinerCode="INSTANCE"><id root="1.3"/></device>'
    '</sender><controlActProcess classCode="CACT" moodCode="EVN"><subject typeCode="SUBJ">'
    '<registrationEvent classCode="REG" moodCode="EVN"><subject1 typeCode="SBJ"><patient '
    'classCode="PAT"><id root="1.2.260" extension="P{n}"/><id root="1.2.261" extension="Q{n}"/>'
    '<patientPerson><name><family>Doe</family><given>Jo</given></name>'
    '<administrativeGenderCode code="F"/><birthTime value="19800101"/></patientPerson>'
    "</patient></subject1></registrationEvent></subject></controlActProcess></PRPA_IN201301UV02>"
)
PIX_QUERY = (
    '<PRPA_IN201309UV02 xmlns="urn:hl7-org:v3" ITSVersion="XML_1.0"><id root="1.2.3" '
    'extension="q"/><controlActProcess classCode="CACT" moodCode="EVN"><queryByParameter>'
    '<queryId root="1.2.3.4"/><parameterList><patientIdentifier><value root="1.2.260" '
    'extension="P1"/></patientIdentifier></parameterList></queryByParameter>'
    "</controlActProcess></PRPA_IN201309UV02>"
)
FIND_DOCUMENTS = (
    '<q:AdhocQueryRequest xmlns:q="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" '
    'xmlns:r="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"><q:ResponseOption returnType='
    '"LeafClass"/><r:AdhocQuery id="urn:uuid:14d4debf-8f97-4251-9a74-a90016b0af0d">'
    '<r:Slot name="$XDSDocumentEntryPatientId"><r:ValueList><r:Value>\'P1^^^&amp;1.2.260&amp;'
    "ISO'</r:Value></r:ValueList></r:Slot><r:Slot name=\"$XDSDocumentEntryStatus\"><r:ValueList>"
    "<r:Value>('urn:oasis:names:tc:ebxml-regrep:StatusType:Approved')</r:Value></r:ValueList>"
    "</r:Slot></r:AdhocQuery></q:AdhocQueryRequest>"
)


def _pnr(n: int) -> str:
    """A complete ITI-41 submission (symbolic ids, required metadata, one XOP document)."""
    def code(scheme: str, obj: str, value: str) -> str:
        return (f'<r:Classification classificationScheme="urn:uuid:{scheme}" classifiedObject='
                f'"{obj}" id="c{scheme[:4]}{obj}" nodeRepresentation="{value}"><r:Slot name='
                f'"codingScheme"><r:ValueList><r:Value>1.2</r:Value></r:ValueList></r:Slot>'
                "</r:Classification>")

    def slot(name: str, value: str) -> str:
        return (f'<r:Slot name="{name}"><r:ValueList><r:Value>{value}</r:Value></r:ValueList>'
                "</r:Slot>")

    def ident(scheme: str, obj: str, value: str) -> str:
        return (f'<r:ExternalIdentifier identificationScheme="urn:uuid:{scheme}" id="e{scheme[:4]}'
                f'{obj}" registryObject="{obj}" value="{value}"/>')

    pid = "P1^^^&amp;1.2.260&amp;ISO"
    entry = (
        '<r:ExtrinsicObject id="Doc" mimeType="text/plain" objectType="urn:uuid:7edca82f-054d-'
        '47f2-a032-9b2a5b5186c1">' + slot("creationTime", "20240101") + slot("languageCode", "en")
        + slot("sourcePatientId", pid)
        + "".join(code(s, "Doc", "x") for s in (
            "41a5887f-8865-4c09-adf7-e362475b143a", "f4f85eac-e6cb-4883-b524-f2705394840f",
            "a09d5840-386c-46f2-b5ad-9c3699a4309d", "f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1",
            "cccf5598-8b07-4b77-a05e-ae952c785ead", "f0306f51-975f-434e-a61c-c59651d33983"))
        + ident("58a6f841-87b3-4a3e-92fd-a8ffeff98427", "Doc", pid)
        + ident("2e82c1f6-a085-4c72-9da3-8640a32e42ab", "Doc", f"1.99.1.{n}")
        + "</r:ExtrinsicObject>"
    )
    package = (
        '<r:RegistryPackage id="Set">' + slot("submissionTime", "20240101")
        + code("aa543740-bdda-424e-8c96-df4873be8500", "Set", "y")
        + ident("6b5aea1a-874d-4603-a4bc-96a0a7b38446", "Set", pid)
        + ident("554ac39e-e3fe-47fe-b233-965d2a147832", "Set", "1.99")
        + ident("96fdda7c-d067-4183-912e-bf5ee74998a8", "Set", f"1.99.2.{n}")
        + '</r:RegistryPackage><r:Classification classificationNode="urn:uuid:a54d6aa5-d40d-'
        '43f9-88c5-b4633d873bdd" classifiedObject="Set" id="node"/><r:Association id="as" '
        'associationType="urn:oasis:names:tc:ebxml-regrep:AssociationType:HasMember" '
        'sourceObject="Set" targetObject="Doc">' + slot("SubmissionSetStatus", "Original")
        + "</r:Association>"
    )
    return (
        '<x:ProvideAndRegisterDocumentSetRequest xmlns:x="urn:ihe:iti:xds-b:2007" xmlns:l='
        '"urn:oasis:names:tc:ebxml-regrep:xsd:lcm:3.0" xmlns:r="urn:oasis:names:tc:ebxml-regrep:'
        f'xsd:rim:3.0"><l:SubmitObjectsRequest><r:RegistryObjectList>{entry}{package}'
        '</r:RegistryObjectList></l:SubmitObjectsRequest><x:Document id="Doc"><i:Include '
        'xmlns:i="http://www.w3.org/2004/08/xop/include" href="cid:doc@bench"/></x:Document>'
        "</x:ProvideAndRegisterDocumentSetRequest>"
    )


def _envelope(action: str, body: str) -> bytes:
    return ENVELOPE.format(action=action, id=uuid.uuid4(), body=body).encode()


class _Trivial(BaseHTTPRequestHandler):
    """The baseline: read the body, answer a constant envelope; no parsing at all."""

    protocol_version = "HTTP/1.1"
    answer = _envelope("urn:ok", "<ok/>")

    def setup(self) -> None:
        super().setup()
        self.connection.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)  # as ihe sim

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(200)
        self.send_header("Content-Type", SOAP)
        self.send_header("Content-Length", str(len(self.answer)))
        self.end_headers()
        self.wfile.write(self.answer)

    def log_message(self, format: str, *args: object) -> None:
        return


def _rate(send: Callable[[requests.Session, int], requests.Response], rounds: int) -> float:
    with requests.Session() as session:
        for n in range(5):  # warm up the connection and caches
            send(session, -1 - n)
        started = time.perf_counter()
        for n in range(rounds):
            response = send(session, n)
            assert response.status_code == 200, response.text[:300]
        return rounds / (time.perf_counter() - started)


def main() -> None:
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Trivial)
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    trivial_url = f"http://127.0.0.1:{server.server_address[1]}/"
    baseline = _rate(lambda s, n: s.post(trivial_url, data=_envelope("urn:x", PIX_QUERY),
                                         headers={"Content-Type": SOAP}), ROUNDS)
    server.shutdown()
    server.server_close()
    print(f"trivial http.server          : {baseline:8.0f} req/s (baseline)")

    started = time.perf_counter()
    with Simulator() as sim:
        ready = time.perf_counter() - started
        pix, registry, repository = (sim.url_for(a) for a in ("pix", "registry", "repository"))

        def feed(s: requests.Session, n: int) -> requests.Response:
            return s.post(pix, data=_envelope("urn:hl7-org:v3:PRPA_IN201301UV02",
                                              FEED.format(n=abs(n) % 50)),
                          headers={"Content-Type": SOAP})

        def pnr(s: requests.Session, n: int) -> requests.Response:
            body, content_type = build_mtom(
                _envelope("urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b", _pnr(n + 10)),
                [Attachment("doc@bench", "text/plain", b"document %d" % n)])
            return s.post(repository, data=body, headers={"Content-Type": content_type})

        cases: list[tuple[str, Callable[[requests.Session, int], requests.Response]]] = [
            ("ITI-44 feed (SQLite write)", feed),
            ("ITI-45 PIX query", lambda s, n: s.post(pix, data=_envelope(
                "urn:hl7-org:v3:PRPA_IN201309UV02", PIX_QUERY), headers={"Content-Type": SOAP})),
            ("ITI-41 PnR, MTOM", pnr),
            ("ITI-18 FindDocuments LeafClass", lambda s, n: s.post(registry, data=_envelope(
                "urn:ihe:iti:2007:RegistryStoredQuery", FIND_DOCUMENTS),
                headers={"Content-Type": SOAP})),
        ]
        rates = {}
        for name, send in cases:
            rates[name] = _rate(send, SUBMISSIONS if send is pnr else ROUNDS)
            print(f"ihe sim {name:22}: {rates[name]:8.0f} req/s  ratio "
                  f"{rates[name] / baseline:5.2f}x of baseline")
        documents = len(sim.store.objects(kind="DocumentEntry"))
    print(f"simulator ready in {ready * 1000:.1f} ms; FindDocuments returned {documents} "
          "LeafClass DocumentEntries per answer")


if __name__ == "__main__":
    main()
