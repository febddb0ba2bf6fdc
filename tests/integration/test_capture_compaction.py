"""Compaction of captured predictions against real Parquet files in a local store: every read gives the same
rows before a merge, during the grace period (merged files and the merge side by side), after the merged
files are deleted, with a late file, and with two overlapping merges."""

from __future__ import annotations

import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from fraud_detection.domain.compaction import CompactionSummary
from fraud_detection.domain.errors import ObjectNotFoundError
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.infrastructure.arrow.prediction_log import ParquetPredictionLog, read_predictions
from fraud_detection.infrastructure.arrow.prediction_log.capture_file import SOURCES_KEY, encode_compacted
from fraud_detection.infrastructure.arrow.prediction_log.compaction import GRACE, CaptureCompactor
from fraud_detection.infrastructure.arrow.prediction_log.drift_window import PredictionLogWindow
from fraud_detection.infrastructure.arrow.prediction_log.layout import compacted_key, is_compacted
from fraud_detection.infrastructure.arrow.prediction_log.reader import (
    parse_capture_file,
    read_latest_predictions,
)
from fraud_detection.infrastructure.arrow.prediction_log.record_schema import conformed
from fraud_detection.infrastructure.local import LocalObjectStore
from tests.prediction_batches import scored_batch

pytestmark = pytest.mark.integration

HOUR5 = datetime(2026, 3, 4, 5, tzinfo=UTC)
HOUR6 = HOUR5 + timedelta(hours=1)
LATER = HOUR5 + timedelta(hours=3)  # both hours closed and settled


class Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now.timestamp()


def capture(store: ObjectStore, hour: datetime, requests: int, tag: str) -> None:
    """`requests` requests of 3 rows spread over `hour`, two requests to a file."""
    with ParquetPredictionLog(store, max_seconds=3600.0, max_rows=6) as log:
        for request in range(requests):
            at = hour + timedelta(seconds=60 * request + 7)
            # model_ms set: NaN would make Arrow's `equals` false for equal tables
            log.append(scored_batch(f"{tag}{request}", 3, at.timestamp(), model_ms=request + 0.5))


def files(store: ObjectStore, hour: datetime) -> list[str]:
    return list(store.list_keys(f"predictions/date={hour:%Y-%m-%d}/hour={hour:%H}/"))


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    store = LocalObjectStore(tmp_path / "store")
    capture(store, HOUR5, 10, "a")  # 5 files
    capture(store, HOUR6, 4, "b")  # 2 files
    return store


def everything(store: ObjectStore) -> pa.Table:
    logged = read_predictions(store)
    assert logged.skipped == ()
    return logged.table


def assert_reads_unchanged(store: ObjectStore, before: pa.Table) -> None:
    """Every reader of the captured rows gives `before`'s rows, in the same order."""
    assert everything(store).equals(before)
    assert read_latest_predictions(store, 7).table.equals(before.slice(before.num_rows - 7))
    window = PredictionLogWindow(store)
    ids = ["a3/1", "b0/2", "nobody"]
    assert window.read_ids(None, ids).transaction_ids.tolist() == ["a3/1", "b0/2"]  # type: ignore[union-attr]
    assert len(window.read_scores(None, None)) == before.num_rows


def test_reads_give_the_same_rows_before_during_and_after_a_merge(store: LocalObjectStore) -> None:
    before = everything(store)
    assert before.num_rows == 42
    assert len(files(store, HOUR5)) == 5
    clock = Clock(LATER)
    compactor = CaptureCompactor(store, clock=clock)

    merged = compactor.compact(lookback_hours=24)
    assert (merged.hours, merged.files_merged, merged.rows, merged.files_deleted) == (2, 7, 42, 0)
    assert len(files(store, HOUR5)) == 6  # the merge beside the 5 files it merged: the grace period
    assert_reads_unchanged(store, before)

    clock.now += GRACE - timedelta(seconds=1)
    assert compactor.compact(lookback_hours=24).files_deleted == 0  # not yet
    clock.now += timedelta(seconds=1)
    swept = compactor.compact(lookback_hours=24)
    assert (swept.hours, swept.files_deleted) == (0, 7)
    assert [is_compacted(key) for key in files(store, HOUR5) + files(store, HOUR6)] == [True, True]
    assert_reads_unchanged(store, before)
    assert compactor.compact(lookback_hours=24).to_dict() == {
        "hours": 0, "files_merged": 0, "rows": 0, "files_deleted": 0, "hours_left": 0
    }  # fmt: skip


