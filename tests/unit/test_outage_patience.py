"""The embedded queue's steps ride out outages on the workers' schedule (application/batch/patience.py)."""

import logging
import threading

import pytest

from fraud_detection.application.batch.inline import run_job
from fraud_detection.application.batch.patience import OutagePatience
from fraud_detection.domain.errors import DataSourceError, ServiceUnavailableError
from fraud_detection.domain.jobs import OUTAGE_RETRIES, FailureKind, JobState
from tests.unit.test_batch_jobs import Batch


class Clock:
    """Records the waits; draws the longest wait allowed, so that the bounds are what is checked."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    def pause(self, seconds: float, stop: threading.Event) -> bool:
        self.waits.append(seconds)
        return stop.is_set()

    def patience(self, retries: int = OUTAGE_RETRIES) -> OutagePatience:
        return OutagePatience(retries, self.pause, lambda low, high: high)


def failing(times: int, error: Exception):
    calls = {"n": 0}

    def step() -> str:
        calls["n"] += 1
        if calls["n"] <= times:
            raise error
        return "done"

    return step, calls


def test_an_outage_shorter_than_the_retries_is_waited_out_on_the_workers_schedule(caplog):
    clock = Clock()
    step, calls = failing(8, ServiceUnavailableError("cannot read s3://b/x: Read timeout"))
    with caplog.at_level(logging.WARNING):
        assert clock.patience().call("j1", "chunk 3", step) == "done"
    assert calls["n"] == 9
    assert clock.waits == [1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 60.0, 60.0]  # doubling, capped at 60 s
    assert caplog.messages[0] == (
        "job j1, chunk 3: cannot read s3://b/x: Read timeout; trying again in 1.0 s (retry 1 of 12)"
    )
    assert len(caplog.messages) == 8


def test_waits_are_drawn_below_their_bound():
    drawn: list[tuple[float, float]] = []
    patience = OutagePatience(3, lambda s, stop: False, lambda low, high: drawn.append((low, high)) or low)
    step, _ = failing(3, ServiceUnavailableError("down"))
    assert patience.call("j", "prepare", step) == "done"
    assert drawn == [(0.0, 1.0), (0.0, 2.0), (0.0, 4.0)]


def test_an_outage_past_the_retries_is_raised_naming_the_step_and_the_retries():
    clock = Clock()
    step, calls = failing(10**6, ServiceUnavailableError("registry at x is unreachable"))
    with pytest.raises(ServiceUnavailableError) as raised:
        clock.patience().call("j1", "commit", step)
    assert str(raised.value) == "commit: registry at x is unreachable (gave up after 12 retries)"
    assert calls["n"] == OUTAGE_RETRIES + 1
    assert len(clock.waits) == OUTAGE_RETRIES
    assert sum(clock.waits) == 1 + 2 + 4 + 8 + 16 + 32 + 6 * 60  # 423 s, 7 min at most; ~3.5 min on average


def test_no_retries_raises_the_outage_as_it_came():
    outage = ServiceUnavailableError("down")
    step, calls = failing(1, outage)
    with pytest.raises(ServiceUnavailableError) as raised:
        OutagePatience(0).call("j", "prepare", step)
    assert raised.value is outage
    assert calls["n"] == 1


def test_other_errors_are_not_retried():
    clock = Clock()
    step, calls = failing(1, DataSourceError("/in/x.csv: no such file"))
    with pytest.raises(DataSourceError):
        clock.patience().call("j", "chunk 0", step)
    assert calls["n"] == 1
    assert clock.waits == []


class Recovering(Clock):
    """A registry that comes back after a number of waits."""

    def __init__(self, batch: Batch, after: int) -> None:
        super().__init__()
        self.batch, self.after = batch, after

    def pause(self, seconds: float, stop: threading.Event) -> bool:
        super().pause(seconds, stop)
        if len(self.waits) >= self.after:
            self.batch.registry.down = False
        return False


def test_an_embedded_job_rides_out_a_registry_outage_and_succeeds():
    batch = Batch()
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="blip")
    batch.registry.down = True
    clock = Recovering(batch, after=3)
    assert run_job(batch.steps, "blip", clock.patience()) is JobState.SUCCEEDED
    assert len(clock.waits) == 3
    assert "/out/out.parquet" in batch.files.outputs


def test_without_patience_the_same_outage_fails_the_job_at_once():
    batch = Batch()
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="blip")
    batch.registry.down = True
    assert run_job(batch.steps, "blip") is JobState.FAILED
    status = batch.control.status("blip")
    assert status.error == "registry at fake:// is unreachable"


def test_an_outage_past_the_retries_fails_the_job_as_a_service_failure_naming_the_step():
    batch = Batch()
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="long")
    batch.registry.down = True
    assert run_job(batch.steps, "long", Clock().patience()) is JobState.FAILED
    status = batch.control.status("long")
    assert status.error == "prepare: registry at fake:// is unreachable (gave up after 12 retries)"
    assert status.error_kind is FailureKind.SERVICE


class CancelledDuringTheWait(Clock):
    """An operator cancels the job while its step waits for the registry to come back."""

    def __init__(self, batch: Batch, job_id: str) -> None:
        super().__init__()
        self.batch, self.job_id = batch, job_id

    def pause(self, seconds: float, stop: threading.Event) -> bool:
        self.waits.append(seconds)
        self.batch.control.cancel(self.job_id)  # records the end; the embedded queue then sets the stop
        stop.set()
        return stop.is_set()


def test_a_cancel_during_an_outage_wait_ends_the_run_without_trying_the_step_again(caplog):
    batch = Batch()
    batch.submit("/in/in.parquet", "/out/out.parquet", job_id="c1")
    batch.registry.down = True
    clock = CancelledDuringTheWait(batch, "c1")
    with caplog.at_level(logging.WARNING):
        assert run_job(batch.steps, "c1", clock.patience(), threading.Event()) is JobState.CANCELLED
    assert clock.waits == [1.0]  # one wait, cut short; no 12 retries
    status = batch.control.status("c1")
    assert status.state is JobState.CANCELLED
    assert status.error_kind is None  # ended by the cancel, not recorded as a failure
    assert "/out/out.parquet" not in batch.files.outputs
    assert "job c1, prepare: stopped waiting out the outage: the job was cancelled" in caplog.messages


def test_the_default_pause_ends_early_once_the_stop_is_set():
    stop = threading.Event()
    threading.Timer(0.1, stop.set).start()
    assert OutagePatience().pause(30.0, stop) is True  # well before 30 s, or the test's timeout fails it
    assert OutagePatience().pause(0.01, threading.Event()) is False
