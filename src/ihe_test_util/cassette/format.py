"""The cassette layout: the only module that knows which YAML key holds what.

A cassette is vcrpy's format version 1 plus ``ihe:`` keys that vcrpy never reads::

    ihe: {format, tool_version, recorded_at, name}        # per cassette
    interactions:
    - ihe: {transaction, step, endpoint, duration_ms, recorded_at, captured,
            request_view, response_view}                    # per interaction
      request: {method, uri, headers, body}                 # exactly vcrpy's keys
      response: {status: {code, message}, headers, body: {string}}
    version: 1                                              # last: a truncated file lacks it

Bodies are ``str`` (UTF-8 text: vcrpy encodes it back to the same bytes) or ``!!binary``;
``*_view`` keys carry the readable view of a binary body (see :mod:`.views`).

What could not go on the wire is refused here, with file and line, so ``ihe cassette check``
rejects everything replay and serve would: a method and header names must be HTTP tokens,
header values Latin-1 text without control characters (CR and LF would split the header), a
URI and a reason phrase without control characters; an ``mllp://`` exchange has method
``MLLP`` and an HL7 v2 message stored without MLLP framing.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

from yaml.constructor import ConstructorError, SafeConstructor
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from ihe_test_util.cassette.serializer import (
    BINARY_TAG,
    TEXT_TAGS,
    emit_mapping,
    emit_sequence,
    line_of,
)
from ihe_test_util.cassette.views import as_text, body_view
from ihe_test_util.errors import CassetteError, IheTestError
from ihe_test_util.model import (
    CASSETTE_FORMAT_VERSION,
    Cassette,
    CassetteMeta,
    Headers,
    Interaction,
    InteractionMeta,
    Request,
    Response,
)
from ihe_test_util.transport.mllp import MLLP_METHOD, MllpAddress
from ihe_test_util.transport.mllp import SCHEMES as MLLP_SCHEMES

#: vcrpy's cassette format version, written as the last line of every cassette.
VCR_FORMAT_VERSION = 1
IHE_KEY = "ihe"
HEADER_COMMENT = (
    "# ihe-test-utility cassette: vcrpy format 1 plus 'ihe' keys vcrpy ignores.\n"
    "# Layout, placeholders and compatibility: docs/cassette-format.md\n"
)
DOCUMENT_TAIL = f"version: {VCR_FORMAT_VERSION}\n"

_BASE64_TEXT = re.compile(r"[A-Za-z0-9+/=\s]*")
#: RFC 9110 token: a method or a header name.
_HTTP_TOKEN = re.compile(r"[!#$%&'*+\-.^_`|~0-9A-Za-z]+")
#: What a header value may hold: Latin-1 without control characters (HTAB allowed).
_HEADER_VALUE = re.compile(r"[\t\x20-\x7e\x80-\xff]*")
#: Control characters: never in a request line or a status line (a URI or a reason phrase
#: holding one cannot be sent, and CR/LF would split the line).
_CONTROL = re.compile(r"[\x00-\x1f\x7f]")
_REQUEST_KEYS = ("method", "uri", "headers", "body")
_META_KEYS = ("format", "tool_version", "recorded_at", "name")
_INTERACTION_META_KEYS = (
    "transaction", "step", "endpoint", "duration_ms", "recorded_at", "captured",
    "request_view", "response_view",
)


# --------------------------------------------------------------------------- writing


def document_head(meta: CassetteMeta, *, empty: bool) -> str:
    """Everything before the first interaction (or the whole list, when there is none)."""
    tree: dict[str, Any] = {IHE_KEY: _cassette_meta_tree(meta)}
    text = HEADER_COMMENT + "".join(emit_mapping(tree))
    return text + ("interactions: []\n" if empty else "interactions:\n")


def interaction_lines(interaction: Interaction) -> Iterator[str]:
    """One ``- ...`` item of the ``interactions`` list."""
    return emit_sequence([interaction_tree(interaction)])


def document_lines(cassette: Cassette) -> Iterator[str]:
    yield document_head(cassette.meta, empty=not cassette.interactions)
    for interaction in cassette.interactions:
        yield from interaction_lines(interaction)
    yield DOCUMENT_TAIL


def interaction_tree(interaction: Interaction) -> dict[str, Any]:
    request, response = interaction.request, interaction.response
    request_body = body_value(request.body)
    response_body = body_value(response.body)
    meta = _interaction_meta_tree(interaction.meta)
    _add_view(meta, "request_view", request.body, request.content_type,
              request.headers.get("Content-Encoding"))
    _add_view(meta, "response_view", response.body, response.content_type,
              response.headers.get("Content-Encoding"))
    tree: dict[str, Any] = {IHE_KEY: meta} if meta else {}
    tree["request"] = {
        "method": request.method,
        "uri": request.uri,
        "headers": request.headers.as_multidict(),
        "body": request_body if request.body else None,
    }
    tree["response"] = {
        "status": {"code": response.status, "message": response.reason},
        "headers": response.headers.as_multidict(),
        "body": {"string": response_body},
    }
    return tree


def body_value(body: bytes) -> str | bytes:
    """Text when vcrpy's ``str.encode("utf-8")`` gives the body back, else the bytes."""
    text = as_text(body)
    return body if text is None else text


