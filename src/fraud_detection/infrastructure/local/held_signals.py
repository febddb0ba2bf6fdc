"""SIGINT and SIGTERM held while an atomic block runs (`register`, the gate's records), then delivered.

`fraud pipeline run` and `fraud retrain` have a handler that respects atomic blocks already. A run started any
other way does not: a Prefect worker cancels a deployed run with SIGTERM, and Prefect's handler raises
TerminationSignal at whatever line runs, halfway through registering a version too (the version left
without its alias or reference profile). Holding the signal for the block, whatever handler is installed,
and sending it again after, lets that handler act once the block is whole.
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from types import FrameType

HELD = (signal.SIGINT, signal.SIGTERM)


@contextmanager
def holding_signals() -> Iterator[None]:
    """While the block runs, SIGINT and SIGTERM are remembered, not handled; after it, each one that
    arrived is sent again, to the handler that was in place (the main thread only: signals are handled
    there; elsewhere the block runs as it is)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    held: list[int] = []

    def remember(signum: int, frame: FrameType | None) -> None:
        if signum not in held:
            held.append(signum)

    # A handler installed outside Python reads as None and could not be put back: that signal is left alone
    previous = {
        number: signal.signal(number, remember) for number in HELD if signal.getsignal(number) is not None
    }
    try:
        yield
    finally:
        for number, handler in previous.items():
            signal.signal(number, handler)
        for signum in held:
            os.kill(os.getpid(), signum)  # the restored handler runs now (CPython checks signals in os.kill)
