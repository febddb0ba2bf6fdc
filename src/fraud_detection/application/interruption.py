"""A stop request from outside a run (Ctrl-C, SIGTERM), honoured where stopping leaves nothing half-done.

The entry point owns the signal: its handler calls `request()` and stops the work at once (raises) only when
`request()` says the run may stop there. Stages that must not be cut short (`register`: a version without its
alias or reference profile) run `atomic()`: a request then lets them finish and the next stage refuses to
start. Every stage checks the request before it starts, so a stop swallowed by a library (or a run driven from
a thread) still ends at the next stage boundary and never reaches `register`.

Plain attributes, no lock: the signal handler runs in the main thread between two bytecodes, where a lock
already held by the interrupted code would deadlock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager


class Interrupted(KeyboardInterrupt):
    """The run stopped at a stop request (a KeyboardInterrupt, so orchestrators treat it as one: no retry)."""


class Interruption:
    def __init__(self) -> None:
        self._requested = threading.Event()
        self._atomic = False
        self.signal: int | None = None

    @property
    def requested(self) -> bool:
        return self._requested.is_set()

    def request(self, signal: int | None = None) -> bool:
        """Ask the run to stop; True when it may stop right now (no atomic stage is running)."""
        if self.signal is None:
            self.signal = signal
        self._requested.set()
        return not self._atomic

    def check(self, stage: str) -> None:
        """Raise `Interrupted` when a stop was requested (called before `stage` starts)."""
        if self.requested:
            raise Interrupted(f"stopped before {stage}")

    @contextmanager
    def atomic(self, stage: str) -> Iterator[None]:
        """Run a block that a stop request must not cut short; it refuses to start once one was made."""
        self._atomic = True  # first: a request from here on waits for the block (see `request`)
        try:
            self.check(stage)
            yield
        finally:
            self._atomic = False
