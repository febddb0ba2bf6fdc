"""What the capture writer's thread does besides writing: recovery at start-up, then at every wake-up the
journals of dropped buffers, the gauges, and (daily) the retention sweep."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

from fraud_detection.infrastructure.arrow.prediction_log.journal import Journal
from fraud_detection.infrastructure.arrow.prediction_log.journal_copier import JournalCopier
from fraud_detection.infrastructure.arrow.prediction_log.pending_rows import PendingRows
from fraud_detection.infrastructure.arrow.prediction_log.recovery import Recovered, recover_journals
from fraud_detection.infrastructure.arrow.prediction_log.retention import (
    SWEEP_INTERVAL_SECONDS,
    RetentionSweep,
)
from fraud_detection.infrastructure.arrow.prediction_log.spill import SpillDir
from fraud_detection.infrastructure.arrow.prediction_log.telemetry import CaptureCounters, CaptureTelemetry

logger = logging.getLogger(__name__)


class CaptureUpkeep:
    def __init__(
        self,
        pending: PendingRows,
        telemetry: CaptureTelemetry,
        max_pending_bytes: int,
        *,
        spill: SpillDir | None,
        copier: JournalCopier | None,
        sweep: RetentionSweep | None,
        counters: CaptureCounters,
        prefix: str,
        wake: Callable[[], None],
        recovered: Recovered | None = None,
    ) -> None:
        self._pending, self._telemetry, self._max_pending_bytes = pending, telemetry, max_pending_bytes
        self._spill, self._copier, self._sweep = spill, copier, sweep
        self._counters, self._prefix, self._wake = counters, prefix, wake
        self._recovered = recovered
        self._next_sweep = 0.0
        self._dropped_reported = 0

    def start_up(self) -> None:
        """Recover what killed processes left in the journal, find spilled files, sweep expired partitions."""
        try:
            journal: Journal | None = self._copier.journal if self._copier is not None else None
            if journal is not None and self._spill is not None:
                recover_journals(journal, self._spill, self._prefix, self._counters, self._recovered)
            if self._spill is not None and self._spill.scan():
                self._wake()  # resend them now
        except Exception:
            logger.exception("prediction log: recovery of the local spill failed")
        self.maintain()

    def maintain(self) -> None:
        if self._copier is not None:
            self._copier.discard_dropped()
        self.report_state()
        if self._sweep is not None and time.monotonic() >= self._next_sweep:
            self._next_sweep = time.monotonic() + SWEEP_INTERVAL_SECONDS
            try:
                self._sweep.run()
            except Exception:
                logger.exception("prediction log: retention sweep failed (retried in a day)")

    def report_state(self) -> None:
        dropped = self._pending.rows_dropped
        if dropped > self._dropped_reported:
            self._telemetry.rows_dropped(dropped - self._dropped_reported)
            self._dropped_reported = dropped
        self._telemetry.state(
            self._pending.rows,
            self._pending.bytes,
            self._max_pending_bytes,
            self._spill.files if self._spill is not None else 0,
            self._spill.bytes if self._spill is not None else 0,
        )
