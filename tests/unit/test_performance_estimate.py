"""The label-free performance estimate (CBPE), its calibration, the reliability curve and the Brier score;
and the estimate carried beside the realised figures in a quality report."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest
from sklearn.metrics import brier_score_loss

from fraud_detection.application.feedback import MeasureRealisedQuality
from fraud_detection.application.feedback.measure import VersionCalibration
from fraud_detection.domain.drift.estimate import (
    RELIABILITY_EDGES,
    PerformanceEstimate,
    ReliabilityBin,
    brier_score,
    calibrated,
    estimate_performance,
    reliability,
)
from fraud_detection.domain.drift.profile import DistributionProfile, ReferenceProfile
from fraud_detection.domain.feedback import (
    LabelRecord,
    ScoredTransaction,
    TimeWindow,
    realised_quality,
)
from fraud_detection.domain.reports import QUALITY
from fraud_detection.infrastructure.documents.reports import ObjectStoreReports
from tests.drift_fakes import FakeReferenceProfiles
from tests.fakes import FakeObjectStore
from tests.feedback_fakes import FakeFeedbackStore

NOW = datetime(2026, 5, 1, 12, 0, tzinfo=UTC)


# the estimate by hand


def test_the_estimate_of_a_small_window_by_hand() -> None:
    """Alerts 0.9 and 0.6 (at or above 0.5): 1.5 expected true positives; 1.9 expected frauds in all."""
    estimate = estimate_performance(np.array([0.9, 0.6, 0.3, 0.1]), threshold=0.5)
    assert (estimate.rows, estimate.alerts) == (4, 2)
    assert estimate.expected_frauds == pytest.approx(1.9)
    assert estimate.expected_true_positives == pytest.approx(1.5)
    assert estimate.precision == pytest.approx(1.5 / 2)
    assert estimate.recall == pytest.approx(1.5 / 1.9)


def test_a_score_equal_to_the_threshold_is_an_alert_and_missing_scores_are_left_out() -> None:
    estimate = estimate_performance(np.array([0.5, 0.2, np.nan, np.inf, -np.inf]), threshold=0.5)
    assert (estimate.rows, estimate.alerts) == (2, 1)
    assert estimate.expected_true_positives == 0.5
    assert estimate.expected_frauds == pytest.approx(0.7)


def test_precision_is_undefined_without_alerts_and_recall_without_expected_frauds() -> None:
    no_alerts = estimate_performance(np.array([0.1, 0.2]), threshold=0.5)
    assert (no_alerts.precision, no_alerts.recall) == (None, 0.0)
    no_frauds = estimate_performance(np.array([0.0, 0.0]), threshold=0.0)  # alerts, but no chance at all
    assert (no_frauds.precision, no_frauds.recall) == (0.0, None)
    empty = estimate_performance(np.array([]), threshold=0.5)
    assert empty == PerformanceEstimate(0, 0, 0.0, 0.0)
    assert (empty.precision, empty.recall) == (None, None)


def test_the_estimate_round_trips_through_json_with_its_derived_figures() -> None:
    estimate = PerformanceEstimate(
        rows=1_000, alerts=8, expected_frauds=12.5, expected_true_positives=6.0, precision_error=0.03,
        recall_error=0.06,
    )  # fmt: skip
    document = json.loads(json.dumps(estimate.to_dict()))
    assert document == {
        "rows": 1_000, "alerts": 8, "expected_frauds": 12.5, "expected_true_positives": 6.0,
        "precision_error": 0.03, "recall_error": 0.06, "precision": 0.75, "recall": 0.48,
    }  # fmt: skip
    assert PerformanceEstimate.from_dict(document) == estimate
    undefined = PerformanceEstimate(10, 0, 0.0, 0.0).to_dict()
    assert (undefined["precision"], undefined["recall"]) == (None, None)
    assert (undefined["precision_error"], undefined["recall_error"]) == (None, None)


def test_an_estimate_stored_without_its_errors_still_reads() -> None:
    document = {"rows": 10, "alerts": 2, "expected_frauds": 1.0, "expected_true_positives": 0.5}
    assert PerformanceEstimate.from_dict(document) == PerformanceEstimate(10, 2, 1.0, 0.5, None, None)


# the estimate's sampling errors (delta method for a ratio of sums)


def test_the_errors_of_a_small_window_by_hand() -> None:
    """Alerts 0.9 and 0.6: precision 0.75, residuals 0.15 and -0.15 (0 elsewhere), variance 0.01125 over
    four rows: sqrt(4 * 0.01125) / 2 alerts."""
    estimate = estimate_performance(np.array([0.9, 0.6, 0.3, 0.1]), threshold=0.5)
    assert estimate.precision_error == pytest.approx(np.sqrt(4 * 0.01125) / 2)
    recall = 1.5 / 1.9
    residuals = np.array([0.9, 0.6, 0.0, 0.0]) - recall * np.array([0.9, 0.6, 0.3, 0.1])
    assert estimate.recall_error == pytest.approx(np.sqrt(4 * residuals.var()) / 1.9)


def test_alerts_all_scored_alike_have_no_precision_error() -> None:
    estimate = estimate_performance(np.array([0.8, 0.8, 0.1, 0.2]), threshold=0.5)
    assert estimate.precision_error == pytest.approx(0.0, abs=1e-15)
    assert estimate.recall_error is not None
    assert estimate.recall_error > 0


def test_the_errors_are_undefined_where_the_figures_are() -> None:
    no_alerts = estimate_performance(np.array([0.1, 0.2]), threshold=0.5)
    assert (no_alerts.precision_error, no_alerts.recall_error is None) == (None, False)
    no_chance = estimate_performance(np.array([0.0, 0.0]), threshold=0.5)
    assert (no_chance.precision_error, no_chance.recall_error) == (None, None)
    one_row = estimate_performance(np.array([0.9]), threshold=0.5)
    assert (one_row.precision_error, one_row.recall_error) == (None, None)


# calibration: the prior correction of up-weighted positives


def test_no_weight_leaves_the_probabilities_as_they_are_clipped_to_0_1() -> None:
    p = np.array([0.0, 0.001, 0.5, 0.97, 1.0])
    np.testing.assert_array_equal(calibrated(p), p)
    np.testing.assert_array_equal(calibrated(p, 1.0), p)
    np.testing.assert_array_equal(calibrated(np.array([-0.1, 1.2])), [0.0, 1.0])


@pytest.mark.parametrize("weight", [2.0, 4.0, 99.0])
def test_a_weight_divides_the_odds(weight: float) -> None:
    """Up-weighting positives by w multiplies the odds the model learns by w: p = 0.5 is 1 / (1 + w)."""
    assert calibrated(np.array([0.5]), weight)[0] == pytest.approx(1 / (1 + weight))
    p = np.array([0.01, 0.2, 0.5, 0.8, 0.99])
    c = calibrated(p, weight)
    np.testing.assert_allclose(c / (1 - c), p / (1 - p) / weight, rtol=1e-12)
    assert np.all(np.diff(c) > 0)  # the order of the rows, hence every alert, is kept
    np.testing.assert_array_equal(calibrated(np.array([0.0, 1.0]), weight), [0.0, 1.0])


def test_a_weight_below_one_raises_the_probabilities() -> None:
    assert calibrated(np.array([0.5]), 0.25)[0] == pytest.approx(0.8)


@pytest.mark.parametrize("weight", [0.0, -1.0])
def test_a_weight_that_is_not_positive_is_refused(weight: float) -> None:
    with pytest.raises(ValueError, match=rf"^positive_weight must be positive, got {weight}$"):
        calibrated(np.array([0.5]), weight)


def test_the_estimate_takes_the_chance_from_the_calibrated_probability_and_alerts_from_the_raw() -> None:
    raw = np.array([0.8, 0.5, 0.2])
    estimate = estimate_performance(raw, threshold=0.5, positive_weight=4.0)
    chance = calibrated(raw, 4.0)  # 0.5, 0.2, 0.0588
    assert estimate.alerts == 2  # raw scores at or above the threshold, as served
    assert estimate.expected_true_positives == pytest.approx(0.5 + 0.2)
    assert estimate.expected_frauds == pytest.approx(chance.sum())


# the estimate on a calibrated fixture: labels drawn from the probabilities themselves


ROWS = 200_000


@pytest.fixture(scope="module")
def calibrated_rows() -> tuple[np.ndarray, np.ndarray]:
    """Fraud chances mostly near 0 with a tail of half-recognised and recognised rows (about 0.9% fraud),
    and labels drawn Bernoulli(chance): the estimate must find the realised figures."""
    rng = np.random.default_rng(2026)
    chance = np.where(rng.random(ROWS) < 0.985, rng.beta(0.5, 200, ROWS), rng.beta(2, 2.5, ROWS))
    labels = (rng.random(ROWS) < chance).astype(np.int64)
    return chance, labels


def realised(labels: np.ndarray, raw: np.ndarray, threshold: float) -> tuple[float, float]:
    alerts, frauds = raw >= threshold, labels == 1
    hits = int((alerts & frauds).sum())
    return hits / int(alerts.sum()), hits / int(frauds.sum())


@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_on_calibrated_probabilities_the_estimate_matches_the_realised_figures(
    calibrated_rows: tuple[np.ndarray, np.ndarray], threshold: float
) -> None:
    chance, labels = calibrated_rows
    precision, recall = realised(labels, chance, threshold)
    estimate = estimate_performance(chance, threshold)
    assert estimate.expected_frauds == pytest.approx(labels.sum(), rel=0.03)
    assert estimate.precision == pytest.approx(precision, abs=0.02)
    assert estimate.recall == pytest.approx(recall, abs=0.02)


def test_the_weight_correction_recovers_the_figures_from_up_weighted_scores(
    calibrated_rows: tuple[np.ndarray, np.ndarray],
) -> None:
    """A model trained with positives weighted 5 outputs odds 5 times the true ones; corrected, the
    estimate is right again, uncorrected it is far off."""
    chance, labels = calibrated_rows
    weight = 5.0
    raw = weight * chance / (weight * chance + 1 - chance)
    np.testing.assert_allclose(calibrated(raw, weight), chance, atol=1e-12)
    precision, recall = realised(labels, raw, 0.7)
    corrected = estimate_performance(raw, 0.7, weight)
    assert corrected.precision == pytest.approx(precision, abs=0.02)
    assert corrected.recall == pytest.approx(recall, abs=0.02)
    uncorrected = estimate_performance(raw, 0.7)
    assert uncorrected.precision is not None
    assert uncorrected.precision - precision > 0.1


def test_the_errors_match_the_spread_of_the_estimate_over_random_windows(
    calibrated_rows: tuple[np.ndarray, np.ndarray],
) -> None:
    """Windows of 5,000 rows drawn from the same traffic: the estimates spread as one window's errors say."""
    chance, _ = calibrated_rows
    rng = np.random.default_rng(9)
    windows = [estimate_performance(rng.choice(chance, 5_000), 0.5) for _ in range(400)]
    for name in ("precision", "recall"):
        spread = float(np.std([getattr(w, name) for w in windows]))
        typical = float(np.median([getattr(w, f"{name}_error") for w in windows]))
        assert typical == pytest.approx(spread, rel=0.1), name


