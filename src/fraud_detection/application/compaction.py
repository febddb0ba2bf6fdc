"""`CompactCaptures`: merge the closed hours of captured predictions (the CaptureCompaction port) and leave a
report of the run, failed or not, as the latest for the API's /metrics and the compaction alerts."""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from fraud_detection.domain.compaction import CompactionReport, CompactionSummary
from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.ports.prediction_log import CaptureCompaction
from fraud_detection.domain.ports.reports import Reports
from fraud_detection.domain.reports import COMPACTION


class CompactCaptures:
    def __init__(
        self, compaction: CaptureCompaction, reports: Reports, clock: Callable[[], float] = time.time
    ) -> None:
        self._compaction, self._reports, self._clock = compaction, reports, clock

    def __call__(self, lookback_hours: float, budget_seconds: float | None = None) -> CompactionSummary:
        """The run's summary; a failure is reported, then raised (the caller decides whether it stops). Not
        an outage of the store: the report would go to that store, and waited out its retries a second time
        (a Lambda facing a hung S3 ran past its 300 s limit)."""
        ran_at = datetime.fromtimestamp(self._clock(), UTC)
        try:
            summary = self._compaction.compact(lookback_hours, budget_seconds)
        except ServiceUnavailableError:
            raise
        except Exception as error:
            self._save(CompactionReport(ran_at.isoformat(), None, f"{type(error).__name__}: {error}"), ran_at)
            raise
        self._save(CompactionReport(ran_at.isoformat(), summary), ran_at)
        return summary

    def _save(self, report: CompactionReport, ran_at: datetime) -> None:
        # Microseconds, as drift reports: two runs in one second (the Lambda and a flow) kept one report.
        self._reports.save(COMPACTION, f"{ran_at:%Y%m%dT%H%M%S%f}Z", report.to_dict())
