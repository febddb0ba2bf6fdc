"""Drift gauges for /metrics, read from the latest stored drift report at scrape time.

Checks run elsewhere (the CLI, the Prefect flow, the Lambda); the API is the process Prometheus already
scrapes, so it exports what the latest check found. The read is cached for `ttl_seconds` so a scrape every
few seconds costs one small object-store read per interval; no report yet means no series.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime

from prometheus_client.core import GaugeMetricFamily, Metric

from fraud_detection.domain.drift.report import DriftReport
from fraud_detection.infrastructure.prometheus.report_collector import LatestReportCollector, gauge


class DriftCollector(LatestReportCollector[DriftReport]):
    def gauges(self, report: DriftReport) -> Iterator[Metric]:
        yield gauge(
            "fraud_model_at_risk",
            "1 when the latest drift check found the served model at risk (a check that publishes, as the "
            "scheduled ones do, starts a retrain).",
            report.at_risk,
        )
        yield gauge(
            "fraud_input_drift_detected",
            "1 when the latest drift check found input drift (a diagnostic: it never retrains by itself).",
            report.input_drift,
        )
        yield gauge(
            "fraud_drift_insufficient_data",
            "1 when the latest drift check had too few rows to decide.",
            report.status == "insufficient_data",
        )
        yield gauge("fraud_drift_window_rows", "Rows in the latest drift check's window.", report.window.rows)
        yield gauge(
            "fraud_drift_last_check_timestamp_seconds",
            "When the latest drift check ran.",
            datetime.fromisoformat(report.checked_at).timestamp(),
        )
        yield gauge(
            "fraud_drift_skipped_files",
            "Captured files the latest drift check skipped (corrupt or another schema).",
            len(report.window.skipped_files),
        )
        yield from self._columns(report)
        yield from self._evidence(report)
        if report.alert_rate is not None:
            rate = GaugeMetricFamily(
                "fraud_drift_alert_rate", "Share of rows flagged as fraud.", labels=["window"]
            )
            rate.add_metric(["observed"], report.alert_rate.observed_rate)
            rate.add_metric(["reference"], report.alert_rate.reference_rate)
            yield rate

    @staticmethod
    def _evidence(report: DriftReport) -> Iterator[Metric]:
        if not report.evidence:
            return
        fired = GaugeMetricFamily(
            "fraud_drift_evidence_fired",
            "1 for each piece of model-at-risk evidence that fired.",
            labels=["evidence"],
        )
        effect = GaugeMetricFamily(
            "fraud_drift_evidence_effect",
            "Each piece of evidence's effect size and the floor it must reach.",
            labels=["evidence", "value"],
        )
        estimated = GaugeMetricFamily(
            "fraud_estimated_quality",
            "Precision and recall at the threshold estimated from the scores (no labels), and the "
            "reference's estimate.", labels=["metric", "window"],
        )  # fmt: skip
        for item in report.evidence:
            fired.add_metric([item.name], float(item.fired))
            if item.effect is not None:
                effect.add_metric([item.name, "effect"], item.effect)
                effect.add_metric([item.name, "floor"], item.floor)
            metric = item.name.removeprefix("estimated_")
            if metric != item.name:
                for window, value in (("observed", item.observed), ("reference", item.reference)):
                    if value is not None:
                        estimated.add_metric([metric, window], value)
        yield from (fired, effect, estimated)

    @staticmethod
    def _columns(report: DriftReport) -> Iterator[Metric]:
        if not report.columns:
            return
        families = {
            "psi": GaugeMetricFamily(
                "fraud_drift_feature_psi", "PSI of each input (and the score) in the latest check.",
                labels=["feature"],
            ),
            "ks": GaugeMetricFamily(
                "fraud_drift_feature_ks_statistic", "KS distance of each input (and the score).",
                labels=["feature"],
            ),
            "drifted": GaugeMetricFamily(
                "fraud_drift_feature_drifted", "1 for inputs the latest check found drifted.",
                labels=["feature"],
            ),
        }  # fmt: skip
        for column in report.columns:
            families["psi"].add_metric([column.name], column.psi)
            families["ks"].add_metric([column.name], column.ks_statistic)
            families["drifted"].add_metric([column.name], float(column.drifted))
        yield from families.values()