def test_on_calibrated_probabilities_the_reliability_curve_follows_the_diagonal(
    calibrated_rows: tuple[np.ndarray, np.ndarray],
) -> None:
    chance, labels = calibrated_rows
    for found in reliability(labels, chance):
        p = found.mean_probability
        standard_error = np.sqrt(p * (1 - p) / found.rows)
        assert abs(found.fraud_rate - p) < 4 * standard_error, found
    assert brier_score(labels, chance) == pytest.approx(brier_score_loss(labels, chance), rel=1e-12)


# reliability and Brier score by hand


def test_the_reliability_bins_by_hand() -> None:
    """Fixed edges; a chance on an edge falls in the bin above it, 1.0 in the last; empty bins left out."""
    chance = np.array([0.0005, 0.005, 0.005, 0.3, 0.3, 0.5, 0.95, 1.0])
    labels = np.array([0, 0, 1, 0, 1, 0, 1, 1])
    found = reliability(labels, chance)
    assert [(b.low, b.high, b.rows, b.fraud_rate) for b in found] == [
        (0.0, 0.001, 1, 0.0), (0.001, 0.01, 2, 0.5), (0.25, 0.5, 2, 0.5), (0.5, 0.75, 1, 0.0),
        (0.9, 1.0, 2, 1.0),
    ]  # fmt: skip
    np.testing.assert_allclose([b.mean_probability for b in found], [0.0005, 0.005, 0.3, 0.5, 0.975])
    assert all(isinstance(b, ReliabilityBin) for b in found)
    assert RELIABILITY_EDGES[0] == 0.0
    assert RELIABILITY_EDGES[-1] == 1.0
    assert reliability(np.array([]), np.array([])) == ()


