"""The background writer both capture logs use: cadence, backoff, fallback and shutdown, with a fake owner."""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Callable, Iterator

import pytest

from fraud_detection.infrastructure.local.background_writer import (
    JOIN_GRACE_SECONDS,
    BackgroundWriter,
    Backoff,
)

NEVER = 3600.0  # an idle time no test waits for
FAST = Backoff(0.05, 0.05)


class Owner:
    """A fake log: `write` records each call and fails (raises) while `failures` is positive."""

    def __init__(self, idle: float = NEVER, failures: int = 0, refusals: int = 0) -> None:
        self.idle = idle
        self.failures = failures
        self.refusals = refusals  # write(True) returns False: the primary refused, a fallback took the rows
        self.writes: list[tuple[float, bool]] = []
        self.flushes = 0
        self.reported: list[tuple[BaseException | None, int, float]] = []
        self.gave_up: list[tuple[BaseException, int]] = []
        self.stopped = threading.Event()
        self.wrote = threading.Event()

    def write(self, primary: bool) -> bool:
        self.writes.append((time.monotonic(), primary))
        self.wrote.set()
        if self.failures:
            self.failures -= 1
            raise ConnectionError("store down")
        if primary and self.refusals:
            self.refusals -= 1
            return False
        return True

    def flush(self) -> None:
        self.flushes += 1
        if self.failures:
            self.failures -= 1
            raise ConnectionError("store down")

    def writer(
        self, backoff: Backoff = FAST, *, fallback: bool = False, close_attempts: float = math.inf
    ) -> BackgroundWriter:
        return BackgroundWriter(
            "test-writer", write=self.write, flush=self.flush, idle_seconds=lambda: self.idle,
            backoff=backoff, on_failure=lambda *failure: self.reported.append(failure),
            on_gave_up=lambda error, attempts: self.gave_up.append((error, attempts)),
            on_stop=self.stopped.set, fallback=fallback, close_attempts=close_attempts,
        )  # fmt: skip


