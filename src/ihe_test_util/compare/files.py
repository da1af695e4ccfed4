"""Read a response saved to a file: a bare body, or a raw HTTP capture with its headers.

Captures come in several shapes (see the corpus ``*_raw.xml`` files): an HTTP status line and
header block before the body, sometimes preceded by a tool's banner line
(``DefaultHttpResponse(chunked: false)``); a bare MTOM multipart body starting with its boundary;
or just the XML / ER7 / JSON body. Without a status line the HTTP status is unknown (0) and is
not compared. Multipart captures saved as text with bare LF line ends (MIME needs CRLF) get
their line ends restored; live responses never pass through here.
"""

from __future__ import annotations

import re
from pathlib import Path

from ihe_test_util.errors import UsageError
from ihe_test_util.model import Headers, Response

_STATUS_LINE = re.compile(rb"HTTP/\d(?:\.\d)?\s+(\d{3})(?:[ \t]+([^\r\n]*))?")
_REQUEST_LINE = re.compile(rb"[A-Z]+\s+\S+\s+HTTP/\d(?:\.\d)?")
_HEADER = re.compile(rb"([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*)")
#: Banner lines a capture tool may print before the status line.
_MAX_BANNER_LINES = 3


def load_response_file(path: Path) -> Response:
    """The response saved in ``path``; :class:`UsageError` naming the file if it cannot be read."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise UsageError(f"{path}: no such file") from None
    except IsADirectoryError:
        raise UsageError(f"{path}: is a directory, expected a response file") from None
    except OSError as exc:
        raise UsageError(f"{path}: cannot read: {exc.strerror or exc}") from None
    return parse_capture(data)


def parse_capture(data: bytes) -> Response:
    """Split an optional HTTP head from the body (see the module docstring)."""
    lines = data.split(b"\n", _MAX_BANNER_LINES + 1)
    for index, line in enumerate(lines[:_MAX_BANNER_LINES + 1]):
        stripped = line.strip()
        status = _STATUS_LINE.match(stripped)
        if status or _REQUEST_LINE.match(stripped):
            offset = sum(len(previous) + 1 for previous in lines[:index])
            return _with_head(data[offset:], status)
        if stripped.startswith((b"<", b"{", b"[", b"MSH", b"--")) or not stripped:
            break
    if data.lstrip().startswith(b"--"):
        return _bare_multipart(data)
    return Response(status=0, body=data)


def _with_head(data: bytes, status: re.Match[bytes] | None) -> Response:
    head, separator, body = _split_head(data)
    header_lines = head.splitlines()[1:]
    headers: list[tuple[str, str]] = []
    for line in header_lines:
        match = _HEADER.match(line.strip())
        if match:
            headers.append((match.group(1).decode("latin-1"),
                            match.group(2).decode("latin-1").strip()))
    parsed = Headers(headers)
    if not separator:
        body = b""
    if (parsed.get("Transfer-Encoding") or "").lower() == "chunked":
        body = _dechunk(body)
    if (parsed.get("Content-Type") or "").lower().startswith("multipart/"):
        body = _crlf(body)
    if status is None:
        return Response(status=0, headers=parsed, body=body)
    reason = (status.group(2) or b"").decode("latin-1").strip()
    return Response(status=int(status.group(1)), reason=reason, headers=parsed, body=body)


def _split_head(data: bytes) -> tuple[bytes, bytes, bytes]:
    crlf = data.find(b"\r\n\r\n")
    lf = data.find(b"\n\n")
    if crlf >= 0 and (lf < 0 or crlf <= lf):
        return data[:crlf], b"\r\n\r\n", data[crlf + 4:]
    if lf >= 0:
        return data[:lf], b"\n\n", data[lf + 2:]
    return data, b"", b""


def _dechunk(body: bytes) -> bytes:
    """Undo chunked transfer coding; a capture that is not really chunked is kept as is."""
    out = bytearray()
    position = 0
    while True:
        end = body.find(b"\r\n", position)
        if end < 0:
            return body
        size_text = body[position:end].split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            return body
        if size == 0:
            return bytes(out)
        start = end + 2
        out += body[start:start + size]
        position = start + size + 2


def _bare_multipart(data: bytes) -> Response:
    first = data.lstrip().split(b"\n", 1)[0].strip()
    boundary = first[2:].decode("latin-1")
    content_type = f'multipart/related; type="application/xop+xml"; boundary="{boundary}"'
    return Response(status=0, headers=Headers([("Content-Type", content_type)]),
                    body=_crlf(data))


def _crlf(body: bytes) -> bytes:
    """LF-only text captures of MIME bodies back to CRLF (bodies with any CR are left alone)."""
    if b"\r" in body:
        return body
    return body.replace(b"\n", b"\r\n")
