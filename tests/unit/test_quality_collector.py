"""Realised-quality gauges exported from the latest stored report: cached, absent without a report."""

import json
import logging
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest

from fraud_detection.domain.feedback import ConfusionCounts, QualityReport, RealisedQuality, TimeWindow
from fraud_detection.domain.reports import QUALITY
from fraud_detection.infrastructure.documents.reports import ObjectStoreReports
from fraud_detection.infrastructure.prometheus.cached_read import CachedLatest
from fraud_detection.infrastructure.prometheus.quality_collector import QualityCollector
from tests.fakes import FakeObjectStore

KEY = "quality/latest.json"
NOW = datetime(2026, 5, 1, tzinfo=UTC)


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


def write_report(store: FakeObjectStore, *models: tuple[int, ConfusionCounts]) -> None:
    window = TimeWindow.last_days(30, NOW)
    report = QualityReport(NOW, window, tuple(RealisedQuality.of(v, counts, window) for v, counts in models))
    store.write_bytes(KEY, json.dumps(report.to_dict()).encode())


def exposition(store: FakeObjectStore, clock: Clock) -> tuple[CollectorRegistry, CachedLatest[QualityReport]]:
    registry = CollectorRegistry(auto_describe=True)
    latest = CachedLatest(ObjectStoreReports(store), QUALITY, ttl_seconds=15, clock=clock)
    registry.register(QualityCollector(latest))
    return registry, latest


def text(registry: CollectorRegistry) -> str:
    return generate_latest(registry).decode()


def test_gauges_per_model_version_from_the_latest_report():
    store = FakeObjectStore()
    write_report(store, (3, ConfusionCounts(3, 1, 2, 2)), (4, ConfusionCounts(0, 1, 0, 1)))
    registry, _ = exposition(store, Clock())
    assert registry.get_sample_value("fraud_realised_precision", {"model_version": "3"}) == 0.75
    assert registry.get_sample_value("fraud_realised_recall", {"model_version": "3"}) == 0.6
    assert registry.get_sample_value("fraud_labelled_transactions", {"model_version": "3"}) == 8
    # recall's denominator (true positives + misses): what the recall alert waits for, not the labels
    assert registry.get_sample_value("fraud_labelled_frauds", {"model_version": "3"}) == 5
    assert registry.get_sample_value("fraud_labelled_frauds", {"model_version": "4"}) == 0
    assert registry.get_sample_value("fraud_realised_precision", {"model_version": "4"}) == 0.0
    # version 4 had no fraud among its labels: recall is undefined, so no series rather than a false 0
    assert registry.get_sample_value("fraud_realised_recall", {"model_version": "4"}) is None
    assert "# TYPE fraud_realised_recall gauge" in text(registry)
    assert registry.get_sample_value("fraud_quality_measured_timestamp_seconds") == NOW.timestamp()


def test_the_measurement_time_is_exported_even_when_no_row_was_labelled():
    """FraudRealisedRecallLow judges the latest report whatever its age: its time says when the daily
    measurement stopped (FraudQualityMeasureStale), and a report with no labels still counts as one."""
    store, clock = FakeObjectStore(), Clock()
    write_report(store)
    registry, _ = exposition(store, clock)
    assert registry.get_sample_value("fraud_quality_measured_timestamp_seconds") == NOW.timestamp()
    assert "# TYPE fraud_quality_measured_timestamp_seconds gauge" in text(registry)
    assert "fraud_realised" not in text(registry)
    later = datetime(2026, 5, 2, 4, 30, tzinfo=UTC)
    window = TimeWindow.last_days(30, later)
    store.write_bytes(KEY, json.dumps(QualityReport(later, window).to_dict()).encode())
    clock.now = 15.0
    assert registry.get_sample_value("fraud_quality_measured_timestamp_seconds") == later.timestamp()


def test_registration_names_every_gauge_without_a_report():
    collector = QualityCollector(CachedLatest(ObjectStoreReports(FakeObjectStore()), QUALITY, ttl_seconds=15))
    assert {family.name for family in collector.describe()} == {
        "fraud_realised_precision",
        "fraud_realised_recall",
        "fraud_labelled_transactions",
        "fraud_labelled_frauds",
        "fraud_quality_measured_timestamp_seconds",
    }


class CountingStore(FakeObjectStore):
    def __init__(self) -> None:
        super().__init__()
        self.reads = 0

    def read_bytes(self, key: str) -> bytes:
        self.reads += 1
        return super().read_bytes(key)


def test_no_report_means_no_series_and_registration_reads_nothing():
    store = CountingStore()
    registry, _ = exposition(store, Clock())
    assert store.reads == 0  # the app factory registers it: no store call at start-up
    assert "fraud_realised" not in text(registry)
    assert store.reads == 1
    assert "fraud_labelled_transactions" not in text(registry)
    assert "fraud_quality_measured" not in text(registry)  # no report: no age (no alert on a fresh install)


def test_the_read_is_cached_for_the_ttl():
    store, clock = FakeObjectStore(), Clock()
    write_report(store, (1, ConfusionCounts(1, 1, 0, 0)))
    registry, _ = exposition(store, clock)
    assert registry.get_sample_value("fraud_realised_precision", {"model_version": "1"}) == 0.5
    write_report(store, (1, ConfusionCounts(1, 0, 0, 0)))
    clock.now = 14.9
    assert registry.get_sample_value("fraud_realised_precision", {"model_version": "1"}) == 0.5
    clock.now = 15.0
    assert registry.get_sample_value("fraud_realised_precision", {"model_version": "1"}) == 1.0


def test_an_unreadable_report_keeps_the_previous_one_and_is_logged(caplog):
    store, clock = FakeObjectStore(), Clock()
    write_report(store, (1, ConfusionCounts(1, 1, 0, 0)))
    registry, _ = exposition(store, clock)
    assert registry.get_sample_value("fraud_realised_precision", {"model_version": "1"}) == 0.5
    store.write_bytes(KEY, b'{"not": "a report"}')
    clock.now = 100
    with caplog.at_level(logging.WARNING):
        assert registry.get_sample_value("fraud_realised_precision", {"model_version": "1"}) == 0.5
    assert "quality/latest.json" in caplog.text
    store.delete(KEY)  # deleted on purpose: no report, no series
    clock.now = 200
    assert registry.get_sample_value("fraud_realised_precision", {"model_version": "1"}) is None
