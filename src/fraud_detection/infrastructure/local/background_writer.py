"""One background writer for the logs that write off the request path (prediction capture, feedback index).

Request threads only queue; a daemon thread owned here decides *when* to write: when the owner says rows are
due (`idle_seconds`, or an early `wake`), again after a failure with jittered exponential backoff, and a last
time at `stop`, retried within a deadline, before the thread is joined. The owner keeps the policy: what a
batch is, where it goes (`write`), and what to do with rows it finally cannot write (`on_gave_up`). Keeping
thread, cadence, backoff and shutdown in one place means both logs fail and shut down the same way.
"""

from __future__ import annotations

import itertools
import math
import random
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

JOIN_GRACE_SECONDS = 0.5  # beyond the stop deadline: a last write that just succeeded may return


@dataclass(frozen=True)
class Backoff:
    """Attempt n waits between half and all of min(maximum, initial * 2**(n-1)): exponential, so a failing
    target is not hammered, and jittered, so replicas that failed together retry apart."""

    initial: float
    maximum: float

    def seconds(self, attempt: int) -> float:
        ceiling = min(self.maximum, self.initial * 2.0 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)


def _nothing() -> None:
    pass


def _ignore(error: BaseException, attempts: int) -> None:
    pass


class BackgroundWriter:
    """Calls `write(primary)` on a daemon thread whenever `idle_seconds()` has passed or `wake()` was called.

    `write` raises when nothing took the rows (they stay queued): the writer reports it and backs off.
    With `fallback`, the owner has a second target (a local spill): `write(False)` is called during the
    backoff, meaning "the primary is not due for a retry, use the fallback", and `write(True)` may return
    False for "the primary refused, the fallback took the rows" (backoff, but rows keep flowing).
    `stop` makes the thread `flush()` what is pending, retried with backoff up to `close_attempts` and the
    deadline (then `on_gave_up`), and joins it; `on_stop` runs last on the thread. Without a thread that ran
    (a forked child, or one that died) `stop` flushes on the caller, so pending rows are not silently lost.
    """

    def __init__(
        self,
        name: str,
        *,
        write: Callable[[bool], bool],
        flush: Callable[[], object],
        idle_seconds: Callable[[], float],
        backoff: Backoff,
        on_failure: Callable[[BaseException | None, int, float], None],
        on_gave_up: Callable[[BaseException, int], None] = _ignore,
        on_start: Callable[[], None] = _nothing,
        on_wake: Callable[[], None] = _nothing,
        on_stop: Callable[[], None] = _nothing,
        fallback: bool = False,
        close_attempts: float = math.inf,
    ) -> None:
        if close_attempts < 1:
            raise ValueError("close_attempts must be at least 1")
        self._write, self._flush, self._idle_seconds = write, flush, idle_seconds
        self._backoff = backoff
        self._on_failure, self._on_gave_up = on_failure, on_gave_up
        self._on_start, self._on_wake, self._on_stop = on_start, on_wake, on_stop
        self._fallback = fallback
        self._close_attempts = close_attempts
        self._deadline = math.inf
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._drained = False
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)

    def start(self) -> BackgroundWriter:
        self._thread.start()
        return self

    @property
    def stopping(self) -> bool:
        """True once `stop` was called: a long pass (resending many files) should end early."""
        return self._stopping.is_set()

    @property
    def running(self) -> bool:
        """True while the thread lives (after a `stop` that timed out: a write still in progress)."""
        return self._thread.is_alive()

    def wake(self) -> None:
        """Look at the queue now, not after `idle_seconds` (rows became due). Cheap when already set."""
        if not self._wake.is_set():
            self._wake.set()

    def stop(self, timeout: float) -> bool:
        """Flush what is pending and end the thread, waiting `timeout` seconds (plus a short grace); True when
        the thread has ended. Later calls do not wait again."""
        if self._stopping.is_set():
            return not self._thread.is_alive()
        self._deadline = time.monotonic() + timeout
        self._stopping.set()
        self._wake.set()
        if self._thread.ident is not None:
            self._thread.join(max(self._deadline - time.monotonic(), 0.0) + JOIN_GRACE_SECONDS)
        if self._thread.is_alive():
            return False
        if not self._drained:
            self.drain()  # no writer ran here (a forked child) or it died: drain ourselves
        return True

    def drain(self) -> bool:
        """Flush, retrying with backoff until `close_attempts` or the stop deadline; False when it gave up."""
        for attempt in itertools.count(1):
            try:
                self._flush()
                return True
            except Exception as error:
                delay = self._backoff.seconds(attempt)
                if attempt >= self._close_attempts or time.monotonic() + delay > self._deadline:
                    self._on_gave_up(error, attempt)
                    return False
                time.sleep(delay)
        return False  # not reached: count() never ends

    def _run(self) -> None:
        self._on_start()
        failures, retry_at, blocked = 0, 0.0, False
        while not self._stopping.is_set():
            self._wake.wait(self._seconds_to_wait(retry_at, blocked))
            self._wake.clear()  # then re-read the state, so a wake-up set before this line is not lost
            if self._stopping.is_set():
                break
            self._on_wake()
            primary = time.monotonic() >= retry_at
            if not primary and (blocked or not self._fallback):
                continue  # nowhere to write before the retry
            try:
                primary_ok = self._write(primary)
            except Exception as error:  # nothing took the rows: wait for the retry
                failures, blocked = failures + 1, True
                retry_at = time.monotonic() + self._backoff.seconds(failures)
                self._on_failure(error, failures, retry_at - time.monotonic())
                continue
            blocked = False
            if primary and not primary_ok:  # the fallback took them: back off from the primary only
                failures += 1
                retry_at = time.monotonic() + self._backoff.seconds(failures)
                self._on_failure(None, failures, retry_at - time.monotonic())
            elif primary:
                failures, retry_at = 0, 0.0
        self.drain()
        self._drained = True
        self._on_stop()

    def _seconds_to_wait(self, retry_at: float, blocked: bool) -> float:
        now = time.monotonic()
        if retry_at > now and (blocked or not self._fallback):
            return retry_at - now
        idle = self._idle_seconds()
        return min(idle, retry_at - now) if retry_at > now else idle  # with a fallback: probe it then