def _add_view(meta: dict[str, Any], key: str, body: bytes, content_type: str | None,
              content_encoding: str | None) -> None:
    view = body_view(body, content_type, content_encoding)
    if view is not None:
        meta[key] = view


def _cassette_meta_tree(meta: CassetteMeta) -> dict[str, Any]:
    tree: dict[str, Any] = {"format": meta.format_version}
    for key in ("tool_version", "recorded_at", "name"):
        value = getattr(meta, key)
        if value is not None:
            tree[key] = value
    return tree


def _interaction_meta_tree(meta: InteractionMeta) -> dict[str, Any]:
    tree: dict[str, Any] = {}
    for key in ("transaction", "step", "endpoint"):
        value = getattr(meta, key)
        if value is not None:
            tree[key] = value
    if meta.duration_ms is not None:
        tree["duration_ms"] = round(float(meta.duration_ms), 3)
    if meta.recorded_at is not None:
        tree["recorded_at"] = meta.recorded_at
    if meta.captured:
        tree["captured"] = {str(k): str(v) for k, v in meta.captured.items()}
    return tree


# --------------------------------------------------------------------------- reading


def read_cassette(root: Node, path: Path) -> Cassette:
    """Build the model from a composed (already safety-checked) node tree."""
    return _Reader(path).cassette(root)


