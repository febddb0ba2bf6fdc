"""Captured predictions survive a storage outage, a full queue and a killed process, or their loss is counted.

Each test replays one way rows used to vanish silently: an outage that only logged (rows queued in memory,
then dropped or lost at exit), a queue bounded in rows only (1,000,000 rows against a 1 GiB task), and a
SIGKILL that lost every row not yet written (400 of 400). Against the real adapter, a local folder store and
a store that fails on demand (as S3 does while unreachable), then recovers.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from contextlib import AbstractContextManager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, BinaryIO

import pytest
from prometheus_client import REGISTRY

from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.infrastructure.arrow.prediction_log import ParquetPredictionLog, read_predictions
from fraud_detection.infrastructure.arrow.prediction_log.column_buffer import SLOT_BYTES
from fraud_detection.infrastructure.arrow.prediction_log.journal import (
    LOCK_NAME,
    SETUP_GRACE_SECONDS,
    SETUP_PREFIX,
    Journal,
)
from fraud_detection.infrastructure.arrow.prediction_log.journal_copier import open_journal
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.infrastructure.prometheus.metrics import PrometheusCaptureTelemetry
from tests.prediction_batches import scored_batch, spilled_files
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

T0 = datetime(2026, 3, 4, 5, 6, 7, tzinfo=UTC).timestamp()
NEVER = 3600.0


def make_batch(request_id: str, rows: int = 1, scored_at: float = T0, id_length: int = 8) -> PredictionBatch:
    return scored_batch(request_id, rows, scored_at, id_length)


class OutageStore(ObjectStore):
    """A local store that refuses every write while `down` is set (S3 unreachable), and notes whether the
    spilled copy of each key still existed when the store took it."""

    def __init__(self, inner: LocalObjectStore, spill: Path | None = None) -> None:
        self.inner, self.spill, self.down = inner, spill, threading.Event()
        self.failed_writes = 0
        self.spilled_copy_present: dict[str, bool] = {}

    def write_bytes(self, key: str, data: bytes) -> None:
        if self.down.is_set():
            self.failed_writes += 1
            raise ServiceUnavailableError(f"cannot write {key}: storage down")
        if self.spill is not None:
            self.spilled_copy_present[key] = (self.spill / key).exists()
        self.inner.write_bytes(key, data)

    def write_file(self, key: str, path: Path) -> None:
        self.write_bytes(key, path.read_bytes())

    def create_bytes(self, key: str, data: bytes) -> bool:  # job records only: no capture write takes it
        return self.inner.create_bytes(key, data)

    def open_read(self, key: str) -> AbstractContextManager[BinaryIO]:
        return self.inner.open_read(key)

    def exists(self, key: str) -> bool:
        return self.inner.exists(key)

    def list_keys(self, prefix: str = "") -> Iterator[str]:
        return self.inner.list_keys(prefix)

    def delete(self, key: str) -> None:
        self.inner.delete(key)

    def uri_for(self, key: str) -> str:
        return self.inner.uri_for(key)


def stored_request_ids(store: ObjectStore) -> list[str]:
    return sorted(read_predictions(store).frame["request_id"])


@pytest.fixture
def local(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "store")


# Outage: spill to local disk, resend on recovery ---------------------------------------------------


def test_an_outage_spills_to_disk_and_the_rows_reach_the_store_when_it_recovers(
    local: LocalObjectStore, tmp_path: Path
) -> None:
    spill = tmp_path / "spill"
    store = OutageStore(local, spill)
    store.down.set()
    log = ParquetPredictionLog(
        store,
        max_rows=10,
        max_seconds=NEVER,
        spill_dir=spill,
        retry_initial_seconds=0.05,
        retry_max_seconds=0.1,
    )
    for i in range(50):
        log.append(make_batch(f"r{i:02d}"))
    assert wait_until(lambda: log.rows_spilled == 50)
    assert (log.pending_rows, log.rows_dropped, log.rows_written) == (0, 0, 0)  # safe on disk, not in memory
    assert list(local.list_keys()) == []
    assert len(spilled_files(spill)) == 5
    assert store.failed_writes >= 1

    store.down.clear()
    assert wait_until(lambda: not spilled_files(spill))
    assert stored_request_ids(local) == [f"r{i:02d}" for i in range(50)]
    assert store.spilled_copy_present
    assert all(store.spilled_copy_present.values())
    assert (log.rows_resent, log.rows_dropped) == (50, 0)
    log.close()


def test_close_during_an_outage_spills_what_is_queued_and_the_next_start_resends_it(
    local: LocalObjectStore, tmp_path: Path
) -> None:
    spill = tmp_path / "spill"
    store = OutageStore(local)
    store.down.set()
    first = ParquetPredictionLog(store, max_seconds=NEVER, spill_dir=spill, close_attempts=1)
    first.append(make_batch("before-stop", rows=7))
    first.close()
    assert (first.rows_dropped, first.rows_spilled) == (0, 7)  # used to be "7 rows lost"
    assert len(spilled_files(spill)) == 1

    store.down.clear()
    second = ParquetPredictionLog(store, max_seconds=NEVER, spill_dir=spill)
    assert wait_until(lambda: not spilled_files(spill))
    second.close()
    assert stored_request_ids(local) == ["before-stop"] * 7


def test_the_spill_is_bounded_in_bytes_and_beyond_it_rows_wait_in_memory(
    local: LocalObjectStore, tmp_path: Path
) -> None:
    spill = tmp_path / "spill"
    store = OutageStore(local)
    store.down.set()
    log = ParquetPredictionLog(
        store, max_rows=10, max_seconds=NEVER, spill_dir=spill, spill_max_bytes=12_000,
        retry_initial_seconds=0.02, retry_max_seconds=0.05, close_attempts=1,
    )  # fmt: skip
    for i in range(100):
        log.append(make_batch(f"r{i:03d}"))
    assert wait_until(lambda: log.rows_spilled > 0 and log.pending_rows == 100 - log.rows_spilled)
    time.sleep(0.2)
    on_disk = sum(path.stat().st_size for path in spilled_files(spill))
    assert 0 < on_disk <= 12_000
    assert log.rows_spilled < 100
    assert log.pending_rows > 0
    assert log.rows_dropped == 0
    store.down.clear()
    assert wait_until(lambda: log.pending_rows == 0 and not spilled_files(spill))
    log.close()
    assert stored_request_ids(local) == [f"r{i:03d}" for i in range(100)]


# The memory bound is in bytes --------------------------------------------------------------------


def test_the_queue_is_bounded_in_bytes_and_rows_over_it_are_dropped_and_counted(
    local: LocalObjectStore,
) -> None:
    store = OutageStore(local)
    store.down.set()  # and no spill: rows can only wait in memory
    bound = 200_000
    log = ParquetPredictionLog(
        store, max_rows=100, max_seconds=NEVER, max_pending_bytes=bound, close_attempts=1
    )
    for i in range(100):
        log.append(make_batch(f"r{i:03d}", rows=10, id_length=100))  # ~480 bytes a row with its id
        assert log.pending_bytes <= bound + 10 * 600
    assert log.pending_bytes <= bound
    assert log.pending_rows * SLOT_BYTES <= bound
    assert log.rows_dropped == 1_000 - log.pending_rows > 0
    assert log.pending_rows < 1_000 * bound // (1_000 * SLOT_BYTES)  # the ids count, not only the slots
    kept = log.pending_rows
    store.down.clear()
    log.close()
    ids = stored_request_ids(local)
    assert len(ids) == kept
    assert ids[-1] == "r099"


def test_the_default_bound_keeps_the_queue_well_under_a_1_gib_task() -> None:
    log = ParquetPredictionLog(LocalObjectStore(Path("/nonexistent-store")), max_seconds=NEVER)
    try:
        assert log._max_pending_bytes <= 64 * 1024 * 1024
    finally:
        log.close()


# Metrics -----------------------------------------------------------------------------------------


def sample(name: str) -> float:
    return REGISTRY.get_sample_value(name) or 0.0


def test_written_failed_spilled_dropped_and_pending_rows_are_exported_to_prometheus(
    local: LocalObjectStore, tmp_path: Path
) -> None:
    before = {
        name: sample(name)
        for name in (
            "fraud_capture_rows_written_total",
            "fraud_capture_write_failures_total",
            "fraud_capture_rows_spilled_total",
            "fraud_capture_rows_dropped_total",
        )
    }
    spill = tmp_path / "spill"
    store = OutageStore(local)
    store.down.set()
    log = ParquetPredictionLog(
        store, max_rows=10, max_seconds=NEVER, spill_dir=spill, spill_max_bytes=1, max_pending_rows=25,
        retry_initial_seconds=0.02, retry_max_seconds=0.05, telemetry=PrometheusCaptureTelemetry(),
        close_attempts=1,
    )  # fmt: skip
    for i in range(40):
        log.append(make_batch(f"r{i:02d}"))
    assert wait_until(lambda: sample("fraud_capture_rows_dropped_total") - before[
        "fraud_capture_rows_dropped_total"] == 15)  # fmt: skip
    assert wait_until(lambda: sample("fraud_capture_pending_rows") == 25)
    assert sample("fraud_capture_pending_bytes") > 25 * SLOT_BYTES
    assert sample("fraud_capture_pending_max_bytes") == 64 * 1024 * 1024
    fill = sample("fraud_capture_pending_bytes") / (64 * 1024 * 1024)
    assert sample("fraud_capture_pending_fill_ratio") == pytest.approx(fill)  # what the backlog alert reads
    assert wait_until(
        lambda: sample("fraud_capture_write_failures_total") > before["fraud_capture_write_failures_total"]
    )
    assert sample("fraud_capture_rows_spilled_total") == before["fraud_capture_rows_spilled_total"]  # full

    store.down.clear()
    assert wait_until(lambda: sample("fraud_capture_pending_rows") == 0)  # the gauge follows the writes
    assert sample("fraud_capture_rows_written_total") - before["fraud_capture_rows_written_total"] == 25
    log.close()
    assert sample("fraud_capture_spill_files") == 0


def test_a_journal_that_cannot_be_written_is_counted_on_metrics(
    local: LocalObjectStore, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The journal's disk full or failing was a log line a minute and nothing an alert could see, while a
    kill would lose every queued row rather than the last second's (disk-full probe)."""

    def full(self: object, buffer: object, data: bytes) -> None:
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(Journal, "append", full)
    before = sample("fraud_capture_journal_failures_total")
    log = ParquetPredictionLog(
        local, max_rows=1000, max_seconds=NEVER, spill_dir=tmp_path / "spill", journal_seconds=0.05,
        telemetry=PrometheusCaptureTelemetry(),
    )  # fmt: skip
    log.append(make_batch("queued"))
    assert wait_until(lambda: sample("fraud_capture_journal_failures_total") > before)
    assert log.journal_failures >= 1
    log.close()
    assert stored_request_ids(local) == ["queued"]  # the rows themselves still reach the store


