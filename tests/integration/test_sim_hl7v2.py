"""The simulator's HL7 v2 actors over MLLP, with python-hl7's ``hl7.mllp`` streams as the client:
ITI-8 feeds (A01 / A04 / A05 / A08 / A40), ITI-9 and ITI-21 queries, the acknowledgments HL7 v2
asks for, real corpus messages, and the one patient store shared with the HL7 v3 and FHIR actors
(a v2 feed found by ITI-45 / ITI-47 / ITI-78, a v3 or FHIR feed by ITI-9 / ITI-21)."""

from __future__ import annotations

import socket
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests

from ihe_test_util.ihe.builders.hl7v2 import iti8_feed, iti8_merge, iti9_query, iti21_query
from ihe_test_util.ihe.builders.hl7v3 import iti44_add, iti44_merge, iti45_query, iti47_query
from ihe_test_util.ihe.builders.patients import PatientDemographics, PersonName
from ihe_test_util.ihe.cx import PatientId
from ihe_test_util.sim import Simulator

from ..conftest import corpus_file
from .fhir_sim_support import FhirClient, patient, soap
from .v2_client import V2Client, field, segments

A, B = "1.3.6.1.4.1.21367.2005.3.7", "1.3.6.1.4.1.21367.2005.3.8"
MPI = "2.16.840.1.113883.3.37.4.1.1.2.1.1"  # the assigning authority of the corpus feeds


def person(value: str, family: str, given: str, *others: tuple[str, str], gender: str = "M",
           birth: str = "19700101") -> PatientDemographics:
    return PatientDemographics(ids=(PatientId(value, A), *(PatientId(v, r) for r, v in others)),
                               name=PersonName(family, (given,)), gender=gender,
                               birth_date=birth)


def qak(reply: object) -> tuple[str, str]:
    return field(reply, "MSA-1"), field(reply, "QAK-2")  # type: ignore[arg-type]


def pid3(reply: object) -> set[str]:
    """Every PID-3 repetition (id^^^&root&ISO) of every returned PID, without CX-5."""
    found = set()
    for pid in segments(reply, "PID"):  # type: ignore[arg-type]
        for repetition in str(pid(3)).split("~"):
            found.add(repetition.removesuffix("^PI"))
    return found


@pytest.fixture()
def sim() -> Iterator[Simulator]:
    with Simulator() as running:
        yield running


def test_feed_query_and_acknowledgments_follow_hl7v2(sim: Simulator) -> None:
    assert sim.mllp_url.startswith("mllp://127.0.0.1:")
    assert sim.url_for("pix-v2") == sim.url_for("ITI-21") == sim.urls()["pdq-v2"]
    assert sim.transactions["pix-v2"] == ["ITI-8", "ITI-9"]
    with V2Client(sim.mllp_url) as client:
        feed = iti8_feed(person("P1", "Meyer", "Hans", (B, "Q1")))
        ack = client.send(feed)
        assert str(ack.segment("MSH")(9)) == "ACK^A01^ACK"
        assert field(ack, "MSA-1") == "AA"
        assert field(ack, "MSA-2") == feed.values["messageControlId"]
        assert segments(ack, "ERR") == []
        client.send(iti8_feed(person("P2", "Meyer", "Anna", gender="F", birth="19710202"),
                              event="A04"))
        a05 = iti8_feed(person("P3", "Schmidt", "Eva", gender="F"), event="A04").body.replace(
            b"ADT^A04^ADT_A01", b"ADT^A05^ADT_A05").replace(b"EVN|A04", b"EVN|A05")
        assert field(client.send(a05), "MSA-1") == "AA"

        query = iti9_query(PatientId("P1", A), domains=[B])
        reply = client.send(query)
        assert str(reply.segment("MSH")(9)) == "RSP^K23^RSP_K23"
        assert qak(reply) == ("AA", "OK")
        assert field(reply, "MSA-2") == query.values["messageControlId"]
        assert field(reply, "QAK-1") == query.values["queryTag"]
        assert pid3(reply) == {f"Q1^^^&{B}&ISO"}
        assert qak(client.send(iti9_query(PatientId("P2", A), domains=[B]))) == ("AA", "NF")

        pdq = iti21_query({"family": "MEYER"})
        reply = client.send(pdq)
        assert str(reply.segment("MSH")(9)) == "RSP^K22^RSP_K21"
        assert qak(reply) == ("AA", "OK") and field(reply, "QAK-1") == pdq.values["queryTag"]
        assert pid3(reply) == {f"P1^^^&{A}&ISO", f"Q1^^^&{B}&ISO", f"P2^^^&{A}&ISO"}
        assert {str(p(5)) for p in segments(reply, "PID")} == {"Meyer^Hans", "Meyer^Anna"}
        assert {str(p(7)) for p in segments(reply, "PID")} == {"19700101", "19710202"}
        # several parameters must all hold; RCP-2 limits; QPD-8 scopes the returned ids
        both = client.send(iti21_query({"family": "Mey*", "gender": "F"}))
        assert pid3(both) == {f"P2^^^&{A}&ISO"}
        assert len(segments(client.send(iti21_query({"family": "Meyer"}, quantity=1)),
                            "PID")) == 1
        scoped = client.send(iti21_query({"family": "Meyer"}, domains=[B]))
        assert pid3(scoped) == {f"Q1^^^&{B}&ISO"}
        assert qak(client.send(iti21_query({"family": "Nobody"}))) == ("AA", "NF")
        by_id = client.send(iti21_query({"id": "Q1", "id_authority": B}))
        assert pid3(by_id) == {f"P1^^^&{A}&ISO", f"Q1^^^&{B}&ISO"}
        assert qak(client.send(iti21_query({"id": "Q1", "id_authority": A}))) == ("AA", "NF")
        unsupported = client.send(iti21_query({"account": "4711"}))
        assert qak(unsupported) == ("AE", "AE") and field(unsupported, "ERR-2") == "QPD^1^3"

        # A08 updates, in place
        assert field(client.send(iti8_feed(person("P2", "Meyer", "Lena", gender="F"),
                                           event="A08")), "MSA-1") == "AA"
        assert "Meyer^Lena" in {str(p(5)) for p in segments(
            client.send(iti21_query({"given": "lena"})), "PID")}


