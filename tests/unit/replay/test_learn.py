"""``ihe learn``'s judgement on the results of several runs: what varies between runs is noise,
unless it is a verdict field, an echo, a correlated id or an id a later request reuses."""

from __future__ import annotations

import sys

from ihe_test_util.compare import load_rules
from ihe_test_util.model import Cassette, Headers, Interaction, InteractionMeta, Request, Response
from ihe_test_util.replay.capture_rules import load_capture_rules
from ihe_test_util.replay.learn import covered_by, general_pattern, learn, render_toml
from ihe_test_util.results import Difference, DifferenceKind, ExchangeResult, Outcome, Severity
from ihe_test_util.safexml import parse_xml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

SOAP = 'xmlns:soap="http://www.w3.org/2003/05/soap-envelope"'
WSA = 'xmlns:wsa="http://www.w3.org/2005/08/addressing"'
SUCCESS = "urn:oasis:names:tc:ebxml-regrep:ResponseStatusType:Success"
XML = Headers([("Content-Type", "application/soap+xml")])
HEADER = "/Envelope/Header"
STATUS = "/Envelope/Body/AdhocQueryResponse/@status"


def registry_response(ticket: str = "T4711") -> bytes:
    return (
        f'<soap:Envelope {SOAP} {WSA}><soap:Header>'
        '<wsa:RelatesTo>urn:uuid:0f7e3c1a-5b2d-4e6f-8a9b-0c1d2e3f4a5b</wsa:RelatesTo>'
        '<v:Stamp xmlns:v="urn:v">1</v:Stamp>'
        '<v:List xmlns:v="urn:v"><v:Item v="a"/><v:Item v="b"/></v:List>'
        '<v:Pair xmlns:v="urn:v"><v:Item v="a"/><v:Item v="b"/></v:Pair>'
        f'<v:Ticket xmlns:v="urn:v">{ticket}</v:Ticket></soap:Header><soap:Body>'
        '<query:AdhocQueryResponse xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0" '
        f'status="{SUCCESS}"/></soap:Body></soap:Envelope>'
    ).encode()


def query(ticket: str = "") -> bytes:
    return (f'<soap:Envelope {SOAP} {WSA}><soap:Header><wsa:MessageID>urn:uuid:0f7e3c1a-5b2d-'
            '4e6f-8a9b-0c1d2e3f4a5b</wsa:MessageID></soap:Header><soap:Body>'
            '<query:AdhocQueryRequest xmlns:query="urn:oasis:names:tc:ebxml-regrep:xsd:query:3.0">'
            f'<ticket>{ticket}</ticket></query:AdhocQueryRequest></soap:Body></soap:Envelope>'
            ).encode()


def cassette() -> Cassette:
    """#0 answers a ticket that #1 sends back (too short for automatic correlation)."""
    def exchange(body: bytes) -> Interaction:
        return Interaction(Request("POST", "http://reg.example/xds", XML, body),
                           Response(200, "OK", XML, registry_response()),
                           InteractionMeta(transaction="ITI-18"))
    return Cassette((exchange(query()), exchange(query("T4711"))))


def verdict() -> dict[str, object]:
    return {"http_status": 200, "registry_status": "Success"}


def run(number: int, *, index: int = 0, outcome: Outcome = Outcome.CHANGED,
        extra: tuple[Difference, ...] = (), replayed_verdict: dict[str, object] | None = None,
        ) -> ExchangeResult:
    """Exchange ``index`` of run ``number``: the stamp and List items vary, Pair[1] varies
    but Pair[2] does not, the ticket varies, a drift stays the same in every run."""
    value = DifferenceKind.VALUE
    attribute = DifferenceKind.ATTRIBUTE
    differences = (
        Difference(f"{HEADER}/Stamp", value, Severity.CHANGED, "1", f"{number + 2}"),
        Difference(f"{HEADER}/List/Item[1]/@v", attribute, Severity.CHANGED, "a", f"a{number}"),
        Difference(f"{HEADER}/List/Item[2]/@v", attribute, Severity.CHANGED, "b", f"b{number}"),
        Difference(f"{HEADER}/Pair/Item[1]/@v", attribute, Severity.CHANGED, "a", f"a{number}"),
        Difference(f"{HEADER}/Ticket", value, Severity.CHANGED, "T4711", f"T{4800 + number}"),
        Difference(f"{HEADER}/Drift", value, Severity.CHANGED, "v1", "v2"),
        *extra,
    )
    return ExchangeResult(
        id=f"flow.yaml#{index}", cassette="flow.yaml", index=index, outcome=outcome,
        transaction="ITI-18", verdict_recorded=verdict(),
        verdict_replayed=replayed_verdict or verdict(), differences=differences)


