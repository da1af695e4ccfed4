"""Keep secrets out of cassettes: named placeholders in, values from configuration back out.

What is replaced, and by which placeholder (``[[ihe-secret:NAME]]``):

* the value of ``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie`` and any
  configured header: ``NAME`` is the header name in lower case, ``-`` as ``_``
  (``[[ihe-secret:authorization]]``);
* in XML bodies (plain or MTOM parts), by element namespace and name, see :data:`XML_SECRETS`:
  SAML assertions as whole elements, WS-Security ``BinarySecurityToken`` and ``Password``
  contents, keeping the surrounding bytes exactly;
* PEM private keys anywhere in a body (``[[ihe-secret:private_key]]``).

The syntax means nothing in XML, HTTP headers, HL7v2, JSON, Jinja or shells, so a placeholder
survives every layer untouched. Replay lists the placeholders a request needs
(:func:`placeholders_in_request`) and fills them from configured secrets
(:func:`fill_request`); the ``Content-Length`` header follows the body.

XML is located with the hardened parser first (hostile XML is refused) and then scanned with
expat for exact byte offsets, so nothing but the secret changes. A body that is not
well-formed XML but carries a WS-Security or SAML namespace is redacted by a textual fallback
that errs on the side of removing too much.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING
from xml.parsers import expat

from ihe_test_util.cassette.views import mime_spans
from ihe_test_util.errors import ConfigError, XmlInputError
from ihe_test_util.ihe.namespaces import SAML2, WSSE
from ihe_test_util.model import Headers, Interaction, Request, Response
from ihe_test_util.safexml import parse_xml
from ihe_test_util.transport.mtom import is_multipart

if TYPE_CHECKING:
    from ihe_test_util.config import Settings

SAML1 = "urn:oasis:names:tc:SAML:1.0:assertion"

#: Headers whose values are always secrets.
DEFAULT_SECRET_HEADERS = ("Authorization", "Proxy-Authorization", "Cookie", "Set-Cookie")

PLACEHOLDER_PATTERN = re.compile(r"\[\[ihe-secret:([a-z0-9][a-z0-9_.-]*)\]\]")
_PLACEHOLDER_BYTES = re.compile(PLACEHOLDER_PATTERN.pattern.encode("ascii"))


def placeholder(name: str) -> str:
    """The placeholder text for secret ``name`` (lower-case letters, digits, ``_.-``)."""
    text = f"[[ihe-secret:{name}]]"
    if not PLACEHOLDER_PATTERN.fullmatch(text):
        raise ValueError(f"invalid secret name {name!r}")
    return text


class Scope(Enum):
    """How much of a secret XML element is replaced."""

    ELEMENT = "element"  # the whole element, tags included (a SAML assertion)
    CONTENT = "content"  # only what is between the tags (a password)


@dataclass(frozen=True)
class XmlSecret:
    namespace: str
    local_name: str
    scope: Scope
    name: str


#: XML elements that are secrets wherever they appear, and the placeholder each becomes.
XML_SECRETS: tuple[XmlSecret, ...] = (
    XmlSecret(SAML2, "Assertion", Scope.ELEMENT, "saml_assertion"),
    XmlSecret(SAML2, "EncryptedAssertion", Scope.ELEMENT, "saml_assertion"),
    XmlSecret(SAML1, "Assertion", Scope.ELEMENT, "saml_assertion"),
    XmlSecret(WSSE, "BinarySecurityToken", Scope.CONTENT, "wsse_binary_security_token"),
    XmlSecret(WSSE, "Password", Scope.CONTENT, "wsse_password"),
)
_BY_CLARK = {f"{s.namespace} {s.local_name}": s for s in XML_SECRETS}
_MARKERS = tuple({s.namespace.encode("ascii") for s in XML_SECRETS})
_PRIVATE_KEY = re.compile(
    rb"-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----.*?(?:-----END \1PRIVATE KEY-----|\Z)", re.S,
)
# Fallback for XML that does not parse: by local name only, greedy for assertions.
_FALLBACK_ELEMENT = re.compile(
    rb"<([\w.-]+:)?(Assertion|EncryptedAssertion)\b(?:.*</\1?\2\s*>|.*\Z)", re.S,
)
_FALLBACK_CONTENT = re.compile(
    rb"(<([\w.-]+:)?(BinarySecurityToken|Password)\b[^>]*(?<!/)>)(.*?)(?=</\2?\3\s*>|\Z)", re.S,
)


def header_secret_name(header: str) -> str:
    return re.sub(r"[^a-z0-9_.-]", "_", header.lower().replace("-", "_"))


class Redactor:
    """Replaces secrets in requests and responses by named placeholders."""

    def __init__(self, extra_headers: Iterable[str] = ()) -> None:
        names = [*DEFAULT_SECRET_HEADERS, *extra_headers]
        self.headers = tuple(dict.fromkeys(name.lower() for name in names))

    @classmethod
    def from_settings(cls, settings: Settings) -> Redactor:
        """The defaults plus ``[redact] headers`` / ``IHE_REDACT_HEADERS``."""
        return cls(extra_headers=settings.redact_headers)

    def request(self, request: Request) -> Request:
        body = redact_body(request.body, request.content_type)
        headers = _with_length(self._headers(request.headers), request.body, body)
        return request.evolve(headers=headers, body=body)

    def response(self, response: Response) -> Response:
        body = redact_body(response.body, response.content_type)
        headers = _with_length(self._headers(response.headers), response.body, body)
        return response.evolve(headers=headers, body=body)

    def interaction(self, interaction: Interaction) -> Interaction:
        return replace(
            interaction, request=self.request(interaction.request),
            response=self.response(interaction.response),
        )

    def _headers(self, headers: Headers) -> Headers:
        return Headers(
            (name, placeholder(header_secret_name(name)) if name.lower() in self.headers
             else value)
            for name, value in headers
        )


def redact_body(body: bytes, content_type: str | None) -> bytes:
    """``body`` with every secret replaced; the same object when there is none."""
    if any(marker in body for marker in _MARKERS):
        body = _redact_xml_parts(body, content_type)
    if b"PRIVATE KEY-----" in body:
        body = _PRIVATE_KEY.sub(placeholder("private_key").encode("ascii"), body)
    return body


def _redact_xml_parts(body: bytes, content_type: str | None) -> bytes:
    if not (content_type and is_multipart(content_type)):
        return redact_xml(body)
    spans = mime_spans(body, content_type)
    if spans is None:
        return _redact_fallback(body)
    pieces: list[bytes | memoryview] = []
    view = memoryview(body)
    position = 0
    for span in spans:  # only parts that mention a secret namespace are copied and parsed
        if not any(body.find(marker, span.start, span.end) >= 0 for marker in _MARKERS):
            continue
        content = body[span.start:span.end]
        redacted = redact_xml(content)
        if redacted is not content:
            pieces += [view[position:span.start], redacted]
            position = span.end
    if not pieces:
        return body
    pieces.append(view[position:])
    return b"".join(pieces)


def redact_xml(document: bytes) -> bytes:
    """Replace :data:`XML_SECRETS` in one XML document, leaving every other byte alone."""
    if not document.lstrip(b"\xef\xbb\xbf \t\r\n").startswith(b"<"):
        return _redact_fallback(document)
    try:
        root = parse_xml(document, source="body being redacted")
    except XmlInputError:
        return _redact_fallback(document)
    wanted = [f"{{{s.namespace}}}{s.local_name}" for s in XML_SECRETS]
    if next(root.iter(*wanted), None) is None:
        return document
    spans = _secret_spans(document)
    out = bytearray()
    position = 0
    for start, end, text in spans:
        out += document[position:start]
        out += text
        position = end
    out += document[position:]
    return bytes(out)


def _secret_spans(document: bytes) -> list[tuple[int, int, bytes]]:
    """Byte ranges to replace (outermost secrets only), with their placeholder, via expat."""
    parser = expat.ParserCreate(namespace_separator=" ")
    open_secrets: list[tuple[XmlSecret, int, int]] = []  # secret, start byte, content start
    depth_inside = 0
    spans: list[tuple[int, int, bytes]] = []

    def start(name: str, _attributes: object) -> None:
        nonlocal depth_inside
        if depth_inside:
            depth_inside += 1
            return
        secret = _BY_CLARK.get(name)
        if secret is not None:
            index = parser.CurrentByteIndex
            open_secrets.append((secret, index, _end_of_tag(document, index)))
            depth_inside = 1

    def end(_name: str) -> None:
        nonlocal depth_inside
        if not depth_inside:
            return
        depth_inside -= 1
        if depth_inside:
            return
        secret, start_index, content_start = open_secrets.pop()
        index = parser.CurrentByteIndex
        text = placeholder(secret.name).encode("ascii")
        if document[content_start - 2:content_start] == b"/>":
            if secret.scope is Scope.ELEMENT:
                spans.append((start_index, content_start, text))
            return  # an empty token or password holds nothing
        if secret.scope is Scope.ELEMENT:
            spans.append((start_index, document.index(b">", index) + 1, text))
        else:
            spans.append((content_start, index, text))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.Parse(document, True)
    return spans


def _end_of_tag(document: bytes, index: int) -> int:
    """Index just after the ``>`` closing the tag that starts at ``index`` (quotes skipped)."""
    quote = 0
    for position in range(index, len(document)):
        char = document[position]
        if quote:
            if char == quote:
                quote = 0
        elif char in (0x22, 0x27):
            quote = char
        elif char == 0x3E:
            return position + 1
    return len(document)


def _redact_fallback(document: bytes) -> bytes:
    element = placeholder("saml_assertion").encode("ascii")
    document = _FALLBACK_ELEMENT.sub(element, document)

    def content(match: re.Match[bytes]) -> bytes:
        name = "wsse_password" if match.group(3) == b"Password" else "wsse_binary_security_token"
        return match.group(1) + placeholder(name).encode("ascii")

    return _FALLBACK_CONTENT.sub(content, document)


def _with_length(headers: Headers, before: bytes, after: bytes) -> Headers:
    if after is before or len(after) == len(before) or "Content-Length" not in headers:
        return headers
    return headers.with_value("Content-Length", str(len(after)))


# --------------------------------------------------------------------------- replay side


def find_placeholders(data: bytes | str) -> list[str]:
    """Secret names used in ``data``, in order of first appearance."""
    if isinstance(data, str):
        names = PLACEHOLDER_PATTERN.findall(data)
    else:
        names = [name.decode("ascii") for name in _PLACEHOLDER_BYTES.findall(data)]
    return list(dict.fromkeys(names))


def placeholders_in_request(request: Request) -> list[str]:
    """Secret names a request needs before it can be sent again."""
    names = find_placeholders(request.uri)
    for _, value in request.headers:
        names += find_placeholders(value)
    names += find_placeholders(request.body)
    return list(dict.fromkeys(names))


def fill_placeholders(data: bytes, values: Mapping[str, str]) -> bytes:
    """Replace every placeholder in ``data`` by its value; ConfigError names a missing one."""
    def value(match: re.Match[bytes]) -> bytes:
        return _secret_value(match.group(1).decode("ascii"), values).encode("utf-8")

    return _PLACEHOLDER_BYTES.sub(value, data)


def fill_text(text: str, values: Mapping[str, str]) -> str:
    return PLACEHOLDER_PATTERN.sub(lambda m: _secret_value(m.group(1), values), text)


def fill_request(request: Request, values: Mapping[str, str]) -> Request:
    """The request with secrets put back (``values``: e.g. from ``Settings.secret``)."""
    body = fill_placeholders(request.body, values) if b"[[ihe-secret:" in request.body \
        else request.body
    headers = Headers((name, fill_text(value, values)) for name, value in request.headers)
    return request.evolve(
        uri=fill_text(request.uri, values),
        headers=_with_length(headers, request.body, body), body=body,
    )


def secret_values(
    settings: Settings, names: Iterable[str], environ: Mapping[str, str] | None = None,
) -> dict[str, str]:
    """Values for placeholders ``names`` from ``[secrets]``; ConfigError names a missing one."""
    return {name: settings.secret(name, environ) for name in names}


def _secret_value(name: str, values: Mapping[str, str]) -> str:
    try:
        return values[name]
    except KeyError:
        raise ConfigError(
            f"the cassette needs secret {name!r}, which is not configured", key=f"secrets.{name}",
            hint=f'add  {name} = {{ env = "VARIABLE" }}  under [secrets] and export VARIABLE',
        ) from None