def test_errors_are_ae_or_ar_with_an_err_naming_the_place(sim: Simulator) -> None:
    with V2Client(sim.mllp_url) as client:
        client.send(iti8_feed(person("P1", "Meyer", "Hans")))
        unknown = client.send(iti9_query(PatientId("NOPE", A)))
        assert qak(unknown) == ("AE", "AE")
        err = unknown.segment("ERR")
        assert str(err(2)) == "QPD^1^3^1^1" and str(err(3)(1)(1)) == "204"
        domain = client.send(iti9_query(PatientId("P1", "1.2.999")))
        assert qak(domain) == ("AE", "AE") and field(domain, "ERR-2") == "QPD^1^3^1^4"
        wanted = client.send(iti9_query(PatientId("P1", A), domains=["1.2.999"]))
        assert qak(wanted) == ("AE", "AE") and field(wanted, "ERR-2") == "QPD^1^4"
        pdq = client.send(iti21_query({"family": "Meyer"}, domains=["1.2.999"]))
        assert qak(pdq) == ("AE", "AE") and field(pdq, "ERR-2") == "QPD^1^8"
        update = client.send(iti8_feed(person("NEW", "X", "Y"), event="A08"))
        assert field(update, "MSA-1") == "AE" and "204" in str(update.segment("ERR")(3))
        no_id = client.send("MSH|^~\\&|A|B|C|D|2020||ADT^A01|N1|P|2.5\rEVN|A01\rPID|1||X^^^L")
        assert field(no_id, "MSA-1") == "AE" and field(no_id, "MSA-2") == "N1"
        assert field(no_id, "ERR-2") == "PID^1^3"
        other = client.send("MSH|^~\\&|A|B|C|D|2020||ORU^R01|O1|P|2.5\rPID|1")
        assert field(other, "MSA-1") == "AR" and "200" in str(other.segment("ERR")(3))
        event = client.send("MSH|^~\\&|A|B|C|D|2020||ADT^A03|E1|P|2.5\rPID|1")
        assert field(event, "MSA-1") == "AR" and "201" in str(event.segment("ERR")(3))
        # the connection still serves after errors
        assert field(client.send(iti8_feed(person("P9", "Z", "Z"))), "MSA-1") == "AA"


def test_corpus_feeds_and_merge(sim: Simulator) -> None:
    """Real ADT messages (IPF's PIX source test data): LF line ends, v2.3.1, HL7 nulls in PID-3
    (``""^^^&2.71&ISO``), a PD1 before MRG."""
    a01 = corpus_file("ITI-8/A01.hl7").read_bytes()
    a40 = corpus_file("ITI-8/A40.hl7").read_bytes()
    with V2Client(sim.mllp_url) as client:
        assert field(client.send(a01), "MSA-1") == "AA"
        assert field(client.send(a01), "MSA-2") == "371601"
        reply = client.send(iti9_query(PatientId("306563", MPI)))
        assert qak(reply) == ("AA", "OK")
        assert pid3(reply) == {"30753^^^KHKN&2.16.840.1.113883.3.37.4.1.1.2.611.1&ISO"}
        for value in ("142025", "704686"):
            client.send(iti8_feed(PatientDemographics(
                ids=(PatientId(value, MPI), PatientId(f"{value}-b", B)),
                name=PersonName("LENNON", ("JOHN",)))))
        assert len(segments(client.send(iti21_query({"family": "lennon"})), "PID")) == 2
        merged = client.send(a40)
        assert field(merged, "MSA-1") == "AA", str(merged)
        assert str(merged.segment("MSH")(9)) == "ACK^A40^ACK"
        found = client.send(iti21_query({"family": "lennon"}))
        assert pid3(found) == {f"142025^^^&{MPI}&ISO", f"142025-b^^^&{B}&ISO",
                               f"704686-b^^^&{B}&ISO"}
        assert qak(client.send(iti9_query(PatientId("704686", MPI)))) == ("AE", "AE")
        again = client.send(a40)
        assert field(again, "MSA-1") == "AE" and field(again, "ERR-2") == "MRG^1^1^1^1"