# Retention of a local store ----------------------------------------------------------------------


def test_partitions_older_than_the_retention_are_deleted_at_start(local: LocalObjectStore) -> None:
    now = datetime(2026, 6, 1, 12, tzinfo=UTC)
    for days in (200, 91, 89, 0):
        old = ParquetPredictionLog(local, max_seconds=NEVER)
        old.append(make_batch(f"{days}-days-old", scored_at=(now - timedelta(days=days)).timestamp()))
        old.close()
    keep_forever = ParquetPredictionLog(local, max_seconds=NEVER, retention_days=0, clock=now.timestamp)
    keep_forever.close()
    assert len(stored_request_ids(local)) == 4

    log = ParquetPredictionLog(local, max_seconds=NEVER, retention_days=90, clock=now.timestamp)
    assert wait_until(lambda: len(list(local.list_keys())) == 2)
    log.close()
    assert stored_request_ids(local) == ["0-days-old", "89-days-old"]


# Hour boundaries ----------------------------------------------------------------------------------


def test_a_row_scored_within_a_microsecond_of_an_hour_is_read_by_exactly_one_hours_window(
    local: LocalObjectStore,
) -> None:
    """The partition floored the float time while the column rounds it to the microsecond: a row scored
    0.3 us before midnight was filed under 23:00 but stored as 00:00, so neither hour's window read it."""
    midnight = datetime(2027, 1, 1, tzinfo=UTC)
    offsets = (-6e-7, -4e-7, -2.4e-7, 0.0, 2e-7, 6e-7)
    log = ParquetPredictionLog(local, max_seconds=NEVER)
    for index, offset in enumerate(offsets):
        log.append(make_batch(f"r{index}", scored_at=midnight.timestamp() + offset))
    log.close()
    hour = timedelta(hours=1)
    before = read_predictions(local, since=midnight - hour, until=midnight).frame["request_id"].tolist()
    after = read_predictions(local, since=midnight, until=midnight + hour).frame["request_id"].tolist()
    assert sorted(before + after) == [f"r{index}" for index in range(len(offsets))]
    assert before == ["r0"]  # -0.6 us rounds to the microsecond before midnight; the others to midnight