def test_a_late_file_is_read_once_then_merged_with_the_earlier_merge(store: LocalObjectStore) -> None:
    clock = Clock(LATER)
    compactor = CaptureCompactor(store, clock=clock)
    compactor.compact(lookback_hours=24)
    clock.now += GRACE
    compactor.compact(lookback_hours=24)
    (first_merge,) = files(store, HOUR5)

    capture(store, HOUR5 + timedelta(minutes=30), 1, "late")  # a spill resent after an outage
    with_late = everything(store)
    assert with_late.num_rows == 45

    second = compactor.compact(lookback_hours=24)
    assert (second.hours, second.files_merged, second.rows) == (1, 2, 33)
    assert len(files(store, HOUR5)) == 3  # the two merges and the late file, until the grace period ends
    assert everything(store).equals(with_late)

    clock.now += GRACE
    assert compactor.compact(lookback_hours=24).files_deleted == 2
    (second_merge,) = files(store, HOUR5)
    assert second_merge != first_merge
    assert everything(store).equals(with_late)


def test_two_merges_of_overlapping_files_give_each_row_once(store: LocalObjectStore) -> None:
    """Two compactors at once (which the schedule avoids): each writes its own merge of the same files."""
    before = everything(store)
    raw = files(store, HOUR5)
    skipped: list[str] = []
    parsed = [parse_capture_file(key, store.read_bytes(key), skipped) for key in raw[1:]]
    other = encode_compacted([file for file in parsed if file is not None])  # all but the first file
    store.write_bytes(compacted_key("predictions", HOUR5, LATER + timedelta(minutes=1)), other)
    CaptureCompactor(store, clock=Clock(LATER)).compact(lookback_hours=24)  # all five
    for key in raw:
        store.delete(key)
    assert len(files(store, HOUR5)) == 2
    assert everything(store).sort_by("transaction_id").equals(before.sort_by("transaction_id"))


def test_the_open_hour_and_an_hour_of_one_file_are_left_as_they_are(tmp_path: Path) -> None:
    store = LocalObjectStore(tmp_path / "store")
    capture(store, HOUR5, 2, "one")  # one file
    capture(store, HOUR6, 6, "open")  # three files, in the hour that ends 10 minutes before "now"
    keys = sorted(store.list_keys("predictions/"))
    summary = CaptureCompactor(store, clock=Clock(HOUR6 + timedelta(hours=1, minutes=9))).compact(24)
    assert (summary.hours, summary.files_deleted) == (0, 0)
    assert sorted(store.list_keys("predictions/")) == keys
    settled = CaptureCompactor(store, clock=Clock(HOUR6 + timedelta(hours=1, minutes=10))).compact(24)
    assert (settled.hours, settled.files_merged) == (1, 3)


def test_an_unreadable_file_is_not_merged_and_readers_still_skip_it(store: LocalObjectStore) -> None:
    stray = f"predictions/date={HOUR5:%Y-%m-%d}/hour=05/00000000T000000-1-000001-deadbeef.parquet"
    store.write_bytes(stray, b"not parquet")
    before = read_predictions(store)
    assert before.skipped == (stray,)
    clock = Clock(LATER)
    compactor = CaptureCompactor(store, clock=clock)
    compactor.compact(lookback_hours=24)
    clock.now += GRACE
    compactor.compact(lookback_hours=24)
    assert stray in files(store, HOUR5)
    assert len(files(store, HOUR5)) == 2
    after = read_predictions(store)
    assert after.skipped == (stray,)
    assert after.table.equals(before.table)


