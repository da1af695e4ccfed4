"""Keep secrets out of cassettes: named placeholders in, values from configuration back out.

What is replaced, and by which placeholder (``[[ihe-secret:NAME]]``):

* the value of ``Authorization``, ``Proxy-Authorization``, ``Cookie``, ``Set-Cookie`` and any
  configured header: ``NAME`` is the header name in lower case, ``-`` as ``_``
  (``[[ihe-secret:authorization]]``);
* in XML bodies (plain or MTOM parts), by element namespace and name, see :data:`XML_SECRETS`:
  SAML assertions as whole elements, WS-Security ``BinarySecurityToken`` and ``Password``
  contents, keeping the surrounding bytes exactly;
* PEM private keys anywhere in a body (``[[ihe-secret:private_key]]``);
* security tokens a server hands out: WS-Trust ``RequestedSecurityToken`` and
  ``RequestedProofToken`` contents, JSON ``access_token`` / ``id_token`` / ``refresh_token``
  members and the same names as URL query or form parameters;
* every configured secret value (``[secrets]``, see :func:`configured_secrets`) wherever it
  appears -- URL, header, body, a server's echo -- as is, URL-encoded or base64-encoded, by
  the name it is configured under.

One :class:`Redactor` serves everything the tool writes: cassettes (recorded, kept by replay,
approved), and through :meth:`Redactor.text` / :meth:`Redactor.result` the reports, terminal
lines and ``--json`` lines. A re-redacted replayed exchange carries the same placeholders as
its recording, so approval keeps the recorded cassette's placeholders.

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

import base64
import logging
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from enum import Enum
from typing import TYPE_CHECKING, Any
from urllib.parse import quote, quote_plus
from xml.parsers import expat

from ihe_test_util.cassette.views import mime_spans
from ihe_test_util.errors import ConfigError, XmlInputError
from ihe_test_util.ihe.namespaces import SAML2, WSSE
from ihe_test_util.model import Headers, Interaction, Request, Response
from ihe_test_util.results import Difference, ExchangeError, ExchangeResult
from ihe_test_util.safexml import parse_xml
from ihe_test_util.transport.content import decode_content, encode_content
from ihe_test_util.transport.mtom import is_multipart

if TYPE_CHECKING:
    from ihe_test_util.config import Settings

SAML1 = "urn:oasis:names:tc:SAML:1.0:assertion"
WST13 = "http://docs.oasis-open.org/ws-sx/ws-trust/200512"
WST2005 = "http://schemas.xmlsoap.org/ws/2005/02/trust"

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
    # What is between the tags, unless it holds secrets of its own (a WS-Trust token holding
    # a SAML assertion): then those, so the placeholder is the one the recording has.
    CONTAINER = "container"


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
    *(XmlSecret(ns, name, Scope.CONTAINER, placeholder_name)
      for ns in (WST13, WST2005)
      for name, placeholder_name in (("RequestedSecurityToken", "wstrust_token"),
                                     ("RequestedProofToken", "wstrust_proof_token"))),
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
    rb"(<([\w.-]+:)?(BinarySecurityToken|Password|RequestedSecurityToken|RequestedProofToken)"
    rb"\b[^>]*(?<!/)>)(.*?)(?=</\2?\3\s*>|\Z)", re.S,
)
_FALLBACK_NAMES = {b"Password": "wsse_password",
                   b"BinarySecurityToken": "wsse_binary_security_token",
                   b"RequestedSecurityToken": "wstrust_token",
                   b"RequestedProofToken": "wstrust_proof_token"}
#: Local names that make a text fragment (a difference value in a report) worth the fallback.
_FRAGMENT_MARKERS = (b"Assertion", b"BinarySecurityToken", b"Password", b"RequestedSecurityToken",
                     b"RequestedProofToken")

#: Token members of OAuth / OpenID Connect answers, redacted wherever a server returns them.
TOKEN_FIELDS = ("access_token", "id_token", "refresh_token")
_TOKEN_ALTERNATIVES = "|".join(TOKEN_FIELDS)
_JSON_TOKEN = re.compile(
    rb'("(' + _TOKEN_ALTERNATIVES.encode() + rb')"\s*:\s*")((?:[^"\\]|\\.)*)(")')
_PARAMETER_TOKEN = re.compile(
    r"(?<![\w.-])(" + _TOKEN_ALTERNATIVES + r")=([^&#\s\"'<]*)")
_PARAMETER_TOKEN_BYTES = re.compile(_PARAMETER_TOKEN.pattern.encode("ascii"))
#: Encoded forms of a configured value that are redacted too; the placeholder names the form
#: (``[[ihe-secret:api_token.base64]]``) so replay fills it back encoded the same way.
ENCODINGS: dict[str, Callable[[str], str]] = {
    "url": lambda value: quote(value, safe=""),
    "form": lambda value: quote_plus(value, safe=""),
    "base64": lambda value: base64.b64encode(value.encode("utf-8")).decode("ascii"),
    "base64url": lambda value: base64.urlsafe_b64encode(value.encode("utf-8")).decode("ascii"),
}
#: Shorter configured values are not scrubbed from bodies and free text: they would match by
#: chance (URLs and headers are scrubbed whatever the length).
MIN_SCRUB_LENGTH = 6


def header_secret_name(header: str) -> str:
    return re.sub(r"[^a-z0-9_.-]", "_", header.lower().replace("-", "_"))


class Redactor:
    """Replaces secrets in requests, responses and text by named placeholders.

    ``secrets`` maps placeholder names to configured values (:func:`configured_secrets`):
    each value is replaced wherever it appears, also URL-encoded or base64-encoded, before the
    structural rules (secret headers, XML secrets, tokens, private keys) run.
    """

    def __init__(self, extra_headers: Iterable[str] = (),
                 secrets: Mapping[str, str] | None = None) -> None:
        names = [*DEFAULT_SECRET_HEADERS, *extra_headers]
        self.headers = tuple(dict.fromkeys(name.lower() for name in names))
        forms: dict[str, str] = {}
        for name, value in (secrets or {}).items():
            if value:
                forms.setdefault(value, name)
                for encoding, encode in ENCODINGS.items():
                    forms.setdefault(encode(value), f"{name}.{encoding}")
        # longest first: a secret that contains another is replaced whole
        self._values = sorted(forms.items(), key=lambda item: -len(item[0]))
        self._long_values = [(value, name) for value, name in self._values
                             if len(value) >= MIN_SCRUB_LENGTH]
        self._body_values = [(value.encode("utf-8"), name) for value, name in self._long_values]

    @classmethod
    def from_settings(cls, settings: Settings, environ: Mapping[str, str] | None = None,
                      ) -> Redactor:
        """The defaults plus ``[redact] headers`` / ``IHE_REDACT_HEADERS`` and the values of
        every ``[secrets]`` entry that is set."""
        return cls(extra_headers=settings.redact_headers,
                   secrets=configured_secrets(settings, environ))

    def request(self, request: Request) -> Request:
        """The request redacted; the same object when nothing needed redacting (so caches
        keyed by identity, such as the replay's parsed messages, still hold)."""
        body = self._body(request.body, request.content_type, request.headers)
        headers = _with_length(self._headers(request.headers), request.body, body)
        uri = self.uri(request.uri)
        if body is request.body and uri == request.uri and headers == request.headers:
            return request
        return request.evolve(uri=uri, headers=headers, body=body)

    def response(self, response: Response) -> Response:
        """The response redacted; the same object when nothing needed redacting."""
        body = self._body(response.body, response.content_type, response.headers)
        headers = _with_length(self._headers(response.headers), response.body, body)
        if body is response.body and headers == response.headers:
            return response
        return response.evolve(headers=headers, body=body)

    def _body(self, body: bytes, content_type: str | None, headers: Headers) -> bytes:
        """``body`` redacted; a content-coded one (gzip, deflate, br) is looked at decoded, and
        re-encoded only when something was replaced (else the exact bytes stay). A body that
        does not decode is redacted as it is."""
        coding = (headers.get("Content-Encoding") or "").strip()
        if coding and coding.lower() != "identity" and body:
            try:
                decoded = decode_content(body, coding)
            except ValueError:
                decoded = None
            if decoded is not None:
                redacted = redact_body(self._scrub_bytes(decoded), content_type)
                return body if redacted == decoded else encode_content(redacted, coding)
        return redact_body(self._scrub_bytes(body), content_type)

    def interaction(self, interaction: Interaction) -> Interaction:
        return replace(
            interaction, request=self.request(interaction.request),
            response=self.response(interaction.response),
        )

    def uri(self, uri: str) -> str:
        """A URL with configured values (any length) and token parameters replaced."""
        return _redact_parameters(self._scrub_text(uri, self._values))

    def text(self, text: str) -> str:
        """Free text for people (a difference value, an error message, a log or JSON line):
        configured values, token members and parameters, XML secrets and private keys."""
        if not text:
            return text
        text = _redact_parameters(self._scrub_text(text, self._long_values))
        data = text.encode("utf-8", "surrogateescape")
        redacted = redact_body(data, None)
        if any(marker in redacted for marker in _FRAGMENT_MARKERS):
            redacted = _redact_fallback(redacted)  # fragments: prefixes without declarations
        return text if redacted == data else redacted.decode("utf-8", "surrogateescape")

    def result(self, result: ExchangeResult) -> ExchangeResult:
        """An exchange result whose every text (URLs, differences, verdicts, notes, error) is
        redacted: what reporters write comes from here."""
        return replace(
            result,
            recorded_uri=_maybe(self.uri, result.recorded_uri),
            replayed_uri=_maybe(self.uri, result.replayed_uri),
            verdict_recorded=self._mapping(result.verdict_recorded),
            verdict_replayed=self._mapping(result.verdict_replayed),
            differences=tuple(self.difference(d) for d in result.differences),
            notes=tuple(self.text(note) for note in result.notes),
            error=(ExchangeError(result.error.type, self.text(result.error.message))
                   if result.error is not None else None),
        )

    def difference(self, difference: Difference) -> Difference:
        return replace(
            difference, recorded=_maybe(self.text, difference.recorded),
            replayed=_maybe(self.text, difference.replayed),
            description=_maybe(self.text, difference.description),
        )

    def _mapping(self, data: Mapping[str, Any] | None) -> Mapping[str, Any] | None:
        if data is None:
            return None
        return {key: self.data(value) for key, value in data.items()}

    def data(self, value: Any) -> Any:
        """JSON-like data (what a ``--json`` line prints) with every string redacted."""
        if isinstance(value, str):
            return self.text(value)
        if isinstance(value, Mapping):
            return self._mapping(value)
        if isinstance(value, (list, tuple)):
            return type(value)(self.data(item) for item in value)
        return value

    def _headers(self, headers: Headers) -> Headers:
        """Secret headers become ``[[ihe-secret:NAME]]``, except values that already name
        their secret (``Bearer [[ihe-secret:token]]``): replay then needs the same
        ``[secrets]`` entry the recording used."""
        out: list[tuple[str, str]] = []
        changed = False
        for name, value in headers:
            redacted = self._scrub_text(value, self._values)
            if name.lower() in self.headers and not PLACEHOLDER_PATTERN.search(redacted):
                redacted = placeholder(header_secret_name(name))
            changed = changed or redacted != value
            out.append((name, redacted))
        return Headers(out) if changed else headers  # the same object: nothing to redact

    @staticmethod
    def _scrub_text(text: str, values: list[tuple[str, str]]) -> str:
        for value, name in values:
            if value in text:
                text = text.replace(value, placeholder(name))
        return text

    def _scrub_bytes(self, body: bytes) -> bytes:
        for value, name in self._body_values:
            if value in body:
                body = body.replace(value, placeholder(name).encode("ascii"))
        return body


class _LogRedaction:
    """The redactor every log record of the process goes through (one factory, installed once)."""

    redactor: Redactor | None = None
    installed = False


def redact_log_records(redactor: Redactor | None) -> None:
    """Redact every log message from now on with ``redactor`` (replacing the previous one;
    ``None`` stops redacting).

    A record factory rather than a handler filter: it holds for handlers added later (``ihe sim
    -v``, ``ihe serve``) and for Python's last-resort handler alike.
    """
    _LogRedaction.redactor = redactor
    if _LogRedaction.installed:
        return
    _LogRedaction.installed = True
    make_record = logging.getLogRecordFactory()

    def factory(*args: Any, **kwargs: Any) -> logging.LogRecord:
        record = make_record(*args, **kwargs)
        current = _LogRedaction.redactor
        if current is not None:
            try:
                message = record.getMessage()
            except Exception:  # a bad format is for the handler to report
                return record
            redacted = current.text(message)
            if redacted != message:
                record.msg, record.args = redacted, None
        return record

    logging.setLogRecordFactory(factory)


def configured_secrets(settings: Settings, environ: Mapping[str, str] | None = None,
                       ) -> dict[str, str]:
    """Every ``[secrets]`` entry whose environment variable is set, by name: the values that
    must never be written."""
    found: dict[str, str] = {}
    for name in settings.secrets:
        try:
            found[name] = settings.secret(name, environ)
        except ConfigError:
            continue
    return found


def _maybe(function: Any, text: str | None) -> str | None:
    return function(text) if text else text


def _redact_parameters(text: str) -> str:
    """``access_token=...`` (and the other token names) in a URL or form: value replaced."""
    if "_token=" not in text:
        return text

    def parameter(match: re.Match[str]) -> str:
        if PLACEHOLDER_PATTERN.fullmatch(match.group(2)):
            return match.group(0)
        return f"{match.group(1)}={placeholder(match.group(1))}"

    return _PARAMETER_TOKEN.sub(parameter, text)


def _redact_tokens(body: bytes) -> bytes:
    """JSON token members and token parameters in a body (an OAuth answer, a form)."""
    if b'_token"' in body:
        def member(match: re.Match[bytes]) -> bytes:
            if _PLACEHOLDER_BYTES.fullmatch(match.group(3)):
                return match.group(0)
            return match.group(1) + placeholder(match.group(2).decode()).encode() + \
                match.group(4)

        body = _JSON_TOKEN.sub(member, body)
    if b"_token=" in body:
        def parameter(match: re.Match[bytes]) -> bytes:
            if _PLACEHOLDER_BYTES.fullmatch(match.group(2)):
                return match.group(0)
            return match.group(1) + b"=" + placeholder(match.group(1).decode()).encode()

        body = _PARAMETER_TOKEN_BYTES.sub(parameter, body)
    return body


def redact_body(body: bytes, content_type: str | None) -> bytes:
    """``body`` with every secret replaced; the same object when there is none."""
    if any(map(body.__contains__, _MARKERS)):
        body = _redact_xml_parts(body, content_type)
    if b"PRIVATE KEY-----" in body:
        body = _PRIVATE_KEY.sub(placeholder("private_key").encode("ascii"), body)
    if b"_token" in body:
        redacted = _redact_tokens(body)
        if redacted != body:
            body = redacted
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


@dataclass
class _Open:
    secret: XmlSecret
    start: int
    content_start: int
    depth: int
    holds_secrets: bool = False


def _secret_spans(document: bytes) -> list[tuple[int, int, bytes]]:
    """Byte ranges to replace (outermost secrets only), with their placeholder, via expat."""
    parser = expat.ParserCreate(namespace_separator=" ")
    opened: list[_Open] = []
    depth = 0
    leaf_depth = 0  # depth of the ELEMENT/CONTENT secret being skipped, 0 outside one
    spans: list[tuple[int, int, bytes]] = []

    def start(name: str, _attributes: object) -> None:
        nonlocal depth, leaf_depth
        depth += 1
        if leaf_depth:
            return
        secret = _BY_CLARK.get(name)
        if secret is None:
            return
        for container in opened:
            container.holds_secrets = True
        index = parser.CurrentByteIndex
        opened.append(_Open(secret, index, _end_of_tag(document, index), depth))
        if secret.scope is not Scope.CONTAINER:
            leaf_depth = depth

    def end(_name: str) -> None:
        nonlocal depth, leaf_depth
        closing = depth
        depth -= 1
        if not opened or opened[-1].depth != closing:
            return
        item = opened.pop()
        if leaf_depth == closing:
            leaf_depth = 0
        if item.holds_secrets:
            return  # its secrets were replaced one by one
        index = parser.CurrentByteIndex
        text = placeholder(item.secret.name).encode("ascii")
        if document[item.content_start - 2:item.content_start] == b"/>":
            if item.secret.scope is Scope.ELEMENT:
                spans.append((item.start, item.content_start, text))
            return  # an empty token or password holds nothing
        if item.secret.scope is Scope.ELEMENT:
            spans.append((item.start, document.index(b">", index) + 1, text))
        else:
            content = document[item.content_start:index].strip()
            if content and not _PLACEHOLDER_BYTES.fullmatch(content):  # redacted already
                spans.append((item.content_start, index, text))

    parser.StartElementHandler = start
    parser.EndElementHandler = end
    parser.Parse(document, True)
    return sorted(spans)


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
        if _PLACEHOLDER_BYTES.fullmatch(match.group(4).strip()) or not match.group(4).strip():
            return match.group(0)
        name = _FALLBACK_NAMES[match.group(3)]
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
    """Values for placeholders ``names`` from ``[secrets]``; ConfigError names a missing one.

    ``NAME.base64`` (any of :data:`ENCODINGS`) is ``NAME``'s value, encoded that way."""
    values: dict[str, str] = {}
    for name in names:
        base, encoding = _split_encoding(name, settings.secrets)
        value = settings.secret(base, environ)
        values[name] = ENCODINGS[encoding](value) if encoding else value
    return values


def _split_encoding(name: str, known: Mapping[str, object]) -> tuple[str, str | None]:
    """``("api_token", "base64")`` for ``api_token.base64``, unless that is itself a name."""
    base, _, encoding = name.rpartition(".")
    if name in known or not base or encoding not in ENCODINGS:
        return name, None
    return base, encoding


def _secret_value(name: str, values: Mapping[str, str]) -> str:
    if name in values:
        return values[name]
    base, encoding = _split_encoding(name, values)
    if base not in values:
        raise ConfigError(
            f"the cassette needs secret {base!r}, which is not configured", key=f"secrets.{base}",
            hint=f'add  {base} = {{ env = "VARIABLE" }}  under [secrets] and export VARIABLE',
        )
    return ENCODINGS[encoding](values[base]) if encoding else values[base]