class _Reader:
    """Typed access to nodes; every failure names the file, the line and the field."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._scalars = SafeConstructor()

    def error(self, node: Node, message: str, hint: str | None = None) -> CassetteError:
        return CassetteError(message, path=self.path, line=line_of(node), hint=hint)

    # -- document

    def cassette(self, root: Node) -> Cassette:
        if not isinstance(root, MappingNode):
            raise self.error(root, "not a cassette: expected a mapping with 'interactions' and "
                            "'version' at the top level")
        fields = self.mapping(root, "the cassette")
        if "interactions" not in fields:
            raise self.error(root, "not a cassette: no 'interactions' key")
        if "version" not in fields:
            end = root.end_mark
            raise CassetteError(
                "no 'version: 1' key: the file is truncated or not a vcrpy cassette",
                path=self.path, line=int(end.line) + (0 if end.column == 0 else 1),
                hint="cassettes end with 'version: 1'; restore the file from version control",
            )
        version = self.integer(fields["version"], "version")
        if version != VCR_FORMAT_VERSION:
            raise self.error(fields["version"], f"vcrpy cassette format version {version} is not "
                                         f"supported (only {VCR_FORMAT_VERSION})")
        meta = self.cassette_meta(fields[IHE_KEY]) if IHE_KEY in fields else CassetteMeta()
        items = fields["interactions"]
        if not isinstance(items, SequenceNode):
            raise self.error(items, "'interactions' must be a list")
        interactions = tuple(
            self.interaction(item, index) for index, item in enumerate(items.value, start=1)
        )
        return Cassette(interactions=interactions, meta=meta)

    def cassette_meta(self, node: Node) -> CassetteMeta:
        fields = self.mapping(node, "ihe", allowed=_META_KEYS)
        format_version = CASSETTE_FORMAT_VERSION
        if "format" in fields:
            format_version = self.integer(fields["format"], "ihe.format")
            if format_version > CASSETTE_FORMAT_VERSION:
                raise self.error(fields["format"],
                                 f"ihe.format: cassette format {format_version} is newer than "
                                 f"this tool understands ({CASSETTE_FORMAT_VERSION})",
                                 hint="upgrade ihe-test-utility")
        return CassetteMeta(
            tool_version=self.optional_text(fields, "tool_version", "ihe."),
            format_version=format_version,
            recorded_at=self.optional_text(fields, "recorded_at", "ihe."),
            name=self.optional_text(fields, "name", "ihe."),
        )

    def interaction(self, node: Node, index: int) -> Interaction:
        where = f"interaction {index}"
        if not isinstance(node, MappingNode):
            raise self.error(node, f"{where} must be a mapping with 'request' and 'response'")
        fields = self.mapping(node, where)
        for key in ("request", "response"):
            if key not in fields:
                raise self.error(node, f"{where} has no '{key}'",
                          hint="the file may be truncated or hand-edited")
        request = self.request(fields["request"], f"{where}: request")
        response = self.response(fields["response"], f"{where}: response")
        meta = InteractionMeta()
        if IHE_KEY in fields:
            meta = self.interaction_meta(fields[IHE_KEY], f"{where}: ihe", request, response)
        return Interaction(request=request, response=response, meta=meta)

    def request(self, node: Node, where: str) -> Request:
        # vcrpy builds Request(**mapping): any other key breaks playback, so refuse it here.
        fields = self.mapping(node, where, allowed=_REQUEST_KEYS)
        for key in ("method", "uri"):
            if key not in fields:
                raise self.error(node, f"{where} has no '{key}'")
        method = self.text(fields["method"], f"{where}.method")
        if not _HTTP_TOKEN.fullmatch(method):
            raise self.error(fields["method"], f"{where}.method {method!r} is not an HTTP method "
                             "(one token: letters, digits, ! # $ % & ' * + - . ^ _ ` | ~)")
        uri = self.text(fields["uri"], f"{where}.uri")
        if _CONTROL.search(uri):
            raise self.error(fields["uri"], f"{where}.uri {uri[:200]!r} holds a control "
                             "character: no request line can carry it")
        request = Request(
            method=method,
            uri=uri,
            headers=self.headers(fields.get("headers"), f"{where}.headers"),
            body=self.body(fields.get("body"), f"{where}.body"),
        )
        self.check_mllp(fields, where, request)
        return request

    def check_mllp(self, fields: Mapping[str, Node], where: str, request: Request) -> None:
        """An MLLP exchange (``mllp://`` URI) as the contract has it: method ``MLLP``, a host
        and port, an HL7 v2 message stored without MLLP framing. An ``MLLP`` method needs an
        ``mllp://`` URI."""
        scheme = request.uri.partition("://")[0].lower()
        if scheme not in MLLP_SCHEMES:
            if request.method == MLLP_METHOD:
                raise self.error(fields["uri"], f"{where}.uri {request.uri!r}: an MLLP exchange "
                                 "is sent to an mllp:// or mllps:// URL")
            return
        if request.method != MLLP_METHOD:
            raise self.error(fields["method"], f"{where}.method {request.method!r}: an "
                             f"{scheme}:// exchange has method {MLLP_METHOD}")
        try:
            MllpAddress.parse(request.uri)
        except IheTestError as exc:
            raise self.error(fields["uri"], f"{where}.uri: {exc.message}", hint=exc.hint) \
                from None
        body = request.body
        if body[:1] == b"\x0b" or body.rstrip(b"\r\n").endswith(b"\x1c"):
            raise self.error(fields.get("body", fields["uri"]), f"{where}.body is stored with "
                             "MLLP framing (<VT> ... <FS><CR>)",
                             hint="a cassette stores HL7 v2 messages without the framing")
        if not body.lstrip(b"\xef\xbb\xbf").startswith(b"MSH"):
            raise self.error(fields.get("body", fields["uri"]), f"{where}.body is not an HL7 "
                             "v2 message (it must start with an MSH segment)")

    def response(self, node: Node, where: str) -> Response:
        fields = self.mapping(node, where)  # vcrpy tolerates extra keys here; so do we
        if "status" not in fields:
            raise self.error(node, f"{where} has no 'status'")
        status = self.mapping(fields["status"], f"{where}.status")
        if "code" not in status:
            raise self.error(fields["status"], f"{where}.status has no 'code'")
        code = self.integer(status["code"], f"{where}.status.code")
        if not 100 <= code <= 999:
            raise self.error(status["code"], f"{where}.status.code {code} is not an HTTP status")
        reason = ""
        if "message" in status:
            reason = self.text(status["message"], f"{where}.status.message", allow_null=True)
            if _CONTROL.search(reason or ""):
                raise self.error(status["message"], f"{where}.status.message "
                                 f"{reason[:200]!r} holds a control character: no status line "
                                 "can carry it")
        body = b""
        if "body" in fields:
            body_fields = self.mapping(fields["body"], f"{where}.body")
            if "string" not in body_fields:
                raise self.error(fields["body"], f"{where}.body has no 'string'")
            body = self.body(body_fields["string"], f"{where}.body.string")
        return Response(
            status=code, reason=reason,
            headers=self.headers(fields.get("headers"), f"{where}.headers"), body=body,
        )

    def interaction_meta(
        self, node: Node, where: str, request: Request, response: Response,
    ) -> InteractionMeta:
        fields = self.mapping(node, where, allowed=_INTERACTION_META_KEYS)
        duration: float | None = None
        if "duration_ms" in fields:
            duration = self.number(fields["duration_ms"], f"{where}.duration_ms")
        captured: dict[str, str] = {}
        if "captured" in fields:
            for key, value in self.mapping(fields["captured"], f"{where}.captured").items():
                captured[key] = self.text(value, f"{where}.captured.{key}")
        for key, message in (("request_view", request), ("response_view", response)):
            if key in fields:
                self.check_view(fields[key], f"{where}.{key}", message.body,
                                message.content_type, message.headers.get("Content-Encoding"))
        return InteractionMeta(
            transaction=self.optional_text(fields, "transaction", where + "."),
            step=self.optional_text(fields, "step", where + "."),
            endpoint=self.optional_text(fields, "endpoint", where + "."),
            duration_ms=duration,
            recorded_at=self.optional_text(fields, "recorded_at", where + "."),
            captured=captured,
        )

    def check_view(self, node: Node, where: str, body: bytes, content_type: str | None,
                   content_encoding: str | None) -> None:
        """A view must show exactly what plays back: it is derived from the body."""
        expected = body_view(body, content_type, content_encoding)
        if self.plain(node) != expected:
            raise self.error(node, f"{where} does not match the body it shows (the body is what "
                            "plays back; the view is derived from it)",
                      hint="delete the view, or re-save the cassette to regenerate it")

    # -- values

    def mapping(
        self, node: Node, where: str, allowed: tuple[str, ...] | None = None,
    ) -> dict[str, Node]:
        if not isinstance(node, MappingNode):
            raise self.error(node, f"{where} must be a mapping, got {_kind(node)}")
        fields: dict[str, Node] = {}
        for key_node, value_node in node.value:
            if not isinstance(key_node, ScalarNode) or key_node.tag not in TEXT_TAGS:
                raise self.error(key_node, f"{where}: keys must be strings, got {_kind(key_node)}")
            key = str(key_node.value)
            if key in fields:
                raise self.error(key_node, f"{where}: duplicate key {key!r}")
            if allowed is not None and key not in allowed:
                raise self.error(key_node, f"{where}: unknown key {key!r}",
                          hint=f"allowed here: {', '.join(allowed)}")
            fields[key] = value_node
        return fields

    def text(self, node: Node, where: str, *, allow_null: bool = False) -> str:
        if isinstance(node, ScalarNode):
            if node.tag in TEXT_TAGS:
                return str(node.value)
            if allow_null and node.tag.endswith(":null"):
                return ""
        raise self.error(node, f"{where} must be a string, got {_kind(node)}")

    def optional_text(self, fields: Mapping[str, Node], key: str, prefix: str) -> str | None:
        node = fields.get(key)
        if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")):
            return None
        return self.text(node, prefix + key)

    def integer(self, node: Node, where: str) -> int:
        value = self.scalar(node) if isinstance(node, ScalarNode) else None
        if not isinstance(value, int) or isinstance(value, bool):
            raise self.error(node, f"{where} must be an integer, got {_kind(node)}")
        return value

    def number(self, node: Node, where: str) -> float | None:
        value = self.scalar(node) if isinstance(node, ScalarNode) else None
        if value is None and isinstance(node, ScalarNode) and node.tag.endswith(":null"):
            return None
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise self.error(node, f"{where} must be a number, got {_kind(node)}")
        return float(value)

    def headers(self, node: Node | None, where: str) -> Headers:
        if node is None or (isinstance(node, ScalarNode) and node.tag.endswith(":null")):
            return Headers()
        pairs: list[tuple[str, str]] = []
        for name, value in self.mapping(node, where).items():
            if not _HTTP_TOKEN.fullmatch(name):
                raise self.error(value, f"{where}: {name!r} is not an HTTP header name")
            values = value.value if isinstance(value, SequenceNode) else [value]
            for item in values:
                if not isinstance(item, ScalarNode) or item.tag == BINARY_TAG:
                    raise self.error(item, f"{where}.{name} must be a string or a list of strings, "
                                    f"got {_kind(item)}")
                # Header values are text whatever YAML would resolve them to (12, true, ...).
                text = "" if item.tag.endswith(":null") else str(item.value)
                if not _HEADER_VALUE.fullmatch(text):
                    bad = next(char for char in text if not _HEADER_VALUE.fullmatch(char))
                    raise self.error(item, f"{where}.{name} holds {bad!r}, which an HTTP header "
                                     "cannot carry (Latin-1 text without control characters)")
                pairs.append((name, text))
        return Headers(pairs)

    def body(self, node: Node | None, where: str) -> bytes:
        if node is None:
            return b""
        if not isinstance(node, ScalarNode):
            raise self.error(node, f"{where} must be a string or !!binary, got {_kind(node)}")
        if node.tag == BINARY_TAG:
            # a2b_base64 reads an ASCII str in place: no copy of a large body's text.
            value = str(node.value)
            if not _BASE64_TEXT.fullmatch(value):
                raise self.error(node, f"{where}: !!binary value is not valid base64")
            try:
                return binascii.a2b_base64(value)
            except binascii.Error:
                raise self.error(node, f"{where}: !!binary value is not valid base64") from None
        if node.tag.endswith(":null"):
            return b""
        if node.tag in TEXT_TAGS:
            return str(node.value).encode("utf-8")
        raise self.error(node, f"{where} must be a string or !!binary, got {_kind(node)}")

    def scalar(self, node: Node) -> Any:
        try:
            return self._scalars.construct_object(node)
        except (ConstructorError, ValueError):
            kind = node.tag.rsplit(":", 1)[-1]
            raise self.error(node, f"invalid {kind} value {node.value!r}") from None

    def plain(self, node: Node) -> Any:
        """Plain Python for a small subtree (views): dicts, lists, scalars."""
        if isinstance(node, MappingNode):
            return {key: self.plain(value) for key, value in self.mapping(node, "view").items()}
        if isinstance(node, SequenceNode):
            return [self.plain(item) for item in node.value]
        if node.tag in TEXT_TAGS:
            return str(node.value)
        return self.scalar(node)


_KINDS = {"str": "a string", "int": "an integer", "float": "a number", "bool": "a boolean",
          "null": "null", "binary": "binary data", "timestamp": "a timestamp"}


def _kind(node: Node) -> str:
    if isinstance(node, MappingNode):
        return "a mapping"
    if isinstance(node, SequenceNode):
        return "a list"
    tag = str(node.tag).rsplit(":", 1)[-1]
    name = _KINDS.get(tag, f"a {tag} value")
    if tag in ("str", "binary", "null"):
        return name
    return f"{name} ({str(node.value)[:30]!r})"
