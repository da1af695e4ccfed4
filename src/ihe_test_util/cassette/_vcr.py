"""The one module that imports vcrpy: our store as a vcrpy persister, and capture helpers.

vcrpy separates *what* is recorded (its stubs, matchers and record modes) from *where* it is
kept (a persister). :class:`StorePersister` plugs our store into that seam, so code that
already uses vcrpy gets safe loading, redaction before anything touches the disk, atomic
writes and the readable layout, while vcrpy still does the patching and the matching.
Works with vcrpy 8.2.1 and later (the persister API has been stable since vcrpy 2).
"""

from __future__ import annotations

import io
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import vcr
from vcr.persisters.filesystem import CassetteNotFoundError
from vcr.request import Request as VcrRequest

from ihe_test_util import __version__
from ihe_test_util.cassette.redact import Redactor
from ihe_test_util.cassette.store import load_cassette, now_utc, save_cassette
from ihe_test_util.model import (
    Cassette,
    CassetteMeta,
    Headers,
    Interaction,
    InteractionMeta,
    Request,
    Response,
)


class StorePersister:
    """A vcrpy persister reading and writing cassettes through :mod:`.store`.

    Per-interaction metadata of loaded interactions survives vcrpy's re-saves: vcrpy hands
    back copies of the requests it loaded, so they are recognised by method, URI and body.
    """

    def __init__(self, redactor: Redactor | None = None, meta: CassetteMeta | None = None) -> None:
        self.redactor = redactor if redactor is not None else Redactor()
        self.meta = meta
        self._loaded_meta: dict[tuple[str, str, bytes], list[InteractionMeta]] = {}

    def load_cassette(self, cassette_path: str | Path, serializer: object = None) -> (
        tuple[list[Any], list[dict[str, Any]]]
    ):
        path = Path(cassette_path)
        if not path.is_file():
            raise CassetteNotFoundError()
        cassette = load_cassette(path)
        self._loaded_meta = {}
        for interaction in cassette.interactions:
            self._loaded_meta.setdefault(_identity(interaction.request), []).append(
                interaction.meta)
        if self.meta is None:
            self.meta = cassette.meta
        return ([to_vcr_request(i.request) for i in cassette.interactions],
                [to_vcr_response(i.response) for i in cassette.interactions])

    def save_cassette(self, cassette_path: str | Path, cassette_dict: dict[str, Any],
                      serializer: object = None) -> None:
        interactions = []
        for vcr_request, vcr_response in zip(
            cassette_dict["requests"], cassette_dict["responses"], strict=True,
        ):
            request = from_vcr_request(vcr_request)
            known = self._loaded_meta.get(_identity(request))
            interactions.append(Interaction(
                request=request, response=from_vcr_response(vcr_response),
                meta=known.pop(0) if known else InteractionMeta(),
            ))
        meta = self.meta or CassetteMeta(tool_version=__version__, recorded_at=now_utc())
        save_cassette(Path(cassette_path), Cassette(tuple(interactions), meta),
                      redactor=self.redactor)


def _identity(request: Request) -> tuple[str, str, bytes]:
    return request.method, request.uri, request.body


@contextmanager
def record_with_vcr(
    path: Path, *, redactor: Redactor | None = None, meta: CassetteMeta | None = None,
    record_mode: str = "once", **use_cassette_options: Any,
) -> Iterator[Any]:
    """Capture the HTTP calls your own (requests, urllib3, httpx, ...) code makes, into ``path``.

    vcrpy intercepts and matches; our store redacts and writes. ``record_mode="none"`` plays
    a cassette back without network. ``meta`` defaults to the loaded cassette's, else to this
    tool's version and the time of saving. Yields vcrpy's cassette object.
    """
    recorder = vcr.VCR(record_mode=record_mode)
    recorder.register_persister(StorePersister(redactor=redactor, meta=meta))
    with recorder.use_cassette(str(path), **use_cassette_options) as cassette:
        yield cassette


# --------------------------------------------------------------------------- conversions


def to_vcr_request(request: Request) -> Any:
    headers = dict(request.headers)
    return VcrRequest(request.method, request.uri, request.body or None, headers)


def to_vcr_response(response: Response) -> dict[str, Any]:
    return {
        "status": {"code": response.status, "message": response.reason},
        "headers": response.headers.as_multidict(),
        "body": {"string": response.body},
    }


def from_vcr_request(request: Any) -> Request:
    body = request.body
    if hasattr(body, "read"):
        body = body.read()
    elif body is not None and not isinstance(body, bytes | str):
        body = b"".join(part if isinstance(part, bytes) else str(part).encode() for part in body)
    if isinstance(body, str):
        body = body.encode("utf-8")
    headers = Headers(
        (str(name), _text(value)) for name, value in dict(request.headers).items()
    )
    return Request(method=str(request.method), uri=str(request.uri), headers=headers,
                   body=body or b"")


def from_vcr_response(response: dict[str, Any]) -> Response:
    status = response.get("status", {})
    body = response.get("body", {}).get("string") or b""
    if isinstance(body, str):
        body = body.encode("utf-8")
    elif isinstance(body, io.BytesIO):
        body = body.getvalue()
    pairs: list[tuple[str, str]] = []
    for name, values in (response.get("headers") or {}).items():
        for value in values if isinstance(values, list | tuple) else [values]:
            pairs.append((str(name), _text(value)))
    return Response(status=int(status.get("code", 0)), reason=str(status.get("message") or ""),
                    headers=Headers(pairs), body=bytes(body))


def _text(value: object) -> str:
    if isinstance(value, list | tuple):
        value = value[0] if value else ""
    if isinstance(value, bytes):
        return value.decode("latin-1")
    return str(value)
