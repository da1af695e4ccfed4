"""Hostile and broken cassettes: each gets a CassetteError naming file, line and problem."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from ihe_test_util.cassette import load_cassette, save_cassette
from ihe_test_util.errors import CassetteError
from ihe_test_util.model import Cassette, Headers, Interaction, Request, Response

VALID = """\
ihe:
  format: 1
interactions:
- ihe:
    transaction: ITI-18
    duration_ms: 3.5
    captured:
      pid: '1'
  request:
    method: POST
    uri: http://h/p
    headers:
      Content-Type:
      - text/xml
    body: <a/>
  response:
    status:
      code: 200
      message: OK
    headers:
      Server:
      - x
    body:
      string: <b/>
version: 1
"""


def _write(tmp_path: Path, text: str | bytes) -> Path:
    path = tmp_path / "bad.yaml"
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def _error(path: Path) -> CassetteError:
    with pytest.raises(CassetteError) as caught:
        load_cassette(path)
    return caught.value


def _line(text: str, needle: str) -> int:
    return next(i for i, row in enumerate(text.splitlines(), 1) if needle in row)


def test_the_valid_base_loads(tmp_path: Path) -> None:
    cassette = load_cassette(_write(tmp_path, VALID))
    assert cassette.interactions[0].meta.captured == {"pid": "1"}


@pytest.mark.parametrize(
    "payload",
    ["!!python/object/apply:os.system ['touch {marker}']",
     "!!python/object/new:subprocess.Popen [['touch', '{marker}']]",
     "!!python/name:os.system", "!!python/module:os", "!custom 1",
     "!!python/object:builtins.dict {{}}"],
)
def test_object_tags_are_refused_and_nothing_runs(tmp_path: Path, payload: str) -> None:
    marker = tmp_path / "ran"
    text = VALID.replace("body: <a/>", "body: " + payload.format(marker=marker))
    text += "metadata: " + payload.format(marker=marker) + "\n"
    error = _error(_write(tmp_path, text))
    assert error.line == _line(text, "    body: !")
    assert "is not allowed" in error.message and "bad.yaml" in error.message
    assert not marker.exists()


def test_object_tag_in_a_key_vcrpy_ignores_is_refused_too(tmp_path: Path) -> None:
    text = VALID + "metadata: !!python/object/apply:os.getcwd []\n"
    assert _error(_write(tmp_path, text)).line == _line(text, "metadata")


def test_billion_laughs_is_refused_without_expanding(tmp_path: Path) -> None:
    levels = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    levels += [f"a{i}: &a{i} [{', '.join([f'*a{i - 1}'] * 9)}]" for i in range(1, 10)]
    text = "bomb:\n" + "".join(f"  {level}\n" for level in levels) + VALID
    text = text.replace("body: <a/>", "body: *a9")
    error = _error(_write(tmp_path, text))
    assert "aliases" in error.message and "billion laughs" in error.message
    assert error.line is not None


def test_any_alias_is_refused(tmp_path: Path) -> None:
    text = VALID.replace("body: <a/>", "body: &x <a/>").replace("string: <b/>", "string: *x")
    error = _error(_write(tmp_path, text))
    assert error.line == _line(text, "&x")


# field path (as the message names it), text to replace, replacement
WRONG_TYPES = [
    ("version", "version: 1", "version: one"),
    ("version", "version: 1", "version: 2"),
    ("'interactions' must be a list", "interactions:\n- ihe:", "interactions: {}\nx:\n- ihe:"),
    ("ihe.format", "  format: 1", "  format: [1]"),
    ("ihe.format", "  format: 1", "  format: 99"),
    ("ihe: unknown key 'colour'", "  format: 1", "  format: 1\n  colour: red"),
    ("interaction 1 must be a mapping", "- ihe:\n    transaction", "- 7\n- ihe:\n    transaction"),
    ("interaction 1: ihe.transaction", "transaction: ITI-18", "transaction: [ITI-18]"),
    ("interaction 1: ihe.duration_ms", "duration_ms: 3.5", "duration_ms: fast"),
    ("interaction 1: ihe.captured", "      pid: '1'", "      pid: [1]"),
    ("interaction 1: ihe: unknown key", "    duration_ms: 3.5", "    duration: 3.5"),
    ("interaction 1: request.method", "method: POST", "method: {a: 1}"),
    ("interaction 1: request.uri", "uri: http://h/p", "uri: [http://h/p]"),
    ("interaction 1: request.headers", "    headers:\n      Content-Type:\n      - text/xml",
     "    headers: [1]"),
    ("interaction 1: request.headers.Content-Type", "      - text/xml", "      - {a: b}"),
    ("interaction 1: request.body", "body: <a/>", "body: [1, 2]"),
    ("interaction 1: request.body", "body: <a/>", "body: !!binary '@@@'"),
    ("interaction 1: request: unknown key 'extra'", "    uri: http://h/p",
     "    uri: http://h/p\n    extra: 1"),
    ("interaction 1: request has no 'uri'", "    uri: http://h/p\n", ""),
    ("interaction 1: response.status", "    status:\n      code: 200\n      message: OK",
     "    status: 200"),
    ("interaction 1: response.status.code", "code: 200", "code: '200'"),
    ("interaction 1: response.status.code", "code: 200", "code: 42"),
    ("interaction 1: response.status.message", "message: OK", "message: [OK]"),
    ("interaction 1: response.headers.Server", "      - x", "      - !!binary eA=="),
    ("interaction 1: response.body", "    body:\n      string: <b/>", "    body: <b/>"),
    ("interaction 1: response.body has no 'string'", "      string: <b/>", "      strin: <b/>"),
    ("interaction 1: response.body.string", "string: <b/>", "string: 12"),
    ("interaction 1 has no 'response'", "  response:\n", "  respons:\n"),
    ("duplicate key 'method'", "    method: POST", "    method: POST\n    method: GET"),
    ("keys must be strings", "    method: POST", "    method: POST\n    [1]: x"),
]


@pytest.mark.parametrize(("field", "old", "new"), WRONG_TYPES, ids=[w[0] + "/" + w[2][:12]
                                                                    for w in WRONG_TYPES])
def test_wrong_types_in_every_field_name_field_and_line(
    tmp_path: Path, field: str, old: str, new: str,
) -> None:
    assert old in VALID
    text = VALID.replace(old, new, 1)
    error = _error(_write(tmp_path, text))
    assert field in error.message
    assert re.search(r"bad\.yaml:\d+: ", error.message), error.message
    assert error.line is not None and 1 <= error.line <= len(text.splitlines()) + 1


def test_truncated_at_any_byte_is_an_error_never_a_shorter_cassette(tmp_path: Path) -> None:
    path = tmp_path / "full.yaml"
    saved = Cassette((
        Interaction(Request("POST", "http://h/p", Headers([("A", "1")]), "Zürich\r\n".encode()),
                    Response(200, "OK", body=b"<r>\n  ok\n</r>\n")),
        Interaction(Request("GET", "http://h/q"), Response(500, "Error", body=bytes(range(90)))),
    ))
    save_cassette(path, saved)
    data = path.read_bytes()
    cut = tmp_path / "cut.yaml"
    for length in range(len(data) - 1):
        cut.write_bytes(data[:length])
        with pytest.raises(CassetteError) as caught:
            load_cassette(cut)
        assert "cut.yaml" in caught.value.message and caught.value.line is not None, length
    cut.write_bytes(data[:-1])  # only the final newline missing: still the whole cassette
    whole = load_cassette(cut)
    assert whole == load_cassette(path)
    assert whole.interactions == saved.interactions  # and that is what was saved


def test_truncation_message_says_what_happened(tmp_path: Path) -> None:
    text = VALID[: VALID.index("version: 1")]
    error = _error(_write(tmp_path, text))
    assert "truncated" in error.message and error.line == len(text.splitlines())


def test_non_utf8_bytes_name_the_line(tmp_path: Path) -> None:
    data = VALID.replace("<b/>", "M\xfcller").encode("latin-1")
    error = _error(_write(tmp_path, data))
    assert "not UTF-8" in error.message and "0xFC" in error.message
    assert error.line == _line(VALID, "<b/>")


def test_control_characters_name_the_line(tmp_path: Path) -> None:
    error = _error(_write(tmp_path, VALID.replace("<b/>", "<b\x01/>")))
    assert error.line == _line(VALID, "<b/>") and "U+0001" in error.message


@pytest.mark.parametrize(
    ("text", "problem"),
    [("", "empty file"), ("   \n# only a comment\n", "empty file"),
     ("- request: {}\n", "not a cassette"), ("just text\n", "not a cassette"),
     ("name: x\nversion: 1\n", "no 'interactions'"),
     ("interactions: []\n", "truncated or not a vcrpy cassette"),
     ("interactions: []\nversion: 1\n---\ninteractions: []\nversion: 1\n", "single document"),
     ("interactions: [\nversion: 1\n", "not valid YAML"),
     ("a: b: c\n", "not valid YAML")],
)
def test_files_that_are_not_cassettes(tmp_path: Path, text: str, problem: str) -> None:
    error = _error(_write(tmp_path, text))
    assert problem in error.message and error.line is not None


def test_missing_file_and_folder(tmp_path: Path) -> None:
    assert "cannot read cassette" in _error(tmp_path / "nope.yaml").message
    assert "cannot read cassette" in _error(tmp_path).message


def test_an_empty_cassette_is_valid(tmp_path: Path) -> None:
    assert load_cassette(_write(tmp_path, "interactions: []\nversion: 1\n")) == Cassette()
