"""Compaction gauges for /metrics, read from the latest compaction report at scrape time.

The drift Lambda (or the scheduled flow) merges the captured files; the API is what Prometheus scrapes, so
it exports what the last run did. No report yet means no series, so a store nothing compacts never alerts.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from fraud_detection.domain.compaction import CompactionReport
from fraud_detection.infrastructure.prometheus.cached_read import CachedRead


class CompactionCollector(Collector):
    def __init__(self, latest: CachedRead[CompactionReport]) -> None:
        self._latest = latest

    def collect(self) -> Iterator[Metric]:
        report = self._latest.get()
        if report is None:
            return
        yield _gauge(
            "fraud_capture_compaction_last_run_timestamp_seconds",
            "When the latest compaction of captured predictions ran.",
            datetime.fromisoformat(report.ran_at).timestamp(),
        )
        yield _gauge(
            "fraud_capture_compaction_failed",
            "1 when the latest compaction of captured predictions failed (reads stay right, but slow down).",
            report.summary is None,
        )
        if report.summary is None:
            return
        yield _gauge(
            "fraud_capture_compaction_hours_left",
            "Closed hours the latest compaction left unmerged for lack of time.",
            report.summary.hours_left,
        )
        yield _gauge(
            "fraud_capture_compaction_files_merged",
            "Capture files the latest compaction merged.",
            report.summary.files_merged,
        )


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(name, documentation, value=float(value))
