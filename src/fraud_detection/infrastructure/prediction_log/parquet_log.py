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
from pathlib import Path
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
from fraud_detection.infrastructure.prediction_log.column_buffer import SLOT_BYTES, ColumnBuffer
from fraud_detection.infrastructure.prediction_log.journal import Journal
from fraud_detection.infrastructure.prediction_log.layout import (
    file_key,
    hour_buckets,
    hour_runs,
    normalise_prefix,
)
from fraud_detection.infrastructure.prediction_log.pending_rows import PendingRows, UnwritableBatchError
from fraud_detection.infrastructure.prediction_log.retention import SWEEP_INTERVAL_SECONDS, RetentionSweep
from fraud_detection.infrastructure.prediction_log.spill import SpillDir, SpillRefusedError
from fraud_detection.infrastructure.prediction_log.telemetry import CaptureTelemetry, NoTelemetry

logger = logging.getLogger(__name__)

DROP_LOG_INTERVAL_SECONDS = 10.0
JOIN_GRACE_SECONDS = 0.5
HEARTBEAT_SECONDS = 10.0  # the writer refreshes gauges (and checks the retention sweep) at least this often
RESEND_FILES_PER_PASS = 32  # then the writer looks at due buffers before resending more
MIB = 1024 * 1024


class ParquetPredictionLog(PredictionLog):
    """`append` copies the batch's values into preallocated column buffers of `max_rows` rows and keeps no
    reference to the batch (no I/O, nothing per request left for the garbage collector); a daemon thread
    writes one zstd Parquet file per micro-batch (split by UTC hour, so each file sits in the partition of
    all its rows) once a buffer is full or its oldest row is `max_seconds` old by `clock`. A batch that
    cannot be stored (shapes that disagree, values of the wrong type, a bad timestamp) is dropped, counted
    and logged with its request id, at append or, for text columns, when its buffer is written.

    With a `spill_dir`:
    - a file the store refuses is written to the spill folder instead (atomically; at most `spill_max_bytes`),
      and while the store is failing due buffers go straight there; spilled files are resent, oldest first,
      when the store answers again and at start-up, and deleted only once the store has them;
    - with `journal_seconds` > 0 a second thread copies newly queued rows to a local journal that often, and
      the next process to start recovers what a killed one left: SIGKILL loses at most the rows of the last
      `journal_seconds` (plus the few milliseconds a journal chunk takes to write).
    Only when neither the store nor the spill takes a buffer do rows wait in memory, retried with exponential
    backoff, up to `max_pending_bytes` (and `max_pending_rows`); beyond that the oldest rows are dropped and
    counted. `retention_days` > 0 deletes partitions older than that from the store (meant for a local store;
    S3 has a lifecycle rule), at start-up and daily. `close` drains within `close_timeout_seconds`; rows it
    cannot write anywhere are logged and counted as dropped (their journal stays for the next start).

    Counters for metrics (also sent to `telemetry`): rows_written, files_written, write_failures,
    rows_spilled, rows_resent, rows_recovered, rows_dropped, pending_rows, pending_bytes.
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
        max_pending_bytes: int = 64 * MIB,
        spill_dir: Path | None = None,
        spill_max_bytes: int = 1024 * MIB,
        journal_seconds: float = 1.0,
        retention_days: float = 0.0,
        telemetry: CaptureTelemetry | None = None,
        retry_initial_seconds: float = 0.5,
        retry_max_seconds: float = 30.0,
        close_timeout_seconds: float = 30.0,
        close_attempts: int = 5,
    ) -> None:
        if min(max_rows, max_pending_rows, max_pending_bytes, close_attempts) < 1:
            raise ValueError(
                "max_rows, max_pending_rows, max_pending_bytes and close_attempts must be at least 1"
            )
        if min(max_seconds, retry_initial_seconds, retry_max_seconds, close_timeout_seconds) <= 0:
            raise ValueError("max_seconds, retry and close timings must be positive")
        if journal_seconds < 0 or retention_days < 0:
            raise ValueError("journal_seconds and retention_days must be 0 (off) or positive")
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
        self._max_pending_bytes = max_pending_bytes
        self._pending = PendingRows(
            buffer_rows=max_rows, max_rows=max_pending_rows, max_bytes=max_pending_bytes, clock=clock
        )
        self._telemetry: CaptureTelemetry = telemetry or NoTelemetry()
        self._spill = SpillDir(spill_dir, self._prefix, spill_max_bytes) if spill_dir is not None else None
        self._journal = self._open_journal(spill_dir) if journal_seconds > 0 else None
        self._journal_seconds = journal_seconds
        self._sweep = RetentionSweep(store, self._prefix, retention_days, clock) if retention_days else None
        self._next_sweep = 0.0
        self._write_lock = threading.Lock()  # one writer at a time: the thread, flush() or close()
        self._journal_lock = threading.Lock()  # journal chunks and discards, against buffer reuse
        self._wake = threading.Event()
        self._stopping = threading.Event()
        self._sequence = itertools.count()
        self._last_drop_log = -math.inf
        self._last_journal_error = -math.inf
        self._dropped_reported = 0
        self.rows_written = 0
        self.files_written = 0
        self.write_failures = 0
        self.rows_spilled = 0
        self.rows_resent = 0
        self.rows_recovered = 0
        self.journal_failures = 0
        self._thread = threading.Thread(target=self._run, name="prediction-log-writer", daemon=True)
        self._thread.start()
        self._journal_thread: threading.Thread | None = None
        if self._journal is not None:
            self._journal_thread = threading.Thread(
                target=self._journal_loop, name="prediction-log-journal", daemon=True
            )
            self._journal_thread.start()

    @staticmethod
    def _open_journal(spill_dir: Path | None) -> Journal | None:
        if spill_dir is None:
            return None
        try:
            return Journal(spill_dir)
        except OSError as error:
            logger.error(
                "prediction log: no journal in %s (%s): a kill loses every queued row", spill_dir, error
            )
            return None

    @property
    def pending_rows(self) -> int:
        """Rows accepted and not yet written (including those in a write in progress)."""
        return self._pending.rows

    @property
    def pending_bytes(self) -> int:
        """Bytes the pending rows hold in memory (bounded by `max_pending_bytes`)."""
        return self._pending.bytes

    @property
    def rows_dropped(self) -> int:
        return self._pending.rows_dropped

    @property
    def spill_files(self) -> int:
        return self._spill.files if self._spill is not None else 0

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
        """Write what is queued when called (rows appended meanwhile wait for the next write): to the store,
        or to the spill for what the store refuses; return the rows written or spilled. Raises when neither
        takes a buffer (its rows stay queued)."""
        with self._write_lock:
            done = self.rows_written + self.rows_spilled
            use_store = True
            for _ in range(self._pending.seal()):
                buffer = self._pending.take()
                if buffer is None:
                    break
                use_store = self._write_buffer(buffer, use_store) and use_store
            return self.rows_written + self.rows_spilled - done

    def close(self) -> None:
        deadline = time.monotonic() + self._close_timeout
        if not self._pending.close():
            return
        self._close_deadline = deadline
        self._stopping.set()
        self._wake.set()
        self._thread.join(max(deadline - time.monotonic(), 0.0) + JOIN_GRACE_SECONDS)
        if self._journal_thread is not None:
            self._journal_thread.join(JOIN_GRACE_SECONDS)
        if not self._thread.is_alive() and self._pending.queued_rows():
            self._drain_before_exit()  # no writer ran here (a forked child) or it died: drain ourselves
        elif self._thread.is_alive():
            lost = self._pending.abandon()
            logger.error(
                "prediction log: writer still busy after %.0f s (a store call hanging?); "
                "%d queued rows lost, %d rows of the write in progress are lost unless it completes%s",
                self._close_timeout,
                lost,
                self._pending.rows,
                " (the journal keeps them for the next start)" if self._journal else "",
            )
        self._report_state()
        if self._journal is not None and not self._thread.is_alive():
            with self._journal_lock:
                self._discard_dropped_journals()
                self._journal.close()

    def __enter__(self) -> ParquetPredictionLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # The writer thread -----------------------------------------------------------------------------

    def _run(self) -> None:
        self._start_up()
        failures, retry_at, blocked = 0, 0.0, False
        while not self._stopping.is_set():
            self._wake.wait(self._seconds_to_wait(retry_at, blocked))
            self._wake.clear()  # then re-read the state, so a wake-up set before this line is not lost
            if self._stopping.is_set():
                continue
            self._maintain()
            store_up = time.monotonic() >= retry_at
            if not store_up and (blocked or self._spill is None):
                continue  # nowhere to write before the retry
            try:
                with self._write_lock:
                    store_ok = self._write_due(store_up)
                    if store_ok and store_up and self._spill is not None and self._spill.files:
                        store_ok = self._resend_spilled()
            except Exception as error:  # neither the store nor the spill took a buffer
                failures, blocked = failures + 1, True
                retry_at = time.monotonic() + self._backoff(failures)
                self._log_failure(error, failures, retry_at)
            else:
                blocked = False
                if store_up and not store_ok:
                    failures += 1
                    retry_at = time.monotonic() + self._backoff(failures)
                    self._log_failure(self._last_store_error, failures, retry_at)
                elif store_up:
                    failures, retry_at = 0, 0.0
            self._report_state()
        self._drain_before_exit()
        self._maintain()

    def _write_due(self, store_up: bool) -> bool:
        """Write the buffers due; False when the store refused one (then the rest go to the spill)."""
        store_ok = True
        while (buffer := self._pending.take(self._max_seconds)) is not None:
            store_ok = self._write_buffer(buffer, store_up and store_ok) and store_ok
        return store_ok and store_up

    def _log_failure(self, error: BaseException | None, failures: int, retry_at: float) -> None:
        logger.warning(
            "prediction log: write failed (%s); %d rows in memory, %d files spilled; retry %d in %.2f s",
            error,
            self._pending.rows,
            self.spill_files,
            failures,
            max(retry_at - time.monotonic(), 0.0),
            exc_info=failures == 1,
        )

    def _seconds_to_wait(self, retry_at: float, blocked: bool = False) -> float:
        now = time.monotonic()
        if retry_at > now and (blocked or self._spill is None):
            return retry_at - now
        waits = [HEARTBEAT_SECONDS]
        if retry_at > now:
            waits.append(retry_at - now)  # probe the store (and resend) then
        if self._pending.queued_rows() >= self._max_rows:
            return 0.0
        oldest = self._pending.oldest_appended_at()
        if oldest is not None:
            # Capped at max_seconds so an injected clock that jumps ahead is noticed within that time.
            waits.append(min(max(self._max_seconds - (self._clock() - oldest), 0.0), self._max_seconds))
        return min(waits)

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
                        "prediction log: final flush failed %d times (last error: %s); %d rows lost%s",
                        attempt,
                        error,
                        lost,
                        " unless recovered from the journal at the next start" if self._journal else "",
                    )
                    return
                time.sleep(delay)

    def _backoff(self, attempt: int) -> float:
        ceiling = min(self._retry_max, self._retry_initial * 2.0 ** (attempt - 1))
        return ceiling * random.uniform(0.5, 1.0)  # jitter: replicas that failed together retry apart

    # Start-up and upkeep (writer thread) -----------------------------------------------------------

    def _start_up(self) -> None:
        """Recover what killed processes left in the journal, find spilled files, sweep expired partitions."""
        try:
            if self._journal is not None and self._spill is not None:
                self._recover_journals(self._journal, self._spill)
            if self._spill is not None and self._spill.scan():
                self._wake.set()  # resend them now
        except Exception:
            logger.exception("prediction log: recovery of the local spill failed")
        self._maintain()

    def _recover_journals(self, journal: Journal, spill: SpillDir) -> None:
        for owner, table, delete in journal.orphans():
            hours = hour_buckets(table["scored_at"].cast(pa.int64()).to_numpy() / 1_000_000)
            order = np.argsort(hours, kind="stable")
            table, hours = table.take(order), hours[order]
            edges = [0, *(np.flatnonzero(hours[1:] != hours[:-1]) + 1).tolist(), len(hours)]
            for number, (begin, end) in enumerate(itertools.pairwise(edges) if len(hours) else []):
                part = table.slice(begin, end - begin)
                first = float(hours[begin]) * 3600
                key = file_key(self._prefix, first, 0, number).rsplit("/", 1)[0]
                name = f"{int(first)}-recovered-{owner}-{number:06d}.parquet"  # same name if recovered twice
                if not spill.put(f"{key}/{name}", encode_parquet(part), force=True):
                    raise SpillRefusedError(f"cannot spill the journal of {owner}")
            delete()
            if not table.num_rows:
                continue
            self.rows_recovered += table.num_rows
            logger.warning(
                "prediction log: recovered %d rows a stopped process (%s) had not written; resending them",
                table.num_rows,
                owner,
            )

    def _maintain(self) -> None:
        if self._journal is not None:
            with self._journal_lock:
                self._discard_dropped_journals()
        self._report_state()
        if self._sweep is not None and time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + SWEEP_INTERVAL_SECONDS
            try:
                self._sweep.run()
            except Exception:
                logger.exception("prediction log: retention sweep failed (retried in a day)")

    def _discard_dropped_journals(self) -> None:
        assert self._journal is not None
        for buffer in self._pending.take_discarded():
            self._journal.discard(buffer)

    def _report_state(self) -> None:
        dropped = self.rows_dropped
        if dropped > self._dropped_reported:
            self._telemetry.rows_dropped(dropped - self._dropped_reported)
            self._dropped_reported = dropped
        self._telemetry.state(
            self._pending.rows,
            self._pending.bytes,
            self._max_pending_bytes,
            self.spill_files,
            self._spill.bytes if self._spill is not None else 0,
        )

    def _resend_spilled(self) -> bool:
        """Send spilled files to the store, oldest first; False when the store refuses one."""
        assert self._spill is not None
        files = self._spill.scan()
        for key, size in files[:RESEND_FILES_PER_PASS]:
            if self._stopping.is_set():
                return True
            data = self._spill.read(key)
            if data is None:
                continue  # another process resent it
            rows = self._spill.rows_if_valid(key, data)
            if rows is None:
                continue
            try:
                self._store.write_bytes(key, data)
            except Exception as error:
                self._store_failed(error)
                return False
            self._spill.remove(key, size)
            self.rows_resent += rows
            self.rows_written += rows
            self.files_written += 1
            self._telemetry.rows_written(rows)
        if len(files) > RESEND_FILES_PER_PASS:
            self._wake.set()
        return True

    # The journal thread ----------------------------------------------------------------------------

    def _journal_loop(self) -> None:
        while not self._stopping.wait(self._journal_seconds):
            for buffer, generation, stop in self._pending.unjournaled():
                with self._journal_lock:
                    if buffer.generation == generation:
                        self._journal_rows(buffer, stop)

    def _journal_rows(self, buffer: ColumnBuffer, stop: int) -> None:
        """Copy rows `journaled:stop` of the buffer to the journal (the caller holds _journal_lock)."""
        assert self._journal is not None
        begin = max(buffer.journaled, buffer.start)
        if stop <= begin:
            return
        try:
            data = encode_parquet(buffer_table(buffer, slice(begin, stop)))
        except BUILD_ERRORS:
            buffer.journaled = stop  # ids that are not text: dropped when written, nothing to keep
            return
        try:
            self._journal.append(buffer, data)
        except OSError as error:
            self.journal_failures += 1
            now = time.monotonic()
            if now - self._last_journal_error >= DROP_LOG_INTERVAL_SECONDS:
                self._last_journal_error = now
                logger.error("prediction log: cannot write the journal (%s): a kill would lose more", error)
            return
        buffer.journaled = stop

    # Writing (the caller holds _write_lock) --------------------------------------------------------

    def _write_buffer(self, buffer: ColumnBuffer, use_store: bool = True) -> bool:
        """Write a taken buffer, one file per UTC hour of its rows, to the store or (what it refuses, or all
        when `use_store` is False) to the spill; then keep it as a spare. Returns False when the store refused
        a file. When neither takes a file, put the unwritten rows back and raise."""
        if self._journal is not None:
            with self._journal_lock:  # before reordering: the journal thread must not copy moved rows
                self._journal_rows(buffer, buffer.stop)
        try:
            buffer.group_by_hour()
            table = self._table(buffer)
            store_ok = self._write_hours(buffer, table, use_store) if table is not None else True
        except Exception:
            dropped = self._pending.put_back(buffer) if buffer.rows else 0
            self._wake.set()
            if dropped:
                self._report_drop(dropped)
            raise
        if self._journal is not None:
            with self._journal_lock:
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
                    f"the store is failing ({self._last_store_error}) and the local spill refused {key} "
                    "(full or failing)"
                )
            begin = buffer.start
            buffer.start += part.num_rows
            self._pending.settle(part.num_rows, buffer.bytes_of(begin, buffer.start))
            if stored:
                self.rows_written += part.num_rows
                self.files_written += 1
                self._telemetry.rows_written(part.num_rows)
            else:
                self.rows_spilled += part.num_rows
                self._telemetry.rows_spilled(part.num_rows)
        return store_ok or not use_store

    def _store_failed(self, error: BaseException) -> None:
        self.write_failures += 1
        self._last_store_error = error
        self._telemetry.write_failed()

    _last_store_error: BaseException | None = None

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

    def _report_drop(self, dropped: int) -> None:
        now = time.monotonic()
        if now - self._last_drop_log < DROP_LOG_INTERVAL_SECONDS:
            return  # at most one line per interval: a long outage must not flood the log
        self._last_drop_log = now
        logger.error(
            "prediction log: pending rows over the bound (storage and spill failing?); dropped the oldest %d "
            "rows, %d dropped in total",
            dropped,
            self.rows_dropped,
        )
