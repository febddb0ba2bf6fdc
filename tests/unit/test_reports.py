"""One report adapter for validation, quality and drift, in the object layout operators and docs know."""

import json
from datetime import UTC, datetime

import pytest

from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.domain.feedback import QualityReport, TimeWindow
from fraud_detection.domain.reports import DRIFT, QUALITY, VALIDATION
from fraud_detection.domain.validation import ExpectationOutcome, ValidationReport
from fraud_detection.infrastructure.documents.reports import ObjectStoreReports
from tests.fakes import FakeObjectStore

NOW = datetime(2026, 5, 1, tzinfo=UTC)


def test_drift_reports_keep_their_chart_and_a_latest_copy():
    store = FakeObjectStore()
    saved = ObjectStoreReports(store).save(DRIFT, "r1", {"id": "r1"}, {".png": b"PNG"})
    assert saved.uri == "memory://drift/reports/r1.json"
    assert saved.latest_uri == "memory://drift/latest.json"
    assert saved.attachments == {".png": "memory://drift/reports/r1.png"}
    assert store.objects["drift/reports/r1.png"] == b"PNG"
    assert store.objects["drift/latest.json"] == store.objects["drift/reports/r1.json"]


def test_quality_reports_read_back_from_the_latest_copy():
    store = FakeObjectStore()
    reports = ObjectStoreReports(store)
    assert reports.latest(QUALITY) is None
    report = QualityReport(NOW, TimeWindow.last_days(1, NOW), ())
    reports.save(QUALITY, "20260501T000000.000000Z", report.to_dict() | {"days": 1})
    assert set(store.objects) == {"quality/reports/20260501T000000.000000Z.json", "quality/latest.json"}
    assert reports.latest(QUALITY) == report


def test_validation_reports_are_kept_per_dataset_without_a_latest_copy():
    store = FakeObjectStore()
    outcome = ExpectationOutcome("expect_x", "Amount", True, {"max_value": 1.0}, 0.5)
    report = ValidationReport("abc", "transactions", (outcome,), NOW.isoformat())
    saved = ObjectStoreReports(store).save(VALIDATION, "abc", report.to_dict(), {".html": b"<html>"})
    assert (saved.uri, saved.latest_uri) == ("memory://reports/validation/abc.json", None)
    assert set(store.objects) == {"reports/validation/abc.json", "reports/validation/abc.html"}
    assert ValidationReport.from_dict(json.loads(store.objects["reports/validation/abc.json"])) == report


def test_an_unreadable_latest_names_its_object():
    store = FakeObjectStore()
    store.write_bytes("quality/latest.json", b'{"not": "a report"}')
    with pytest.raises(InvalidDataError, match=r"quality/latest\.json: not a quality report"):
        ObjectStoreReports(store).latest(QUALITY)
