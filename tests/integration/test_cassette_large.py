"""A 50 MB binary MTOM attachment round-trips exactly (memory is measured in benchmarks/)."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from ihe_test_util.cassette import CassetteWriter, load_cassette
from ihe_test_util.model import Headers, Interaction, Request, Response
from ihe_test_util.transport.mtom import Attachment, build_mtom, parse_multipart


@pytest.mark.slow
def test_fifty_megabyte_mtom_attachment_round_trips(tmp_path: Path) -> None:
    document = os.urandom(50 * 1024 * 1024)
    soap = b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"><s:Body/></s:Envelope>'
    body, content_type = build_mtom(soap, [Attachment("doc@x", "application/pdf", document)])
    path = tmp_path / "large.yaml"
    with CassetteWriter(path) as writer:
        writer.append(Interaction(
            Request("POST", "http://127.0.0.1:9/rep", Headers([("Content-Type", content_type)]),
                    body),
            Response(200, "OK", Headers([("Content-Type", content_type)]), body),
        ))
    text_head = path.read_bytes()[:4096].decode()
    assert "text: <s:Envelope" in text_head  # the root part is readable beside the base64
    assert hashlib.sha256(document).hexdigest() in text_head
    loaded = load_cassette(path).interactions[0]
    assert loaded.request.body == body
    assert loaded.response.body == body
    assert parse_multipart(loaded.response.body, content_type).attachments[0].content == document