def wait_for(condition: Callable[[], bool], seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while not condition() and time.monotonic() < deadline:
        time.sleep(0.005)
    assert condition(), "condition not met in time"


@pytest.fixture
def started() -> Iterator[list[BackgroundWriter]]:
    writers: list[BackgroundWriter] = []
    yield writers
    for writer in writers:
        writer.stop(1.0)


def test_backoff_grows_exponentially_up_to_the_maximum_with_jitter() -> None:
    backoff = Backoff(0.5, 3.0)
    for attempt, ceiling in [(1, 0.5), (2, 1.0), (3, 2.0), (4, 3.0), (10, 3.0)]:
        delays = [backoff.seconds(attempt) for _ in range(200)]
        assert all(ceiling / 2 <= delay <= ceiling for delay in delays)
        assert max(delays) - min(delays) > ceiling / 10  # jittered, not a fixed delay


def test_it_writes_when_the_idle_time_passes(started: list[BackgroundWriter]) -> None:
    owner = Owner(idle=0.05)
    started.append(owner.writer().start())
    wait_for(lambda: len(owner.writes) >= 3)
    assert all(primary for _, primary in owner.writes)
    gaps = [b - a for (a, _), (b, _) in zip(owner.writes, owner.writes[1:], strict=False)]
    assert min(gaps) >= 0.04  # the owner's cadence, not a busy loop


def test_a_wake_writes_now_when_rows_are_due_before_the_idle_time(started: list[BackgroundWriter]) -> None:
    owner = Owner(idle=NEVER)
    writer = owner.writer().start()
    started.append(writer)
    time.sleep(0.05)
    assert owner.writes == []  # nothing due, nothing written
    writer.wake()  # e.g. a buffer filled up
    assert owner.wrote.wait(5)
    assert len(owner.writes) == 1


def test_a_failed_write_is_retried_after_a_growing_backoff_then_the_count_resets(
    started: list[BackgroundWriter],
) -> None:
    owner = Owner(idle=NEVER, failures=2)
    writer = owner.writer(Backoff(0.1, 1.0)).start()
    started.append(writer)
    writer.wake()
    wait_for(lambda: len(owner.writes) == 3)  # two failures, then the retry that succeeds
    (first, _), (second, _), (third, _) = owner.writes
    assert second - first >= 0.05 - 0.005  # attempt 1 waits 0.05-0.1 s
    assert third - second >= 0.1 - 0.005  # attempt 2 waits 0.1-0.2 s
    assert [(type(e), n) for e, n, _ in owner.reported] == [(ConnectionError, 1), (ConnectionError, 2)]
    assert all(0 < retry_in <= 0.2 for _, _, retry_in in owner.reported)
    time.sleep(0.3)
    assert len(owner.writes) == 3  # success: back to the idle cadence, no more retries
    owner.failures = 1
    writer.wake()
    wait_for(lambda: len(owner.reported) == 3)
    assert owner.reported[-1][1] == 1  # the success reset the failure count


def test_during_backoff_writes_go_to_the_fallback_and_the_primary_is_probed_when_due(
    started: list[BackgroundWriter],
) -> None:
    owner = Owner(idle=0.01, refusals=1)
    started.append(owner.writer(Backoff(0.4, 0.4), fallback=True).start())
    wait_for(lambda: any(not primary for _, primary in owner.writes))  # rows keep flowing, to the fallback
    assert owner.reported[0][0] is None  # refused by the primary, taken by the fallback: no error raised
    wait_for(lambda: sum(primary for _, primary in owner.writes) >= 2)
    refused_at = owner.writes[0][0]
    probe_at = next(at for at, primary in owner.writes[1:] if primary)
    assert probe_at - refused_at >= 0.2 - 0.005  # the primary again only once its backoff is over


def test_without_a_fallback_nothing_is_written_during_the_backoff(started: list[BackgroundWriter]) -> None:
    owner = Owner(idle=0.01, failures=1, refusals=1)  # a failure, then a refusal: both back off
    writer = owner.writer(Backoff(0.4, 0.4)).start()
    started.append(writer)
    for writes in (1, 2):
        wait_for(lambda: len(owner.writes) >= writes)  # noqa: B023 - waited for within the iteration
        for _ in range(5):
            writer.wake()  # rows due meanwhile do not shorten the backoff
            time.sleep(0.01)
    wait_for(lambda: len(owner.writes) >= 3)
    assert owner.writes[1][0] - owner.writes[0][0] >= 0.2 - 0.005
    assert owner.writes[2][0] - owner.writes[1][0] >= 0.2 - 0.005
    assert all(primary for _, primary in owner.writes)


def test_stop_flushes_what_is_pending_and_joins_the_thread() -> None:
    owner = Owner(idle=NEVER)
    writer = owner.writer().start()
    assert writer.stop(5.0)
    assert owner.flushes == 1  # the last flush, though no write was due
    assert owner.stopped.is_set()
    assert not writer.running
    assert writer.stopping


def test_stop_retries_a_failing_flush_then_gives_up_after_the_attempts() -> None:
    owner = Owner(idle=NEVER, failures=100)
    writer = owner.writer(Backoff(0.01, 0.01), close_attempts=3).start()
    assert writer.stop(5.0)
    assert owner.flushes == 3
    assert [(type(e), n) for e, n in owner.gave_up] == [(ConnectionError, 3)]


def test_stop_gives_up_at_its_deadline_with_unlimited_attempts() -> None:
    owner = Owner(idle=NEVER, failures=1_000)
    writer = owner.writer(Backoff(0.05, 0.05)).start()
    started_at = time.monotonic()
    assert writer.stop(0.3)
    assert time.monotonic() - started_at < 0.3 + JOIN_GRACE_SECONDS
    assert 2 <= owner.flushes <= 13  # retried with backoff (0.025-0.05 s) until the next would pass 0.3 s
    assert len(owner.gave_up) == 1


def test_stop_is_bounded_when_a_write_hangs_and_later_calls_do_not_wait_again() -> None:
    release = threading.Event()
    owner = Owner(idle=NEVER)
    owner.write = lambda primary: release.wait(30)  # type: ignore[method-assign]  # a store call hanging
    writer = owner.writer().start()
    writer.wake()
    time.sleep(0.05)  # the thread is now inside the hanging write
    started_at = time.monotonic()
    assert not writer.stop(0.1)
    assert 0.1 <= time.monotonic() - started_at < 0.1 + JOIN_GRACE_SECONDS + 0.5
    assert writer.running
    started_at = time.monotonic()
    assert not writer.stop(5.0)
    assert time.monotonic() - started_at < 0.1
    release.set()
    wait_for(lambda: not writer.running)
    assert owner.flushes == 1  # once the write returned, the thread still drained


def test_a_wake_after_stop_writes_nothing_more() -> None:
    owner = Owner(idle=NEVER)
    writer = owner.writer().start()
    assert writer.stop(5.0)
    writer.wake()
    time.sleep(0.05)
    assert owner.writes == []
    assert owner.flushes == 1  # a second stop does not flush again
    assert writer.stop(5.0)
    assert owner.flushes == 1


def test_without_a_thread_that_ran_stop_flushes_on_the_caller() -> None:
    owner = Owner(idle=NEVER)
    writer = owner.writer()  # never started: as in a forked child, where the parent's thread does not exist
    assert writer.stop(5.0)
    assert owner.flushes == 1


def test_close_attempts_must_be_at_least_one() -> None:
    with pytest.raises(ValueError, match="close_attempts"):
        Owner().writer(close_attempts=0)
