"""Readable views of JSON and content-coded bodies: minified FHIR JSON gets an indented view, a
gzip / deflate / br body its decoded one; the stored bytes stay exact and vcrpy still plays the
file back."""

from __future__ import annotations

import gzip
import json
import zlib
from pathlib import Path

import pytest
import requests
import vcr

from ihe_test_util.cassette import load_cassette, save_cassette
from ihe_test_util.cassette.views import body_view
from ihe_test_util.errors import CassetteError
from ihe_test_util.model import (
    Cassette,
    CassetteMeta,
    Headers,
    Interaction,
    InteractionMeta,
    Request,
    Response,
)

BUNDLE = {"resourceType": "Bundle", "type": "searchset", "total": 1, "entry": [
    {"fullUrl": "http://127.0.0.1:8080/fhir/Patient/1",
     "resource": {"resourceType": "Patient", "id": "1", "name": [{"family": "Müller"}],
                  "text": {"div": "<div>" + "x" * 200 + "</div>"}}}]}
MINIFIED = json.dumps(BUNDLE, separators=(",", ":"), ensure_ascii=False).encode()
PRETTY = json.dumps(BUNDLE, indent=2, ensure_ascii=False).encode()
GZIPPED = gzip.compress(MINIFIED, mtime=0)
FHIR = "application/fhir+json;charset=utf-8"
BASE = "http://127.0.0.1:9"  # nothing listens: playback must not connect


def cassette(*answers: tuple[str, Response]) -> Cassette:
    return Cassette(tuple(
        Interaction(Request("GET", f"{BASE}{path}", Headers({"Accept": FHIR})), answer,
                    InteractionMeta(transaction="ITI-78"))
        for path, answer in answers), CassetteMeta(tool_version="0"))


def answer(body: bytes, **headers: str) -> Response:
    return Response(200, "OK", Headers({"Content-Type": FHIR, **{
        k.replace("_", "-"): v for k, v in headers.items()}}), body)


def test_minified_json_gets_an_indented_view_and_pretty_json_none() -> None:
    view = body_view(MINIFIED, FHIR)
    assert view == {"json": PRETTY.decode() + "\n"}
    assert body_view(PRETTY, FHIR) is None
    assert body_view(b"<x>" + b"y" * 400 + b"</x>", "text/xml") is None
    assert body_view(b'{"a": ' + b"1" * 10 + b"}", None) is None  # short: readable as is


@pytest.mark.parametrize("coding,data", [
    ("gzip", GZIPPED), ("deflate", zlib.compress(MINIFIED)), ("x-unknown", b"abc")])
def test_content_coded_bodies_show_what_they_decode_to(coding: str, data: bytes) -> None:
    view = body_view(data, FHIR, coding)
    assert view is not None and view["content_encoding"] == coding
    if coding == "x-unknown":
        assert "unsupported Content-Encoding" in view["undecodable"]
    else:
        assert view["json"] == PRETTY.decode() + "\n"


def test_views_are_written_checked_and_the_bytes_kept(tmp_path: Path) -> None:
    path = tmp_path / "fhir.yaml"
    original = cassette(("/fhir/Patient?family=M", answer(MINIFIED)),
                        ("/fhir/Patient?family=G", answer(GZIPPED, Content_Encoding="gzip")))
    save_cassette(path, original)
    text = path.read_text(encoding="utf-8")
    assert text.count("response_view:") == 2
    assert '"family": "Müller"' in text  # readable, not escaped
    assert max(len(line) for line in text.splitlines() if "json:" not in line) < 1200
    loaded = load_cassette(path)
    assert [i.response.body for i in loaded.interactions] == [MINIFIED, GZIPPED]
    tampered = text.replace('"family": "Müller"', '"family": "Meier"', 1)
    path.write_text(tampered, encoding="utf-8")
    with pytest.raises(CassetteError, match="response_view does not match the body"):
        load_cassette(path)


def test_vcrpy_plays_back_the_exact_bytes(tmp_path: Path) -> None:
    path = tmp_path / "fhir.yaml"
    save_cassette(path, cassette(
        ("/fhir/Patient?family=M", answer(MINIFIED, Content_Length=str(len(MINIFIED)))),
        ("/fhir/Patient?family=G", answer(GZIPPED, Content_Encoding="gzip",
                                          Content_Length=str(len(GZIPPED))))))
    with vcr.VCR(record_mode="none").use_cassette(str(path)), requests.Session() as session:
        plain = session.get(f"{BASE}/fhir/Patient?family=M", headers={"Accept": FHIR})
        coded = session.get(f"{BASE}/fhir/Patient?family=G", headers={"Accept": FHIR},
                            stream=True)
        raw = coded.raw.read(decode_content=False)
    assert plain.content == MINIFIED
    assert raw == GZIPPED and coded.headers["Content-Encoding"] == "gzip"
