"""SIGTERM and SIGINT stop a command the same way: KeyboardInterrupt, once, handlers restored."""

from __future__ import annotations

import signal
import sys
from collections.abc import Iterator

import pytest

from ihe_test_util.cli.signals import stop_on_signals

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="POSIX signals")


class Escaped(Exception):
    """Raised by the test's own handler: the signal reached the handler outside the block."""


def _escaped(signum: int, frame: object) -> None:
    raise Escaped(signum)


@pytest.fixture
def own_handlers() -> Iterator[None]:
    previous = {s: signal.signal(s, _escaped) for s in (signal.SIGINT, signal.SIGTERM)}
    try:
        yield
    finally:
        for signum, handler in previous.items():
            signal.signal(signum, handler)


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM], ids=["sigint", "sigterm"])
def test_a_stop_signal_raises_keyboard_interrupt_and_the_handlers_come_back(
        own_handlers: None, signum: int) -> None:
    with pytest.raises(KeyboardInterrupt), stop_on_signals() as stop:
        signal.raise_signal(signum)
    assert stop.requested == signum
    assert signal.getsignal(signal.SIGINT) is _escaped
    assert signal.getsignal(signal.SIGTERM) is _escaped


def test_a_second_signal_does_not_interrupt_the_clean_up(own_handlers: None) -> None:
    cleaned = False
    with pytest.raises(KeyboardInterrupt), stop_on_signals():
        try:
            signal.raise_signal(signal.SIGTERM)
        finally:
            signal.raise_signal(signal.SIGINT)
            cleaned = True
    assert cleaned


def test_a_deferred_block_finishes_before_the_interrupt(own_handlers: None) -> None:
    written = []
    with pytest.raises(KeyboardInterrupt), stop_on_signals() as stop:
        with stop.deferred():
            signal.raise_signal(signal.SIGTERM)
            written.append("report")
            written.append("exchanges")
        written.append("not reached")
    assert written == ["report", "exchanges"]


def test_an_ignored_sigint_stays_ignored(own_handlers: None) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    with stop_on_signals():
        assert signal.getsignal(signal.SIGINT) == signal.SIG_IGN
        signal.raise_signal(signal.SIGINT)
    with pytest.raises(KeyboardInterrupt), stop_on_signals():
        signal.raise_signal(signal.SIGTERM)


def test_a_nested_block_shares_the_outer_stop(own_handlers: None) -> None:
    with pytest.raises(KeyboardInterrupt), stop_on_signals() as outer:
        with stop_on_signals() as inner:
            assert inner is outer
        assert signal.getsignal(signal.SIGTERM) == outer.handle
        signal.raise_signal(signal.SIGTERM)
    assert signal.getsignal(signal.SIGTERM) is _escaped
