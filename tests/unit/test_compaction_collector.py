"""Compaction gauges exported from the latest stored compaction report: absent without one, the failure flag
and the backlog from the last run."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry

from fraud_detection.domain.compaction import CompactionReport, CompactionSummary
from fraud_detection.domain.reports import COMPACTION
from fraud_detection.infrastructure.documents.reports import ObjectStoreReports
from fraud_detection.infrastructure.prometheus.cached_read import CachedLatest
from fraud_detection.infrastructure.prometheus.compaction_collector import CompactionCollector
from tests.fakes import FakeObjectStore

RAN_AT = datetime(2026, 12, 5, 10, 17, tzinfo=UTC)


def registry_over(store: FakeObjectStore) -> CollectorRegistry:
    registry = CollectorRegistry(auto_describe=True)
    registry.register(CompactionCollector(CachedLatest(ObjectStoreReports(store), COMPACTION, ttl_seconds=0)))
    return registry


def save(store: FakeObjectStore, report: CompactionReport) -> None:
    store.write_bytes("drift/compaction-latest.json", json.dumps(report.to_dict()).encode())


def test_no_report_no_series() -> None:
    registry = registry_over(FakeObjectStore())
    assert registry.get_sample_value("fraud_capture_compaction_last_run_timestamp_seconds") is None


def test_a_run_exports_when_it_ran_and_its_backlog() -> None:
    store = FakeObjectStore()
    save(store, CompactionReport(RAN_AT.isoformat(), CompactionSummary(3, 360, 120_000, 240, 2)))
    registry = registry_over(store)
    assert (
        registry.get_sample_value("fraud_capture_compaction_last_run_timestamp_seconds") == RAN_AT.timestamp()
    )
    assert registry.get_sample_value("fraud_capture_compaction_failed") == 0.0
    assert registry.get_sample_value("fraud_capture_compaction_hours_left") == 2.0
    assert registry.get_sample_value("fraud_capture_compaction_files_merged") == 360.0


def test_a_failed_run_exports_the_flag_and_no_backlog() -> None:
    store = FakeObjectStore()
    save(store, CompactionReport(RAN_AT.isoformat(), None, "OSError: bucket gone"))
    registry = registry_over(store)
    assert registry.get_sample_value("fraud_capture_compaction_failed") == 1.0
    assert registry.get_sample_value("fraud_capture_compaction_hours_left") is None
