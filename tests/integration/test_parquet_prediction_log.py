"""The Parquet prediction log with real pyarrow: on a local folder (and once on S3 under moto)."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import re
import subprocess
import sys
import threading
import time
import types
import weakref
from collections.abc import Iterator
from contextlib import AbstractContextManager
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import BinaryIO

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from moto import mock_aws

from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.infrastructure.arrow.prediction_log import ParquetPredictionLog, read_predictions
from fraud_detection.infrastructure.arrow.prediction_log.reader import read_latest_predictions
from fraud_detection.infrastructure.local import LocalObjectStore
from fraud_detection.infrastructure.s3 import S3ObjectStore, make_s3_client
from tests.waiting import wait_until

pytestmark = pytest.mark.integration

LOGGER = "fraud_detection.infrastructure.arrow.prediction_log"
T0 = datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC).timestamp()
NEVER = 3600.0  # max_seconds that no test waits for
EXPECTED_COLUMNS = [
    *(f"V{i}" for i in range(1, 29)), "Amount", "Time", "transaction_id", "request_id", "probability",
    "decision", "model_name", "model_version", "scored_at", "model_ms",
]  # fmt: skip


def make_batch(request_id: str, rows: int = 1, scored_at: float = T0, seed: int = 0) -> PredictionBatch:
    rng = np.random.default_rng(seed)
    return PredictionBatch(
        inputs=rng.normal(size=(rows, 29)),
        times=np.arange(rows, dtype=np.float64),
        transaction_ids=tuple(f"{request_id}/{i}" for i in range(rows)),
        probabilities=rng.uniform(size=rows),
        decisions=np.arange(rows) % 2 == 0,
        model_name="fraud-lgbm",
        model_version=7,
        request_id=request_id,
        scored_at=scored_at,
    )


def parquet_keys(store: ObjectStore) -> list[str]:
    return [key for key in store.list_keys() if key.endswith(".parquet")]


def rows_per_file(store: ObjectStore) -> list[int]:
    return [pq.read_metadata(pa.BufferReader(store.read_bytes(key))).num_rows for key in parquet_keys(store)]


class FakeClock:
    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now


class FlakyStore(ObjectStore):
    """A local store whose first `failures` writes (and those numbered in `failing`) raise, as S3 does while
    unreachable; `gate`, when given, holds every write until it is set (a hanging store call)."""

    def __init__(
        self,
        inner: ObjectStore,
        failures: int = 0,
        gate: threading.Event | None = None,
        failing: frozenset[int] = frozenset(),
    ) -> None:
        self.inner, self.failures, self.gate, self.failing, self.attempts = inner, failures, gate, failing, 0

    def write_bytes(self, key: str, data: bytes) -> None:
        self.attempts += 1
        if self.gate is not None:
            self.gate.wait(10)
        if self.attempts <= self.failures or self.attempts in self.failing:
            raise ServiceUnavailableError(f"cannot write {key}: storage down (attempt {self.attempts})")
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


@pytest.fixture
def store(tmp_path: Path) -> LocalObjectStore:
    return LocalObjectStore(tmp_path / "store")


# Capture -----------------------------------------------------------------------------------------


def test_rows_appended_from_many_threads_land_exactly_once(store: LocalObjectStore) -> None:
    log = ParquetPredictionLog(store, max_rows=500, max_seconds=0.02)
    start, appending = threading.Barrier(9), threading.Event()

    def append_all(thread: int) -> None:
        start.wait()
        for i in range(1_000):
            log.append(make_batch(f"{thread}-{i}"))

    def flush_meanwhile() -> None:  # flush() from another thread must not clash with the writer
        start.wait()
        while appending.is_set():
            log.flush()

    appending.set()
    threads = [threading.Thread(target=append_all, args=(t,)) for t in range(8)]
    flusher = threading.Thread(target=flush_meanwhile)
    for thread in [*threads, flusher]:
        thread.start()
    for thread in threads:
        thread.join()
    appending.clear()
    flusher.join()
    log.close()

    frame = read_predictions(store).frame
    expected = {f"{t}-{i}" for t in range(8) for i in range(1_000)}
    assert len(frame) == 8_000
    assert set(frame["request_id"]) == expected
    assert (log.rows_written, log.pending_rows, log.rows_dropped, log.write_failures) == (8_000, 0, 0, 0)
    assert log.files_written == len(parquet_keys(store)) >= 16
    assert max(rows_per_file(store)) <= 500


def test_batches_of_any_size_from_many_threads_keep_every_value(store: LocalObjectStore) -> None:
    """Batches of 1-19 rows into buffers of 7: most of them are split across buffers, and so files."""
    log = ParquetPredictionLog(store, max_rows=7, max_seconds=0.01)
    start = threading.Barrier(4)
    sent: dict[str, np.ndarray] = {}

    def append_all(thread: int) -> None:
        batches = [make_batch(f"{thread}-{i}", rows=1 + (7 * i + thread) % 19, seed=i) for i in range(40)]
        sent.update({tx: row for b in batches for tx, row in zip(b.transaction_ids, b.inputs, strict=True)})
        start.wait()
        for batch in batches:
            log.append(batch)

    threads = [threading.Thread(target=append_all, args=(t,)) for t in range(3)]
    for thread in threads:
        thread.start()
    start.wait()
    for _ in range(20):
        log.flush()
    for thread in threads:
        thread.join()
    log.close()

    frame = read_predictions(store).frame
    assert sorted(frame["transaction_id"]) == sorted(sent)
    received = frame.set_index("transaction_id")[EXPECTED_COLUMNS[:29]]
    expected = np.array([sent[tx] for tx in received.index])
    assert np.array_equal(received.to_numpy(), expected)
    assert max(rows_per_file(store)) <= 7
    assert (log.rows_written, log.pending_rows, log.rows_dropped) == (len(sent), 0, 0)


def tracked_objects_held_by(root: object) -> list[object]:
    """The GC-tracked objects reachable from `root`, not counting code, classes and modules (through them
    everything is reachable). Counting these rather than every object in the process keeps the measure
    blind to other threads (pytest-xdist's I/O thread allocates while a test runs)."""
    seen, stack, held = {id(root)}, [root], []
    while stack:
        for referent in gc.get_referents(stack.pop()):
            if id(referent) in seen or not gc.is_tracked(referent):
                continue
            seen.add(id(referent))
            if isinstance(referent, (type, types.ModuleType, types.FunctionType, types.CodeType)):
                continue
            held.append(referent)
            stack.append(referent)
    return held


def test_appends_keep_no_batch_alive_however_many_rows_are_queued(store: LocalObjectStore) -> None:
    """What the request path leaves behind: no PredictionBatch, none of its arrays, and no GC-tracked object
    per row (queued batches used to survive into the old generation and set off full collections)."""
    log = ParquetPredictionLog(store, max_rows=10_000, max_seconds=NEVER)
    refs: list[weakref.ref[object]] = []
    for i in range(200):
        batch = make_batch(f"r{i}", rows=1 + i % 3, seed=i)
        refs += [weakref.ref(batch), weakref.ref(batch.inputs), weakref.ref(batch.probabilities)]
        log.append(batch)
    del batch
    assert [ref for ref in refs if ref() is not None] == []  # freed at once, by reference counting
    del refs

    def tracked_after_appending(first: int, count: int) -> tuple[int, int, int]:
        for i in range(first, first + count):
            log.append(make_batch(f"r{i}", seed=i))
        gc.collect()  # only unreachable objects go: whatever the log holds stays counted
        held = tracked_objects_held_by(log)
        # Batches the log holds, not every batch in the process: an earlier test in this worker may keep some.
        batches = sum(isinstance(o, PredictionBatch) for o in held)
        return log.pending_rows, batches, len(held)

    rows_1, batches_1, tracked_1 = tracked_after_appending(200, 1_000)
    rows_2, batches_2, tracked_2 = tracked_after_appending(1_200, 4_000)
    assert (rows_2 - rows_1, batches_1, batches_2) == (4_000, 0, 0)
    assert tracked_2 - tracked_1 < 100  # 4,000 more queued rows, no more objects for the collector
    log.close()
    row = read_predictions(store).frame.set_index("request_id").loc["r4321"]
    assert row[EXPECTED_COLUMNS[:29]].tolist() == make_batch("r4321", seed=4321).inputs[0].tolist()


def test_size_trigger_writes_files_of_max_rows(store: LocalObjectStore) -> None:
    log = ParquetPredictionLog(store, max_rows=100, max_seconds=NEVER)
    for i in range(25):
        log.append(make_batch(f"r{i}", rows=10))
    assert wait_until(lambda: log.files_written == 2)
    assert rows_per_file(store) == [100, 100]
    assert log.pending_rows == 50
    log.close()
    assert sorted(rows_per_file(store)) == [50, 100, 100]


def test_age_trigger_follows_the_injected_clock(store: LocalObjectStore) -> None:
    clock = FakeClock(T0)
    log = ParquetPredictionLog(store, max_rows=10_000, max_seconds=0.05, monotonic=clock)
    log.append(make_batch("r1", rows=3))
    time.sleep(0.2)  # several of the writer's checks pass; by its clock no time has, so nothing is due
    assert log.files_written == 0
    clock.now += 1.0
    assert wait_until(lambda: log.files_written == 1)
    assert (log.rows_written, log.pending_rows) == (3, 0)
    log.close()


def test_a_wall_clock_stepped_back_does_not_hold_rows_past_max_seconds(store: LocalObjectStore) -> None:
    """Buffers were aged by the wall clock: after a 10-minute step back (NTP, VM resume) rows stayed in
    memory for those 10 minutes instead of max_seconds."""
    clock = FakeClock(T0)
    log = ParquetPredictionLog(store, max_rows=10_000, max_seconds=0.05, clock=clock)
    log.append(make_batch("r1", rows=3))
    clock.now -= 600.0
    assert wait_until(lambda: log.files_written == 1, timeout=2.0)
    assert (log.rows_written, log.pending_rows) == (3, 0)
    log.close()


def test_age_trigger_with_the_real_clock(store: LocalObjectStore) -> None:
    with ParquetPredictionLog(store, max_seconds=0.05) as log:
        log.append(make_batch("r1", rows=2))
        assert wait_until(lambda: log.files_written == 1)
    assert rows_per_file(store) == [2]


def test_close_flushes_what_is_pending(store: LocalObjectStore) -> None:
    log = ParquetPredictionLog(store, max_seconds=NEVER)
    for i in range(5):
        log.append(make_batch(f"r{i}", rows=3))
    assert parquet_keys(store) == []
    log.close()
    assert rows_per_file(store) == [15]
    assert (log.rows_written, log.files_written, log.pending_rows) == (15, 1, 0)


def test_a_batch_of_several_requests_is_written_with_each_rows_request_id(store: LocalObjectStore) -> None:
    """The shadow scorer's drains capture many requests' rows in one batch; a batch whose per-row ids do
    not match its rows is refused whole."""
    with ParquetPredictionLog(store, max_seconds=NEVER) as log:
        log.append(replace(make_batch("x", rows=3), request_id=("a", "b", "b")))
        log.append(replace(make_batch("y", rows=2), request_id=("c",)))
        log.append(make_batch("d", rows=1))
        assert log.flush() == 4
    frame = read_predictions(store).frame
    assert list(zip(frame["transaction_id"], frame["request_id"], strict=True)) == [
        ("x/0", "a"), ("x/1", "b"), ("x/2", "b"), ("d/0", "d"),
    ]  # fmt: skip


def test_flush_returns_the_rows_it_wrote(store: LocalObjectStore) -> None:
    with ParquetPredictionLog(store, max_seconds=NEVER) as log:
        log.append(make_batch("a", rows=4))
        log.append(make_batch("b", rows=2))
        assert log.flush() == 6
        assert log.flush() == 0
    assert rows_per_file(store) == [6]


def test_append_after_close_raises_and_close_is_idempotent(store: LocalObjectStore) -> None:
    log = ParquetPredictionLog(store)
    log.append(make_batch("a"))
    log.close()
    log.close()
    with pytest.raises(RuntimeError, match="closed"):
        log.append(make_batch("b"))
    assert log.flush() == 0
    assert log.rows_written == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs os.fork")
def test_a_forked_child_without_the_writer_thread_still_flushes_on_close(store: LocalObjectStore) -> None:
    log = ParquetPredictionLog(store, max_seconds=NEVER)  # built before a pre-fork server forks its workers
    pid = os.fork()
    if pid == 0:  # the child has no writer thread: close() must drain in the caller's thread
        code = 1
        try:
            log.append(make_batch("from-child", rows=4))
            log.close()
            code = 0 if (log.rows_written, log.pending_rows) == (4, 0) else 1
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    log.close()
    assert read_predictions(store).frame["request_id"].tolist() == ["from-child"] * 4


# Layout and schema ------------------------------------------------------------------------------


def test_file_layout_and_schema(store: LocalObjectStore) -> None:
    batch = replace(
        make_batch("req-1", rows=2),
        times=np.array([12.5, np.nan]),
        transaction_ids=("tx-1", None),
        decisions=np.array([True, False]),
        model_ms=0.0625,
    )
    with ParquetPredictionLog(store, max_seconds=NEVER) as log:
        log.append(batch)
    [key] = parquet_keys(store)
    pattern = r"predictions/date=2026-03-04/hour=05/20260304T050607-(\d+)-\d{6}-[0-9a-f]{8}\.parquet"
    match = re.fullmatch(pattern, key)
    assert match, key
    assert int(match.group(1)) == os.getpid()

    parquet = pq.ParquetFile(pa.BufferReader(store.read_bytes(key)))
    schema = parquet.schema_arrow
    assert schema.names == EXPECTED_COLUMNS
    assert all(schema.field(name).type == pa.float64() for name in EXPECTED_COLUMNS[:30])
    assert [str(schema.field(name).type) for name in EXPECTED_COLUMNS[30:]] == [
        "string", "string", "double", "bool", "string", "int64", "timestamp[us, tz=UTC]", "double",
    ]  # fmt: skip
    assert parquet.metadata.row_group(0).column(0).compression == "ZSTD"

    row = parquet.read().to_pylist()
    assert [row[0][f"V{i}"] for i in range(1, 29)] + [row[0]["Amount"]] == batch.inputs[0].tolist()
    assert row[0]["Time"] == 12.5
    assert np.isnan(row[1]["Time"])
    assert [r["transaction_id"] for r in row] == ["tx-1", None]
    assert [r["decision"] for r in row] == [True, False]
    assert [r["probability"] for r in row] == batch.probabilities.tolist()
    assert {(r["request_id"], r["model_name"], r["model_version"]) for r in row} == {
        ("req-1", "fraud-lgbm", 7)
    }
    assert row[0]["scored_at"] == datetime(2026, 3, 4, 5, 6, 7, 123456, tzinfo=UTC)
    assert [r["model_ms"] for r in row] == [0.0625, 0.0625]  # the batch's model_ms, on each of its rows


def test_rows_of_two_hours_go_to_their_own_partitions(store: LocalObjectStore) -> None:
    before = datetime(2026, 3, 4, 5, 59, 59, tzinfo=UTC).timestamp()
    with ParquetPredictionLog(store, max_seconds=NEVER, prefix="captures") as log:
        for i, at in enumerate([before, before + 2, before - 1, before + 3]):
            log.append(make_batch(f"r{i}", scored_at=at))
    keys = parquet_keys(store)
    assert [key.split("/")[2] for key in keys] == ["hour=05", "hour=06"]
    assert all(key.startswith("captures/date=2026-03-04/") for key in keys)
    assert rows_per_file(store) == [2, 2]


# Failures -----------------------------------------------------------------------------------------


def test_failed_writes_are_retried_until_every_row_is_written(
    store: LocalObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    flaky = FlakyStore(store, failures=3)
    with caplog.at_level(logging.WARNING, logger=LOGGER):
        log = ParquetPredictionLog(
            flaky, max_rows=10, max_seconds=NEVER, retry_initial_seconds=0.01, retry_max_seconds=0.05
        )
        for i in range(30):
            log.append(make_batch(f"r{i}"))
        assert wait_until(lambda: log.rows_written == 30)  # the writer retried: close() has not run
    assert (log.write_failures, log.files_written, log.pending_rows) == (3, 3, 0)
    assert "storage down" in caplog.text
    log.close()
    assert set(read_predictions(store).frame["request_id"]) == {f"r{i}" for i in range(30)}


def test_flush_raises_on_a_failed_write_and_keeps_the_rows(store: LocalObjectStore) -> None:
    with ParquetPredictionLog(FlakyStore(store, failures=1), max_seconds=NEVER) as log:
        log.append(make_batch("a", rows=3))
        with pytest.raises(ServiceUnavailableError):
            log.flush()
        assert (log.pending_rows, log.write_failures) == (3, 1)
        assert log.flush() == 3
    assert rows_per_file(store) == [3]


def test_rows_over_the_pending_bound_drop_the_oldest_and_are_counted(
    store: LocalObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        log = ParquetPredictionLog(store, max_seconds=NEVER, max_pending_rows=100)
        for i in range(30):
            log.append(make_batch(f"r{i:02d}", rows=10))
    assert (log.pending_rows, log.rows_dropped) == (100, 200)
    assert "dropped the oldest" in caplog.text
    log.close()
    assert sorted(set(read_predictions(store).frame["request_id"])) == [f"r{i}" for i in range(20, 30)]


def test_close_gives_up_on_a_dead_store_and_counts_the_rows_lost(
    store: LocalObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    dead = FlakyStore(store, failures=10**9)
    log = ParquetPredictionLog(
        dead, max_seconds=NEVER, close_attempts=3, retry_initial_seconds=0.01, retry_max_seconds=0.05
    )
    log.append(make_batch("a", rows=7))
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        log.close()
    assert dead.attempts == 3
    assert (log.rows_dropped, log.pending_rows, log.rows_written) == (7, 0, 0)
    assert "final flush failed 3 times" in caplog.text
    assert "7 rows lost" in caplog.text


def test_close_is_bounded_when_a_write_hangs(
    store: LocalObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    gate = threading.Event()
    hanging = FlakyStore(store, gate=gate)
    log = ParquetPredictionLog(hanging, max_rows=5, max_seconds=NEVER, close_timeout_seconds=0.1)
    log.append(make_batch("in-flight", rows=5))
    assert wait_until(lambda: hanging.attempts == 1)
    log.append(make_batch("queued", rows=3))
    with caplog.at_level(logging.ERROR, logger=LOGGER):
        log.close()  # returns although the store call still hangs
    assert "3 queued rows lost, 5 rows of the write in progress" in caplog.text
    assert (log.rows_dropped, log.pending_rows) == (3, 5)
    gate.set()
    assert wait_until(lambda: log.rows_written == 5)
    assert (log.pending_rows, log.rows_dropped) == (0, 3)


def test_a_batch_thread_waits_for_a_slow_writer_instead_of_dropping_rows(store: LocalObjectStore) -> None:
    """32 clients of 10,000-row batches outran the writer: 85,000 scored rows dropped in 15 s. A batch
    request's thread now waits for room while the writer is getting rows written; an event loop never
    waits (a single score), and rows past the bound still go then."""
    gate = threading.Event()
    slow = FlakyStore(store, gate=gate)  # every write holds until the gate opens
    log = ParquetPredictionLog(slow, max_rows=100, max_seconds=NEVER, max_pending_bytes=200_000)
    for i in range(3):  # ~90 KB a batch: the writer takes the first, the rest wait past half the bound
        log.append(make_batch(f"early-{i}", rows=100))
    assert wait_until(lambda: slow.attempts == 1)
    assert log.pending_bytes > 100_000
    waited = threading.Thread(target=log.append, args=(make_batch("batch-thread", rows=100),))
    waited.start()
    waited.join(0.5)
    assert waited.is_alive()  # waiting for room, not dropping the oldest rows

    async def single_score() -> None:
        log.append(make_batch("on-the-loop", rows=1))

    started = time.monotonic()
    asyncio.run(single_score())
    assert time.monotonic() - started < 0.2  # never on an event loop
    gate.set()
    waited.join(10)
    assert not waited.is_alive()
    log.close()
    assert log.rows_dropped == 0
    assert log.rows_written == 401


def test_unwritable_batches_are_dropped_and_the_rest_written(
    store: LocalObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    good = make_batch("good", rows=2)
    short = replace(make_batch("short-inputs"), inputs=np.zeros((1, 3)))
    text = replace(make_batch("text-inputs"), inputs=np.full((1, 29), "x"))
    future = replace(make_batch("far-future"), scored_at=1e20)
    with caplog.at_level(logging.ERROR, logger=LOGGER), ParquetPredictionLog(store, max_seconds=NEVER) as log:
        for batch in (short, good, text, future):
            log.append(batch)
    assert (log.rows_written, log.rows_dropped, log.pending_rows) == (2, 3, 0)
    assert "far-future" in caplog.text
    assert "short-inputs" in caplog.text
    assert "text-inputs" in caplog.text
    assert set(read_predictions(store).frame["request_id"]) == {"good"}


def test_batches_with_ids_that_are_not_text_are_dropped_whole_when_written(
    store: LocalObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    good = make_batch("good", rows=2)
    number_id = replace(make_batch("number-in-ids", rows=3), transaction_ids=("tx-ok", 42, None))
    not_text_request = replace(make_batch("x"), request_id=7)
    surrogate = replace(make_batch("surrogate"), transaction_ids=("\ud800",))
    same_request_id = replace(make_batch("good"), transaction_ids=(3.5,))  # only this batch of "good" goes
    later = make_batch("later", rows=1)
    with caplog.at_level(logging.ERROR, logger=LOGGER), ParquetPredictionLog(store, max_seconds=NEVER) as log:
        for batch in (good, number_id, not_text_request, surrogate, same_request_id, later):
            log.append(batch)
        assert log.pending_rows == 9  # appends checked shapes only; the text columns are checked when written
    assert (log.rows_written, log.rows_dropped, log.pending_rows) == (3, 6, 0)
    for request_id in ("number-in-ids", "request 7 ", "surrogate", "3 rows", "is not text"):
        assert request_id in caplog.text
    frame = read_predictions(store).frame
    assert frame["transaction_id"].tolist() == ["good/0", "good/1", "later/0"]


def test_a_failed_write_of_one_hour_keeps_only_that_hours_rows(store: LocalObjectStore) -> None:
    flaky = FlakyStore(store, failing=frozenset({2}))
    hour5 = datetime(2026, 3, 4, 5, 30, tzinfo=UTC).timestamp()
    with ParquetPredictionLog(flaky, max_seconds=NEVER) as log:
        for i, at in enumerate([hour5, hour5 + 3600, hour5 + 1, hour5 + 3601, hour5 + 3602]):
            log.append(make_batch(f"r{i}", scored_at=at))
        with pytest.raises(ServiceUnavailableError):
            log.flush()  # hour 05 written, hour 06 failed
        assert (log.rows_written, log.pending_rows, log.write_failures) == (2, 3, 1)
        assert log.flush() == 3
    frame = read_predictions(store).frame
    assert frame["request_id"].tolist() == ["r0", "r2", "r1", "r3", "r4"]
    assert [key.split("/")[2] for key in parquet_keys(store)] == ["hour=05", "hour=06"]


# Reading --------------------------------------------------------------------------------------------


def at(text: str) -> float:
    return datetime.fromisoformat(text).replace(tzinfo=UTC).timestamp()


def test_reader_prunes_by_partition_and_skips_bad_files(
    store: LocalObjectStore, caplog: pytest.LogCaptureFixture
) -> None:
    with ParquetPredictionLog(store, max_seconds=NEVER) as log:
        for request_id, moment in [
            ("day1", "2026-01-01T12:00:00"),
            ("day2-late", "2026-01-02T23:59:59"),
            ("day2-early", "2026-01-02T11:30:00"),
            ("day3-midnight", "2026-01-03T00:00:00"),
        ]:
            log.append(make_batch(request_id, scored_at=at(moment)))
    store.write_bytes("predictions/date=2026-01-01/hour=12/corrupt-day1.parquet", b"not parquet")
    store.write_bytes("predictions/date=2026-01-02/hour=10/corrupt.parquet", b"PAR1 truncated")
    foreign = pa.table({"request_id": ["x"], "score": [0.5]})
    sink = pa.BufferOutputStream()
    pq.write_table(foreign, sink)
    store.write_bytes("predictions/date=2026-01-02/hour=11/foreign.parquet", sink.getvalue().to_pybytes())

    with caplog.at_level(logging.WARNING, logger=LOGGER):
        day2 = read_predictions(store, since=datetime(2026, 1, 2, tzinfo=UTC), until=datetime(2026, 1, 3))
    assert day2.frame["request_id"].tolist() == ["day2-early", "day2-late"]  # in scored_at order
    assert day2.skipped == (
        "predictions/date=2026-01-02/hour=10/corrupt.parquet",
        "predictions/date=2026-01-02/hour=11/foreign.parquet",
    )
    assert "predictions/date=2026-01-02/hour=10/corrupt.parquet" in caplog.text
    assert "another schema" in caplog.text

    hour11 = read_predictions(store, since=datetime(2026, 1, 2, 11), until=datetime(2026, 1, 2, 12))
    assert hour11.frame["request_id"].tolist() == ["day2-early"]
    assert hour11.skipped == ("predictions/date=2026-01-02/hour=11/foreign.parquet",)

    everything = read_predictions(store)
    assert everything.frame["request_id"].tolist() == ["day1", "day2-early", "day2-late", "day3-midnight"]
    assert len(everything.skipped) == 3
    assert list(everything.frame.columns) == EXPECTED_COLUMNS
    assert str(everything.frame["scored_at"].dtype) == "datetime64[us, UTC]"


def test_reader_of_an_empty_prefix_returns_an_empty_frame_with_the_columns(store: LocalObjectStore) -> None:
    result = read_predictions(store, since=datetime(2026, 1, 1), until=datetime(2026, 1, 2))
    assert result.frame.empty
    assert list(result.frame.columns) == EXPECTED_COLUMNS
    assert result.skipped == ()


def test_round_trip_on_s3() -> None:
    with mock_aws():
        client = make_s3_client(region="us-east-1")
        client.create_bucket(Bucket="fraud-predictions")
        s3 = S3ObjectStore("fraud-predictions", "env/test", client=client)
        with ParquetPredictionLog(s3, max_rows=4, max_seconds=NEVER) as log:
            for i in range(10):
                log.append(make_batch(f"r{i}", scored_at=T0 + i))
        keys = list(s3.list_keys())
        result = read_predictions(s3)
    assert len(keys) == log.files_written == 3
    assert all(re.fullmatch(r"predictions/date=2026-03-04/hour=05/[^/]+\.parquet", key) for key in keys)
    assert result.frame["request_id"].tolist() == [f"r{i}" for i in range(10)]
    assert result.skipped == ()


class CountingStore(LocalObjectStore):
    """Counts whole-object reads, to see how many files a read touched."""

    reads = 0

    def read_bytes(self, key: str) -> bytes:
        self.reads += 1
        return super().read_bytes(key)


def test_the_latest_rows_are_read_newest_hour_first_and_stop_early(tmp_path: Path) -> None:
    store = CountingStore(tmp_path / "store")
    log = ParquetPredictionLog(store, max_rows=1_000_000, max_seconds=NEVER)
    for hour in range(6):  # one file per hour, 100 rows each
        log.append(make_batch(f"h{hour}", rows=100, scored_at=T0 + hour * 3600, seed=hour))
        log.flush()
    log.close()
    store.reads = 0
    latest = read_latest_predictions(store, 150).frame
    assert len(latest) == 150
    assert latest["request_id"].tolist() == ["h4"] * 50 + ["h5"] * 100  # in scoring order
    assert store.reads == 2  # the two newest hours only
    bounded = read_latest_predictions(store, 1_000, until=datetime.fromtimestamp(T0 + 2 * 3600, UTC)).frame
    assert set(bounded["request_id"]) == {"h0", "h1"}  # [since, until) holds
    assert read_latest_predictions(store, 0).frame.empty


@pytest.mark.parametrize(
    "array",
    [
        pa.array([1.5, -2.0, 3.25, 4.0]).slice(1),
        pa.array([3, 1, 2], pa.int64()).slice(1, 1),
        pa.array([True, False, True, True, False, False, True, False, True, True]).slice(3),
        pa.array(
            [datetime(2026, 1, 2, 3, 4, 5, 678, tzinfo=UTC), datetime(2026, 1, 2, tzinfo=UTC)],
            pa.timestamp("us", tz="UTC"),
        ).slice(1),
        pa.array(["a", "bb", "ccc"]).slice(1),
        pa.array([1.0, None, 3.0]),
        pa.array([], pa.float64()),
        pa.array([], pa.bool_()),
    ],
)
def test_arrays_made_numpy_without_pandas_hold_what_pyarrow_itself_gives(array: pa.Array) -> None:
    """arrow_to_numpy reads Arrow's buffers by hand (pyarrow's to_numpy imports pandas): same values,
    offsets of sliced arrays included."""
    from fraud_detection.infrastructure.arrow.prediction_log.numpy_view import arrow_to_numpy

    mine, theirs = arrow_to_numpy(array), array.to_numpy(zero_copy_only=False)
    assert mine.tolist() == theirs.tolist() or np.array_equal(mine, theirs, equal_nan=True)
    assert len(mine) == len(array)


def test_a_bound_inside_one_file_keeps_exactly_the_rows_of_the_window(store: LocalObjectStore) -> None:
    """Rows of one file written out of order: [since, until) keeps the rows inside, in time order."""
    log = ParquetPredictionLog(store, max_rows=1_000, max_seconds=NEVER)
    instants = [T0 + offset for offset in (30.0, 10.0, 50.0, 20.0, 40.0)]
    for index, instant in enumerate(instants):
        log.append(make_batch(f"r{index}", scored_at=instant))
    log.close()
    since, until = datetime.fromtimestamp(T0 + 20, UTC), datetime.fromtimestamp(T0 + 50, UTC)
    kept = read_latest_predictions(store, 10, since=since, until=until).table
    assert kept.column("request_id").to_pylist() == ["r3", "r0", "r4"]
    assert read_predictions(store, since=since, until=until).table.num_rows == 3


def test_files_of_two_writers_in_one_hour_are_read_back_in_scoring_order(store: LocalObjectStore) -> None:
    """Two replicas' files interleave in time: the read sorts them (a single writer's files, already in
    order, are taken as they are)."""
    for writer, offsets in (("a", (10.0, 30.0)), ("b", (20.0, 40.0))):
        log = ParquetPredictionLog(store, max_rows=1_000, max_seconds=NEVER)
        for offset in offsets:
            log.append(make_batch(f"{writer}{offset:.0f}", scored_at=T0 + offset))
        log.close()
    expected = ["a10", "b20", "a30", "b40"]
    assert read_latest_predictions(store, 10).table.column("request_id").to_pylist() == expected
    assert read_predictions(store).table.column("request_id").to_pylist() == expected


def test_reading_a_drift_window_imports_no_pandas(store: LocalObjectStore, tmp_path: Path) -> None:
    """pandas costs 0.4 s of the 2 s a `fraud drift check` may take: the window is read without it."""
    log = ParquetPredictionLog(store, max_rows=1_000, max_seconds=NEVER)
    log.append(make_batch("r", rows=50))
    log.close()
    code = (
        "import sys; from datetime import datetime, UTC;"
        "from fraud_detection.infrastructure.local import LocalObjectStore;"
        "from fraud_detection.infrastructure.arrow.prediction_log.drift_window import PredictionLogWindow;"
        f"rows = PredictionLogWindow(LocalObjectStore({str(tmp_path / 'store')!r}))"
        ".read(datetime(2000, 1, 1, tzinfo=UTC), None, 40);"
        "print(len(rows.probabilities), 'pandas' in sys.modules)"
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert done.stdout.split() == ["40", "False"]
