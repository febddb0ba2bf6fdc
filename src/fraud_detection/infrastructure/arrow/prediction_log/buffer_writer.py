"""Where a taken column buffer goes: one zstd Parquet file per UTC hour of its rows, to the object store, or
to the local spill for what the store refuses; spilled files go back to the store when it answers again.

One writer at a time (the background thread, `flush` or `close`): the lock here serialises them, so rows
are written in order and each buffer once.
"""

from __future__ import annotations

import itertools
import logging
import math
import os
import threading
import time
from collections.abc import Callable

import numpy as np
import pyarrow as pa

from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.infrastructure.arrow.prediction_log.arrow_table import (
    BUILD_ERRORS,
    buffer_table,
    encode_parquet,
    unconvertible_rows,
)
from fraud_detection.infrastructure.arrow.prediction_log.column_buffer import SLOT_BYTES, ColumnBuffer
from fraud_detection.infrastructure.arrow.prediction_log.journal_copier import JournalCopier
from fraud_detection.infrastructure.arrow.prediction_log.layout import file_key, hour_runs
from fraud_detection.infrastructure.arrow.prediction_log.pending_rows import PendingRows
from fraud_detection.infrastructure.arrow.prediction_log.spill import SpillDir, SpillRefusedError
from fraud_detection.infrastructure.arrow.prediction_log.telemetry import CaptureCounters, CaptureTelemetry

logger = logging.getLogger(__name__)

DROP_LOG_INTERVAL_SECONDS = 10.0
RESEND_FILES_PER_PASS = 32  # then the writer looks at due buffers before resending more


class BufferWriter:
    def __init__(
        self,
        store: ObjectStore,
        prefix: str,
        pending: PendingRows,
        *,
        spill: SpillDir | None,
        journal: JournalCopier | None,
        counters: CaptureCounters,
        telemetry: CaptureTelemetry,
        wake: Callable[[], None],
    ) -> None:
        self._store, self._prefix, self._pending = store, prefix, pending
        self._spill, self._journal = spill, journal
        self._counters, self._telemetry = counters, telemetry
        self._wake = wake
        self._lock = threading.Lock()
        self._sequence = itertools.count()
        self._last_drop_log = -math.inf
        self.last_store_error: BaseException | None = None
        # The last buffer went somewhere (store or spill): waiting for room then means waiting for a write
        # under way, not for storage to come back.
        self.progressing = True

    def flush(self) -> int:
        """Write what is queued now (to the store, or to the spill what it refuses); return the rows written
        or spilled. Raises when neither takes a buffer (its rows stay queued)."""
        with self._lock:
            done = self._counters.rows_written + self._counters.rows_spilled
            use_store = True
            for _ in range(self._pending.seal()):
                buffer = self._pending.take()
                if buffer is None:
                    break
                use_store = self._write_buffer(buffer, use_store) and use_store
            return self._counters.rows_written + self._counters.rows_spilled - done

    def write_due(self, use_store: bool, max_seconds: float, stopping: Callable[[], bool]) -> bool:
        """Write the buffers due (then, when the store takes them, resend spilled files); False when the
        store refused a file (the rest went to the spill). Raises when neither took a buffer."""
        with self._lock:
            store_ok = True
            while (buffer := self._pending.take(max_seconds)) is not None:
                store_ok = self._write_buffer(buffer, use_store and store_ok) and store_ok
            store_ok = store_ok and use_store
            if store_ok and self._spill is not None and self._spill.files:
                store_ok = self._resend_spilled(self._spill, stopping)
            return store_ok

    def report_drop(self, dropped: int) -> None:
        now = time.monotonic()
        if now - self._last_drop_log < DROP_LOG_INTERVAL_SECONDS:
            return  # at most one line per interval: a long outage must not flood the log
        self._last_drop_log = now
        logger.error(
            "prediction log: pending rows over the bound (storage and spill failing?); dropped the oldest %d "
            "rows, %d dropped in total",
            dropped,
            self._pending.rows_dropped,
        )

    def _resend_spilled(self, spill: SpillDir, stopping: Callable[[], bool]) -> bool:
        """Send spilled files to the store, oldest first; False when the store refuses one."""
        files = spill.scan()
        for key, size in files[:RESEND_FILES_PER_PASS]:
            if stopping():
                return True
            data = spill.read(key)
            if data is None:
                continue  # another process resent it
            rows = spill.rows_if_valid(key, data)
            if rows is None:
                continue
            try:
                self._store.write_bytes(key, data)
            except Exception as error:
                self._store_failed(error)
                return False
            spill.remove(key, size)
            self._counters.rows_resent += rows
            self._stored(rows)
        if len(files) > RESEND_FILES_PER_PASS:
            self._wake()
        return True

    def _write_buffer(self, buffer: ColumnBuffer, use_store: bool) -> bool:
        """Write a taken buffer, one file per UTC hour of its rows, to the store or (what it refuses, or all
        when `use_store` is False) to the spill; then keep it as a spare. Returns False when the store refused
        a file. When neither takes a file, put the unwritten rows back and raise."""
        if self._journal is not None:
            self._journal.journal_all(buffer)  # before reordering: the journal must not copy moved rows
        try:
            buffer.group_by_hour()
            table = self._table(buffer)
            store_ok = self._write_hours(buffer, table, use_store) if table is not None else True
        except Exception:
            self.progressing = False  # before put_back wakes the waiters
            dropped = self._pending.put_back(buffer) if buffer.rows else 0
            self._wake()
            if dropped:
                self.report_drop(dropped)
            raise
        if self._journal is not None:
            self._journal.discard(buffer)
        self._pending.release(buffer)
        return store_ok

    def _write_hours(self, buffer: ColumnBuffer, table: pa.Table, use_store: bool) -> bool:
        """One file per run of rows sharing a UTC hour; `buffer.start` follows the rows written."""
        store_ok = use_store
        for run in hour_runs(buffer.scored_at[buffer.start : buffer.stop]):
            part = table.slice(run.start, run.stop - run.start)
            first_scored_at = float(buffer.scored_at[buffer.start])
            key = file_key(self._prefix, first_scored_at, os.getpid(), next(self._sequence))
            data = encode_parquet(part)
            stored = False
            if store_ok:
                try:
                    self._store.write_bytes(key, data)
                    stored = True
                except Exception as error:
                    self._store_failed(error)
                    store_ok = False
                    if self._spill is None:
                        raise
            if not stored and (self._spill is None or not self._spill.put(key, data)):
                raise SpillRefusedError(
                    f"the store is failing ({self.last_store_error}) and the local spill refused {key} "
                    "(full or failing)"
                )
            begin = buffer.start
            buffer.start += part.num_rows
            self._pending.settle(part.num_rows, buffer.bytes_of(begin, buffer.start))
            if stored:
                self._stored(part.num_rows)
            else:
                self.progressing = True
                self._counters.rows_spilled += part.num_rows
                self._telemetry.rows_spilled(part.num_rows)
        return store_ok or not use_store

    def _stored(self, rows: int) -> None:
        self.progressing = True
        self._counters.rows_written += rows
        self._counters.files_written += 1
        self._telemetry.rows_written(rows)

    def _store_failed(self, error: BaseException) -> None:
        self.progressing = self._spill is not None  # the spill takes it, unless it refuses (raised then)
        self._counters.write_failures += 1
        self.last_store_error = error
        self._telemetry.write_failed()

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
        nbytes = len(rows) * SLOT_BYTES + int(buffer.text_bytes[rows].sum())
        self._pending.settle(len(rows), nbytes, dropped=True)
        buffer.keep(buffer.start + np.flatnonzero(~doomed))
