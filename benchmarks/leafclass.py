"""Generated ITI-18 LeafClass responses (SOAP 1.2, FindDocuments) for comparer benchmarks and
tests: N ExtrinsicObjects with the metadata a real registry returns (about 9.7 kB and 127
elements each: slots, two authors, six code classifications, uniqueId and patientId), so
1,000 objects make a 9.7 MB response of 127,000 elements.

:func:`variants` builds the cases the benchmark measures from one set of objects, so every
case differs from the recording in exactly the way it says.
"""

from __future__ import annotations

import random
import uuid
from dataclasses import dataclass, field

RIM = "urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0"
CLASSIFICATIONS = (
    ("41a5887f-8865-4c09-adf7-e362475b143a", "34133-9", "Summary of episode note",
     "2.16.840.1.113883.6.1"),
    ("f4f85eac-e6cb-4883-b524-f2705394840f", "N", "Normal", "2.16.840.1.113883.5.25"),
    ("a09d5840-386c-46f2-b5ad-9c3699a4309d", "urn:ihe:pcc:xphr:2007", "XPHR",
     "1.3.6.1.4.1.19376.1.2.3"),
    ("f33fb8ac-18af-42cc-ae0e-ed0b0bdb91e1", "Outpatient", "Outpatient",
     "Connect-a-thon healthcareFacilityTypeCodes"),
    ("cccf5598-8b07-4b77-a05e-ae952c785ead", "394802001", "General medicine",
     "2.16.840.1.113883.6.96"),
    ("f0306f51-975f-434e-a61c-c59651d33983", "34133-9", "Summary of episode note",
     "2.16.840.1.113883.6.1"),
)
AUTHORS = (
    ("Cleveland Clinic^^^^^^^^^1.2.3.4.5.6.7", "^Smitty^Gerald^^^Dr.^MD^^&amp;1.2.3&amp;ISO",
     "Attending", "Orthopedic"),
    ("Parma Community General Hospital^^^^^^^^^1.2.3.9",
     "^Dopplemeyer^Sherry^^^Dr.^^^&amp;1.2.3&amp;ISO", "Primary Surgeon", "Orthopedic"),
)


def _uuid(rng: random.Random) -> str:
    return f"urn:uuid:{uuid.UUID(int=rng.getrandbits(128), version=4)}"


def _slot(name: str, values: list[str], indent: str) -> str:
    body = "".join(f"{indent}  <rim:Value>{value}</rim:Value>\n" for value in values)
    return (f'{indent}<rim:Slot name="{name}">\n{indent} <rim:ValueList>\n{body}'
            f"{indent} </rim:ValueList>\n{indent}</rim:Slot>\n")


def _named(tag: str, attributes: str, inner: str, name: str, indent: str) -> str:
    return (f"{indent}<rim:{tag} {attributes}>\n{inner}"
            f'{indent} <rim:Name><rim:LocalizedString xml:lang="en-US" charset="UTF-8" '
            f'value="{name}"/></rim:Name>\n{indent} <rim:Description/>\n'
            f'{indent} <rim:VersionInfo versionName="1"/>\n{indent}</rim:{tag}>\n')


def extrinsic_object(number: int, rng: random.Random, entry_uuid: str | None = None,
                     creation_time: str | None = None) -> str:
    """One DocumentEntry; ``creation_time`` overrides its creationTime slot (a payload edit)."""
    eid = entry_uuid or _uuid(rng)
    indent = "  "
    patient = "c4d77e21d0dd487^^^&amp;1.3.6.1.4.1.21367.2005.3.7&amp;ISO"
    slots = [
        ("creationTime", [creation_time or f"2024{number % 12 + 1:02d}{number % 28 + 1:02d}1015"]),
        ("hash", [f"{rng.getrandbits(160):040x}"]),
        ("languageCode", ["en-US"]),
        ("repositoryUniqueId", ["1.3.6.1.4.1.21367.2010.1.2.1125"]),
        ("serviceStartTime", ["200612230800"]),
        ("serviceStopTime", ["200612230900"]),
        ("size", [str(1000 + number * 7)]),
        ("sourcePatientId", ["89765a87b^^^&amp;3.4.5&amp;ISO"]),
        ("sourcePatientInfo", ["PID-3|pid1^^^&amp;1.2.3&amp;ISO", "PID-5|Doe^John^^^",
                               "PID-7|19560527", "PID-8|M"]),
    ]
    inner = "".join(_slot(name, values, indent + " ") for name, values in slots)
    for institution, person, role, specialty in AUTHORS:
        cid = _uuid(rng)
        author_slots = "".join(_slot(name, [value], indent + "  ") for name, value in (
            ("authorInstitution", institution), ("authorPerson", person),
            ("authorRole", role), ("authorSpecialty", specialty)))
        inner += _named(
            "Classification",
            f'classificationScheme="urn:uuid:93606bcf-9494-43ec-9b4e-a7748d1a838d" '
            f'classifiedObject="{eid}" id="{cid}" lid="{cid}" nodeRepresentation="" '
            'objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:'
            'Classification"', author_slots, "", indent + " ")
    for scheme, code, display, coding_scheme in CLASSIFICATIONS:
        cid = _uuid(rng)
        inner += _named(
            "Classification",
            f'classificationScheme="urn:uuid:{scheme}" classifiedObject="{eid}" id="{cid}" '
            f'lid="{cid}" nodeRepresentation="{code}" objectType="urn:oasis:names:tc:'
            'ebxml-regrep:ObjectType:RegistryObject:Classification"',
            _slot("codingScheme", [coding_scheme], indent + "  "), display, indent + " ")
    for scheme, value, name in (
            ("2e82c1f6-a085-4c72-9da3-8640a32e42ab", f"1.3.6.1.4.1.21367.2005.3.99.{number}",
             "XDSDocumentEntry.uniqueId"),
            ("58a6f841-87b3-4a3e-92fd-a8ffeff98427", patient, "XDSDocumentEntry.patientId")):
        xid = _uuid(rng)
        inner += _named(
            "ExternalIdentifier",
            f'id="{xid}" identificationScheme="urn:uuid:{scheme}" lid="{xid}" '
            'objectType="urn:oasis:names:tc:ebxml-regrep:ObjectType:RegistryObject:'
            f'ExternalIdentifier" registryObject="{eid}" value="{value}"', "", name,
            indent + " ")
    return _named(
        "ExtrinsicObject",
        f'id="{eid}" isOpaque="false" lid="{eid}" mimeType="text/xml" '
        'objectType="urn:uuid:7edca82f-054d-47f2-a032-9b2a5b5186c1" '
        'status="urn:oasis:names:tc:ebxml-regrep:StatusType:Approved"',
        inner, f"Document {number}", indent)