# SIGKILL: the journal bounds the loss --------------------------------------------------------------

CHILD = """
import sys, time
from pathlib import Path
import numpy as np
from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.infrastructure.arrow.prediction_log import ParquetPredictionLog

store, spill, rate, journal = Path(sys.argv[1]), Path(sys.argv[2]), float(sys.argv[3]), float(sys.argv[4])
rows = int(sys.argv[5]) if len(sys.argv) > 5 else None
log = ParquetPredictionLog(LocalObjectStore(store), spill_dir=spill, journal_seconds=journal)
print("ready", flush=True)
i, start = 0, time.monotonic()
while rows is None or i < rows:
    now = time.time()
    log.append(PredictionBatch(
        inputs=np.zeros((1, 29)), times=np.zeros(1), transaction_ids=(f"tx-{i}",), probabilities=np.zeros(1),
        decisions=np.zeros(1, dtype=np.bool_), model_name="fraud-lgbm", model_version=1, request_id=f"r-{i}",
        scored_at=now,
    ))
    print(i, now, flush=True)
    i += 1
    time.sleep(max(start + i / rate - time.monotonic(), 0.0))
print("done", flush=True)
time.sleep(3600)
"""


def scored_then_killed(
    store: Path, spill: Path, rate: float, journal: float, seconds: float
) -> dict[int, float]:
    """Run a capturing process at `rate` rows/s (default write triggers: 10,000 rows or 5 s) for `seconds`,
    SIGKILL it; return when each row was appended (by its index)."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store), str(spill), str(rate), str(journal)],
        stdout=subprocess.PIPE, text=True, env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )  # fmt: skip
    assert child.stdout is not None
    appended: dict[int, float] = {}
    try:
        assert child.stdout.readline().strip() == "ready"
        started = time.monotonic()
        while time.monotonic() - started < seconds:
            index, at = child.stdout.readline().split()
            appended[int(index)] = float(at)
        child.send_signal(signal.SIGKILL)
        for line in child.stdout:  # rows appended before the signal landed
            index, at = line.split()
            appended[int(index)] = float(at)
    finally:
        child.kill()
        child.wait(10)
    assert child.returncode == -signal.SIGKILL
    return appended


@pytest.mark.slow
def test_after_sigkill_a_restart_recovers_every_row_but_the_last_journal_interval(tmp_path: Path) -> None:
    store, spill = tmp_path / "store", tmp_path / "spill"
    rate, journal = 200.0, 1.0  # journal: the default FRAUD_CAPTURE_JOURNAL_SECONDS
    appended = scored_then_killed(store, spill, rate, journal, seconds=3.0)  # under the 5 s write trigger
    killed_at = max(appended.values())
    assert list(LocalObjectStore(store).list_keys()) == []  # nothing reached the store before the kill

    restarted = ParquetPredictionLog(LocalObjectStore(store), spill_dir=spill, max_seconds=NEVER)
    assert wait_until(lambda: restarted.rows_recovered > 0 and not spilled_files(spill))
    restarted.close()
    frame = read_predictions(LocalObjectStore(store)).frame
    recovered = {int(request_id.removeprefix("r-")) for request_id in frame["request_id"]}
    lost = sorted(set(appended) - recovered)
    lost_window = killed_at - max(appended[i] for i in recovered)

    print(f"SIGKILL after {len(appended)} rows: {len(lost)} lost, covering the last {lost_window:.3f} s")
    assert len(appended) >= 500
    assert recovered <= set(appended) | {max(appended) + 1}  # nothing invented (one row may miss its print)
    assert lost == list(range(len(appended) - len(lost), len(appended)))  # only the newest rows
    assert lost_window <= journal + 0.25
    assert len(lost) <= rate * (journal + 0.25)
    assert len(frame) == len(set(frame["transaction_id"]))  # no duplicates
    assert not list((spill / "journal").iterdir())  # the dead process's journal was consumed


# Wiring ------------------------------------------------------------------------------------------


def test_the_container_builds_the_log_with_the_capture_settings(tmp_path: Path) -> None:
    from fraud_detection.composition import Container
    from fraud_detection.settings import Settings

    settings = Settings(
        home=tmp_path, capture_max_pending_bytes=1_000_000, capture_spill_max_bytes=2_000_000,
        capture_journal_seconds=0.5, capture_retention_days=30,
    )  # fmt: skip
    log = Container(settings).serving.prediction_log()
    try:
        assert isinstance(log, ParquetPredictionLog)
        assert log._max_pending_bytes == 1_000_000
        assert log._spill is not None
        assert log._spill.root == (tmp_path / "capture-spill").resolve()
        assert log._journal is not None
        assert log._journal.folder.is_dir()
        assert log._journal_seconds == 0.5
        assert log._sweep is not None  # a local store expires its partitions
        assert isinstance(log._telemetry, PrometheusCaptureTelemetry)
        assert log._upkeep._recovered is not None  # recovered rows reach the feedback index
    finally:
        log.close()
    assert not log._journal.folder.exists()  # closed cleanly: nothing left to recover

    defaults = Settings(home=tmp_path, storage_uri="s3://bucket/prefix")
    assert defaults.capture_max_pending_bytes == 64 * 1024 * 1024
    assert (defaults.capture_journal_seconds, defaults.capture_retention_days) == (1.0, 90.0)
    s3_log = Container(defaults).serving.prediction_log()
    try:
        assert isinstance(s3_log, ParquetPredictionLog)
        assert s3_log._sweep is None  # S3 expires captured rows with a bucket lifecycle rule
    finally:
        s3_log.close()


def appended_then_killed(store: Path, spill: Path, rows: int) -> None:
    """A capturing process appends `rows` rows at once (no write to the store due yet: 5 s, 10,000 rows)
    and is SIGKILLed once the journal interval has passed."""
    child = subprocess.Popen(
        [sys.executable, "-c", CHILD, str(store), str(spill), "100000", "1.0", str(rows)],
        stdout=subprocess.PIPE, text=True,
    )  # fmt: skip
    assert child.stdout is not None
    try:
        while (line := child.stdout.readline().strip()) != "done":
            assert line, "the capturing process ended early"
        time.sleep(1.0 + 0.3)  # one journal interval, and the chunk's write
        child.send_signal(signal.SIGKILL)
        child.wait(10)
    finally:
        child.kill()
        child.wait(10)


@pytest.mark.slow
def test_400_scores_then_sigkill_after_the_journal_interval_lose_nothing(tmp_path: Path) -> None:
    """The reported case (400 of 400 lost): 400 scores, no write to the store due yet (5 s, 10,000 rows),
    SIGKILL once the journal interval has passed: the restart finds all 400."""
    store, spill = tmp_path / "store", tmp_path / "spill"
    appended_then_killed(store, spill, 400)
    assert list(LocalObjectStore(store).list_keys()) == []

    restarted = ParquetPredictionLog(LocalObjectStore(store), spill_dir=spill, max_seconds=NEVER)
    assert wait_until(lambda: restarted.rows_recovered == 400 and not spilled_files(spill))
    restarted.close()
    assert stored_request_ids(LocalObjectStore(store)) == sorted(f"r-{i}" for i in range(400))


@pytest.mark.slow
def test_rows_recovered_after_sigkill_can_take_labels(tmp_path: Path) -> None:
    """A crash probe: after a SIGKILLed `fraud serve` the journal's rows were recovered into the capture,
    but the feedback index never learnt their ids (its indexer runs each second): labels for 8,600 of them
    came back `unknown`, so no retrain learnt from them."""
    from functools import partial

    from fraud_detection.infrastructure.local.feedback.indexing_log import index_recovered
    from fraud_detection.infrastructure.sqlite.feedback_store import SqliteFeedbackStore

    store, spill = tmp_path / "store", tmp_path / "spill"
    appended_then_killed(store, spill, 300)
    feedback = SqliteFeedbackStore(tmp_path / "feedback.db", retention_days=30)
    restarted = ParquetPredictionLog(
        LocalObjectStore(store), spill_dir=spill, max_seconds=NEVER,
        on_recovered=partial(index_recovered, feedback),
    )  # fmt: skip
    assert wait_until(lambda: restarted.rows_recovered == 300 and not spilled_files(spill))
    restarted.close()
    labelled = datetime.now(UTC)
    outcomes = {str(feedback.add_label(f"tx-{i}", i % 2 == 0, labelled)) for i in range(300)}
    assert outcomes == {"new"}


def test_a_live_process_journal_is_not_taken_and_a_flushed_buffer_leaves_no_chunk(
    local: LocalObjectStore, tmp_path: Path
) -> None:
    """Two API workers share one spill folder: the second must not resend the first's journaled rows while
    the first runs (they would be stored twice); once written, a buffer's journal chunks are deleted."""
    spill = tmp_path / "spill"
    first = ParquetPredictionLog(local, max_seconds=NEVER, spill_dir=spill, journal_seconds=0.02)
    first.append(make_batch("first", rows=3))
    assert first._journal is not None
    folder = first._journal.folder

    def chunks() -> list[Path]:
        return sorted(folder.glob("*.parquet"))

    assert wait_until(lambda: len(chunks()) == 1)

    second = ParquetPredictionLog(local, max_seconds=NEVER, spill_dir=spill, journal_seconds=0.02)
    time.sleep(0.2)
    assert second.rows_recovered == 0
    assert len(chunks()) == 1

    assert first.flush() == 3
    assert chunks() == []
    first.close()
    second.close()
    assert stored_request_ids(local) == ["first"] * 3
    assert not (spill / "journal").exists() or not list((spill / "journal").iterdir())