def test_every_row_lands_in_exactly_one_bin() -> None:
    rng = np.random.default_rng(7)
    chance = np.r_[rng.random(1_000), np.array(RELIABILITY_EDGES)]
    labels = rng.integers(0, 2, len(chance))
    assert sum(found.rows for found in reliability(labels, chance)) == len(chance)


def test_the_brier_score_by_hand_and_as_sklearn_computes_it() -> None:
    labels, chance = np.array([1, 0, 0, 1]), np.array([0.9, 0.2, 0.0, 0.4])
    assert brier_score(labels, chance) == pytest.approx((0.01 + 0.04 + 0.0 + 0.36) / 4)
    rng = np.random.default_rng(8)
    chance = rng.random(5_000)
    labels = (rng.random(5_000) < chance).astype(int)
    assert brier_score(labels, chance) == pytest.approx(brier_score_loss(labels, chance), rel=1e-12)


# the estimate beside the realised figures in a quality report


def record(
    transaction_id: str, version: int, probability: float, decision: bool, is_fraud: bool
) -> LabelRecord:
    scored = ScoredTransaction(transaction_id, version, probability, decision, NOW - timedelta(hours=1))
    return LabelRecord(transaction_id, is_fraud, NOW, scored)


RECORDS = [
    record("a", 1, 0.9, True, True),
    record("b", 1, 0.6, True, False),
    record("c", 1, 0.3, False, True),
    record("d", 1, 0.1, False, False),
    record("e", 2, 0.5, True, True),
]


