"""The PredictionLog adapter: micro-batched Parquet files in an ObjectStore, written off the request path."""

from __future__ import annotations

import itertools
import logging
import math
import os
import random
import threading
import time
from collections.abc import Callable
from types import TracebackType

import numpy as np
import pyarrow as pa

from fraud_detection.domain.ports.prediction_log import PredictionBatch, PredictionLog
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.infrastructure.prediction_log.arrow_table import (
    BUILD_ERRORS,
    buffer_table,
    encode_parquet,
    unconvertible_rows,
)
from fraud_detection.infrastructure.prediction_log.column_buffer import ColumnBuffer
from fraud_detection.infrastructure.prediction_log.layout import file_key, hour_runs, normalise_prefix
from fraud_detection.infrastructure.prediction_log.pending_rows import PendingRows, UnwritableBatchError

logger = logging.getLogger(__name__)

DROP_LOG_INTERVAL_SECONDS = 10.0
JOIN_GRACE_SECONDS = 0.5


class ParquetPredictionLog(PredictionLog):
    """`append` copies the batch's values into preallocated column buffers of `max_rows` rows and keeps no
    reference to the batch (no I/O, nothing per request left for the garbage collector); a daemon thread
    writes one zstd Parquet file per micro-batch (split by UTC hour, so each file sits in the partition of
    all its rows) once a buffer is full or its oldest row is `max_seconds` old by `clock`. A batch that
    cannot be stored (shapes that disagree, values of the wrong type, a bad timestamp) is dropped, counted
    and logged with its request id, at append or, for text columns, when its buffer is written. A failed
    write is retried with exponential backoff while rows stay queued, up to `max_pending_rows`; beyond that
    the oldest rows are dropped and counted.
    `close` drains within `close_timeout_seconds`; rows it cannot write are logged and counted as dropped.

    Counters for metrics: rows_written, files_written, write_failures, rows_dropped, pending_rows.
    """

    def __init__(
        self,
        store: ObjectStore,
        *,
        max_rows: int = 10_000,
        max_seconds: float = 5.0,
        prefix: str = "predictions",
        clock: Callable[[], float] = time.time,
        max_pending_rows: int = 1_000_000,
        retry_initial_seconds: float = 0.5,
        retry_max_seconds: float = 30.0,
        close_timeout_seconds: float = 30.0,
        close_attempts: int = 5,
    ) -> None:
        if max_rows < 1 or max_pending_rows < 1 or close_attempts < 1:
            raise ValueError("max_rows, max_pending_rows and close_attempts must be at least 1")
        if min(max_seconds, retry_initial_seconds, retry_max_seconds, close_timeout_seconds) <= 0:
            raise ValueError("max_seconds, retry and close timings must be positive")
        self._store = store
        self._prefix = normalise_prefix(prefix)
        self._max_rows = max_rows
        self._max_seconds = max_seconds
        self._clock = clock
        self._retry_initial = retry_initial_seconds
        self._retry_max = retry_max_seconds
        self._close_timeout = close_timeout_seconds
        self._close_attempts = close_attempts
        self._close_deadline = math.inf
        self._pending = PendingRows(buffer_rows=max_rows, max_rows=max_pending_rows, clock=clock)
        self._write_lock = threading.Lock()  # one writer at a time: the thread, flush() or close()
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._sequence = itertools.count()
        self._last_drop_log = -math.inf
        self.rows_written = 0
        self.files_written = 0
        self.write_failures = 0
        self._thread = threading.Thread(target=self._run, name="prediction-log-writer", daemon=True)
        self._thread.start()

    @property
    def pending_rows(self) -> int:
        """Rows accepted and not yet written (including those in a write in progress)."""
        return self._pending.rows

    @property
    def rows_dropped(self) -> int:
        return self._pending.rows_dropped

    def append(self, batch: PredictionBatch) -> None:
        try:
            wake, dropped = self._pending.add(batch)
        except UnwritableBatchError as error:
            logger.error(
                "prediction log: dropped %d rows of request %s (model %s v%s): %s",
                error.rows,
                getattr(batch, "request_id", "?"),
                getattr(batch, "model_name", "?"),
                getattr(batch, "model_version", "?"),
                error.problem,
            )
            return
        if wake and not self._wake.is_set():
            self._wake.set()
        if dropped:
            self._report_drop(dropped)

    def flush(self) -> int:
        """Write what is queued when called (rows appended meanwhile wait for the next write)."""
        with self._write_lock:
            written = 0
            for _ in range(self._pending.seal()):
                buffer = self._pending.take()
                if buffer is None:
                    break
                written += self._write_buffer(buffer)
            return written

    def close(self) -> None:
        deadline = time.monotonic() + self._close_timeout
        if not self._pending.close():
            return
        self._close_deadline = deadline
        self._stopping.set()
        self._wake.set()
        self._thread.join(max(deadline - time.monotonic(), 0.0) + JOIN_GRACE_SECONDS)
        if not self._thread.is_alive() and self._pending.queued_rows():
            self._drain_before_exit()  # no writer ran here (a forked child) or it died: drain ourselves
        elif self._thread.is_alive():
            lost = self._pending.abandon()
            logger.error(
                "prediction log: writer still busy after %.0f s (a store call hanging?); "
                "%d queued rows lost, %d rows of the write in progress are lost unless it completes",
                self._close_timeout,
                lost,
                self._pending.rows,
            )

    def __enter__(self) -> ParquetPredictionLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # The writer thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        failures, retry_at = 0, 0.0
        while not self._stopping.is_set():
            self._wake.wait(self._seconds_to_wait(retry_at))
            self._wake.clear()  # then re-read the state, so a wake-up set before this line is not lost
            if self._stopping.is_set() or time.monotonic() < retry_at:
                continue
            try:
                with self._write_lock:
                    while (buffer := self._pending.take(self._max_seconds)) is not None:
                        self._write_buffer(buffer)
            except Exception as error:
                failures += 1
                delay = self._backoff(failures)
                retry_at = time.monotonic() + delay
                logger.warning(
                    "prediction log: write failed (%s); %d rows pending, retry %d in %.2f s",
                    error,
                    self._pending.rows,
                    failures,
                    delay,
                    exc_info=failures == 1,
                )
            else:
                failures, retry_at = 0, 0.0
        self._drain_before_exit()

    def _seconds_to_wait(self, retry_at: float) -> float | None:
        now = time.monotonic()
        if retry_at > now:
            return retry_at - now
        if self._pending.queued_rows() >= self._max_rows:
            return 0.0
        oldest = self._pending.oldest_appended_at()
        if oldest is None:
            return None  # until append or close wakes us
        # Capped at max_seconds so an injected clock that jumps ahead is noticed within that time.
        return min(max(self._max_seconds - (self._clock() - oldest), 0.0), self._max_seconds)

    def _drain_before_exit(self) -> None:
        for attempt in itertools.count(1):
            try:
                self.flush()
                return
            except Exception as error:
                delay = self._backoff(attempt)
                if attempt >= self._close_attempts or time.monotonic() + delay > self._close_deadline:
                    lost = self._pending.abandon()
                    logger.error(
                        "prediction log: final flush failed %d times (last error: %s); %d rows lost",
                        attempt,
                        error,
                        lost,
                    )
                    return
                time.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._retry_max, self._retry_initial * 2.0 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)  # jitter: replicas that failed together retry apart

    # Writing (the caller holds _write_lock) --------------------------------------------------------

    def _write_buffer(self, buffer: ColumnBuffer) -> int:
        """Write a taken buffer, one file per UTC hour of its rows, then keep it as a spare; on a failure put
        the unwritten rows back and raise."""
        try:
            buffer.group_by_hour()
            table = self._table(buffer)
            written = self._write_hours(buffer, table) if table is not None else 0
        except Exception:
            dropped = self._pending.put_back(buffer) if buffer.rows else 0
            self._wake.set()
            if dropped:
                self._report_drop(dropped)
            raise
        self._pending.release(buffer)
        return written

    def _write_hours(self, buffer: ColumnBuffer, table: pa.Table) -> int:
        """One file per run of rows sharing a UTC hour; `buffer.start` follows the rows written."""
        written = 0
        for run in hour_runs(buffer.scored_at[buffer.start : buffer.stop]):
            part = table.slice(run.start, run.stop - run.start)
            try:
                first_scored_at = float(buffer.scored_at[buffer.start])
                key = file_key(self._prefix, first_scored_at, os.getpid(), next(self._sequence))
                self._store.write_bytes(key, encode_parquet(part))
            except Exception:
                self.write_failures += 1
                raise
            buffer.start += part.num_rows
            self._pending.settle(part.num_rows)
            self.rows_written += part.num_rows
            self.files_written += 1
            written += part.num_rows
        return written

    def _table(self, buffer: ColumnBuffer) -> pa.Table | None:
        """The buffer's rows as a table. Batches with a value Arrow cannot store as text are dropped first
        (not retried forever); None when no row is left."""
        try:
            return buffer_table(buffer)
        except BUILD_ERRORS:
            self._drop_batches(
                buffer, unconvertible_rows(buffer), "a transaction, request or model id is not text"
            )
        if not buffer.rows:
            return None
        try:
            return buffer_table(buffer)
        except BUILD_ERRORS as error:  # not foreseen by unconvertible_rows: give up on the buffer's rows
            self._drop_batches(buffer, np.ones(buffer.rows, dtype=np.bool_), str(error))
            return None

    def _drop_batches(self, buffer: ColumnBuffer, bad_rows: np.ndarray, problem: str) -> None:
        """Drop every batch with a row in the `bad_rows` mask, logging each with its request id."""
        numbers = buffer.batch_numbers[buffer.start : buffer.stop]
        doomed = np.isin(numbers, numbers[bad_rows])
        rows = buffer.start + np.flatnonzero(doomed)
        _, firsts, counts = np.unique(buffer.batch_numbers[rows], return_index=True, return_counts=True)
        for first, count in zip(rows[firsts].tolist(), counts.tolist(), strict=True):
            logger.error(
                "prediction log: dropped %d rows of request %s (model %s v%s): %s",
                count,
                buffer.request_ids[first],
                buffer.model_names[first],
                buffer.model_versions[first],
                problem,
            )
        self._pending.settle(len(rows), dropped=True)
        buffer.keep(buffer.start + np.flatnonzero(~doomed))

    def _report_drop(self, dropped: int) -> None:
        now = time.monotonic()
        if now - self._last_drop_log < DROP_LOG_INTERVAL_SECONDS:
            return  # at most one line per interval: a long outage must not flood the log
        self._last_drop_log = now
        logger.error(
            "prediction log: pending rows over the bound (storage failing?); dropped the oldest %d rows, "
            "%d dropped in total",
            dropped,
            self.rows_dropped,
        )