def test_recovery_running_while_a_sibling_starts_leaves_the_sibling_its_journal(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker's start-up recovery running between a starting sibling's mkdir and its lock took the new
    folder for a dead process's and deleted it: the sibling ran without a journal (a SIGKILL lost all)."""
    spill = tmp_path / "spill"
    running = Journal(spill)
    recovered: list[str] = []
    real_mkdir = Path.mkdir

    def mkdir_then_recover(self: Path, *args: Any, **kwargs: Any) -> None:
        real_mkdir(self, *args, **kwargs)
        if self.parent == running.root:  # the running worker's recovery, right after the sibling's mkdir
            for owner, _rows, delete in running.orphans():
                recovered.append(owner)
                delete()

    monkeypatch.setattr(Path, "mkdir", mkdir_then_recover)
    starting = open_journal(spill)
    monkeypatch.undo()
    assert starting is not None
    assert starting.folder.is_dir()
    assert recovered == []
    assert list(running.orphans()) == []  # once in place, it is locked by its live owner
    starting.close()
    running.close()


def test_recovery_neither_takes_nor_locks_a_folder_without_a_lock_file_until_it_is_stale(
    tmp_path: Path,
) -> None:
    """Recovery created a missing lock file and took the folder: a worker (of the previous version) between
    its mkdir and its lock file lost its journal."""
    journal = Journal(tmp_path / "spill")
    starting = journal.root / "4321-0a1b2c3d"
    starting.mkdir()
    assert list(journal.orphans()) == []
    assert starting.is_dir()
    assert not (starting / LOCK_NAME).exists()

    stale = time.time() - SETUP_GRACE_SECONDS - 1  # its process died before it could lock (or journal)
    os.utime(starting, (stale, stale))
    assert [owner for owner, _rows, _delete in journal.orphans()] == ["4321-0a1b2c3d"]
    journal.close()


def test_a_setup_folder_of_a_worker_killed_while_starting_is_removed_once_stale(tmp_path: Path) -> None:
    journal = Journal(tmp_path / "spill")
    setup = journal.root / f"{SETUP_PREFIX}4321-0a1b2c3d"
    setup.mkdir()
    (setup / LOCK_NAME).touch()
    assert list(journal.orphans()) == []
    assert setup.is_dir()  # it may be a starting worker's, between its lock and its rename

    stale = time.time() - SETUP_GRACE_SECONDS - 1
    os.utime(setup, (stale, stale))
    assert list(journal.orphans()) == []  # nothing to recover: it never held a chunk
    assert not setup.exists()
    journal.close()


def test_a_file_in_the_spill_that_is_not_a_prediction_file_is_never_sent(
    local: LocalObjectStore, tmp_path: Path
) -> None:
    spill = tmp_path / "spill"
    planted = spill / "predictions" / "date=2026-03-04" / "hour=05" / "planted.parquet"
    planted.parent.mkdir(parents=True)
    planted.write_bytes(b"not parquet")
    first = ParquetPredictionLog(local, max_seconds=NEVER, spill_dir=spill)
    first.append(make_batch("real", rows=2))
    first.close()
    assert (spill.stat().st_mode & 0o077) == 0  # owner-only: it holds scored transactions

    second = ParquetPredictionLog(local, max_seconds=NEVER, spill_dir=spill)
    assert wait_until(lambda: planted.with_name("planted.parquet.rejected").exists())
    second.close()
    assert list(local.list_keys("predictions/date=2026-03-04/hour=05/planted")) == []
    assert stored_request_ids(local) == ["real", "real"]


def test_batch_roots_may_not_overlap_the_capture_spill(tmp_path: Path) -> None:
    """A batch job writing into the spill folder would plant rows that are then sent as captured ones."""
    from fraud_detection.settings import Settings

    home = tmp_path / "home"
    with pytest.raises(ValueError, match=r"FRAUD_BATCH_OUTPUT_ROOTS.*capture-spill"):
        Settings(home=home, batch_output_roots=str(home / "capture-spill"))
    with pytest.raises(ValueError, match=r"FRAUD_BATCH_INPUT_ROOTS.*FRAUD_CAPTURE_SPILL_DIR"):
        Settings(
            home=home, capture_spill_dir=tmp_path / "spill", batch_input_roots=str(tmp_path / "spill" / "x")
        )


def test_a_setup_folder_removed_by_an_older_versions_recovery_is_set_up_again(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A replica of a version from before setup names recovers every folder: it removed this replica's
    setup folder between its lock and its rename, and the replica ran without a journal."""
    import fcntl as real_fcntl

    from fraud_detection.infrastructure.arrow.prediction_log import journal as module

    removed: list[str] = []

    class OlderRecovery:
        LOCK_EX, LOCK_NB = real_fcntl.LOCK_EX, real_fcntl.LOCK_NB

        @staticmethod
        def flock(descriptor: int, operation: int) -> None:
            real_fcntl.flock(descriptor, operation)
            folder = Path(os.readlink(f"/proc/self/fd/{descriptor}")).parent
            if folder.name.startswith(SETUP_PREFIX) and not removed:
                removed.append(folder.name)
                shutil.rmtree(folder)  # the older replica took it as an orphan and deleted it

    monkeypatch.setattr(module, "fcntl", OlderRecovery)
    journal = Journal(tmp_path / "spill")
    assert removed
    assert journal.folder.is_dir()
    assert (journal.folder / LOCK_NAME).exists()
    journal.close()
