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

import pyarrow as pa

from fraud_detection.domain.ports.prediction_log import PredictionBatch, PredictionLog
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.infrastructure.prediction_log.arrow_table import (
    BUILD_ERRORS,
    batch_problem,
    batches_to_table,
    encode_parquet,
)
from fraud_detection.infrastructure.prediction_log.layout import file_key, hour_bucket, normalise_prefix
from fraud_detection.infrastructure.prediction_log.pending_batches import Entry, PendingBatches

logger = logging.getLogger(__name__)

DROP_LOG_INTERVAL_SECONDS = 10.0
JOIN_GRACE_SECONDS = 0.5


class ParquetPredictionLog(PredictionLog):
    """`append` only queues (no I/O, no arrays built); a daemon thread writes one zstd Parquet file per
    micro-batch (split by UTC hour, so each file sits in the partition of all its rows) once `max_rows` rows
    are pending or the oldest is `max_seconds` old by `clock`. A failed write is retried with exponential
    backoff while rows stay queued, up to `max_pending_rows`; beyond that the oldest are dropped and counted.
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
        self._pending = PendingBatches(max_rows=max_pending_rows, wake_rows=max_rows, clock=clock)
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
        wake, dropped = self._pending.add(batch)
        if wake and not self._wake.is_set():
            self._wake.set()
        if dropped:
            self._report_drop(dropped)

    def flush(self) -> int:
        with self._write_lock:
            remaining = self._pending.queued_batches()
            written = 0
            while remaining > 0:
                chunk = self._pending.take(self._max_rows, max_batches=remaining)
                if not chunk:
                    break
                remaining -= len(chunk)
                written += self._write_chunk(chunk)
            return written

    def close(self) -> None:
        deadline = time.monotonic() + self._close_timeout
        if not self._pending.close():
            return
        self._close_deadline = deadline
        self._stopping.set()
        self._wake.set()
        self._thread.join(max(deadline - time.monotonic(), 0.0) + JOIN_GRACE_SECONDS)
        if not self._thread.is_alive() and self._pending.queued_batches():
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
                    while self._due():
                        self._write_chunk(self._pending.take(self._max_rows))
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
        if self._pending.rows >= self._max_rows:
            return 0.0
        oldest = self._pending.oldest_appended_at()
        if oldest is None:
            return None  # until append or close wakes us
        # Capped at max_seconds so an injected clock that jumps ahead is noticed within that time.
        return min(max(self._max_seconds - (self._clock() - oldest), 0.0), self._max_seconds)

    def _due(self) -> bool:
        if self._pending.queued_batches() == 0:
            return False
        if self._pending.rows >= self._max_rows:
            return True
        oldest = self._pending.oldest_appended_at()
        return oldest is not None and self._clock() - oldest >= self._max_seconds

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

    def _write_chunk(self, entries: list[Entry]) -> int:
        """Write taken batches, one file per UTC hour; on failure put the unwritten ones back and raise."""
        groups = _by_hour([entry for entry in entries if self._is_writable(entry)])
        written = 0
        for index, group in enumerate(groups):
            groups[index], table = self._buildable(group)
            if table is None:
                continue
            try:
                key = file_key(self._prefix, groups[index][0][1].scored_at, os.getpid(), next(self._sequence))
                self._store.write_bytes(key, encode_parquet(table))
            except Exception:
                self.write_failures += 1
                dropped = self._pending.put_back([entry for rest in groups[index:] for entry in rest])
                self._wake.set()
                if dropped:
                    self._report_drop(dropped)
                raise
            self._pending.settle(table.num_rows)
            self.rows_written += table.num_rows
            self.files_written += 1
            written += table.num_rows
        return written

    def _is_writable(self, entry: Entry) -> bool:
        problem = batch_problem(entry[1])
        if problem is not None:
            self._drop_unwritable(entry, problem)
        return problem is None

    def _buildable(self, group: list[Entry]) -> tuple[list[Entry], pa.Table | None]:
        """The table of a group; batches whose values cannot be converted are dropped, not retried forever."""
        try:
            return group, batches_to_table([batch for _, batch in group])
        except BUILD_ERRORS:
            kept = []
            for entry in group:
                try:
                    batches_to_table([entry[1]])
                except BUILD_ERRORS as error:
                    self._drop_unwritable(entry, str(error))
                else:
                    kept.append(entry)
            return kept, batches_to_table([batch for _, batch in kept]) if kept else None

    def _drop_unwritable(self, entry: Entry, problem: str) -> None:
        batch = entry[1]
        self._pending.settle(len(batch), dropped=True)
        logger.error(
            "prediction log: dropped %d rows of request %s (model %s v%s): %s",
            len(batch),
            batch.request_id,
            batch.model_name,
            batch.model_version,
            problem,
        )

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


def _by_hour(entries: list[Entry]) -> list[list[Entry]]:
    groups: dict[int, list[Entry]] = {}
    for entry in entries:
        groups.setdefault(hour_bucket(entry[1].scored_at), []).append(entry)
    return list(groups.values())
