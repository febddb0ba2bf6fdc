"""A stop request from outside a run (Ctrl-C, SIGTERM), honoured where stopping leaves nothing half-done.

The entry point owns the signal: its handler calls `request()` and stops the work at once (raises) only when
`request()` says the run may stop there. Stages that must not be cut short (`register`: a version without its
alias or reference profile) run `atomic()`: a request then lets them finish and the next stage refuses to
start. Every stage checks the request before it starts, so a stop swallowed by a library (or a run driven from
a thread) still ends at the next stage boundary and never reaches `register`.

Once an orchestrator runs the stages (`stop_at_stages`), a request raises only inside a stage's own code
(`stoppable`). Between stages the orchestrator does its own bookkeeping (Prefect's task and flow states, its
event and log queues); an exception raised at an arbitrary line there can leave a run neither finished nor
crashed. The request then waits for the next stage's check, a fraction of a second away; a second request
stops at once (the operator insists).

Plain attributes, no lock: the signal handler runs in the main thread between two bytecodes, where a lock
already held by the interrupted code would deadlock.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext


class Interrupted(KeyboardInterrupt):
    """The run stopped at a stop request (a KeyboardInterrupt, so orchestrators treat it as one: no retry)."""


class Interruption:
    def __init__(self, hold: Callable[[], AbstractContextManager[None]] = nullcontext) -> None:
        """`hold`: a context that keeps the process's signals out of an atomic block, whoever handles them.
        The composition root's holds SIGINT and SIGTERM: in a run a Prefect worker started, SIGTERM goes to
        Prefect's handler, which knows nothing of atomic blocks."""
        self._hold = hold
        self._requested = threading.Event()
        self._atomic = False
        self._at_stages = False
        self._in_stage = False
        self.signal: int | None = None
        # Set by the entry point that owns the signals: takes its handler back from an orchestrator that
        # installed its own (Prefect raises its TerminationSignal on SIGTERM wherever the run is).
        self.reclaim: Callable[[], None] | None = None

    @property
    def requested(self) -> bool:
        return self._requested.is_set()

    def request(self, signal: int | None = None) -> bool:
        """Ask the run to stop; True when it may stop right now: no atomic stage is running and, once an
        orchestrator runs the stages, the run is in a stage's own code or the stop was asked for before."""
        again = self.requested
        if self.signal is None:
            self.signal = signal
        self._requested.set()
        if self._atomic:
            return False
        return not self._at_stages or self._in_stage or again

    def check(self, stage: str) -> None:
        """Raise `Interrupted` when a stop was requested (called before `stage` starts)."""
        if self.requested:
            raise Interrupted(f"stopped before {stage}")

    def stop_at_stages(self) -> None:
        """Called as an orchestrated run begins (a flow's body): from here on a request raises only inside
        `stoppable` blocks; the entry point first takes its signal handler back (`reclaim`)."""
        if self.reclaim is not None:
            self.reclaim()
        self._at_stages = True

    @contextmanager
    def stoppable(self, stage: str = "the run's code") -> Iterator[None]:
        """A block of the run's own code, where a stop request may raise at any line. A request already
        made does not let it start: one that landed after the stage's check, while the display announced
        the stage, had waited for a check that never came, and the whole stage ran (a loaded CI run's
        Ctrl-C test caught `train` finishing ~30 s after the signal)."""
        if not self._atomic:
            self.check(stage)
        outer, self._in_stage = self._in_stage, True
        try:
            yield
        finally:
            self._in_stage = outer

    @contextmanager
    def atomic(self, stage: str) -> Iterator[None]:
        """Run a block that a stop request must not cut short; it refuses to start once one was made."""
        self._atomic = True  # first: a request from here on waits for the block (see `request`)
        try:
            self.check(stage)
            with self._hold():
                yield
        finally:
            self._atomic = False
