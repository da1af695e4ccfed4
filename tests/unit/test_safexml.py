from __future__ import annotations

import pytest

from ihe_test_util.errors import XmlInputError
from ihe_test_util.safexml import parse_xml, serialise_like


def test_parses_plain_soap() -> None:
    root = parse_xml(b'<s:Envelope xmlns:s="http://www.w3.org/2003/05/soap-envelope"/>')
    assert root.tag == "{http://www.w3.org/2003/05/soap-envelope}Envelope"


@pytest.mark.parametrize(
    "payload",
    [
        b'<?xml version="1.0"?><!DOCTYPE a [<!ENTITY x SYSTEM "file:///etc/passwd">]><a>&x;</a>',
        b'<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>'
        b"<lolz>&lol2;</lolz>",
        b'<!DOCTYPE a SYSTEM "http://127.0.0.1:1/evil.dtd"><a/>',
    ],
)
def test_refuses_dtds_and_entities(payload: bytes) -> None:
    with pytest.raises(XmlInputError, match="DTD"):
        parse_xml(payload, source="request.xml")


def test_doctype_after_long_prolog_still_refused() -> None:
    payload = b"<!--" + b"x" * 10_000 + b'-->\n<!DOCTYPE a [<!ENTITY e "boom">]><a>&e;</a>'
    with pytest.raises(XmlInputError, match="DTD"):
        parse_xml(payload)


def test_malformed_reports_line() -> None:
    with pytest.raises(XmlInputError) as info:
        parse_xml(b"<a>\n<b>\n</a>", source="resp.xml")
    assert info.value.line is not None
    assert "resp.xml" in str(info.value)
    assert "malformed XML" in str(info.value)


def test_size_limit() -> None:
    with pytest.raises(XmlInputError, match="above the limit"):
        parse_xml(b"<a>" + b"x" * 200 + b"</a>", max_bytes=100)


def test_empty() -> None:
    with pytest.raises(XmlInputError, match="empty"):
        parse_xml(b"  \n")


def test_serialise_like_keeps_declaration_and_encoding() -> None:
    latin = "<?xml version='1.0' encoding='ISO-8859-1'?><a>é</a>".encode("latin-1")
    kept = serialise_like(parse_xml(latin), latin)
    assert kept.startswith(b"<?xml version='1.0' encoding='ISO-8859-1'?>")
    assert kept.endswith("<a>é</a>".encode("latin-1"))
    bare = "<a>é</a>".encode()
    assert serialise_like(parse_xml(bare), bare) == bare
    assert serialise_like(parse_xml(latin), latin, encoding="UTF-8") == \
        "<?xml version='1.0' encoding='UTF-8'?>\n<a>é</a>".encode()