def test_the_time_budget_leaves_the_oldest_hours_for_the_next_run(store: LocalObjectStore) -> None:
    ticks = iter(range(100))
    compactor = CaptureCompactor(store, clock=Clock(LATER), monotonic=lambda: float(next(ticks)))
    first = compactor.compact(lookback_hours=24, budget_seconds=1.5)  # starts one hour: the newest
    assert (first.hours, first.hours_left) == (1, 1)
    assert [is_compacted(key) for key in files(store, HOUR6)].count(True) == 1
    assert not any(is_compacted(key) for key in files(store, HOUR5))
    assert compactor.compact(lookback_hours=24).hours == 1


def test_a_reader_older_than_compaction_skips_a_merge_instead_of_counting_its_rows_twice(
    store: LocalObjectStore,
) -> None:
    CaptureCompactor(store, clock=Clock(LATER)).compact(lookback_hours=24)
    (merge,) = [key for key in files(store, HOUR5) if is_compacted(key)]
    table = pq.ParquetFile(pa.BufferReader(store.read_bytes(merge))).read()
    assert table.num_rows == 30
    assert conformed(table) is None  # what the reader before compaction checked: "another schema"


def test_a_lookback_that_is_not_positive_is_refused(store: LocalObjectStore) -> None:
    with pytest.raises(ValueError, match="lookback_hours"):
        CaptureCompactor(store).compact(lookback_hours=0)


@pytest.mark.parametrize(
    "metadata",
    [None, {SOURCES_KEY: b'"not a list"'}, {SOURCES_KEY: b"[}"}],
)
def test_a_merge_without_a_usable_source_list_is_skipped_and_hides_nothing(
    store: LocalObjectStore, metadata: dict[bytes, bytes] | None
) -> None:
    before = everything(store)
    fake = before.slice(0, 5).replace_schema_metadata(metadata)
    sink = pa.BufferOutputStream()
    pq.write_table(fake, sink)
    key = compacted_key("predictions", HOUR5, LATER)
    store.write_bytes(key, sink.getvalue().to_pybytes())
    logged = read_predictions(store)
    assert logged.skipped == (key,)
    assert logged.table.equals(before)
    merged = CaptureCompactor(store, clock=Clock(LATER)).compact(lookback_hours=24)
    assert merged.files_merged == 7  # the writers' files, none taken as covered by the bad merge


def test_reads_running_throughout_a_merge_and_its_sweep_all_see_every_row_once(
    store: LocalObjectStore,
) -> None:
    """Real interleavings: a thread reads the whole log in a loop while a compactor on the real clock, with a
    1 s grace period (a read takes milliseconds), merges both hours and later deletes the merged files."""
    before = everything(store)
    stop = threading.Event()
    reads: list[tuple[int, bool, tuple[str, ...]]] = []

    def read_all_the_time() -> None:
        while not stop.is_set():
            logged = read_predictions(store)
            reads.append((logged.table.num_rows, logged.table.equals(before), logged.skipped))

    reader = threading.Thread(target=read_all_the_time)
    reader.start()
    try:
        compactor = CaptureCompactor(store, grace=timedelta(seconds=1))
        time.sleep(0.2)
        assert compactor.compact(lookback_hours=24 * 3650).hours == 2
        time.sleep(1.2)
        assert compactor.compact(lookback_hours=24 * 3650).files_deleted == 7
        time.sleep(0.2)
    finally:
        stop.set()
        reader.join()
    assert len(reads) > 20
    assert {read for read in reads} == {(42, True, ())}


class SweptAfterListing(LocalObjectStore):
    """A store whose writers' files vanish between the listing and the read: the sweep ran meanwhile."""

    def read_bytes(self, key: str) -> bytes:
        if not is_compacted(key):
            raise ObjectNotFoundError(key)
        return super().read_bytes(key)


