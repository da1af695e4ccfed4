"""The fuzzing pass (issue 17): hypothesis over every entry point that reads outside input.

Property of every target: the tool answers with its own error types (``IheTestError`` and
subclasses) or a result, never another exception (a traceback for the user), within bounded
memory (the process's peak resident size may not grow by more than :data:`MEMORY_BOUND` during
one input; inputs are at most :data:`MAX_INPUT` bytes) and time (inputs bounded in size;
``deadline=None`` so a slow machine is no failure: time is measured, not asserted).

Two budgets:

* the normal suite: a few inputs per target, derandomized (the same ones every run), a few
  seconds in all;
* ``make fuzz`` (``IHE_FUZZ=long``, ``IHE_FUZZ_EXAMPLES`` inputs per target, default 2000):
  random inputs, hypothesis statistics printed per target.
"""

from __future__ import annotations

import os
import resource
import sys
from collections.abc import Callable
from typing import TypeVar

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st

LONG = os.environ.get("IHE_FUZZ", "").lower() == "long"
EXAMPLES = int(os.environ.get("IHE_FUZZ_EXAMPLES", "2000")) if LONG else 0
#: Largest input given to a target.
MAX_INPUT = 64 * 1024
#: How much the peak resident size may grow while one input is handled.
MEMORY_BOUND = 256 * 1024 * 1024

_T = TypeVar("_T")


def fuzz_settings(short: int) -> settings:
    """``short`` inputs in the normal suite (derandomized), many random ones in ``make fuzz``."""
    return settings(
        max_examples=EXAMPLES if LONG else short, deadline=None, derandomize=not LONG,
        database=None, print_blob=LONG,
        suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large,
                               HealthCheck.filter_too_much,
                               HealthCheck.function_scoped_fixture],
    )


def _peak_bytes() -> int:
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak if sys.platform == "darwin" else peak * 1024  # Linux reports KiB


def bounded(call: Callable[[], _T]) -> _T:
    """``call()``, asserting that the process's peak memory did not grow by more than
    :data:`MEMORY_BOUND` meanwhile (a peak is a high-water mark: a blow-up shows)."""
    before = _peak_bytes()
    result = call()
    grown = _peak_bytes() - before
    assert grown < MEMORY_BOUND, f"peak memory grew by {grown / 2**20:.0f} MiB on one input"
    return result


#: Bytes that matter to the formats read: XML, JSON, ER7, MIME, YAML, HTTP.
_INTERESTING = [
    b"<", b">", b"/>", b"</", b"&", b"&amp;", b"&#0;", b"&#x110000;", b"&a;", b'"', b"'",
    b"=", b":", b"xmlns=''", b"xmlns:a='urn:a'", b"<![CDATA[", b"]]>", b"<!--", b"-->",
    b"<?xml version='1.0' encoding='x'?>", b'<!DOCTYPE a [<!ENTITY a "b">]>',
    b'<!ENTITY x SYSTEM "file:///etc/passwd">', b"\xef\xbb\xbf", b"\xff\xfe", b"\x00",
    b"\r", b"\n", b"\r\n", b"\t", b" ", b"{", b"}", b"[", b"]", b",", b"null", b"1e999",
    b"-0", b"9" * 5000, b"|", b"^", b"~", b"\\", b"MSH|^~\\&|", b"\rMSH|", b"\x0b", b"\x1c",
    b"--", b"--boundary\r\n", b"Content-Type: ", b"Content-ID: <a@b>\r\n",
    b"Content-Transfer-Encoding: base64\r\n", b"\x1f\x8b\x08\x00", b"!!python/object:os.system",
    b"&anchor ", b"*anchor", b"<<: ", b"- ", b"? ", b"%YAML 1.1\n", b"---\n", b"...\n",
    b"${a}", b"${a}${a}${a}", b"file: /dev/zero", b"\xc3\x28", b"\xed\xa0\x80", "\u2028".encode(),
    b"\x7f", b"\x85",
]


def _splice(seed: bytes, ops: list[tuple[int, int, int, bytes]]) -> bytes:
    data = bytearray(seed)
    for kind, at, length, payload in ops:
        at = at % (len(data) + 1)
        end = min(len(data), at + length)
        if kind == 0:  # delete a slice
            del data[at:end]
        elif kind == 1:  # insert bytes
            data[at:at] = payload
        elif kind == 2:  # replace a slice
            data[at:end] = payload
        elif kind == 3:  # duplicate a slice
            data[at:at] = data[at:end]
        else:  # truncate
            del data[at:]
        if len(data) > MAX_INPUT:
            del data[MAX_INPUT:]
    return bytes(data)


def mutated(seeds: list[bytes], max_ops: int = 6) -> st.SearchStrategy[bytes]:
    """One of ``seeds`` (unchanged sometimes), cut, spliced and sprinkled with bytes that
    matter to the formats read; at most :data:`MAX_INPUT` bytes."""
    payload = st.one_of(st.sampled_from(_INTERESTING), st.binary(max_size=64))
    op = st.tuples(st.integers(0, 4), st.integers(0, MAX_INPUT), st.integers(0, 512), payload)
    return st.builds(_splice, st.sampled_from(seeds), st.lists(op, max_size=max_ops))
