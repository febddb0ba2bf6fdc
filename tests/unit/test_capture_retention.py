"""The local store's retention sweep: incremental listings, and a whole listing once a week."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from fraud_detection.infrastructure.arrow.prediction_log.layout import file_key
from fraud_detection.infrastructure.arrow.prediction_log.retention import RetentionSweep
from tests.fakes import FakeObjectStore

PREFIX = "predictions"
START = datetime(2026, 6, 1, 12, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = START

    def __call__(self) -> float:
        return self.now.timestamp()


def put(store: FakeObjectStore, scored: datetime, sequence: int) -> str:
    key = file_key(PREFIX, scored.timestamp(), 1, sequence)
    store.write_bytes(key, b"rows")
    return key


def test_a_folder_written_after_its_expiry_was_swept_goes_within_a_week() -> None:
    """A date folder older than the previous sweep's reach (rows a restarted replica replays from its spill,
    a copy restored by hand) was never listed again by a long-running process: it stayed until a restart."""
    store, clock = FakeObjectStore(), Clock()
    sweep = RetentionSweep(store, PREFIX, days=90, clock=clock)
    expired = put(store, START - timedelta(days=120), 0)
    kept = put(store, START - timedelta(days=10), 1)
    assert sweep.run() == 1  # the first sweep lists everything
    assert set(store.list_keys(f"{PREFIX}/")) == {kept}

    late = put(store, START - timedelta(days=150), 2)  # written now, expired long ago
    for day in range(1, 7):
        clock.now = START + timedelta(days=day)
        sweep.run()  # daily sweeps list the last day or two only
    assert late in set(store.list_keys(f"{PREFIX}/"))
    clock.now = START + timedelta(days=7)
    assert sweep.run() == 1  # the weekly whole listing finds it
    assert set(store.list_keys(f"{PREFIX}/")) == {kept}
    assert expired not in set(store.list_keys(f"{PREFIX}/"))


def test_a_daily_sweep_deletes_the_hours_that_expired_since_the_last() -> None:
    store, clock = FakeObjectStore(), Clock()
    sweep = RetentionSweep(store, PREFIX, days=90, clock=clock)
    assert sweep.run() == 0
    next_day = put(store, START - timedelta(days=90) + timedelta(hours=12), 0)  # expires within the day
    clock.now = START + timedelta(days=1)
    assert sweep.run() == 1
    assert next_day not in set(store.list_keys(f"{PREFIX}/"))
