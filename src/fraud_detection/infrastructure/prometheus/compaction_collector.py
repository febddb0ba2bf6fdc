"""Compaction gauges for /metrics, read from the latest compaction report at scrape time.

The drift Lambda (or the scheduled flow) merges the captured files; the API is what Prometheus scrapes, so
it exports what the last run did. No report yet means no series, so a store nothing compacts never alerts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import Metric

from fraud_detection.domain.compaction import CompactionReport
from fraud_detection.infrastructure.prometheus.report_collector import LatestReportCollector, gauge


class CompactionCollector(LatestReportCollector[CompactionReport]):
    def gauges(self, report: CompactionReport) -> Iterator[Metric]:
        yield gauge(
            "fraud_capture_compaction_last_run_timestamp_seconds",
            "When the latest compaction of captured predictions ran.",
            datetime.fromisoformat(report.ran_at).timestamp(),
        )
        yield gauge(
            "fraud_capture_compaction_failed",
            "1 when the latest compaction of captured predictions failed (reads stay right, but slow down).",
            report.summary is None,
        )
        if report.summary is None:
            return
        yield gauge(
            "fraud_capture_compaction_hours_left",
            "Closed hours the latest compaction left unmerged for lack of time.",
            report.summary.hours_left,
        )
        yield gauge(
            "fraud_capture_compaction_files_merged",
            "Capture files the latest compaction merged.",
            report.summary.files_merged,
        )
