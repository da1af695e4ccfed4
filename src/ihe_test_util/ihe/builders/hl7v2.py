"""HL7 v2 (ER7) messages of the PIX / PDQ v2 profiles from plain values, and acknowledgments.

* ITI-8 Patient Identity Feed: :func:`iti8_feed` (ADT^A01 admit, ^A04 register, ^A08 update)
  and :func:`iti8_merge` (ADT^A40, PID + MRG).
* ITI-9 PIX Query: :func:`iti9_query` (QBP^Q23, ``IHE PIX Query``).
* ITI-21 PDQ: :func:`iti21_query` (QBP^Q22, ``IHE PDQ Query``, QPD-3 ``@PID.5.1^Meyer~...``).
* :func:`ack`: an ACK for a received message (MSA-1 AA / AE / AR, MSA-2 its MSH-10, an ERR
  naming the problem), for the recording proxy's failure answers and the v2 stubs.

Messages use the standard separators ``|^~\\&`` and CR between segments (the wire form; a
cassette stores them one segment per line). MSH-7 and MSH-10 (and QPD-2) come from the
injectable :class:`~ihe_test_util.ihe.identifiers.IdGenerator`, so tests get fixed values;
replay makes them fresh again (catalogue regeneration rules). Values are escaped
(``^`` -> ``\\S\\``); every builder returns :class:`Er7Message` with the generated values
(``messageControlId``, ``queryTag``) for scenario captures.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from ihe_test_util.errors import UsageError
from ihe_test_util.ihe.builders.patients import PatientDemographics
from ihe_test_util.ihe.cx import PatientId, escape, format_cx
from ihe_test_util.ihe.er7 import FieldRef, decode_er7, read_field
from ihe_test_util.ihe.identifiers import DEFAULT_IDS, IdGenerator
from ihe_test_util.ihe.vocabulary import V2_ERROR_NAMES
from ihe_test_util.model import Request

SEGMENT_END = "\r"
FEED_EVENTS = ("A01", "A04", "A08")
#: PDQ query parameters by name -> the PID field reference QPD-3 uses (ITI TF-2 3.21.4.1.2.2).
PDQ_PARAMETERS: Mapping[str, str] = {
    "family": "@PID.5.1", "given": "@PID.5.2", "birth_date": "@PID.7", "gender": "@PID.8",
    "street": "@PID.11.1", "city": "@PID.11.3", "state": "@PID.11.4",
    "postal_code": "@PID.11.5", "country": "@PID.11.6", "id": "@PID.3.1",
    "id_authority": "@PID.3.4.2", "account": "@PID.18.1", "mothers_maiden_name": "@PID.6.1",
}


@dataclass(frozen=True)
class MessageHeader:
    """MSH-3..6 and the rest of MSH that a sender chooses."""

    sending_application: str = "IHE_TEST_UTIL"
    sending_facility: str = "IHE_TEST_UTIL"
    receiving_application: str = "RECEIVER"
    receiving_facility: str = "RECEIVER"
    version: str = "2.5"
    processing_id: str = "P"
    charset: str | None = None  # MSH-18, e.g. UNICODE UTF-8

    def render(self, message_type: str, control_id: str, timestamp: str) -> str:
        fields = ["MSH", "^~\\&", _esc(self.sending_application), _esc(self.sending_facility),
                  _esc(self.receiving_application), _esc(self.receiving_facility), timestamp,
                  "", message_type, control_id, self.processing_id, self.version]
        if self.charset:
            fields += ["", "", "", "", "", self.charset]
        return "|".join(fields)


@dataclass(frozen=True)
class Er7Message:
    """A built ER7 message: its transaction, the bytes, the values the builder generated."""

    transaction: str
    body: bytes
    values: Mapping[str, str] = field(default_factory=dict)

    def to_request(self, url: str, *, security: object = None) -> Request:
        """The MLLP request (``url``: ``mllp://host:port``); ``security`` (WS-Security) does
        not apply to HL7 v2 and is ignored."""
        from ihe_test_util.transport.mllp import MLLP_METHOD

        return Request(method=MLLP_METHOD, uri=url, body=self.body)

    @property
    def text(self) -> str:
        return self.body.decode("utf-8")


def iti8_feed(patient: PatientDemographics, *, event: str = "A01",
              header: MessageHeader | None = None, ids: IdGenerator = DEFAULT_IDS) -> Er7Message:
    """ADT^A01 / ^A04 / ^A08 with EVN, PID and a PV1 (class N: not applicable)."""
    if event not in FEED_EVENTS:
        raise UsageError(f"ITI-8 feed event {event!r} is not one of {', '.join(FEED_EVENTS)}",
                         hint="A40 (merge) is built by iti8_merge")
    return _feed(f"ADT^{event}^ADT_A01", event, [pid_segment(patient), "PV1||N"], header, ids)


def iti8_merge(surviving: PatientDemographics, subsumed: PatientId, *,
               header: MessageHeader | None = None, ids: IdGenerator = DEFAULT_IDS) -> (
        Er7Message):
    """ADT^A40: ``subsumed`` is merged into ``surviving`` (PID + MRG-1)."""
    mrg = f"MRG|{format_cx(subsumed, namespace=True)}"
    return _feed("ADT^A40^ADT_A39", "A40", [pid_segment(surviving), mrg], header, ids)


def iti9_query(patient_id: PatientId, *, domains: Sequence[str] = (),
               header: MessageHeader | None = None, ids: IdGenerator = DEFAULT_IDS) -> (
        Er7Message):
    """QBP^Q23: which ids does ``patient_id`` have (in ``domains``: assigning authority OIDs,
    all domains when empty)?"""
    what = "~".join(f"^^^&{escape(oid)}&ISO" for oid in domains)
    return _query("ITI-9", "QBP^Q23^QBP_Q21", "IHE PIX Query",
                  [format_cx(patient_id, namespace=True), what], header, ids)


def iti21_query(parameters: Mapping[str, str], *, quantity: int | None = None,
                domains: Sequence[str] = (), header: MessageHeader | None = None,
                ids: IdGenerator = DEFAULT_IDS) -> Er7Message:
    """QBP^Q22 with QPD-3 built from ``parameters`` (names in :data:`PDQ_PARAMETERS`, or a
    field reference such as ``@PID.13.1``); ``quantity``: RCP-2 (at most that many
    patients); ``domains``: QPD-8, the domains whose ids are returned."""
    if not parameters:
        raise UsageError("a PDQ query needs at least one parameter",
                         hint="e.g. family: Meyer, birth_date: 19700101")
    terms = []
    for name, value in parameters.items():
        key = PDQ_PARAMETERS.get(name, name)
        if not key.startswith("@PID."):
            raise UsageError(f"PDQ parameter {name!r} is not known",
                             hint="use one of " + ", ".join(PDQ_PARAMETERS)
                             + " or a field like @PID.13.1")
        terms.append(f"{key}^{escape(str(value))}")
    qpd = ["~".join(terms), "", "", "", "", "~".join(f"^^^&{escape(o)}&ISO" for o in domains)]
    rcp = f"RCP|I|{quantity}^RD" if quantity else "RCP|I"
    return _query("ITI-21", "QBP^Q22^QBP_Q21", "IHE PDQ Query", qpd, header, ids, rcp=rcp)


def pid_segment(patient: PatientDemographics) -> str:
    """PID with PID-3 (every id, repetitions), -5, -6, -7, -8, -11, -13."""
    fields = [""] * 14
    fields[1] = "1"
    fields[3] = "~".join(format_cx(pid, namespace=True) + "^PI" for pid in patient.ids)
    if patient.name is not None:
        fields[5] = _esc_components(patient.name.xpn())
    if patient.mothers_maiden_name:
        fields[6] = escape(patient.mothers_maiden_name)
    fields[7] = patient.birth_date or ""
    fields[8] = patient.gender or ""
    if patient.address is not None:
        fields[11] = _esc_components(patient.address.xad())
    fields[13] = "~".join(escape(t) for t in patient.telecom)
    return "|".join(["PID", *fields[1:]]).rstrip("|")


def ack(message: bytes, code: str, text: str, *, error_code: str = "207",
        ids: IdGenerator = DEFAULT_IDS) -> bytes:
    """An ACK answering ``message`` (ER7): sender and receiver swapped, MSA-1 ``code`` (AA,
    AE, AR), MSA-2 its MSH-10, MSA-3 and ERR naming ``text`` (HL7 table 0357 ``error_code``,
    207: application internal error). Works on a message it cannot fully read (what is
    missing stays empty)."""
    if code not in ("AA", "AE", "AR", "CA", "CE", "CR"):
        raise ValueError(f"acknowledgment code {code!r}")
    source, _ = decode_er7(message)

    def field_of(ref: str) -> str:
        try:
            return read_field(source, FieldRef.parse(ref)) or ""
        except ValueError:
            return ""
    trigger = field_of("MSH-9.2")
    version = field_of("MSH-12") or "2.5"
    header = "|".join(["MSH", "^~\\&", field_of("MSH-5"), field_of("MSH-6"), field_of("MSH-3"),
                       field_of("MSH-4"), ids.timestamp(), "",
                       f"ACK^{trigger}^ACK" if trigger else "ACK",
                       "ACK" + ids.uuid().replace("-", "")[:17], field_of("MSH-11") or "P",
                       version])
    reason = escape(" ".join(text.split()))[:200]
    segments = [header, f"MSA|{code}|{field_of('MSH-10')}|{reason}"]
    if code != "AA":
        # ERR-3 HL7 error code (table 0357), ERR-4 severity, ERR-8 user message (v2.5)
        segments.append(f"ERR|||{error_code}^{_ERROR_NAMES.get(error_code, '')}^HL70357|E"
                        f"||||{reason}")
    return (SEGMENT_END.join(segments) + SEGMENT_END).encode("utf-8")


_ERROR_NAMES = V2_ERROR_NAMES


def _feed(message_type: str, event: str, segments: list[str], header: MessageHeader | None,
          ids: IdGenerator) -> Er7Message:
    header = header or MessageHeader()
    timestamp = ids.timestamp()
    control_id = _control_id(ids)
    lines = [header.render(message_type, control_id, timestamp), f"EVN|{event}|{timestamp}",
             *segments]
    return Er7Message("ITI-8", (SEGMENT_END.join(lines) + SEGMENT_END).encode("utf-8"),
                      {"messageControlId": control_id})


def _query(transaction: str, message_type: str, name: str, parameters: list[str],
           header: MessageHeader | None, ids: IdGenerator, *, rcp: str = "RCP|I") -> (
        Er7Message):
    header = header or MessageHeader()
    control_id = _control_id(ids)
    tag = "Q" + _control_id(ids)[3:]
    qpd = "|".join(["QPD", name, tag, *parameters]).rstrip("|")
    lines = [header.render(message_type, control_id, ids.timestamp()), qpd, rcp]
    return Er7Message(transaction, (SEGMENT_END.join(lines) + SEGMENT_END).encode("utf-8"),
                      {"messageControlId": control_id, "queryTag": tag})


def _control_id(ids: IdGenerator) -> str:
    """``MSG`` and 17 digits: unique, at most 20 characters (MSH-10 in v2.5)."""
    return "MSG" + f"{int(ids.uuid().replace('-', ''), 16):039d}"[-17:]


def _esc(value: str) -> str:
    return escape(value)


def _esc_components(value: str) -> str:
    """A composite built with ``^`` (XPN, XAD): each component escaped, the ``^`` kept."""
    return "^".join(escape(part) for part in value.split("^"))


__all__ = [
    "FEED_EVENTS",
    "PDQ_PARAMETERS",
    "Er7Message",
    "MessageHeader",
    "ack",
    "iti8_feed",
    "iti8_merge",
    "iti9_query",
    "iti21_query",
    "pid_segment",
]
