"""Identifiers a v2 manager assigns (an MPI id in an RSP^K23's PID-3) are carried into later
HL7 v2 requests of the cassette on replay, in the ER7 text, every other byte kept."""

from __future__ import annotations

from collections.abc import Mapping

from ihe_test_util.config import Settings
from ihe_test_util.ihe.message import Reader
from ihe_test_util.model import Cassette, Interaction, InteractionMeta, Request, Response
from ihe_test_util.replay.engine import CassetteReplay
from ihe_test_util.replay.session import CassetteRegenerator
from ihe_test_util.replay.targets import TargetMap
from ihe_test_util.results import Comparison, Outcome
from ihe_test_util.transport.mllp import MLLP_METHOD

URL = "mllp://pix.example:2575"
MSH = "MSH|^~\\&|HIS|H|PIX|P|20200101010101||{type}|{control}|P|2.5\r"


def query() -> bytes:
    return (MSH.format(type="QBP^Q23^QBP_Q21", control="C1")
            + "QPD|IHE PIX Query|Q1|PAT0001^^^&1.2.3&ISO|^^^&1.2.9&ISO\rRCP|I\r").encode()


def answer(mpi: str, control: str = "C1", tag: str = "Q1") -> bytes:
    return (MSH.format(type="RSP^K23^RSP_K23", control="R1") + f"MSA|AA|{control}\r"
            f"QAK|{tag}|OK\rQPD|IHE PIX Query|{tag}|PAT0001^^^&1.2.3&ISO\r"
            f"PID|1||{mpi}^^^MPI&1.2.9&ISO^PI\r").encode()


def update(mpi: str) -> bytes:
    return (MSH.format(type="ADT^A08^ADT_A01", control="C2") + "EVN|A08|20200101\r"
            f"PID|1||{mpi}^^^MPI&1.2.9&ISO^PI~PAT0001^^^&1.2.3&ISO^PI||Doe^Jane|||F\r").encode()


class Manager:
    """Assigns MPI id ``MPI777000555`` this time (``MPI123456789`` when recorded)."""

    def __init__(self) -> None:
        self.sent: list[Request] = []

    def send(self, request: Request) -> tuple[Response, float]:
        self.sent.append(request)
        if b"QBP^Q23" in request.body:
            return Response(200, "OK", body=answer("MPI777000555")), 1.0
        return Response(200, "OK", body=b"MSH|^~\\&|A|B|C|D|1||ACK|1|P|2.5\rMSA|AA|C2\r"), 1.0


def compare(recorded: Response, replayed: Response, *, transaction: str | None,
            recorded_request: Request | None, replayed_request: Request | None,
            cassette: str | None, value_map: Mapping[str, str], read: Reader) -> Comparison:
    return Comparison(outcome=Outcome.PASS, transaction=transaction, verdict_recorded={},
                      verdict_replayed={})


def test_an_mpi_id_from_a_pix_answer_is_sent_in_the_later_update() -> None:
    recorded = Cassette((
        Interaction(Request(MLLP_METHOD, URL, body=query()),
                    Response(200, "OK", body=answer("MPI123456789")),
                    InteractionMeta(transaction="ITI-9")),
        Interaction(Request(MLLP_METHOD, URL, body=update("MPI123456789")),
                    Response(200, "OK", body=b"MSH|^~\\&|A|B|C|D|1||ACK|1|P|2.5\rMSA|AA|C2\r"),
                    InteractionMeta(transaction="ITI-8")),
    ))
    manager = Manager()
    run = CassetteReplay(cassette_id="pix.yaml", cassette=recorded,
                         targets=TargetMap.parse(["mllp://127.0.0.1:2575"]), sender=manager,
                         comparer=compare, regenerator=CassetteRegenerator(Settings()))
    results = list(run.run())
    assert [r.outcome for r in results] == [Outcome.PASS, Outcome.PASS]
    assert run.correlated == {"MPI123456789": "MPI777000555"}
    sent = manager.sent[1].body.decode()
    expected = update("MPI777000555").decode().split("\r")
    # the MPI id is the manager's new one; MSH-7 / MSH-10 fresh; nothing else moved
    assert sent.split("\r")[1:] == expected[1:]
    assert "MPI123456789" not in sent and "|C2|" not in sent
