"""FHIR resource identity: which resource a reference, a ``fullUrl``, a ``Location`` or a
resource's own ``id`` stands for, as ``Type/id``.

Servers assign resource ids, so the same exchange gets other ids on every run; the comparer
pairs these identities up to consistent renaming (:class:`ihe_test_util.compare.identifiers.
Renaming`): ``Patient/11`` may become ``Patient/21`` everywhere, but two references that named
one patient in the recording must name one patient in the replay. Relative and absolute
references, ``_history`` versions, and the server base all reduce to the same identity.
"""

from __future__ import annotations

import re

from lxml import etree

from ihe_test_util.ihe.namespaces import FHIR

#: ``[base/]Type/id[/_history/vid]`` (FHIR R4 3.1.3.1: id is [A-Za-z0-9\-\.]{1,64}).
_LITERAL = re.compile(
    r"(?:^|/)(?P<type>[A-Z][A-Za-z]{1,63})/(?P<id>[A-Za-z0-9\-.]{1,64})"
    r"(?:/_history/[A-Za-z0-9\-.]{1,64})?/?$")
_FHIR_PREFIX = f"{{{FHIR}}}"


def reference_identity(value: str) -> str | None:
    """``Type/id`` of a literal reference or resource URL; ``urn:uuid:``/``urn:oid:`` values
    as they are; None for anything else (an external URL, a contained ``#ref``)."""
    text = value.strip()
    if text.startswith(("urn:uuid:", "urn:oid:")):
        return text
    text = text.split("?", 1)[0].split("#", 1)[0]
    match = _LITERAL.search(text)
    if match is None:
        return None
    return f"{match.group('type')}/{match.group('id')}"


def identity_of(element: etree._Element, value: str) -> str | None:
    """The identity a value of the FHIR element view stands for: a resource's ``id`` element
    gives ``Type/id`` with its resource's type; any other element its reference identity."""
    tag = element.tag
    if isinstance(tag, str) and tag == f"{_FHIR_PREFIX}id":
        parent = element.getparent()
        if parent is not None and isinstance(parent.tag, str) \
                and parent.tag.startswith(_FHIR_PREFIX):
            kind = parent.tag[len(_FHIR_PREFIX):]
            if kind[:1].isupper():
                return f"{kind}/{value.strip()}"
    return reference_identity(value)
