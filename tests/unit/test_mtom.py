from __future__ import annotations

import os

import pytest

from ihe_test_util.errors import XmlInputError
from ihe_test_util.transport.mtom import Attachment, build_mtom, parse_multipart

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
