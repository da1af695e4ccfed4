"""Real-world bytes: every corpus message round-trips exactly as a body, and plays back in vcrpy."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import requests
import vcr

from ihe_test_util.cassette import load_cassette, save_cassette
from ihe_test_util.model import Cassette, Headers, Interaction, Request, Response

from ..conftest import corpus_file

pytestmark = pytest.mark.corpus

#: MTOM bodies captured from real stacks (first line is the boundary), sent with CRLF on the wire.
MTOM_CAPTURES = [
    "ITI-41/nist-PnrXop-Xop-body.txt", "ITI-41/sample_mtom_message.txt",
    "ITI-41/multipart.body.txt", "ITI-39/IT_iti-39_request-multipart.txt",
]


def _interaction(name: str, data: bytes, content_type: str | None = None) -> Interaction:
    headers = Headers([("Content-Type", content_type)] if content_type else [])
    return Interaction(
        Request("POST", f"http://127.0.0.1:9/{name}", headers, data),
        Response(200, "OK", Headers([*headers, ("Content-Length", str(len(data)))]), data),
    )


def test_every_corpus_file_round_trips_and_plays_back(corpus: Path, tmp_path: Path) -> None:
    files = sorted(p for p in corpus.rglob("*") if p.is_file())
    interactions = []
    for path in files:
        data = path.read_bytes()
        name = path.relative_to(corpus).as_posix()
        interactions.append(_interaction(name, data))
        if b"\n" in data:  # the same message as a Windows or MIME stack sends it
            interactions.append(_interaction(name + "?crlf", data.replace(b"\n", b"\r\n")))
    assert len(files) > 100
    cassette = Cassette(tuple(interactions))
    path = tmp_path / "corpus.yaml"
    save_cassette(path, cassette)
    loaded = load_cassette(path)
    assert loaded == cassette
    bodies = {i.request.uri: (i.request.body, i.response.body) for i in loaded.interactions}
    for file in files:  # against the corpus bytes themselves, read again
        data = file.read_bytes()
        uri = f"http://127.0.0.1:9/{file.relative_to(corpus).as_posix()}"
        assert bodies.pop(uri) == (data, data), uri
        if b"\n" in data:
            crlf = data.replace(b"\n", b"\r\n")
            assert bodies.pop(uri + "?crlf") == (crlf, crlf), uri
    assert not bodies
    with vcr.VCR(record_mode="none").use_cassette(str(path)), requests.Session() as session:
        for interaction in interactions:
            answer = session.post(interaction.request.uri, data=interaction.request.body)
            assert answer.content == interaction.response.body, interaction.request.uri


@pytest.mark.parametrize(
    "name",
    ["ITI-8/A01.hl7", "ITI-8/PIX_FEED_MERGE_Maximal_Request.hl7", "ITI-9/ok-2_Response.hl7",
     "ITI-8/iti8-a40.hl7", "ITI-21/PDQ_Response.hl7"],
)
def test_hl7v2_with_cr_and_crlf_reads_one_segment_per_line(name: str, tmp_path: Path) -> None:
    data = corpus_file(name).read_bytes()
    path = tmp_path / "hl7.yaml"
    save_cassette(path, Cassette((_interaction(name, data, "x-application/hl7-v2+er7"),)))
    text = path.read_text(encoding="utf-8")
    segments = data.replace(b"\r\n", b"\r").rstrip(b"\r").split(b"\r")
    for segment in segments[:3]:
        first_field = segment.split(b"|", 1)[0].decode()
        starts = re.compile(r'\s*(?:string: ")?' + re.escape(first_field + "|"))
        assert any(starts.match(line) for line in text.splitlines()), first_field
    assert load_cassette(path).interactions[0].response.body == data


@pytest.mark.parametrize("name", MTOM_CAPTURES)
def test_real_mtom_captures_are_exact_and_their_xml_part_readable(
    name: str, tmp_path: Path,
) -> None:
    raw = corpus_file(name).read_bytes()
    body = raw.replace(b"\r\n", b"\n").replace(b"\n", b"\r\n")
    boundary = body.split(b"\r\n", 1)[0][2:].strip().decode()
    content_type = f'multipart/related; type="application/xop+xml"; boundary="{boundary}"'
    path = tmp_path / "mtom.yaml"
    save_cassette(path, Cassette((_interaction(name, body, content_type),)))
    loaded = load_cassette(path).interactions[0]
    assert loaded.request.body == body and loaded.response.body == body
    text = path.read_text(encoding="utf-8")
    envelope_line = next(line for line in body.decode("latin-1").split("\r\n")
                         if "Envelope" in line)[:60]
    # all text: the exact body is readable line by line; binary somewhere: the root part is
    # shown as text in a view beside it (CRLF text is double-quoted, so quotes are escaped)
    assert ("request_view:" in text) == (b"\x00" in body or b"\xd8" in body)
    line = envelope_line.strip()
    assert line in text or line.replace('"', '\\"') in text
