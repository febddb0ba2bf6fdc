"""Feedback domain rules at their edges: label names the API shows, the window's validation, confusion
counting, and the quality document's exact shape, defaults, types and time zones."""

import time
from datetime import UTC, datetime, timedelta

import pytest

from fraud_detection.domain.feedback import (
    ConfusionCounts,
    QualityReport,
    RealisedQuality,
    TimeWindow,
    label_name,
)

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
WINDOW = TimeWindow(NOW - timedelta(days=1), NOW)


@pytest.fixture
def tokyo_local_time(monkeypatch):
    """The machine's local zone is not UTC, so reading naive or foreign times as local would show."""
    monkeypatch.setenv("TZ", "Asia/Tokyo")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def test_label_names():
    assert (label_name(True), label_name(False)) == ("fraud", "legit")


@pytest.mark.parametrize("days", [0, -1.5])
def test_a_window_needs_a_positive_length(days):
    with pytest.raises(ValueError, match=r"^days must be positive, got ") as error:
        TimeWindow.last_days(days, NOW)
    assert str(error.value) == f"days must be positive, got {days!r}"


def test_a_window_of_a_fraction_of_a_day():
    assert TimeWindow.last_days(0.5, NOW) == TimeWindow(NOW - timedelta(hours=12), NOW)


def test_confusion_counts_accumulate_each_cell():
    counts = ConfusionCounts()
    for decision, is_fraud, times in ((True, True, 3), (True, False, 2), (False, True, 4), (False, False, 5)):
        for _ in range(times):
            counts.add(decision, is_fraud)
    assert counts == ConfusionCounts(true_positives=3, false_positives=2, false_negatives=4, true_negatives=5)
    assert counts.labelled == 14


def test_confusion_counts_sum_the_chances_of_every_row_and_of_the_alerts():
    """The label-free estimate: every row's chance counts towards the expected frauds, an alert's also
    towards the expected true positives, whatever its label."""
    counts = ConfusionCounts()
    for decision, is_fraud, chance in ((True, True, 0.5), (True, False, 0.25), (False, True, 0.125)):
        counts.add(decision, is_fraud, chance)
    assert (counts.expected_true_positives, counts.expected_frauds) == (0.75, 0.875)
    quality = RealisedQuality.of(1, counts, WINDOW)
    assert (quality.estimated_precision, quality.estimated_recall) == (0.75 / 2, 0.75 / 0.875)
    assert (quality.precision, quality.recall) == (0.5, 0.5)


def test_estimated_figures_are_undefined_without_alerts_or_expected_frauds():
    no_alert = RealisedQuality.of(1, ConfusionCounts(true_negatives=3, expected_frauds=0.2), WINDOW)
    assert (no_alert.estimated_precision, no_alert.estimated_recall) == (None, 0.0)
    no_chance = RealisedQuality.of(1, ConfusionCounts(true_positives=1), WINDOW)
    assert (no_chance.estimated_precision, no_chance.estimated_recall) == (0.0, None)


def test_recall_when_as_many_frauds_are_caught_as_missed():
    quality = RealisedQuality.of(1, ConfusionCounts(1, 0, 1, 0), WINDOW)
    assert (quality.precision, quality.recall, quality.labelled) == (1.0, 0.5, 2)


def test_quality_document_has_its_exact_keys():
    counts = ConfusionCounts(2, 1, 1, 4, expected_true_positives=1.5, expected_frauds=2.5)
    model = RealisedQuality.of(3, counts, WINDOW)
    report = QualityReport(NOW, WINDOW, (model,))
    assert report.to_dict() == {
        "measured_at": "2026-05-01T12:00:00+00:00",
        "window": {"start": "2026-04-30T12:00:00+00:00", "end": "2026-05-01T12:00:00+00:00"},
        "labelled": 8,
        "models": [
            {
                "model_version": 3,
                "labelled": 8,
                "precision": 2 / 3,
                "recall": 2 / 3,
                "true_positives": 2,
                "false_positives": 1,
                "false_negatives": 1,
                "true_negatives": 4,
                "estimated_precision": 1.5 / 3,  # expected true positives over the 3 alerts
                "estimated_recall": 1.5 / 2.5,  # over the expected frauds
            }
        ],
    }
    assert QualityReport.from_dict(report.to_dict()) == report


def test_a_document_without_the_confusion_counts_reads_them_as_zero():
    """Reports written before the counts were stored hold only version, labelled, precision and recall."""
    document = QualityReport(NOW, WINDOW).to_dict() | {
        "models": [{"model_version": 2, "labelled": 5, "precision": 0.5, "recall": None}]
    }
    (model,) = QualityReport.from_dict(document).models
    assert model == RealisedQuality(2, 5, 0.5, None, WINDOW, 0, 0, 0, 0)


@pytest.mark.parametrize("value", [True, "high", [0.5]])
def test_precision_must_be_a_number_or_null(value):
    document = QualityReport(NOW, WINDOW).to_dict() | {
        "models": [{"model_version": 1, "labelled": 2, "precision": value, "recall": 1}]
    }
    with pytest.raises(TypeError) as error:
        QualityReport.from_dict(document)
    assert str(error.value) == f"expected a number or null, got {value!r}"


def test_integer_precision_is_read_as_a_float():
    document = QualityReport(NOW, WINDOW).to_dict() | {
        "models": [{"model_version": 1, "labelled": 2, "precision": 1, "recall": 0}]
    }
    (model,) = QualityReport.from_dict(document).models
    assert (model.precision, model.recall) == (1.0, 0.0)
    assert type(model.precision) is float


@pytest.mark.usefixtures("tokyo_local_time")
def test_times_in_a_document_are_read_as_utc_whatever_the_local_zone():
    """Naive times are UTC (not local); times with another offset are converted to UTC."""
    document = {
        "measured_at": "2026-05-01T14:00:00+02:00",
        "window": {"start": "2026-04-30T12:00:00", "end": "2026-05-01T21:00:00+09:00"},
        "models": [],
    }
    report = QualityReport.from_dict(document)
    assert report.measured_at == NOW
    assert report.measured_at.utcoffset() == timedelta(0)
    assert report.window == WINDOW
    for moment in (report.measured_at, report.window.start, report.window.end):
        assert moment.tzinfo == UTC
        assert moment.isoformat().endswith("+00:00")
    assert report.to_dict()["window"] == {
        "start": "2026-04-30T12:00:00+00:00",
        "end": "2026-05-01T12:00:00+00:00",
    }
    assert TimeWindow.from_dict({"start": "2026-04-30T12:00:00", "end": "2026-05-01T12:00:00"}) == WINDOW