def test_a_merged_file_swept_after_the_listing_is_not_reported_as_skipped(tmp_path: Path) -> None:
    store = SweptAfterListing(tmp_path / "store")
    capture(store, HOUR5, 10, "a")
    unmerged = read_predictions(store)  # before any merge, a vanished file is named: its rows are lost
    assert unmerged.table.num_rows == 0
    assert len(unmerged.skipped) == 5
    plain = LocalObjectStore(tmp_path / "store")
    before = everything(plain)
    CaptureCompactor(plain, clock=Clock(LATER)).compact(lookback_hours=24)
    merged = read_predictions(store)
    assert merged.skipped == ()
    assert merged.table.equals(before)


class OlderMergeSweptAfterListing(LocalObjectStore):
    """A store whose first merge of an hour vanishes between the listing and the read."""

    first_merge = ""

    def read_bytes(self, key: str) -> bytes:
        if key == self.first_merge:
            raise ObjectNotFoundError(key)
        return super().read_bytes(key)


def test_an_older_merge_swept_after_the_listing_is_not_reported_as_skipped(tmp_path: Path) -> None:
    store = OlderMergeSweptAfterListing(tmp_path / "store")
    capture(store, HOUR5, 10, "a")
    clock = Clock(LATER)
    compactor = CaptureCompactor(store, clock=clock)
    compactor.compact(lookback_hours=24)
    (store.first_merge,) = [key for key in files(store, HOUR5) if is_compacted(key)]
    alone = read_predictions(store)  # the only merge vanished: the files it merged are still there
    assert alone.skipped == (store.first_merge,)
    assert alone.table.num_rows == 30
    capture(store, HOUR5 + timedelta(minutes=30), 1, "late")
    clock.now += GRACE
    compactor.compact(lookback_hours=24)  # the second merge: it holds the first one's rows
    both = read_predictions(store)
    assert both.skipped == ()
    assert both.table.num_rows == 33


# Any history of writes (late ones included), merges by one or two compactors, and sweeps: every read gives
# each row written exactly once, and names no file as skipped.
WRITE = st.tuples(st.just("write"), st.integers(0, 1), st.integers(1, 4))  # hour, requests (2 a file)
# Minutes the clock moves first: within the grace period, or past it.
COMPACT = st.tuples(st.just("compact"), st.sampled_from([0, 10, 31]), st.just(0))
# A compactor that listed the hour before another one's merge landed: it merges the writers' files alone.
STALE_MERGE = st.tuples(st.just("stale"), st.integers(0, 1), st.just(0))  # hour


def stale_merge(store: ObjectStore, hour: datetime, now: datetime) -> None:
    raw = [key for key in files(store, hour) if not is_compacted(key)]
    parsed = [parse_capture_file(key, store.read_bytes(key), []) for key in raw]
    if parsed:
        merge = encode_compacted([file for file in parsed if file is not None])
        store.write_bytes(compacted_key("predictions", hour, now), merge)


@settings(max_examples=200, derandomize=True, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(WRITE, COMPACT, STALE_MERGE), min_size=1, max_size=12))
def test_any_history_of_writes_merges_and_sweeps_reads_every_row_once(
    steps: list[tuple[str, int, int]],
) -> None:
    with tempfile.TemporaryDirectory() as folder:
        store = LocalObjectStore(Path(folder))
        clock = Clock(LATER)
        compactor = CaptureCompactor(store, clock=clock)
        written: list[str] = []
        for number, (action, first, second) in enumerate(steps):
            if action == "write":
                hour = HOUR5 + timedelta(hours=first)  # 05:00 or 06:00: both closed by LATER
                capture(store, hour + timedelta(minutes=number), second, f"s{number}-")
                written += [f"s{number}-{request}/{row}" for request in range(second) for row in range(3)]
            elif action == "stale":
                stale_merge(store, HOUR5 + timedelta(hours=first), clock.now)
            else:
                clock.now += timedelta(minutes=first)
                compactor.compact(lookback_hours=48)
            logged = read_predictions(store)
            assert logged.skipped == ()
            assert sorted(logged.table.column("transaction_id").to_pylist()) == sorted(written)