def test_realised_quality_carries_the_estimate_of_the_same_rows() -> None:
    window = TimeWindow.last_days(1, NOW)
    first, second = realised_quality(RECORDS, window)
    assert (first.precision, first.recall) == (0.5, 0.5)  # realised: a of a, b; a of a, c
    assert first.estimated_precision == pytest.approx((0.9 + 0.6) / 2)
    assert first.estimated_recall == pytest.approx(1.5 / 1.9)
    assert (second.estimated_precision, second.estimated_recall) == (0.5, 1.0)


def test_realised_quality_calibrates_each_versions_probabilities() -> None:
    window = TimeWindow.last_days(1, NOW)
    asked: list[tuple[int, float]] = []

    def halve_version_1(version: int, probability: float) -> float:
        asked.append((version, probability))
        return probability / 2 if version == 1 else probability

    first, second = realised_quality(RECORDS, window, halve_version_1)
    assert asked == [(1, 0.9), (1, 0.6), (1, 0.3), (1, 0.1), (2, 0.5)]
    assert first.estimated_precision == pytest.approx(0.75 / 2)
    assert first.estimated_recall == pytest.approx(1.5 / 1.9)  # halving every chance leaves the ratio
    assert (first.precision, first.recall) == (0.5, 0.5)  # labels, not chances
    assert second.estimated_precision == 0.5


def profile(version: int, positive_weight: float) -> ReferenceProfile:
    quantiles = np.linspace(0.0, 1.0, 1001)
    return ReferenceProfile(
        model_name="fraud-lgbm", model_version=version, features=(),
        score=DistributionProfile("score", quantiles, 10), alerts=1, scored_rows=10, threshold=0.5,
        created_at="2026-04-01T00:00:00+00:00", positive_weight=positive_weight,
    )  # fmt: skip


class CountingProfiles(FakeReferenceProfiles):
    def __init__(self) -> None:
        super().__init__()
        self.loads: list[tuple[str, int]] = []

    def load(self, model_name: str, version: int) -> ReferenceProfile | None:
        self.loads.append((model_name, version))
        return super().load(model_name, version)


def test_a_versions_calibration_uses_its_profiles_positive_weight_read_once() -> None:
    profiles = CountingProfiles()
    profiles.save(profile(1, 3.0))
    profiles.save(profile(2, 1.0))
    calibrate = VersionCalibration(profiles, "fraud-lgbm")
    assert calibrate(1, 0.5) == pytest.approx(0.25)  # 1 / (1 + 3)
    assert calibrate(1, 0.9) == pytest.approx(float(calibrated(np.array([0.9]), 3.0)[0]))
    assert calibrate(2, 0.5) == 0.5
    assert calibrate(7, 0.5) == 0.5  # no profile: taken as calibrated
    assert calibrate(7, 0.4) == 0.4
    assert profiles.loads == [("fraud-lgbm", 1), ("fraud-lgbm", 2), ("fraud-lgbm", 7)]


def test_the_measured_report_carries_the_calibrated_estimate_and_is_the_latest() -> None:
    store, reports, profiles = (
        FakeFeedbackStore(),
        ObjectStoreReports(FakeObjectStore()),
        FakeReferenceProfiles(),
    )
    assert reports.latest(QUALITY) is None  # before the first measurement
    profiles.save(profile(1, 3.0))
    for item in RECORDS[:4]:
        store.record_scored([item.scored])
        store.add_label(item.transaction_id, item.is_fraud, NOW)
    measure = MeasureRealisedQuality(
        store, reports, clock=lambda: NOW, calibrate=VersionCalibration(profiles, "fraud-lgbm")
    )
    (model,) = measure(days=1).report.models
    chance = calibrated(np.array([0.9, 0.6, 0.3, 0.1]), 3.0)
    assert model.estimated_precision == pytest.approx(chance[:2].sum() / 2)
    assert model.estimated_recall == pytest.approx(chance[:2].sum() / chance.sum())
    latest = reports.latest(QUALITY)
    assert latest is not None
    assert latest.models == (model,)
