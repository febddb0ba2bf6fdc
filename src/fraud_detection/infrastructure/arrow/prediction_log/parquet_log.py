"""The PredictionLog adapter: micro-batched Parquet files in an ObjectStore, written off the request path."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable
from pathlib import Path
from types import TracebackType

import numpy as np
import pyarrow as pa

from fraud_detection.domain.ports.prediction_log import PredictionBatch, PredictionLog
from fraud_detection.domain.ports.storage import ObjectStore
from fraud_detection.infrastructure.arrow.prediction_log.batch_copy import UnwritableBatchError, requests_of
from fraud_detection.infrastructure.arrow.prediction_log.buffer_writer import BufferWriter
from fraud_detection.infrastructure.arrow.prediction_log.journal_copier import JournalCopier, open_journal
from fraud_detection.infrastructure.arrow.prediction_log.layout import normalise_prefix
from fraud_detection.infrastructure.arrow.prediction_log.pending_rows import PendingRows
from fraud_detection.infrastructure.arrow.prediction_log.recovery import Recovered
from fraud_detection.infrastructure.arrow.prediction_log.retention import RetentionSweep
from fraud_detection.infrastructure.arrow.prediction_log.spill import SpillDir
from fraud_detection.infrastructure.arrow.prediction_log.telemetry import (
    CaptureCounters,
    CaptureTelemetry,
    NoTelemetry,
)
from fraud_detection.infrastructure.arrow.prediction_log.upkeep import CaptureUpkeep
from fraud_detection.infrastructure.local.background_writer import BackgroundWriter, Backoff

logger = logging.getLogger(__name__)

HEARTBEAT_SECONDS = 10.0  # the writer refreshes gauges (and checks the retention sweep) at least this often
MIB = 1024 * 1024
# A batch request's thread waits for the pending rows to fall to this share of their bound before adding its
# own, for at most this long (storage and spill both failing: then the oldest rows go, as before).
ROOM_FRACTION = 0.5
ROOM_WAIT_SECONDS = 5.0


def _on_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


class ParquetPredictionLog(CaptureCounters, PredictionLog):
    """`append` copies the batch's values into preallocated column buffers of `max_rows` rows and keeps no
    reference to the batch (no I/O, nothing per request left for the garbage collector); a daemon thread
    writes one zstd Parquet file per micro-batch (split by UTC hour, so each file sits in the partition of
    all its rows) once a buffer is full or its oldest row is `max_seconds` old by `monotonic`. The wall
    `clock` only dates the retention sweep: aged by it, a buffer waited out any backward step (NTP, VM
    resume) in memory. A batch that cannot be stored (shapes that disagree, values of the wrong type, a bad
    timestamp) is dropped, counted and logged with its request id, at append or, for text columns, when its
    buffer is written.

    With a `spill_dir`:
    - a file the store refuses is written to the spill folder instead (atomically; at most `spill_max_bytes`),
      and while the store is failing due buffers go straight there; spilled files are resent, oldest first,
      when the store answers again and at start-up, and deleted only once the store has them;
    - with `journal_seconds` > 0 a second thread copies newly queued rows to a local journal that often, and
      the next process to start recovers what a killed one left: SIGKILL loses at most the rows of the last
      `journal_seconds` (plus the few milliseconds a journal chunk takes to write); `on_recovered` is
      given those rows (the served log's feedback index: labels for them would come back `unknown`).
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
        monotonic: Callable[[], float] = time.monotonic,
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
        on_recovered: Recovered | None = None,
    ) -> None:
        if min(max_rows, max_pending_rows, max_pending_bytes, close_attempts) < 1:
            raise ValueError(
                "max_rows, max_pending_rows, max_pending_bytes and close_attempts must be at least 1"
            )
        if min(max_seconds, retry_initial_seconds, retry_max_seconds, close_timeout_seconds) <= 0:
            raise ValueError("max_seconds, retry and close timings must be positive")
        if journal_seconds < 0 or retention_days < 0:
            raise ValueError("journal_seconds and retention_days must be 0 (off) or positive")
        self._prefix = normalise_prefix(prefix)
        self._max_rows = max_rows
        self._max_seconds = max_seconds
        self._monotonic = monotonic
        # pyarrow imports pandas on its first NumPy conversion (0.4-1 s); paid here, at start, rather than
        # by the first journal chunk, which must land within one journal interval to survive a SIGKILL.
        # (The drift check's reader never converts this way, so it never pays it.)
        pa.array(np.zeros(1))
        self._close_timeout = close_timeout_seconds
        self._max_pending_bytes = max_pending_bytes
        self._pending = PendingRows(
            buffer_rows=max_rows, max_rows=max_pending_rows, max_bytes=max_pending_bytes, monotonic=monotonic
        )
        self._telemetry: CaptureTelemetry = telemetry or NoTelemetry()
        self._spill = SpillDir(spill_dir, self._prefix, spill_max_bytes) if spill_dir is not None else None
        self._journal = open_journal(spill_dir) if journal_seconds > 0 else None
        self._journal_seconds = journal_seconds
        self._copier = (
            JournalCopier(self._journal, self._pending, self, self._telemetry) if self._journal else None
        )
        self._sweep = RetentionSweep(store, self._prefix, retention_days, clock) if retention_days else None
        self._upkeep = CaptureUpkeep(
            self._pending, self._telemetry, max_pending_bytes, spill=self._spill, copier=self._copier,
            sweep=self._sweep, counters=self, prefix=self._prefix, wake=self._wake, recovered=on_recovered,
        )  # fmt: skip
        self._writes = BufferWriter(
            store, self._prefix, self._pending, spill=self._spill, journal=self._copier, counters=self,
            telemetry=self._telemetry, wake=self._wake,
        )  # fmt: skip
        self._writer = BackgroundWriter(
            "prediction-log-writer", write=self._write_due, flush=self._writes.flush,
            idle_seconds=self._seconds_until_due, backoff=Backoff(retry_initial_seconds, retry_max_seconds),
            on_failure=self._log_failure, on_gave_up=self._abandon, on_start=self._upkeep.start_up,
            on_wake=self._upkeep.maintain, on_stop=self._upkeep.maintain, fallback=self._spill is not None,
            close_attempts=close_attempts,
        )  # fmt: skip
        self._writer.start()  # once assigned: the thread's first steps use it
        self._journal_writer: BackgroundWriter | None = None
        if self._copier is not None:
            self._journal_writer = BackgroundWriter(
                "prediction-log-journal", write=self._copier.copy_new_rows, flush=lambda: None,
                idle_seconds=lambda: journal_seconds, backoff=Backoff(journal_seconds, journal_seconds),
                on_failure=lambda error, failures, retry_in: None,
            ).start()  # fmt: skip

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
        """Never blocks an event loop (a single score's). Off one (a batch request's worker thread) it first
        waits, up to ROOM_WAIT_SECONDS, while the pending rows hold over half their bound and the writer is
        getting them written: 32 clients of 10,000-row batches outran the writer and had 85,000 scored rows
        dropped in 15 s (benchmarks/serve_batch_load.py). With storage and spill failing it does not wait:
        requests keep their latency and the oldest rows go, counted."""
        if self._writes.progressing and not _on_event_loop():
            self._pending.wait_for_room(ROOM_FRACTION, ROOM_WAIT_SECONDS, lambda: self._writes.progressing)
        try:
            wake, dropped = self._pending.add(batch)
        except UnwritableBatchError as error:
            logger.error(
                "prediction log: dropped %d rows of %s (model %s v%s): %s",
                error.rows,
                requests_of(batch),
                getattr(batch, "model_name", "?"),
                getattr(batch, "model_version", "?"),
                error.problem,
            )
            return
        if wake:
            self._writer.wake()
        if dropped:
            self._writes.report_drop(dropped)

    def flush(self) -> int:
        """Write what is queued when called (rows appended meanwhile wait for the next write): to the store,
        or to the spill for what the store refuses; return the rows written or spilled. Raises when neither
        takes a buffer (its rows stay queued)."""
        return self._writes.flush()

    def close(self) -> None:
        deadline = time.monotonic() + self._close_timeout
        if not self._pending.close():
            return
        if self._journal_writer is not None:
            self._journal_writer.stop(0.0)  # the writer journals each buffer before writing it
        if not self._writer.stop(deadline - time.monotonic()):
            lost = self._pending.abandon()
            logger.error(
                "prediction log: writer still busy after %.0f s (a store call hanging?); "
                "%d queued rows lost, %d rows of the write in progress are lost unless it completes%s",
                self._close_timeout,
                lost,
                self._pending.rows,
                " (the journal keeps them for the next start)" if self._journal else "",
            )
        self._upkeep.report_state()
        if self._copier is not None and not self._writer.running:
            self._copier.close()

    def __enter__(self) -> ParquetPredictionLog:
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.close()

    # Policy for the background writer (its thread) -------------------------------------------------

    def _wake(self) -> None:
        self._writer.wake()

    def _write_due(self, use_store: bool) -> bool:
        try:
            return self._writes.write_due(use_store, self._max_seconds, lambda: self._writer.stopping)
        finally:
            self._upkeep.report_state()

    def _seconds_until_due(self) -> float:
        if self._pending.queued_rows() >= self._max_rows:
            return 0.0
        oldest = self._pending.oldest_appended_at()
        if oldest is None:
            return HEARTBEAT_SECONDS
        # Capped at max_seconds so an injected clock that jumps ahead is noticed within that time.
        due = min(max(self._max_seconds - (self._monotonic() - oldest), 0.0), self._max_seconds)
        return min(due, HEARTBEAT_SECONDS)

    def _log_failure(self, error: BaseException | None, failures: int, retry_in: float) -> None:
        logger.warning(
            "prediction log: write failed (%s); %d rows in memory, %d files spilled; retry %d in %.2f s",
            error or self._writes.last_store_error,
            self._pending.rows,
            self.spill_files,
            failures,
            max(retry_in, 0.0),
            exc_info=failures == 1,
        )

    def _abandon(self, error: BaseException, attempts: int) -> None:
        lost = self._pending.abandon()
        logger.error(
            "prediction log: final flush failed %d times (last error: %s); %d rows lost%s",
            attempts,
            error,
            lost,
            " unless recovered from the journal at the next start" if self._journal else "",
        )
