"""The one way a long-running command is stopped by a signal: SIGTERM and SIGINT mean Ctrl-C.

A CI job that is cancelled gets SIGTERM; a person presses Ctrl-C (SIGINT). Both must stop a
command the same way, so both raise :class:`KeyboardInterrupt` in the main thread: the engines
and reporters clean up on that one exception (spools deleted, partial state discarded,
completed exchanges kept), and ``cli/main.py`` maps it to exit 130 with one message. This is a
process-level concern, so it lives in ``cli/``: the engines only ever see the exception.

Only the first signal interrupts; later ones, while the command is already stopping, are
ignored so they cannot break its clean-up (SIGKILL remains for a process that must die).
``stop.deferred()`` holds an interrupt back while files that belong together are written (a
run report and its kept exchanges), then raises it. The previous handlers are restored on exit.
"""

from __future__ import annotations

import signal
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType
from typing import Any

#: The signals that stop a command like Ctrl-C.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM)


class Stop:
    """The installed handler's state: whether a stop was asked for, and whether it waits."""

    def __init__(self) -> None:
        self.requested: int | None = None  # the first stop signal received
        self._deferring = 0
        self._raised = False

    def handle(self, signum: int, frame: FrameType | None) -> None:
        if self.requested is not None:
            return  # already stopping: let the clean-up finish
        self.requested = signum
        if not self._deferring:
            self._raise()

    @contextmanager
    def deferred(self) -> Iterator[None]:
        """A stop signal received inside is raised when the block ends, not in the middle."""
        self._deferring += 1
        try:
            yield
        finally:
            self._deferring -= 1
        if self.requested is not None and not self._deferring and not self._raised:
            self._raise()

    def _raise(self) -> None:
        self._raised = True
        raise KeyboardInterrupt


@contextmanager
def stop_on_signals() -> Iterator[Stop]:
    """SIGTERM and SIGINT raise KeyboardInterrupt (once) inside the block; handlers restored.

    A SIGINT that was ignored when the process started (a background job of a shell) stays
    ignored. Outside the main thread (tests driving the CLI in a thread) handlers cannot be
    installed: the block runs with the process's handlers unchanged. A nested block shares
    the outer block's :class:`Stop`.
    """
    installed = getattr(signal.getsignal(signal.SIGTERM), "__self__", None)
    if isinstance(installed, Stop):  # nested (``ihe demo`` runs a replay): one stop for all
        yield installed
        return
    stop = Stop()
    previous: dict[int, Any] = {}
    try:
        for signum in STOP_SIGNALS:
            if signal.getsignal(signum) == signal.SIG_IGN:
                continue
            previous[signum] = signal.signal(signum, stop.handle)
    except ValueError:  # not the main thread
        pass
    try:
        yield stop
    finally:
        for restored, handler in previous.items():
            signal.signal(restored, handler)
