"""Restyling changes how XML is spelled, never what it means."""

from __future__ import annotations

from lxml import etree

from ihe_test_util.ihe.namespaces import HL7V3, RIM, SOAP12
from ihe_test_util.safexml import parse_xml
from ihe_test_util.sim.xmlstyle import ALTERNATE_STYLE, BASELINE_STYLE, Style, restyle, serialize

SOURCE = b"""<tag0:Envelope xmlns:tag0="http://www.w3.org/2003/05/soap-envelope">
  <tag0:Body>
    <!-- a comment -->
    <m:PRPA_IN201306UV02 xmlns:m="urn:hl7-org:v3" xmlns:i="http://www.w3.org/2001/XMLSchema-instance">
      <m:value i:type="m:INT" value="100"/>
      <m:name>  Mary  </m:name>
      <r:Slot xmlns:r="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0" name="x"/>
      <z:other xmlns:z="urn:example:unknown"/>
    </m:PRPA_IN201306UV02>
  </tag0:Body>
</tag0:Envelope>"""


def _infoset(element: etree._Element) -> object:
    """Namespace-aware content: tags, attributes (xsi:type resolved), text, children."""
    attributes = []
    for name, value in sorted(element.attrib.items()):
        if name.endswith("}type"):
            prefix, _, local = value.rpartition(":")
            value = f"{{{element.nsmap.get(prefix or None)}}}{local}"
        attributes.append((name, value))
    children = tuple(_infoset(c) for c in element if isinstance(c.tag, str))
    return element.tag, tuple(attributes), (element.text or "").strip(), children


def test_both_styles_keep_the_meaning() -> None:
    source = parse_xml(SOURCE)
    for style in (BASELINE_STYLE, ALTERNATE_STYLE):
        styled = parse_xml(serialize(source, style))
        assert _infoset(styled) == _infoset(source)


def test_baseline_spelling() -> None:
    text = serialize(parse_xml(SOURCE), BASELINE_STYLE).decode()
    assert text.startswith("<?xml version='1.0' encoding='UTF-8'?>\n<soap:Envelope")
    assert f'<PRPA_IN201306UV02 xmlns="{HL7V3}"' in text  # HL7v3 as default namespace
    assert 'xsi:type="INT"' in text
    assert "<!--" not in text and "\n  " not in text  # comments and indentation dropped
    assert f'<rim:Slot xmlns:rim="{RIM}"' in text  # declared where first needed


def test_alternate_spelling() -> None:
    text = serialize(parse_xml(SOURCE), ALTERNATE_STYLE).decode()
    assert text.startswith("<S:Envelope ")
    root_tag = text.split(">", 1)[0]
    assert f'xmlns:S="{SOAP12}"' in root_tag
    assert f'xmlns:ns9="{HL7V3}"' in root_tag and f'xmlns:ns6="{RIM}"' in root_tag
    assert 'xsi:type="ns9:INT"' in text
    assert "\n  <S:Body>" in text  # indented


def test_unknown_namespaces_get_a_stable_prefix() -> None:
    first = serialize(parse_xml(SOURCE), BASELINE_STYLE)
    second = serialize(parse_xml(SOURCE), BASELINE_STYLE)
    assert first == second
    assert b'xmlns:x' in first


def test_prefix_clash_falls_back() -> None:
    style = Style(prefixes={"urn:a": "p", "urn:b": "p"}, declare_at_root=True)
    element = etree.Element("{urn:a}root")
    etree.SubElement(element, "{urn:b}child")
    styled = restyle(element, style)
    assert _infoset(styled) == _infoset(element)
