"""Label feedback and realised quality: the domain rules and the use cases over an in-memory store."""

import json
from datetime import UTC, datetime, timedelta

import pytest

from fraud_detection.application.feedback import MeasureRealisedQuality, RecordFeedback
from fraud_detection.domain.errors import InvalidDataError
from fraud_detection.domain.feedback import (
    ConfusionCounts,
    LabelInput,
    LabelOutcome,
    LabelRecord,
    QualityReport,
    RealisedQuality,
    ScoredTransaction,
    TimeWindow,
    realised_quality,
)
from fraud_detection.infrastructure.documents.reports import ObjectStoreReports
from tests.fakes import FakeObjectStore
from tests.feedback_fakes import FakeFeedbackStore

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)
HOUR = timedelta(hours=1)


def scored(transaction_id: str, decision: bool, version: int = 1, at: datetime = NOW - HOUR):
    return ScoredTransaction(transaction_id, version, 0.9 if decision else 0.1, decision, at)


@pytest.fixture
def store():
    return FakeFeedbackStore()


@pytest.fixture
def record(store):
    return RecordFeedback(store, clock=lambda: NOW)


def test_each_label_gets_its_outcome_and_only_new_ones_change_anything(store, record):
    store.record_scored([scored("a", True), scored("b", False)])
    results = record([LabelInput("a", True), LabelInput("b", False), LabelInput("nope", True)])
    assert [(r.transaction_id, r.outcome) for r in results] == [
        ("a", LabelOutcome.NEW), ("b", LabelOutcome.NEW), ("nope", LabelOutcome.UNKNOWN),
    ]  # fmt: skip
    again = record([LabelInput("a", True), LabelInput("b", True)])
    assert [r.outcome for r in again] == [LabelOutcome.DUPLICATE, LabelOutcome.CONFLICT]
    assert store.labelled["b"] == (False, NOW)  # the conflicting label did not replace the first


def test_a_repeated_id_in_one_batch_sees_the_earlier_item(store, record):
    store.record_scored([scored("a", True)])
    outcomes = [
        r.outcome for r in record([LabelInput("a", True), LabelInput("a", True), LabelInput("a", False)])
    ]
    assert outcomes == [LabelOutcome.NEW, LabelOutcome.DUPLICATE, LabelOutcome.CONFLICT]


def test_label_times_default_to_now_and_naive_times_are_utc(store, record):
    store.record_scored([scored("a", True), scored("b", True)])
    record([LabelInput("a", True), LabelInput("b", True, datetime(2026, 4, 30, 8, 0))])
    assert store.labelled["a"][1] == NOW
    assert store.labelled["b"][1] == datetime(2026, 4, 30, 8, 0, tzinfo=UTC)
    assert record([]) == []


def test_a_label_dated_before_the_retention_refuses_the_call_and_records_nothing(store):
    record = RecordFeedback(store, clock=lambda: NOW, retention_days=180)
    store.record_scored([scored("a", True), scored("b", True)])
    edge = NOW - timedelta(days=180)
    with pytest.raises(InvalidDataError) as refused:
        record([LabelInput("a", True), LabelInput("b", True, edge - timedelta(seconds=1))])
    assert (refused.value.source, refused.value.row) == ("labelled_at", 1)
    assert "older than the feedback retention (180 days" in refused.value.problem
    assert store.labelled == {}  # the first label was not recorded either
    assert [r.outcome for r in record([LabelInput("b", True, edge)])] == [LabelOutcome.NEW]  # the edge is in


def test_an_import_judges_the_retention_from_the_time_it_checked_its_file(store):
    """`fraud feedback import` checks the whole file, then records it chunk by chunk: judged from each
    chunk's own now, a row at the edge passed the check and was refused after earlier chunks were stored."""
    later = RecordFeedback(store, clock=lambda: NOW + HOUR, retention_days=180)
    store.record_scored([scored("a", True)])
    at_the_edge = NOW - timedelta(days=180)
    with pytest.raises(InvalidDataError):
        later([LabelInput("a", True, at_the_edge)])
    outcomes = later([LabelInput("a", True, at_the_edge)], checked_at=NOW)
    assert [r.outcome for r in outcomes] == [LabelOutcome.NEW]


def test_outcomes_that_count_as_accepted():
    assert {o for o in LabelOutcome if o.accepted} == {LabelOutcome.NEW, LabelOutcome.DUPLICATE}