def three_runs(**changes: object) -> list[list[ExchangeResult]]:
    return [[run(n, index=0, **changes)] for n in range(3)]  # type: ignore[arg-type]


def test_what_varies_between_runs_is_proposed_generalised_over_positions() -> None:
    learned = learn(three_runs(), {"flow.yaml": cassette()})
    noise = {(p.transaction, p.pattern) for p in learned.noise}
    assert noise == {
        ("ITI-18", f"{HEADER}/Stamp"),
        ("ITI-18", f"{HEADER}/List/Item/@v"),  # every Item varies: positions generalised
        ("ITI-18", f"{HEADER}/Pair/Item[1]/@v"),  # Item[2] never varied: kept positional
    }
    drift = [s for s in learned.skipped if s.path == f"{HEADER}/Drift"]
    assert drift and "same new value in every run" in drift[0].reason
    stamp = next(p for p in learned.noise if p.pattern.endswith("Stamp"))
    assert stamp.exchanges == ["flow.yaml#0"] and stamp.runs_varied == 3
    assert stamp.samples[:2] == ["1", "2"]


def test_a_varying_value_a_later_request_reuses_is_an_identifier_not_noise() -> None:
    learned = learn(three_runs(), {"flow.yaml": cassette()})
    (ticket,) = learned.correlate
    assert ticket.pattern == f"{HEADER}/Ticket" and ticket.reused_by == ["flow.yaml#1"]
    assert all(not p.pattern.endswith("Ticket") for p in learned.noise)
    fragment = render_toml(learned, "learned in a test")
    data = tomllib.loads(fragment)
    assert data["correlate"] == [{
        "name": "learned: ITI-18 Ticket", "transaction": "ITI-18",
        "response": "/*[local-name()='Envelope']/*[local-name()='Header']"
                    "/*[local-name()='Ticket']"}]
    load_rules(data["rules"])  # the fragment is valid configuration
    rules = load_capture_rules(data["correlate"])
    assert rules[0].values(parse_xml(registry_response())) == ["T4711"]
    assert "# an identifier the server assigns, reused by flow.yaml#1" in fragment
    # Once a [[correlate]] rule carries it, it is a correlated id: never proposed again.
    again = learn(three_runs(), {"flow.yaml": cassette()}, capture_rules=rules)
    assert not again.correlate
    assert any("correlated id" in s.reason for s in again.skipped)


def test_verdict_fields_and_echoes_are_never_proposed() -> None:
    status = Difference(STATUS, DifferenceKind.ATTRIBUTE, Severity.CHANGED, SUCCESS, "x")
    runs = [[run(n, extra=(
        Difference(STATUS, DifferenceKind.ATTRIBUTE, Severity.CHANGED, SUCCESS, f"{n}"),
        Difference(f"{HEADER}/RelatesTo", DifferenceKind.VALUE, Severity.CHANGED, "u",
                   f"urn:uuid:{n}")))] for n in range(3)]
    learned = learn(runs, {"flow.yaml": cassette()})
    reasons = {s.path: s.reason for s in learned.skipped}
    assert reasons[STATUS] == "would cover the verdict field registry_status"
    assert reasons[f"{HEADER}/RelatesTo"].startswith("would cover the echo")
    assert status.path not in {p.pattern for p in learned.places}


def test_an_exchange_whose_verdict_moved_teaches_nothing() -> None:
    runs = three_runs()
    runs[1] = [run(1, outcome=Outcome.REGRESSION,
                   replayed_verdict={"http_status": 200, "registry_status": "Failure"})]
    learned = learn(runs, {"flow.yaml": cassette()})
    assert learned.places == []
    assert learned.unstable == {"flow.yaml#0": "a verdict field changed in a run"}
    missing = learn([[run(0)], [run(1)], []], {"flow.yaml": cassette()})
    assert missing.unstable == {"flow.yaml#0": "replayed in 2 of 3 runs"}


def test_a_whole_element_holding_a_verdict_field_is_covered() -> None:
    cassettes = {"flow.yaml": cassette()}
    assert covered_by("/Envelope/Body/AdhocQueryResponse", ["flow.yaml#0"], cassettes) == (
        "the verdict field registry_status")
    assert covered_by("//RelatesTo", ["flow.yaml#0"], cassettes) is not None
    assert covered_by("/Envelope/Header/Stamp", ["flow.yaml#0"], cassettes) is None


def test_general_pattern() -> None:
    assert general_pattern("/A/B[2]/C[10]/@x") == "/A/B/C/@x"


def test_json_values_are_looked_for_in_requests_as_the_wire_carries_them() -> None:
    from ihe_test_util.replay.learn import wire_value

    assert wire_value('"9cbb-41"') == "9cbb-41"
    assert wire_value("true") == "true" and wire_value('"a" -> "b"') == '"a" -> "b"'
    assert wire_value(None) is None
