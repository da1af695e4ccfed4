"""The one way this package parses XML it did not write: hardened against hostile input.

SOAP 1.2 forbids DTDs in messages, so any document type declaration is refused outright,
which also rules out entity expansion ("billion laughs") and external entities (XXE).
The parser never touches the network and refuses documents above a size limit.
"""

from __future__ import annotations

import re
from typing import Any

from lxml import etree

from ihe_test_util.errors import XmlInputError

#: Default ceiling for one XML document (bytes). Large enough for a 3,000-object LeafClass
#: response (~30 MB); an MTOM attachment is not parsed as XML unless it is a document itself.
MAX_XML_BYTES = 256 * 1024 * 1024

_PARSER_OPTIONS = {
    "resolve_entities": False,
    "no_network": True,
    "load_dtd": False,
    "dtd_validation": False,
    "huge_tree": True,
    "remove_comments": False,
    "remove_pis": False,
    "collect_ids": False,
}


#: Characters XML 1.0 cannot carry at all (not even as character references).
_NOT_XML_CHAR = re.compile("[^\u0009\u000a\u000d\u0020-\ud7ff\ue000-\ufffd"
                           "\U00010000-\U0010ffff]")


def xml_safe(text: str) -> str:
    """``text`` with the characters XML cannot carry written as ``\\uXXXX``: what goes into
    an element or attribute built from outside input (a header, a URL, a fault reason), which
    lxml would refuse with ValueError. Text without such characters comes back unchanged."""
    if _NOT_XML_CHAR.search(text) is None:
        return text
    return _NOT_XML_CHAR.sub(lambda m: f"\\u{ord(m.group(0)):04x}", text)


def _parser() -> etree.XMLParser:
    # A fresh parser per call: lxml parsers are not thread-safe, and the simulator is threaded.
    return etree.XMLParser(**_PARSER_OPTIONS)  # type: ignore[arg-type]


def parse_xml(
    data: bytes, *, source: str | None = None, max_bytes: int = MAX_XML_BYTES,
) -> etree._Element:
    """Parse ``data`` into an element tree, or raise :class:`XmlInputError` saying why not.

    ``source`` names the input in messages (a file path, "response body of exchange 3").
    """
    if len(data) > max_bytes:
        raise XmlInputError(
            f"XML document is {len(data):,} bytes, above the limit of {max_bytes:,}",
            source=source, hint="raise the limit only for trusted input",
        )
    head = data[:4096].lstrip()
    if b"<!DOCTYPE" in head or b"<!ENTITY" in head:
        raise XmlInputError(
            "document type declarations (DTD / ENTITY) are not allowed in IHE SOAP messages",
            source=source, line=_line_of(data, b"<!"),
            hint="remove the <!DOCTYPE ...> block; SOAP 1.2 forbids it",
        )
    if not data.strip():
        raise XmlInputError("empty document where XML was expected", source=source)
    try:
        root = etree.fromstring(data, parser=_parser())
    except etree.XMLSyntaxError as exc:
        line = exc.lineno if isinstance(exc.lineno, int) else None
        raise XmlInputError(f"malformed XML: {exc.msg}", source=source, line=line) from None
    docinfo: Any = root.getroottree().docinfo
    if docinfo.doctype or docinfo.internalDTD is not None:
        raise XmlInputError(
            "document type declarations (DTD / ENTITY) are not allowed in IHE SOAP messages",
            source=source, hint="remove the <!DOCTYPE ...> block; SOAP 1.2 forbids it",
        )
    return root


def _line_of(data: bytes, needle: bytes) -> int | None:
    index = data.find(needle)
    if index < 0:
        return None
    return data.count(b"\n", 0, index) + 1


def serialise_like(root: etree._Element, original: bytes, *, encoding: str | None = None) -> (
    bytes
):
    """``root`` written back the way ``original`` was: same declared encoding (or ``encoding``),
    with an XML declaration exactly when the original had one. A rewritten recorded message
    then differs from it only where it was edited."""
    encoding = encoding or root.getroottree().docinfo.encoding or "UTF-8"
    declaration = original.lstrip().startswith(b"<?xml")
    data = etree.tostring(root, xml_declaration=declaration, encoding=encoding)
    return data if isinstance(data, bytes) else data.encode(encoding)
