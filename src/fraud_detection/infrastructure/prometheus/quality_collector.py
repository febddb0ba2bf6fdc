"""Realised-quality gauges for /metrics, read from the latest stored quality report at scrape time.

`fraud quality measure` (a schedule, an operator) writes the report; the API, which Prometheus already
scrapes, exports it. The read is cached for `ttl_seconds`, so frequent scrapes cost one small object-store
read per interval. No report means no series; a version whose precision (no alerts among its labelled
transactions) or recall (no frauds among them) is undefined gets no series for that gauge, rather than a
made-up 0 that would fire alerts. A report always gives its measurement time, labelled rows or not: the
alerts judge the figures of the latest report, so FraudQualityMeasureStale says when that report is old.
"""

from __future__ import annotations

from collections.abc import Iterator

from prometheus_client.core import GaugeMetricFamily, Metric

from fraud_detection.domain.feedback import QualityReport
from fraud_detection.infrastructure.prometheus.report_collector import LatestReportCollector, gauge

PRECISION = ("fraud_realised_precision", "Share of alerts later confirmed as fraud, per model version.")
RECALL = ("fraud_realised_recall", "Share of confirmed frauds the model flagged, per model version.")
LABELLED = ("fraud_labelled_transactions", "Labelled transactions in the latest quality report's window.")
# Recall's denominator: FraudRealisedRecallLow waits for enough of these, not of labels (500 labels can hold
# one fraud, whose miss reads as 0% recall).
FRAUDS = ("fraud_labelled_frauds", "Confirmed frauds among the latest quality report's labelled rows.")
MEASURED = (
    "fraud_quality_measured_timestamp_seconds",
    "When the latest quality report was measured (Unix seconds; `fraud quality measure`, daily).",
)


class QualityCollector(LatestReportCollector[QualityReport]):
    def describe(self) -> Iterator[Metric]:
        """The names without reading the store (the registry calls this when the collector is registered)."""
        return iter([*self._families(), GaugeMetricFamily(*MEASURED)])

    def gauges(self, report: QualityReport) -> Iterator[Metric]:
        yield gauge(*MEASURED, report.measured_at.timestamp())
        precision, recall, labelled, frauds = self._families()
        for model in report.models:
            version = [str(model.model_version)]
            labelled.add_metric(version, model.labelled)
            frauds.add_metric(version, model.true_positives + model.false_negatives)
            if model.precision is not None:
                precision.add_metric(version, model.precision)
            if model.recall is not None:
                recall.add_metric(version, model.recall)
        yield from (family for family in (precision, recall, labelled, frauds) if family.samples)

    @staticmethod
    def _families() -> list[GaugeMetricFamily]:
        return [
            GaugeMetricFamily(name, documentation, labels=["model_version"])
            for name, documentation in (PRECISION, RECALL, LABELLED, FRAUDS)
        ]
