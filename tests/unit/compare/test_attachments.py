"""MTOM/XOP responses: documents compared by content at the place that references them."""

from __future__ import annotations

import base64

from ihe_test_util.compare import compare_responses
from ihe_test_util.model import Headers, Response
from ihe_test_util.results import DifferenceKind, Outcome
from ihe_test_util.transport.mtom import Attachment, build_mtom
from tests.conftest import corpus_file

CID = "72f7c587daaacb8b81212de4e80e442e5f43394482e12edd@apache.org"
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer\n%%EOF\n"
CDA = (b'<ClinicalDocument xmlns="urn:hl7-org:v3"><title>Discharge summary</title>'
       b'<component><section><text>Stable.</text></section></component></ClinicalDocument>')


def soap() -> bytes:
    return corpus_file("ITI-43/ITI-43_response_raw.xml").read_bytes()


def mtom(envelope: bytes, *parts: tuple[str, str, bytes], boundary: str = "MIMEBoundary_1",
         root: str = "root.message@cxf.apache.org") -> Response:
    body, content_type = build_mtom(
        envelope, [Attachment(cid, kind, content) for cid, kind, content in parts],
        boundary=boundary, root_content_id=root)
    return Response(200, headers=Headers([("Content-Type", content_type)]), body=body)


def test_boundaries_and_content_ids_are_noise() -> None:
    recorded = mtom(soap(), (CID, "application/pdf", PDF))
    replayed = mtom(soap().replace(CID.encode(), b"1.urn:uuid:42@apache.org"),
                    ("1.urn:uuid:42@apache.org", "application/pdf", PDF),
                    boundary="uuid:other", root="0.other@apache.org")
    comparison = compare_responses(recorded, replayed)
    assert comparison.outcome is Outcome.PASS, comparison.differences
    assert comparison.transaction == "ITI-43"
    assert comparison.noise_suppressed >= 1


def test_changed_document_bytes_are_a_part_difference_at_its_reference() -> None:
    recorded = mtom(soap(), (CID, "application/pdf", PDF))
    replayed = mtom(soap(), (CID, "application/pdf", PDF.replace(b"Catalog", b"Catalogue")))
    comparison = compare_responses(recorded, replayed)
    assert comparison.outcome is Outcome.CHANGED
    (difference,) = comparison.differences
    assert difference.kind is DifferenceKind.PART
    assert difference.path == f"part:{CID}"
    assert difference.recorded is not None and difference.recorded.startswith("sha256:")
    assert "application/pdf" in difference.recorded
    assert difference.description is not None
    assert "document 1.3.6.1.4.1.21367.2017.2.1.75.20200922130227623" in difference.description


def test_a_missing_attachment_is_reported() -> None:
    recorded = mtom(soap(), (CID, "application/pdf", PDF))
    replayed = mtom(soap())
    comparison = compare_responses(recorded, replayed)
    assert comparison.outcome is Outcome.CHANGED
    assert comparison.differences[0].replayed == "missing attachment"


def test_inline_base64_and_xop_carry_the_same_document() -> None:
    inline = soap().replace(
        f'<xop:Include href="cid:{CID}"/>'.encode(), base64.b64encode(PDF))
    recorded = mtom(soap(), (CID, "application/pdf", PDF))
    replayed = Response(200, headers=Headers([("Content-Type", "application/soap+xml")]),
                        body=inline)
    assert compare_responses(recorded, replayed).outcome is Outcome.PASS


def test_xml_documents_are_also_compared_inside() -> None:
    recorded = mtom(soap(), (CID, "text/xml", CDA))
    replayed = mtom(soap(), (CID, "text/xml", CDA.replace(b"Discharge", b"Transfer")))
    comparison = compare_responses(recorded, replayed)
    paths = [d.path for d in comparison.differences]
    assert paths[:2] == [f"part:{CID}", f"part:{CID}#/ClinicalDocument/title"]
    assert comparison.differences[1].recorded == "Discharge summary"


def test_unreferenced_attachments_are_matched_by_content() -> None:
    extra = ("extra@example", "text/plain", b"hello")
    recorded = mtom(soap(), (CID, "application/pdf", PDF), extra)
    same = mtom(soap(), ("other@example", "text/plain", b"hello"), (CID, "application/pdf", PDF))
    assert compare_responses(recorded, same).outcome is Outcome.PASS
    gone = mtom(soap(), (CID, "application/pdf", PDF))
    comparison = compare_responses(recorded, gone)
    assert [d.path for d in comparison.differences] == ["part:extra@example"]
    assert comparison.differences[0].description == "attachment extra@example removed"


def test_truncated_multipart_can_no_longer_be_parsed() -> None:
    recorded = mtom(soap(), (CID, "application/pdf", PDF))
    replayed = recorded.evolve(body=recorded.body[: len(recorded.body) - 40])
    comparison = compare_responses(recorded, replayed)
    assert comparison.outcome is Outcome.REGRESSION
    assert comparison.differences[0].path == "http:body"
    assert "closing boundary" in (comparison.differences[0].replayed or "")
