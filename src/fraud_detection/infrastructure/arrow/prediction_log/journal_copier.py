"""Copies queued rows to the local journal (journal.py), so a killed process loses only the last interval.

A background writer calls `copy_new_rows` every `journal_seconds`; the buffer writer journals a buffer's
last rows before reordering it and discards its chunks once its rows are stored. The lock orders those
against each other and against buffer reuse (a buffer's generation changes when it is recycled).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from pathlib import Path

from fraud_detection.infrastructure.arrow.prediction_log.arrow_table import (
    BUILD_ERRORS,
    buffer_table,
    encode_parquet,
)
from fraud_detection.infrastructure.arrow.prediction_log.column_buffer import ColumnBuffer
from fraud_detection.infrastructure.arrow.prediction_log.journal import Journal
from fraud_detection.infrastructure.arrow.prediction_log.pending_rows import PendingRows
from fraud_detection.infrastructure.arrow.prediction_log.telemetry import (
    CaptureCounters,
    CaptureTelemetry,
    NoTelemetry,
)

logger = logging.getLogger(__name__)

ERROR_LOG_INTERVAL_SECONDS = 10.0


class JournalCopier:
    def __init__(
        self,
        journal: Journal,
        pending: PendingRows,
        counters: CaptureCounters,
        telemetry: CaptureTelemetry | None = None,
    ) -> None:
        self.journal = journal
        self._pending = pending
        self._counters = counters
        # Counted on /metrics too (fraud_capture_journal_failures_total): a journal on a full or failing
        # disk was a log line every minute and nothing an alert could see.
        self._telemetry: CaptureTelemetry = telemetry or NoTelemetry()
        self._lock = threading.Lock()  # journal chunks and discards, against buffer reuse
        self._last_error = -math.inf

    def copy_new_rows(self, primary: bool = True) -> bool:
        """One pass: journal the rows queued since the last pass (errors are counted, never raised)."""
        for buffer, generation, stop in self._pending.unjournaled():
            with self._lock:
                if buffer.generation == generation:
                    self._journal_rows(buffer, stop)
        return True

    def journal_all(self, buffer: ColumnBuffer) -> None:
        """Journal a taken buffer's rows not yet journaled (before the writer reorders them)."""
        with self._lock:
            self._journal_rows(buffer, buffer.stop)

    def discard(self, buffer: ColumnBuffer) -> None:
        """The buffer's rows are stored or spilled: its chunks can go."""
        with self._lock:
            self.journal.discard(buffer)

    def discard_dropped(self) -> None:
        """Delete the chunks of buffers whose rows were all dropped (over the bound)."""
        with self._lock:
            self._discard_dropped()

    def close(self) -> None:
        with self._lock:
            self._discard_dropped()
            self.journal.close()

    def _discard_dropped(self) -> None:
        for buffer in self._pending.take_discarded():
            self.journal.discard(buffer)

    def _journal_rows(self, buffer: ColumnBuffer, stop: int) -> None:
        """Copy rows `journaled:stop` of the buffer to the journal (the caller holds the lock)."""
        begin = max(buffer.journaled, buffer.start)
        if stop <= begin:
            return
        try:
            data = encode_parquet(buffer_table(buffer, slice(begin, stop)))
        except BUILD_ERRORS:
            buffer.journaled = stop  # ids that are not text: dropped when written, nothing to keep
            return
        try:
            self.journal.append(buffer, data)
        except OSError as error:
            self._counters.journal_failures += 1
            self._telemetry.journal_failed()
            now = time.monotonic()
            if now - self._last_error >= ERROR_LOG_INTERVAL_SECONDS:
                self._last_error = now
                logger.error("prediction log: cannot write the journal (%s): a kill would lose more", error)
            return
        buffer.journaled = stop


def open_journal(spill_dir: Path | None) -> Journal | None:
    """The journal in the spill folder; None (logged) when there is no folder or it cannot be created."""
    if spill_dir is None:
        return None
    try:
        return Journal(spill_dir)
    except OSError as error:
        logger.error("prediction log: no journal in %s (%s): a kill loses every queued row", spill_dir, error)
        return None