def test_a_merge_of_interleaved_writers_is_in_time_order(tmp_path: Path) -> None:
    """Two replicas' files overlap in time; the merge holds their rows sorted, so readers need no sort."""
    store = LocalObjectStore(tmp_path / "store")
    for replica, offset in (("a", 0), ("b", 30)):
        with ParquetPredictionLog(store, max_seconds=3600.0, max_rows=6) as log:
            for request in range(6):
                at = HOUR5 + timedelta(seconds=60 * request + offset)
                log.append(scored_batch(f"{replica}{request}", 3, at.timestamp(), model_ms=0.5))
    CaptureCompactor(store, clock=Clock(LATER)).compact(lookback_hours=24)
    (merge,) = [key for key in files(store, HOUR5) if is_compacted(key)]
    instants = pq.ParquetFile(pa.BufferReader(store.read_bytes(merge))).read().column("scored_at").to_pylist()
    assert len(instants) == 36
    assert instants == sorted(instants)


def test_a_rollouts_dark_scores_are_compacted_with_the_served_rows(tmp_path: Path) -> None:
    """Only `predictions/` was merged: `shadow/` kept a file per replica per flush, and a rollout's
    evaluation and status read ever more of them. Through the use case every schedule runs."""
    from fraud_detection.composition import Container
    from fraud_detection.domain.ports.rollout import SHADOW_CAPTURE_PREFIX
    from fraud_detection.settings import Settings

    container = Container(Settings(home=tmp_path))
    store = container.adapters.object_store()
    hour = datetime.fromtimestamp(time.time(), UTC).replace(minute=0, second=0, microsecond=0) - timedelta(
        hours=3
    )
    capture(store, hour, 6, "s")
    with ParquetPredictionLog(store, prefix=SHADOW_CAPTURE_PREFIX, max_seconds=3600.0, max_rows=6) as log:
        for request in range(6):
            at = hour + timedelta(seconds=60 * request + 7)
            log.append(scored_batch(f"d{request}", 3, at.timestamp(), model_ms=request + 0.5))
    shadow_files = lambda: list(store.list_keys(f"shadow/date={hour:%Y-%m-%d}/hour={hour:%H}/"))  # noqa: E731
    dark = PredictionLogWindow(store, SHADOW_CAPTURE_PREFIX)
    before = dark.read_scores(None, None)
    assert len(shadow_files()) == 3
    summary = container.drift.compact()(lookback_hours=24)
    assert (summary.hours, summary.files_merged) == (2, 6)  # an hour of each log, 3 files each
    assert [is_compacted(key) for key in shadow_files()].count(True) == 1
    assert len(dark.read_scores(None, None)) == len(before) == 18


def test_the_logs_share_the_time_budget_so_a_backlog_of_served_rows_starves_no_dark_scores() -> None:
    from fraud_detection.infrastructure.arrow.prediction_log.compaction import CaptureCompactors

    given: list[float | None] = []

    class Greedy:
        def compact(self, lookback_hours: float, budget_seconds: float | None = None) -> CompactionSummary:
            given.append(budget_seconds)
            clock.now += budget_seconds or 0.0  # spends all it is given
            return CompactionSummary(1, 1, 1, 0, 0)

    class Clock:
        now = 0.0

        def __call__(self) -> float:
            return self.now

    clock = Clock()
    summary = CaptureCompactors([Greedy(), Greedy()], monotonic=clock).compact(24, 120.0)  # type: ignore[list-item]
    assert given == [60.0, 60.0]  # the second log got its half; before, nothing
    assert summary.to_dict() == {
        "hours": 2,
        "files_merged": 2,
        "rows": 2,
        "files_deleted": 0,
        "hours_left": 0,
    }
    given.clear()
    CaptureCompactors([Greedy()], monotonic=clock).compact(24, None)  # type: ignore[list-item]
    assert given == [None]