def test_a_v2_feed_is_found_by_pix_v3_pdq_v3_and_pdqm(sim: Simulator) -> None:
    with V2Client(sim.mllp_url) as client:
        client.send(iti8_feed(person("V2-1", "Kraus", "Uwe", (B, "V2-1b"), birth="19650505")))
        client.send(iti8_feed(person("V2-2", "Kraus", "Ida", gender="F")))
        client.send(iti8_merge(person("V2-1", "Kraus", "Uwe"), PatientId("V2-2", A)))
    _, pix, _ = soap(sim.url_for("pix"), iti45_query(PatientId("V2-1", A)))
    assert {(e.get("root"), e.get("extension")) for e in pix.iter("{*}id")
            if e.getparent() is not None and e.getparent().tag.endswith("}patient")} == {
        (B, "V2-1b")}
    _, pdq, _ = soap(sim.url_for("pdq"), iti47_query(PatientDemographics(
        name=PersonName("Kraus"))))
    people = list(pdq.iter("{*}patientPerson"))
    assert len(people) == 1  # merged
    assert [e.get("value") for e in people[0].iter("{*}birthTime")] == ["19650505"]
    found = FhirClient(sim.url_for("fhir")).get("Patient", family="kraus").entries
    assert len(found) == 1
    assert found[0]["name"][0] == {"family": "Kraus", "given": ["Uwe"]}
    assert found[0]["birthDate"] == "1965-05-05" and found[0]["gender"] == "male"
    assert {i["value"] for i in found[0]["identifier"]} == {"V2-1", "V2-1b"}


def test_v3_and_fhir_feeds_are_found_by_pix_and_pdq_v2(sim: Simulator) -> None:
    soap(sim.url_for("pix"), iti44_add(person("V3-1", "Braun", "Olga", (B, "V3-1b"),
                                              gender="F", birth="19500303")))
    soap(sim.url_for("pix"), iti44_add(person("V3-2", "Braun", "Olaf")))
    soap(sim.url_for("pix"), iti44_merge(person("V3-1", "Braun", "Olga"), PatientId("V3-2", A)))
    fhir = FhirClient(sim.url_for("fhir"))
    fed = fhir.request("PUT", "Patient", patient(A, "F-1", "Braun", "Fritz", gender="male",
                                                 others=((B, "F-1b"),)),
                       params={"identifier": f"urn:oid:{A}|F-1"})
    assert fed.status in (200, 201)
    with V2Client(sim.mllp_url) as client:
        assert pid3(client.send(iti9_query(PatientId("V3-1", A)))) == {f"V3-1b^^^&{B}&ISO"}
        assert qak(client.send(iti9_query(PatientId("V3-2", A)))) == ("AE", "AE")  # merged
        assert pid3(client.send(iti9_query(PatientId("F-1", A), domains=[B]))) == {
            f"F-1b^^^&{B}&ISO"}
        reply = client.send(iti21_query({"family": "braun"}))
        assert {str(p(5)) for p in segments(reply, "PID")} == {"Braun^Olga", "Braun^Fritz"}
        assert {str(p(8)) for p in segments(reply, "PID")} == {"F", "M"}
        olga = client.send(iti21_query({"given": "olga"}))
        assert field(olga, "PID-7") == "19500303"


def _raw_exchange(url: str, data: bytes) -> bytes:
    """Bytes a client library would refuse to send (not an HL7 message), framed by hand."""
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "", parts.port or 0), timeout=10) as sock:
        sock.sendall(b"\x0b" + data + b"\x1c\r")
        reply = b""
        while not reply.endswith(b"\x1c\r"):
            chunk = sock.recv(65536)
            assert chunk, reply
            reply += chunk
    return reply[1:-2]


def test_junk_is_answered_ar_and_the_index_lists_the_v2_actors(sim: Simulator) -> None:
    reply = _raw_exchange(sim.mllp_url, b"hello, not HL7")
    lines = reply.split(b"\r")
    assert lines[0].startswith(b"MSH|^~\\&|") and lines[1].startswith(b"MSA|AR|")
    assert b"|100^Segment sequence error^HL70357|" in lines[2]
    index = requests.get(sim.base_url, timeout=10).text
    assert f"PIX Manager (HL7 v2)         {sim.mllp_url}  ITI-8 ITI-9" in index
    assert f"PDQ Supplier (HL7 v2)        {sim.mllp_url}  ITI-21" in index


def test_v2_patients_survive_a_restart_with_a_state_file(tmp_path: Path) -> None:
    state = tmp_path / "sim.sqlite"
    with Simulator(state_path=state) as first, V2Client(first.mllp_url) as client:
        assert field(client.send(iti8_feed(person("S-1", "Stein", "Ute", (B, "S-1b")))),
                     "MSA-1") == "AA"
    with Simulator(state_path=state) as second, V2Client(second.mllp_url) as client:
        assert pid3(client.send(iti9_query(PatientId("S-1", A)))) == {f"S-1b^^^&{B}&ISO"}