def labelled_world(store: FakeFeedbackStore) -> None:
    """Version 1: TP a g i, FP c, FN d h, TN e f; version 2: FP x, TN y (no fraud: recall undefined)."""
    rows = {"a": (True, True), "c": (True, False), "d": (False, True), "e": (False, False),
            "f": (False, False), "g": (True, True), "h": (False, True), "i": (True, True)}  # fmt: skip
    store.record_scored([scored(tid, decision) for tid, (decision, _) in rows.items()])
    store.record_scored([scored("x", True, version=2), scored("y", False, version=2)])
    store.record_scored([scored("old", True, at=NOW - timedelta(days=40))])  # outside a 30-day window
    store.record_scored([scored("unlabelled", True)])
    for tid, (_, is_fraud) in rows.items():
        store.add_label(tid, is_fraud, NOW)
    store.add_label("x", False, NOW)
    store.add_label("y", False, NOW)
    store.add_label("old", True, NOW)


def test_realised_precision_and_recall_per_version_match_a_hand_count(store):
    labelled_world(store)
    stored = MeasureRealisedQuality(store, ObjectStoreReports(FakeObjectStore()), clock=lambda: NOW)(days=30)
    first, second = stored.report.models
    assert (first.model_version, first.labelled) == (1, 8)
    assert (first.true_positives, first.false_positives, first.false_negatives, first.true_negatives) == (
        3, 1, 2, 2,
    )  # fmt: skip
    assert first.precision == pytest.approx(3 / 4)
    assert first.recall == pytest.approx(3 / 5)
    assert (second.model_version, second.labelled, second.precision, second.recall) == (2, 2, 0.0, None)
    assert stored.report.labelled == 10  # "old" was scored before the window


QUALITY_REPORTS_PREFIX, QUALITY_LATEST_KEY = "quality/reports/", "quality/latest.json"


def test_the_report_is_stored_as_latest_and_as_a_timestamped_copy(store):
    labelled_world(store)
    objects = FakeObjectStore()
    stored = MeasureRealisedQuality(store, ObjectStoreReports(objects), clock=lambda: NOW)(days=30)
    copies = [key for key in objects.objects if key.startswith(QUALITY_REPORTS_PREFIX)]
    assert copies == [f"{QUALITY_REPORTS_PREFIX}20260501T120000.000000Z.json"]
    assert objects.objects[copies[0]] == objects.objects[QUALITY_LATEST_KEY]
    assert stored.latest_uri == f"memory://{QUALITY_LATEST_KEY}"
    document = json.loads(objects.objects[QUALITY_LATEST_KEY])
    assert document["window"] == {"start": "2026-04-01T12:00:00+00:00", "end": "2026-05-01T12:00:00+00:00"}
    assert document["models"][1] == {
        "model_version": 2, "labelled": 2, "precision": 0.0, "recall": None, "true_positives": 0,
        "false_positives": 1, "false_negatives": 0, "true_negatives": 1,
        "estimated_precision": 0.9, "estimated_recall": 0.9,  # x scored 0.9 (the alert), y 0.1
    }  # fmt: skip
    assert QualityReport.from_dict(document) == stored.report


def test_no_labels_gives_an_empty_report(store):
    stored = MeasureRealisedQuality(store, ObjectStoreReports(FakeObjectStore()), clock=lambda: NOW)(days=7)
    assert stored.report.models == ()
    assert stored.report.labelled == 0


@pytest.mark.parametrize("days", [0, -1, float("nan"), 1e9])
def test_a_window_that_makes_no_sense_is_refused_naming_days(store, days):
    with pytest.raises(InvalidDataError, match="days"):
        MeasureRealisedQuality(store, ObjectStoreReports(FakeObjectStore()), clock=lambda: NOW)(days=days)


def test_window_is_half_open_over_scoring_time():
    window = TimeWindow.last_days(1, NOW)
    records = [
        _record("start", NOW - timedelta(days=1)),
        _record("end", NOW),  # scored at the end: outside [start, end)
    ]
    (quality,) = realised_quality(records, window)
    assert quality.labelled == 1


def test_precision_and_recall_are_undefined_without_alerts_or_frauds():
    window = TimeWindow.last_days(1, NOW)
    counts = ConfusionCounts(true_negatives=3)
    quality = RealisedQuality.of(4, counts, window)
    assert (quality.labelled, quality.precision, quality.recall) == (3, None, None)


def test_a_report_of_another_shape_is_refused():
    good = QualityReport(NOW, TimeWindow.last_days(1, NOW)).to_dict()
    assert QualityReport.from_dict(good).models == ()
    with pytest.raises((KeyError, TypeError, ValueError)):
        QualityReport.from_dict({"window": good["window"]})
    with pytest.raises((KeyError, TypeError, ValueError)):
        QualityReport.from_dict(good | {"models": [{"model_version": 1, "labelled": 2, "precision": "high"}]})


def _record(transaction_id: str, at: datetime):
    return LabelRecord(transaction_id, True, NOW, scored(transaction_id, True, at=at))
