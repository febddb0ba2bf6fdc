"""One report adapter for validation, quality and drift, in the object layout operators and docs know."""

import json
import logging
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


def test_a_report_kept_out_of_the_latest_is_stored_and_listed_but_never_read_as_latest():
    """A historical drift check: its document and chart are kept, the latest copy is the live one's."""
    store = FakeObjectStore()
    reports = ObjectStoreReports(store)
    live = reports.save(DRIFT, "20261101T000000Z-v1", {"id": "live"})
    past = reports.save(DRIFT, "20261102T000000Z-v0", {"id": "past"}, {".png": b"PNG"}, as_latest=False)
    assert live.latest_uri == "memory://drift/latest.json"
    assert past.latest_uri is None
    assert past.attachments == {".png": "memory://drift/reports/20261102T000000Z-v0.png"}
    assert json.loads(store.objects["drift/latest.json"]) == {"id": "live"}
    assert json.loads(store.objects["drift/reports/20261102T000000Z-v0.json"]) == {"id": "past"}


def test_an_unreadable_report_is_skipped_naming_it_and_the_others_listed(caplog):
    """One stray or hand-edited file under drift/reports/ made `fraud drift list` exit 2 for every report."""
    caplog.set_level(logging.WARNING)  # a Celery worker started in this process may leave the root at ERROR
    store = FakeObjectStore()
    reports = ObjectStoreReports(store)
    for day in (1, 2, 3):
        report = QualityReport(NOW.replace(day=day), TimeWindow.last_days(1, NOW.replace(day=day)), ())
        reports.save(QUALITY, f"2026050{day}T000000.000000Z", report.to_dict())
    store.objects["quality/reports/20260502T000000.000000Z.json"] = b"{not json"
    listed = reports.recent(QUALITY, 2)
    assert [name for name, _ in listed] == ["20260503T000000.000000Z", "20260501T000000.000000Z"]
    assert "quality/reports/20260502T000000.000000Z.json" in caplog.text


def test_recent_reports_are_listed_newest_first_within_the_limit():
    store = FakeObjectStore()
    reports = ObjectStoreReports(store)
    assert reports.recent(QUALITY, 5) == []
    for day in (1, 3, 2):
        report = QualityReport(NOW.replace(day=day), TimeWindow.last_days(1, NOW.replace(day=day)), ())
        reports.save(QUALITY, f"2026050{day}T000000.000000Z", report.to_dict(), as_latest=day != 3)
    listed = reports.recent(QUALITY, 2)
    assert [name for name, _ in listed] == ["20260503T000000.000000Z", "20260502T000000.000000Z"]
    assert listed[0][1].measured_at == NOW.replace(day=3)
    assert reports.latest(QUALITY).measured_at == NOW.replace(day=2)  # the last one saved as latest
