"""Fuzzing ``ihe diff``'s body readers: XML (SOAP and bare), JSON, HL7 v2, MTOM, gzip, with or
without an HTTP head, through the same steps as the command (``parse_capture`` then
``compare_responses``, detection included, or a transaction named as with --transaction)."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ihe_test_util.compare import compare_responses
from ihe_test_util.compare.files import parse_capture
from ihe_test_util.errors import IheTestError
from ihe_test_util.ihe.catalogue import known_ids

from . import seeds
from .conftest import bounded, fuzz_settings, mutated

_FILES = seeds.diff_files()


def _diff(recorded: bytes, replayed: bytes, transaction: str | None) -> None:
    try:
        comparison = compare_responses(parse_capture(recorded), parse_capture(replayed),
                                       transaction=transaction)
    except IheTestError:
        return  # exit 2 naming the file
    assert comparison.outcome is not None


@fuzz_settings(short=25)
@given(st.sampled_from(_FILES), mutated(_FILES),
       st.one_of(st.none(), st.sampled_from(sorted(known_ids()))))
def test_fuzz_diff_of_a_file_and_a_fuzzed_one(recorded: bytes, replayed: bytes,
                                              transaction: str | None) -> None:
    bounded(lambda: _diff(recorded, replayed, transaction))


@fuzz_settings(short=10)
@given(mutated(_FILES), mutated(_FILES))
def test_fuzz_diff_of_two_fuzzed_files(recorded: bytes, replayed: bytes) -> None:
    bounded(lambda: _diff(recorded, replayed, None))


@st.composite
def json_documents(draw: st.DrawFn) -> bytes:
    import json

    leaves = st.one_of(st.none(), st.booleans(), st.integers(), st.floats(allow_nan=False),
                       st.text(max_size=20))
    value = draw(st.recursive(leaves, lambda children: st.one_of(
        st.lists(children, max_size=5),
        st.dictionaries(st.sampled_from(["resourceType", "total", "entry", "resource", "id",
                                         "issue", "severity", "identifier", "value", "x"]),
                        children, max_size=5)), max_leaves=30))
    return json.dumps(value).encode()


@fuzz_settings(short=10)
@given(json_documents(), json_documents())
def test_fuzz_diff_of_json_documents(recorded: bytes, replayed: bytes) -> None:
    bounded(lambda: _diff(recorded, replayed, None))


@st.composite
def er7_messages(draw: st.DrawFn) -> bytes:
    """HL7 v2 messages of random segments and fields, with the separators in odd places."""
    field = st.text(st.sampled_from("AZ09|^~\\&.- \x1c\x0b\r\n"), max_size=12)
    segments = [b"MSH|^~\\&|A|B|C|D|20240101||" + draw(st.sampled_from(
        [b"ACK^A01", b"RSP^K22^RSP_K21", b"ADT^A01", b""])) + b"|1|P|2.5"]
    for _ in range(draw(st.integers(0, 6))):
        name = draw(st.sampled_from(["MSA", "QAK", "PID", "ERR", "QPD", "ZZZ", "MSH"]))
        fields = draw(st.lists(field, max_size=8))
        segments.append("|".join([name, *fields]).encode("utf-8", "surrogatepass"))
    separator = draw(st.sampled_from([b"\r", b"\n", b"\r\n"]))
    return separator.join(segments)


@fuzz_settings(short=10)
@given(er7_messages(), er7_messages())
def test_fuzz_diff_of_hl7v2_messages(recorded: bytes, replayed: bytes) -> None:
    bounded(lambda: _diff(recorded, replayed, None))