def envelope(objects: list[str], message_id: str = "urn:uuid:0f3e2d1c-0000-4000-8000-1") -> bytes:
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<soap:Envelope xmlns:soap="http://www.w3.org/2003/05/soap-envelope" '
        'xmlns:wsa="http://www.w3.org/2005/08/addressing">\n'
        "  <soap:Header>\n"
        '    <wsa:Action soap:mustUnderstand="1">urn:ihe:iti:2007:RegistryStoredQueryResponse'
        "</wsa:Action>\n"
        f"    <wsa:RelatesTo>{message_id}</wsa:RelatesTo>\n"
        "  </soap:Header>\n  <soap:Body>\n"
        '    <query:AdhocQueryResponse xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0"'
        ' xmlns:rim="urn:oasis:names:tc:ebxml-regrep:xsd:rim:3.0" '
        'status="urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success">\n'
        "    <rim:RegistryObjectList>\n" + "".join(objects) +
        "    </rim:RegistryObjectList>\n    </query:AdhocQueryResponse>\n"
        "  </soap:Body>\n</soap:Envelope>\n"
    ).encode()


@dataclass
class Variant:
    """A replayed response and what a correct comparer must report for it."""

    body: bytes
    changed: dict[int, tuple[str, str]] = field(default_factory=dict)  # object -> (old, new)


def variants(count: int, seed: int = 2024) -> tuple[bytes, dict[str, Variant]]:
    """The recorded response and the replayed variants ``identical``, ``one value changed``,
    ``list shuffled``, ``1% changed`` and (informational) ``ids renamed``."""
    rng = random.Random(seed)
    uuids = [_uuid(rng) for _ in range(count)]
    object_seeds = [rng.getrandbits(32) for _ in range(count)]

    def build(number: int, creation: str | None = None, entry: str | None = None) -> str:
        return extrinsic_object(number, random.Random(object_seeds[number]),
                                entry or uuids[number], creation)

    objects = [build(n) for n in range(count)]
    recorded = envelope(objects)

    def changed_at(numbers: list[int]) -> Variant:
        edited = list(objects)
        changes = {}
        for number in numbers:
            old = f"2024{number % 12 + 1:02d}{number % 28 + 1:02d}1015"
            new = f"2025{number % 12 + 1:02d}{number % 28 + 1:02d}1015"
            edited[number] = build(number, creation=new)
            changes[number] = (old, new)
        return Variant(envelope(edited, "urn:uuid:0f3e2d1c-0000-4000-8000-2"), changes)

    shuffled = list(objects)
    random.Random(seed + 1).shuffle(shuffled)
    percent = sorted(random.Random(seed + 2).sample(range(count), max(1, count // 100)))
    fresh = random.Random(seed + 3)
    renamed = [extrinsic_object(n, fresh, _uuid(fresh)) for n in range(count)]
    renamed = [_strip_hash_change(new, old) for new, old in zip(renamed, objects, strict=True)]
    return recorded, {
        "identical": Variant(envelope(list(objects))),
        "one value changed": changed_at([count // 2]),
        "list shuffled": Variant(envelope(shuffled)),
        "1% changed": changed_at(percent),
        "ids renamed": Variant(envelope(renamed)),
    }


def _strip_hash_change(new: str, old: str) -> str:
    """Objects built from a fresh random stream get new hashes too; keep the recorded ones so
    only the registry-assigned ids differ."""
    marker = '<rim:Slot name="hash">'
    start_new, start_old = new.index(marker), old.index(marker)
    end_new = new.index("</rim:Slot>", start_new)
    end_old = old.index("</rim:Slot>", start_old)
    return new[:start_new] + old[start_old:end_old] + new[end_new:]
