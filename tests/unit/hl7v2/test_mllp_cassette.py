"""MLLP exchanges in cassettes: one segment per line, exact bytes, and ``ihe cassette check``
refusing what replay could not send (framing stored, not HL7 v2, method / scheme mismatch)."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from ihe_test_util.cassette import load_cassette, save_cassette
from ihe_test_util.cli.main import cli
from ihe_test_util.errors import CassetteError
from ihe_test_util.model import Cassette, Interaction, Request, Response

FEED = (b"MSH|^~\\&|HIS|H|PIX|P|20300101||ADT^A01^ADT_A01|MSG1|P|2.5\rEVN|A01|20300101\r"
        b"PID|1||P1^^^&1.2.3&ISO^PI||M\xc3\xbcller^J\xc3\xb6rg||||||\r")
ACK = b"MSH|^~\\&|PIX|P|HIS|H|20300101||ACK^A01^ACK|A1|P|2.5\rMSA|AA|MSG1\r"


def cassette(tmp_path: Path, request: Request, body: bytes = ACK) -> Path:
    path = tmp_path / "v2.yaml"
    save_cassette(path, Cassette((Interaction(request, Response(200, "OK", body=body)),)))
    return path


def check(path: Path) -> tuple[int, str]:
    result = CliRunner().invoke(cli, ["--no-color", "cassette", "check", str(path)],
                                env={"COLUMNS": "200"})
    return result.exit_code, result.stdout + result.stderr


def test_a_segment_per_line_and_the_exact_bytes_back(tmp_path: Path) -> None:
    path = cassette(tmp_path, Request("MLLP", "mllp://pix.example:2575", body=FEED))
    text = path.read_text(encoding="utf-8")
    assert "\n      EVN|A01|20300101\\r\\\n" in text
    assert "Müller^Jörg||||||\\r" in text  # trailing empty fields kept, text stays text
    (loaded,) = load_cassette(path).interactions
    assert loaded.request.body == FEED and loaded.response.body == ACK
    assert check(path)[0] == 0


@pytest.mark.parametrize(("request_", "says"), [
    (Request("MLLP", "mllp://pix.example:2575", body=b"\x0b" + FEED + b"\x1c\r"),
     "stored with MLLP framing"),
    (Request("MLLP", "mllp://pix.example:2575", body=b"<xml/>"), "not an HL7 v2 message"),
    (Request("POST", "mllp://pix.example:2575", body=FEED), "has method MLLP"),
    (Request("MLLP", "http://pix.example:2575", body=FEED), "mllp:// or mllps:// URL"),
    (Request("MLLP", "mllp://:2575", body=FEED), "is not an MLLP URL"),
])
def test_check_refuses_what_replay_could_not_send(tmp_path: Path, request_: Request,
                                                  says: str) -> None:
    path = cassette(tmp_path, request_)
    with pytest.raises(CassetteError, match=says):
        load_cassette(path)
    code, out = check(path)
    assert code == 2 and says in out and "v2.yaml:" in out
