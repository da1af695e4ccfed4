"""Patient identifiers: one value type for HL7 v2 CX and HL7 v3 II, one CX parser and formatter.

An identifier is a value (``extension``: CX.1 / II ``@extension``) within an assigning authority
(``root``: its OID, CX.4.2 / II ``@root``); the authority's namespace name (CX.4.1 / II
``@assigningAuthorityName``) is a label and not part of the identity, so two ids that differ only
in it are equal (a PIX query names the authority without it; the stored id may carry it).

The XDS spelling is ``extension^^^&root&ISO`` (ITI TF-3 4.2.3.1.7). Reading is lenient where real
systems differ and strict where a registry must be: surrounding blanks, a namespace name
(``^^^HZLN&...``), the identifier type code and later components (``...&ISO^PI``) and HL7 escape
sequences are accepted; the universal id type must be ``ISO`` and the value and the authority's
id must be present. Writing escapes HL7 delimiters, so ``parse_cx(format_cx(x)) == x``.
"""

from __future__ import annotations

from dataclasses import KW_ONLY, InitVar, dataclass, field

from ihe_test_util.errors import UsageError
from ihe_test_util.ihe.identifiers import is_oid

#: CX.4.3, universal id type: an ISO OID. Other types (``L``, ``DNS``) cannot be resolved.
UNIVERSAL_ID_TYPE = "ISO"

#: HL7 v2's explicit null (``""^^^&2.71&ISO`` in a PID-3 repetition): no identifier.
_HL7_NULL = '""'

# HL7 v2 escape sequences of the encoding characters (| ^ ~ \ &), in escaping order.
_ESCAPES = (("\\", "\\E\\"), ("|", "\\F\\"), ("^", "\\S\\"), ("~", "\\R\\"), ("&", "\\T\\"))
_UNESCAPES = {code: char for char, code in _ESCAPES}


@dataclass(frozen=True, order=True)
class PatientId:
    """An identifier within an assigning authority (``root`` is the authority's OID).

    Built from user input (builders, scenarios) it is checked: a value and an OID authority.
    ``check=False`` keeps an identifier exactly as another system sent it (the simulator and
    readers of received messages must represent what they were given).
    """

    extension: str
    root: str
    assigning_authority_name: str | None = field(default=None, compare=False)
    _: KW_ONLY
    check: InitVar[bool] = True

    def __post_init__(self, check: bool) -> None:
        if not check:
            return
        if not self.extension:
            raise UsageError("a patient id needs a value (extension)")
        if not is_oid(self.root):
            raise UsageError(
                f"patient id {self.extension!r}: assigning authority {self.root!r} is not an OID",
                hint="write the authority as an OID such as 1.3.6.1.4.1.21367.2005.3.7",
            )

    def cx(self) -> str:
        """The HL7 v2 CX form XDS metadata uses: ``id^^^&root&ISO``."""
        return format_cx(self)

    @classmethod
    def parse(cls, text: str) -> PatientId:
        """Read user input: ``id^^^&root&ISO`` (CX) or ``root|id``; raise :class:`UsageError`."""
        found = parse_cx(text)
        if found is not None:
            return cls(found.extension, found.root, found.assigning_authority_name)
        if "|" in text:
            root, _, extension = text.partition("|")
            return cls(extension.strip(), root.strip())
        raise UsageError(
            f"cannot read patient id {text!r}",
            hint="write it as CX (12345^^^&1.2.3.4&ISO) or as root|id (1.2.3.4|12345)",
        )


def parse_cx(text: str, *, strict: bool = False) -> PatientId | None:
    """``id^^^[namespace]&root&ISO[^...]`` -> an unchecked :class:`PatientId`; None if not a CX.

    None when the value (or HL7's null ``""``), the authority's id or the ``ISO`` type is
    missing, or the text has no fourth component. CX.2, CX.3 (check digit and scheme) and CX.5
    onwards (``^PI``, as HL7 v2 PID-3 carries them) are ignored, unless ``strict``: the XDS
    metadata rule that a patientId holds only CX.1 and CX.4 (ITI TF-3 4.2.3.1.7), which a
    registry enforces.
    """
    components = text.strip().split("^")
    if len(components) < 4:
        return None
    if strict and any(part.strip() for part in (*components[1:3], *components[4:])):
        return None
    authority = components[3].split("&")
    if len(authority) < 3 or authority[2].strip() != UNIVERSAL_ID_TYPE:
        return None
    extension = unescape(components[0].strip())
    root = unescape(authority[1].strip())
    if not extension or extension == _HL7_NULL or not root:
        return None
    namespace = unescape(authority[0].strip()) or None
    return PatientId(extension, root, namespace, check=False)


def format_cx(pid: PatientId, *, namespace: bool = False) -> str:
    """``id^^^&root&ISO``; with ``namespace`` the authority name goes in CX.4.1 when known.

    XDS metadata is written without it (the OID identifies the authority); HL7 v2 PID-3 may
    carry it.
    """
    name = pid.assigning_authority_name if namespace else None
    name = escape(name) if name else ""
    return f"{escape(pid.extension)}^^^{name}&{escape(pid.root)}&{UNIVERSAL_ID_TYPE}"


def escape(text: str) -> str:
    """HL7 v2 escaping of the encoding characters (``^`` -> ``\\S\\``, ``&`` -> ``\\T\\``...)."""
    if not any(char in text for char, _ in _ESCAPES):
        return text
    for char, code in _ESCAPES:
        text = text.replace(char, code)
    return text


def unescape(text: str) -> str:
    """The inverse of :func:`escape`; other ``\\X..\\`` sequences are kept as written."""
    if "\\" not in text:
        return text
    out: list[str] = []
    index = 0
    while index < len(text):
        code = text[index:index + 3]
        if code in _UNESCAPES:
            out.append(_UNESCAPES[code])
            index += 3
        else:
            out.append(text[index])
            index += 1
    return "".join(out)
