from __future__ import annotations

import os

import pytest

from ihe_test_util.errors import XmlInputError
from ihe_test_util.safexml import parse_xml
from ihe_test_util.transport.mtom import (
    XOP_NS,
    Attachment,
    build_mtom,
    content_type_params,
    normalise_cid,
    parse_multipart,
    repackage,
)

from ..conftest import corpus_file


def test_build_then_parse_keeps_binary_bytes_exactly() -> None:
    nasty = os.urandom(4096) + b"\r\n--MIMEBoundary_x\r\n\n\r" + bytes(range(256))
    body, content_type = build_mtom(
        b"<Envelope/>", [Attachment("doc1@x", "application/pdf", nasty)],
        soap_action="urn:ihe:iti:2007:ProvideAndRegisterDocumentSet-b",
    )
    message = parse_multipart(body, content_type)
    assert message.root.content == b"<Envelope/>"
    assert "application/xop+xml" in message.root.content_type
    part = message.attachment("cid:doc1@x")
    assert part is not None
    assert part.content == nasty


def test_fresh_boundaries_and_ids_every_time() -> None:
    first = build_mtom(b"<a/>")
    second = build_mtom(b"<a/>")
    assert first[1] != second[1]


def test_root_found_by_start_parameter() -> None:
    body, content_type = build_mtom(b"<a/>", [Attachment("x@y", "text/plain", b"hi")])
    message = parse_multipart(body, content_type)
    assert message.root.content == b"<a/>"
    assert [p.content for p in message.attachments] == [b"hi"]


def test_truncated_body_is_a_clear_error() -> None:
    body, content_type = build_mtom(b"<a/>", [Attachment("x@y", "text/plain", b"hello")])
    with pytest.raises(XmlInputError, match="truncated"):
        parse_multipart(body[: len(body) // 2], content_type, source="response of exchange 2")


def test_not_multipart() -> None:
    with pytest.raises(XmlInputError, match="multipart"):
        parse_multipart(b"<a/>", "application/soap+xml")


def test_real_cxf_mtom_capture_from_corpus() -> None:
    """A raw NIST XDS toolkit MTOM body (binary boundary framing, xop:Include)."""
    path = corpus_file("ITI-41/nist-PnrXop-Xop-body.txt")
    data = path.read_bytes()
    first_line = data.split(b"\n", 1)[0].strip()
    assert first_line.startswith(b"--")
    boundary = first_line[2:].decode()
    message = parse_multipart(
        data.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n"),
        f'multipart/related; type="application/xop+xml"; boundary="{boundary}"',
    )
    assert b"ProvideAndRegisterDocumentSetRequest" in message.root.content
    assert message.attachments


def _mtom_with_include(href: str) -> tuple[bytes, str]:
    envelope = (b"<?xml version='1.0' encoding='UTF-8'?><E xmlns:xop='"
                + XOP_NS.encode() + b"'><D><xop:Include href='" + href.encode() + b"'/></D></E>")
    return build_mtom(envelope, [Attachment("Doc%401@x", "application/pdf", b"\x00pdf\r\n")],
                      soap_action="urn:a:b")


def test_repackage_gives_fresh_framing_and_keeps_documents_and_action() -> None:
    body, content_type = _mtom_with_include("cid:doc%401@x")
    message = parse_multipart(body, content_type)
    root = parse_xml(message.root.content)
    packed = repackage(root, message, content_type, domain="test")
    again = parse_multipart(packed.body, packed.content_type)
    assert again.boundary != message.boundary
    assert content_type_params(packed.content_type)[1]["action"] == "urn:a:b"
    [(include, old, new)] = packed.renamed
    assert old == "cid:doc%401@x" and new.endswith("@test") and new.startswith("cid:")
    assert include.get("href") == new
    part = again.attachment(new)
    assert part is not None and part.content == b"\x00pdf\r\n"
    assert again.root.content.startswith(b"<?xml")  # declared like the recorded root part


def test_repackage_dangling_reference_raises_or_stays() -> None:
    body, content_type = _mtom_with_include("cid:elsewhere@x")
    message = parse_multipart(body, content_type)
    with pytest.raises(XmlInputError, match="not among the MIME parts"):
        repackage(parse_xml(message.root.content), message, content_type)
    root = parse_xml(message.root.content)
    packed = repackage(root, message, content_type, strict=False)
    assert packed.renamed == ()
    assert b"cid:elsewhere@x" in parse_multipart(packed.body, packed.content_type).root.content


def test_normalise_cid_forms_agree() -> None:
    assert normalise_cid("<Doc%401@X>") == normalise_cid("cid:doc@1@x") == "doc@1@x"
