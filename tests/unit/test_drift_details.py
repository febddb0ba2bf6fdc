"""The drift rule's details on small hand-built inputs: exact figures, limits, messages and JSON forms.

Most profiles here are a "ramp": quantile i is exactly i (0..1000), so its CDF at v is v / 1000 and every
statistic can be worked out by hand.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Sequence
from dataclasses import asdict, replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pytest

from fraud_detection.application.drift.check import CheckDrift, DriftWindowSpec, _reason
from fraud_detection.application.drift.compare import Comparison, compare
from fraud_detection.domain.drift.estimate import PerformanceEstimate
from fraud_detection.domain.drift.outliers import (
    extreme_cells,
    g_statistic,
    outlier_cells,
    unusual_columns,
    window_cells,
)
from fraud_detection.domain.drift.policy import DriftPolicy
from fraud_detection.domain.drift.profile import (
    QUANTILE_POINTS,
    SCORE,
    DistributionProfile,
    OutlierSignature,
    ReferenceProfile,
)
from fraud_detection.domain.drift.report import (
    AlertRateDrift,
    ColumnDrift,
    DriftReport,
    DriftWindow,
    Evidence,
    OutlierDrift,
    Status,
)
from fraud_detection.domain.drift.statistics import (
    effective_rows,
    ks_statistic,
    population_stability_index,
)
from fraud_detection.domain.errors import ReferenceProfileMissingError
from fraud_detection.domain.ports.drift import CapturedRows, DistributionTests
from fraud_detection.domain.reports import DRIFT
from tests.drift_fakes import (
    FakeCapturedPredictions,
    FakeDriftChart,
    FakeReferenceProfiles,
    FakeReports,
    captured,
)
from tests.fakes import FakePublisher

NOV_1 = datetime(2026, 11, 1, tzinfo=UTC)


def ramp(name: str = "x", rows: int = 5_000) -> DistributionProfile:
    """A profile whose quantile i is exactly i: its CDF at v is v / 1000."""
    return DistributionProfile(name, np.arange(float(QUANTILE_POINTS)), rows)


def point_mass() -> DistributionProfile:
    """Half the reference sits on 0 (quantiles 0 to 500 are all 0), the rest climbs by 1 up to 500."""
    quantiles = np.concatenate([np.zeros(501), np.arange(1.0, 501.0)])
    return DistributionProfile("amount", quantiles, 5_000)


class RecordingTests(DistributionTests):
    """Answers fixed p-values and records what it was asked. `ks` may be one p-value per KS call, in the
    order compare asks (the input columns with values, then the score)."""

    def __init__(self, ks: float | Sequence[float] = 1.0, binomial: float = 1.0, chi2: float = 1.0) -> None:
        self.ks, self.binomial, self.chi2 = ks, binomial, chi2
        self.ks_calls: list[tuple[float, int]] = []
        self.binomial_calls: list[tuple[int, int, float]] = []
        self.chi2_calls: list[tuple[float, int]] = []

    def ks_p_value(self, statistic: float, rows: int) -> float:
        self.ks_calls.append((statistic, rows))
        return self.ks if isinstance(self.ks, float | int) else self.ks[len(self.ks_calls) - 1]

    def binomial_p_value(self, successes: int, trials: int, probability: float) -> float:
        self.binomial_calls.append((successes, trials, probability))
        return self.binomial

    def chi2_p_value(self, statistic: float, degrees_of_freedom: int) -> float:
        self.chi2_calls.append((statistic, degrees_of_freedom))
        return self.chi2


def small_reference(
    features: int = 3,
    alerts: int = 5,
    scored_rows: int = 1_000,
    outliers: OutlierSignature | None = None,
    score_name: str = SCORE,
) -> ReferenceProfile:
    return ReferenceProfile(
        model_name="fraud-lgbm",
        model_version=1,
        features=tuple(ramp(f"c{i}") for i in range(features)),
        score=DistributionProfile(score_name, np.linspace(0.0, 1.0, QUANTILE_POINTS), 1_000),
        alerts=alerts,
        scored_rows=scored_rows,
        threshold=0.5,
        created_at="2026-10-01T00:00:00+00:00",
        outliers=outliers,
    )


def even_inputs(rows: int, features: int = 3) -> np.ndarray:
    """Rows spread evenly over every ramp column (no drift anywhere), each column rolled by a different
    offset so that no row is extreme on two columns at once (no outlying rows)."""
    column = (np.arange(rows) + 0.5) * 1000 / rows
    return np.stack([np.roll(column, j * rows // (features + 1)) for j in range(features)], axis=1)


def even_scores(rows: int) -> np.ndarray:
    """Scores spread evenly over [0, 1], like the small reference's."""
    return (np.arange(rows) + 0.5) / rows


# profile


def test_a_profile_leaves_out_missing_and_infinite_values_and_names_an_empty_column() -> None:
    values = np.array([1.0, None, 3.0, np.nan, np.inf, 2.0], dtype=object)  # as a missing-value column
    profile = DistributionProfile.of("Amount", values)
    assert profile.rows == 3
    assert profile.quantiles[0] == 1.0
    assert profile.quantiles[500] == 2.0
    assert profile.quantiles[-1] == 3.0
    with pytest.raises(ValueError, match=r"^no finite values to profile for 'V3'$"):
        DistributionProfile.of("V3", np.array([np.nan, np.inf]))


def test_the_cdf_interpolates_between_quantiles_up_to_both_ends() -> None:
    """Values between the first two and the last two quantiles are interpolated like any other."""
    profile = ramp()
    probes = np.array([-1.0, 0.0, 0.5, 250.25, 999.5, 1000.0, 1e6])
    expected = [0.0, 0.0, 0.0005, 0.25025, 0.9995, 1.0, 1.0]
    np.testing.assert_allclose(profile.cdf(probes), expected, rtol=1e-12, atol=1e-15)
    strict = [0.0, 0.0, 0.0005, 0.25025, 0.9995, 0.999 + 0.001, 1.0]
    np.testing.assert_allclose(profile.cdf(probes, strict=True), strict, rtol=1e-12, atol=1e-15)


def test_the_cdf_beyond_the_reference_divides_by_no_zero_span() -> None:
    """Out-of-range values and point masses are answered without a 0/0 (no numpy warning in the logs)."""
    with np.errstate(all="raise"):
        assert ramp().cdf(np.array([-1.0, 1e9])).tolist() == [0.0, 1.0]
        assert point_mass().cdf(np.array([-1.0, 0.0, 1e9]), strict=True).tolist() == [0.0, 0.0, 1.0]


def test_the_cdf_of_a_tiny_scale_column_still_interpolates() -> None:
    """Quantiles 0.001 apart (a probability-like column): a value half-way sits half-way."""
    profile = DistributionProfile("p", np.linspace(0.0, 1.0, QUANTILE_POINTS), 100)
    assert profile.cdf(np.array([0.2505]))[0] == pytest.approx(0.2505, abs=1e-12)


def test_the_cdf_accepts_integer_probes() -> None:
    assert ramp().cdf(np.array([0, 250, 1000])).tolist() == pytest.approx([0.0, 0.25, 1.0])


def test_a_point_mass_counts_at_its_value_but_not_below_it() -> None:
    profile = point_mass()
    assert profile.cdf(np.array([0.0]))[0] == pytest.approx(0.5)
    assert profile.cdf(np.array([0.0]), strict=True)[0] == 0.0


def test_psi_bins_are_the_reference_deciles() -> None:
    profile = ramp()
    np.testing.assert_array_equal(profile.bin_edges(), [100, 200, 300, 400, 500, 600, 700, 800, 900])
    np.testing.assert_allclose(profile.bin_shares(profile.bin_edges()), [0.1] * 10, rtol=1e-9)


def test_a_point_mass_merges_psi_bins_and_its_share_starts_at_its_value() -> None:
    """Deciles 1-5 are all 0: one edge at 0, and the bin [0, 100) holds the mass and the first 100 above."""
    profile = point_mass()
    edges = profile.bin_edges()
    np.testing.assert_array_equal(edges, [0, 100, 200, 300, 400])
    np.testing.assert_allclose(profile.bin_shares(edges), [0.0, 0.6, 0.1, 0.1, 0.1, 0.1], atol=1e-12)


def test_a_profile_json_keeps_name_rows_and_float_quantiles() -> None:
    document = {"name": "V1", "rows": 1234, "quantiles": list(range(QUANTILE_POINTS))}
    profile = DistributionProfile.from_dict(json.loads(json.dumps(document)))
    assert profile.name == "V1"
    assert profile.rows == 1234
    assert profile.quantiles.dtype == np.float64
    np.testing.assert_array_equal(profile.quantiles, np.arange(QUANTILE_POINTS))
    assert profile.to_dict() == {"name": "V1", "rows": 1234, "quantiles": [float(i) for i in range(1001)]}


@pytest.mark.parametrize(
    "quantiles",
    [[1.0, 2.0, 3.0], [*range(500), 0, *range(501, QUANTILE_POINTS)]],
    ids=["too-few-but-sorted", "enough-but-unsorted"],
)
def test_a_broken_profile_document_is_refused_by_name(quantiles: list[float]) -> None:
    with pytest.raises(ValueError, match=r"^profile of 'V7': expected 1001 sorted quantiles$"):
        DistributionProfile.from_dict({"name": "V7", "rows": 10, "quantiles": quantiles})


def assert_same_profile(again: ReferenceProfile, profile: ReferenceProfile) -> None:
    for name in (
        "model_name", "model_version", "alerts", "scored_rows", "threshold", "created_at", "outliers",
        "estimate", "realised_precision", "realised_recall", "positive_weight",
    ):  # fmt: skip
        assert getattr(again, name) == getattr(profile, name), name
    for a, b in zip((again.score, *again.features), (profile.score, *profile.features), strict=True):
        assert (a.name, a.rows) == (b.name, b.rows)
        np.testing.assert_array_equal(a.quantiles, b.quantiles)


@pytest.mark.parametrize("complete", [True, False])
def test_a_reference_profile_round_trips_through_json(complete: bool) -> None:
    signature = OutlierSignature((4.0, 0.0, 2.0), rows=2, tail_index=2, min_columns=3)
    estimate = PerformanceEstimate(
        rows=900, alerts=7, expected_frauds=12.5, expected_true_positives=3.5, precision_error=0.02,
        recall_error=0.04,
    )  # fmt: skip
    profile = replace(
        small_reference(alerts=7, scored_rows=900, outliers=signature if complete else None),
        estimate=estimate if complete else None,
        realised_precision=0.75 if complete else None,
        realised_recall=0.5 if complete else None,
        positive_weight=3.0 if complete else 1.0,
    )
    document = json.loads(json.dumps(profile.to_dict()))
    assert set(document) == {
        "model_name", "model_version", "created_at", "threshold", "alerts", "scored_rows", "score",
        "features", "outliers", "estimate", "realised_precision", "realised_recall", "positive_weight",
    }  # fmt: skip
    expected_outliers = {"cells": [4.0, 0.0, 2.0], "rows": 2, "tail_index": 2, "min_columns": 3}
    assert document["outliers"] == (expected_outliers if complete else None)
    expected_estimate = {
        "rows": 900, "alerts": 7, "expected_frauds": 12.5, "expected_true_positives": 3.5,
        "precision_error": 0.02, "recall_error": 0.04, "precision": 0.5, "recall": 0.28,
    }  # fmt: skip
    assert document["estimate"] == (expected_estimate if complete else None)
    again = ReferenceProfile.from_dict(document)
    assert_same_profile(again, profile)
    assert again.alert_rate == pytest.approx(7 / 900)


def test_a_profile_stored_before_the_outlier_test_and_the_estimates_still_reads() -> None:
    document = small_reference().to_dict()
    for key in ("outliers", "estimate", "realised_precision", "realised_recall", "positive_weight"):
        del document[key]
    old = ReferenceProfile.from_dict(document)
    assert old.outliers is None
    assert old.estimate is None
    assert (old.realised_precision, old.realised_recall, old.positive_weight) == (None, None, 1.0)


def test_an_outlier_signature_round_trips_and_smooths_its_shares() -> None:
    signature = OutlierSignature((4.0, 0.0, 2.0), rows=2, tail_index=1, min_columns=2)
    assert OutlierSignature.from_dict(json.loads(json.dumps(signature.to_dict()))) == signature
    np.testing.assert_allclose(signature.shares(), [4.5 / 7.5, 0.5 / 7.5, 2.5 / 7.5])


# statistics


def test_ks_finds_the_gap_below_the_window_values() -> None:
    """Window {800, 900} on a ramp: the reference has 80% below 800 while the window has nothing there."""
    assert ks_statistic(ramp(), np.array([900.0, 800.0, np.nan])) == pytest.approx(0.8)
    assert ks_statistic(ramp(), np.array([100.0, 200.0])) == pytest.approx(0.8)  # the gap above
    assert math.isnan(ks_statistic(ramp(), np.array([np.nan, np.inf])))


def test_psi_on_a_window_in_the_two_lowest_bins_by_hand() -> None:
    """50 falls in (-inf, 100), 100 on the edge in [100, 200): half the window in each, 1e-4 elsewhere."""
    psi = population_stability_index(ramp(), np.array([50.0, 100.0]))
    expected = 2 * (0.5 - 0.1) * math.log(0.5 / 0.1) + 8 * (1e-4 - 0.1) * math.log(1e-4 / 0.1)
    assert psi == pytest.approx(expected, rel=1e-9)
    assert math.isnan(population_stability_index(ramp(), np.array([np.nan])))


def test_effective_rows_is_the_two_sample_size_and_at_least_one() -> None:
    assert effective_rows(5_000, 20_000) == 4_000
    assert effective_rows(1, 1_000) == 1
    assert effective_rows(1, 1) == 1


# policy


@pytest.mark.parametrize("alpha", [0.0, 1.0, -0.1])
def test_the_family_alpha_must_be_strictly_between_0_and_1(alpha: float) -> None:
    with pytest.raises(ValueError, match=rf"^family_alpha must be in \(0, 1\), got {alpha}$"):
        DriftPolicy(family_alpha=alpha)


FLOORS = (
    "min_psi", "min_score_psi", "min_alert_rate_change", "min_outlier_shift", "precision_tolerance",
    "recall_tolerance", "min_expected_frauds", "realised_tolerance", "min_labelled_frauds",
)  # fmt: skip


def test_the_default_policy() -> None:
    policy = DriftPolicy()
    assert (policy.family_alpha, policy.min_rows) == (0.01, 1_000)
    assert [getattr(policy, name) for name in FLOORS] == [0.05, 0.1, 0.25, 0.1, 0.05, 0.02, 10, 0.10, 20]


def test_the_smallest_policy_limits_are_accepted() -> None:
    policy = DriftPolicy(family_alpha=1e-9, min_rows=2, **dict.fromkeys(FLOORS, 0))
    assert policy.min_rows == 2
    assert [getattr(policy, name) for name in FLOORS] == [0] * len(FLOORS)
    with pytest.raises(ValueError, match=r"^min_rows must be at least 2, got 1$"):
        DriftPolicy(min_rows=1)


@pytest.mark.parametrize("floor", FLOORS)
def test_a_negative_floor_is_refused_by_name(floor: str) -> None:
    with pytest.raises(ValueError, match=rf"^{floor} must not be negative$"):
        DriftPolicy(**{floor: -0.01})


def test_every_negative_floor_is_named_at_once() -> None:
    with pytest.raises(ValueError, match=r"^min_psi, min_alert_rate_change must not be negative$"):
        DriftPolicy(min_psi=-0.01, min_alert_rate_change=-0.01)


def test_the_two_levels_split_the_family_alpha() -> None:
    policy = DriftPolicy(family_alpha=0.05)
    assert policy.input_alpha(5) == pytest.approx(0.01)
    assert policy.input_alpha(29) == pytest.approx(0.05 / 29)
    assert policy.risk_alpha == pytest.approx(0.05 / 7)  # seven pieces of model-at-risk evidence


def test_the_rule_text_states_each_limit() -> None:
    policy = DriftPolicy(
        family_alpha=0.05, min_rows=12_345, min_psi=0.03, min_score_psi=0.2, min_alert_rate_change=0.5,
        min_outlier_shift=0.15, precision_tolerance=0.04, recall_tolerance=0.03, realised_tolerance=0.12,
    )  # fmt: skip
    assert policy.describe() == (
        "model at risk: p < 0.0071 and score PSI >= 0.2, alert rate change >= 50%, outlier shift >= 0.15; "
        "or estimated precision/recall down > 0.04/0.03; or realised down > 0.12. Input drift "
        "(diagnostic): PSI >= 0.03 and KS p below 0.05 / columns. At least 12,345 rows"
    )


# outliers


def test_a_cell_is_extreme_strictly_beyond_the_tail_quantiles() -> None:
    """Tail index 2 on a ramp: below 2 or above 998; the quantiles themselves are not extreme."""
    values = np.array([[1.9], [2.0], [500.0], [998.0], [998.5], [999.5]])
    assert extreme_cells(values, (ramp(),))[:, 0].tolist() == [True, False, False, False, True, True]


def test_a_row_is_outlying_from_exactly_min_columns_extreme_cells() -> None:
    profiles = tuple(ramp(f"c{i}") for i in range(4))
    inputs = np.array(
        [
            [0.0, 0.0, 0.0, 500.0],  # three extreme cells: outlying
            [0.0, 0.0, 500.0, 500.0],  # two: not
            [1.5, 1.5, 1.5, 1.5],  # extreme beyond the 0.2% point, not beyond the 0.1% point
        ]
    )
    cells, rows = outlier_cells(inputs, profiles)
    assert (cells.tolist(), rows) == ([2, 2, 2, 1], 2)
    cells, rows = outlier_cells(inputs, profiles, tail_index=1)
    assert (cells.tolist(), rows) == ([1, 1, 1, 0], 1)
    cells, rows = outlier_cells(inputs, profiles, min_columns=2)
    assert (cells.tolist(), rows) == ([3, 3, 2, 1], 3)


def test_outlying_cells_counted_column_by_column_are_the_extreme_matrixs() -> None:
    """Counted from the whole (n, columns) boolean matrix before, now a column at a time, from a matrix or
    from one array per column (a training set's columns, not copied into a matrix)."""
    rng = np.random.default_rng(3)
    shared = rng.standard_t(2, size=(5_000, 1))  # rows extreme on several columns at once, as frauds are
    inputs = shared + 0.5 * rng.standard_normal(size=(5_000, 6))
    profiles = tuple(DistributionProfile.of(f"c{i}", inputs[:1_000, i]) for i in range(6))
    extreme = extreme_cells(inputs, profiles)
    outlying = extreme.sum(axis=1) >= 3
    expected = (extreme[outlying].sum(axis=0).tolist(), int(outlying.sum()))
    assert expected[1] > 10  # the case has outlying rows to count

    for given in (inputs, list(inputs.T)):
        cells, rows = outlier_cells(given, profiles)
        assert (cells.tolist(), rows) == expected


def test_a_window_counts_its_cells_with_the_signatures_tail_and_minimum() -> None:
    profiles = tuple(ramp(f"c{i}") for i in range(3))
    inputs = np.array([[0.0, 0.0, 500.0], [1.5, 1.5, 1.5]])
    signature = OutlierSignature((1.0, 1.0, 1.0), rows=1, tail_index=1, min_columns=2)
    cells, rows = window_cells(inputs, profiles, signature)
    assert (cells.tolist(), rows) == ([1, 1, 0], 1)


def test_the_g_statistic_by_hand() -> None:
    """Shares (4, 2, 0.5) / 6.5 after smoothing; 4 window cells: observed 1, 0, 3."""
    signature = OutlierSignature((3.5, 1.5, 0.0), rows=2, tail_index=2, min_columns=3)
    expected_cells = np.array([4.0, 2.0, 0.5]) / 6.5 * 4
    by_hand = 2 * (1 * math.log(1 / expected_cells[0]) + 3 * math.log(3 / expected_cells[2]))
    assert g_statistic(np.array([1, 0, 3]), signature) == pytest.approx(by_hand, rel=1e-12)
    assert g_statistic(np.array([0, 0, 0]), signature) == 0.0


def test_unusual_columns_exceed_the_expectation_by_more_than_one_cell() -> None:
    signature = OutlierSignature((1.0, 1.0, 1.0, 1.0), rows=1, tail_index=2, min_columns=3)  # 1/4 each
    names = ("a", "b", "c", "d")
    assert unusual_columns(np.array([3, 2, 1, 2]), signature, names) == ()  # "a" exceeds by exactly 1
    assert unusual_columns(np.array([4, 1, 1, 2]), signature, names) == ("a",)  # by 2; "d" by 0
    assert unusual_columns(np.array([0, 0, 0, 0]), signature, names) == ()


def test_unusual_columns_are_the_five_largest_excesses_in_order() -> None:
    signature = OutlierSignature((1.0,) * 8, rows=1, tail_index=2, min_columns=3)
    names = tuple("abcdefgh")
    cells = np.array([25, 30, 26, 29, 27, 28, 0, 0])  # 165 cells: 20.6 expected in each column
    assert unusual_columns(cells, signature, names) == ("b", "d", "f", "e", "c")
    assert unusual_columns(cells, signature, names, top=8) == ("b", "d", "f", "e", "c", "a")


# compare


INPUT_ALPHA_3 = DriftPolicy().input_alpha(3)  # the small reference's three input columns
RISK_ALPHA = DriftPolicy().risk_alpha  # the seven pieces of model-at-risk evidence


def test_a_p_value_equal_to_its_level_fires_nothing() -> None:
    """Each test is significant strictly below its level: an input's Bonferroni level, or the risk level."""
    inputs = even_inputs(1_000) + 2_000.0  # far beyond the reference: PSI is huge
    probabilities = np.r_[np.full(100, 0.9), np.full(900, 0.1)]  # 10% alerts against 0.5%; score PSI huge
    at_level = RecordingTests(ks=[INPUT_ALPHA_3] * 3 + [RISK_ALPHA], binomial=RISK_ALPHA)
    found = compare(small_reference(), inputs, probabilities, DriftPolicy(), at_level)
    assert not found.input_drift
    assert not found.at_risk
    assert found.fired() == []
    below = RecordingTests(ks=[INPUT_ALPHA_3 * 0.999] * 3 + [RISK_ALPHA * 0.999], binomial=RISK_ALPHA * 0.999)
    found = compare(small_reference(), inputs, probabilities, DriftPolicy(), below)
    assert [c.name for c in found.columns if c.drifted] == ["c0", "c1", "c2", SCORE]
    assert found.input_drift
    assert found.fired() == ["score_distribution", "alert_rate"]  # the inputs are no evidence


def test_an_input_p_value_between_the_two_levels_counts_for_the_score_only() -> None:
    """The input level (family / columns) is stricter than the risk level (family / 4)."""
    between = (INPUT_ALPHA_3 + RISK_ALPHA) / 2
    assert INPUT_ALPHA_3 > RISK_ALPHA  # three columns: the input level is the looser one here
    inputs = even_inputs(1_000) + 2_000.0
    probabilities = np.r_[np.full(100, 0.9), np.full(900, 0.1)]
    found = compare(small_reference(), inputs, probabilities, DriftPolicy(), RecordingTests(ks=between))
    assert [c.name for c in found.columns if c.drifted] == ["c0", "c1", "c2"]
    assert found.fired() == []


def test_each_column_reports_its_own_p_value_and_a_column_without_values_has_none() -> None:
    inputs = even_inputs(1_000)
    inputs[:, 1] = np.nan
    tests = RecordingTests(ks=0.25)
    found = compare(small_reference(), inputs, np.full(1_000, 0.1), DriftPolicy(), tests)
    assert [c.p_value for c in found.columns if not math.isnan(c.p_value)] == [0.25, 0.25, 0.25]
    assert math.isnan(found.columns[1].p_value)
    assert not found.columns[1].drifted
    assert [rows for _, rows in tests.ks_calls] == [833, 833, 500]  # two-sample sizes; c1 never asked


def test_the_score_column_is_called_score_whatever_its_profile_is_named() -> None:
    reference = small_reference(score_name="probability")
    found = compare(reference, even_inputs(100), np.full(100, 0.1), DriftPolicy(), RecordingTests())
    assert [c.name for c in found.columns] == ["c0", "c1", "c2", SCORE]


def test_a_score_equal_to_the_threshold_is_an_alert() -> None:
    probabilities = np.r_[np.full(5, 0.5), np.full(995, 0.1)]
    tests = RecordingTests(binomial=0.3)
    found = compare(small_reference(alerts=5), even_inputs(1_000), probabilities, DriftPolicy(), tests)
    assert found.alert_rate == AlertRateDrift(5, 1_000, 5, 1_000, 0.3, False)  # as many alerts: p as given
    assert tests.binomial_calls == [(5, 10, 0.5)]
    assert found.estimate.alerts == 5


def test_no_alerts_on_either_side_is_no_test_at_all() -> None:
    reference = small_reference(alerts=0)
    tests = RecordingTests(binomial=1e-12)
    found = compare(reference, even_inputs(1_000), np.full(1_000, 0.1), DriftPolicy(), tests)
    assert found.alert_rate.p_value == 1.0
    assert not found.alert_rate.drifted
    assert tests.binomial_calls == []


def test_alerts_against_a_reference_without_any_are_an_unbounded_change() -> None:
    reference = small_reference(alerts=0)
    probabilities = np.r_[np.full(3, 0.9), np.full(997, 0.1)]
    strict_floor = DriftPolicy(min_alert_rate_change=1e6)
    found = compare(
        reference, even_inputs(1_000), probabilities, strict_floor, RecordingTests(binomial=1e-12)
    )
    assert found.alert_rate == AlertRateDrift(3, 1_000, 0, 1_000, 1e-12, True)
    assert found.fired() == ["alert_rate"]
    (alert,) = (item for item in found.evidence if item.name == "alert_rate")
    assert (alert.observed, alert.reference, alert.effect, alert.floor) == (0.003, 0.0, math.inf, 1e6)


def test_the_evidence_without_an_estimate_or_outliers_in_the_reference() -> None:
    """A reference stored before the estimate and the outlier signature: only score and alert rate."""
    probabilities = np.full(1_000, 0.1)
    found = compare(small_reference(), even_inputs(1_000), probabilities, DriftPolicy(), RecordingTests())
    assert [item.name for item in found.evidence] == ["score_distribution", "alert_rate"]
    assert found.outliers is None
    assert (found.estimate.rows, found.estimate.alerts, found.estimate.expected_true_positives) == (
        1_000,
        0,
        0.0,
    )
    assert found.estimate.expected_frauds == pytest.approx(100.0)


def outlier_reference(cells: tuple[float, ...] = (10.0, 10.0, 10.0)) -> ReferenceProfile:
    signature = OutlierSignature(cells, rows=10, tail_index=2, min_columns=3)
    return small_reference(outliers=signature)


def test_a_window_without_outlying_rows_has_no_outlier_test() -> None:
    tests = RecordingTests(chi2=1e-12)
    found = compare(outlier_reference(), even_inputs(1_000), np.full(1_000, 0.1), DriftPolicy(), tests)
    assert found.outliers == OutlierDrift(0, 0, 0.0, 1.0, False, (), shift=0.0)
    assert tests.chi2_calls == []


def four_outlying_rows() -> np.ndarray:
    inputs = even_inputs(1_000)
    inputs[:4] = 5_000.0  # four rows extreme on all three columns: cells (4, 4, 4)
    return inputs


def test_the_outlier_test_has_one_degree_of_freedom_fewer_than_the_columns() -> None:
    """The reference's outliers are spread as the window's: G = 0 and a shift of 0, so even a p-value
    below the level is no evidence (the p-value never decides alone)."""
    tests = RecordingTests(chi2=RISK_ALPHA)
    found = compare(outlier_reference(), four_outlying_rows(), np.full(1_000, 0.1), DriftPolicy(), tests)
    assert tests.chi2_calls == [(pytest.approx(0.0, abs=1e-12), 2)]
    assert found.outliers is not None
    assert found.outliers == OutlierDrift(4, 12, found.outliers.g_statistic, RISK_ALPHA, False, (), 0.0)
    tiny = RecordingTests(chi2=1e-300)
    found = compare(outlier_reference(), four_outlying_rows(), np.full(1_000, 0.1), DriftPolicy(), tiny)
    assert found.fired() == []


def test_the_outlier_shift_is_the_total_variation_distance_and_needs_its_floor() -> None:
    """Reference cells (20, 5, 5), smoothed to (20.5, 5.5, 5.5) / 31.5; the window's a third each."""
    reference = outlier_reference((20.0, 5.0, 5.0))
    by_hand = 0.5 * float(np.abs(1 / 3 - np.array([20.5, 5.5, 5.5]) / 31.5).sum())
    probabilities = np.full(1_000, 0.1)

    def judged(policy: DriftPolicy, p_value: float) -> OutlierDrift:
        found = compare(reference, four_outlying_rows(), probabilities, policy, RecordingTests(chi2=p_value))
        assert found.outliers is not None
        return found.outliers

    probe = judged(DriftPolicy(), RISK_ALPHA * 0.999)
    assert probe.shift == pytest.approx(by_hand, rel=1e-12)
    assert probe.shift > DriftPolicy().min_outlier_shift
    assert probe.drifted
    assert judged(DriftPolicy(min_outlier_shift=probe.shift), RISK_ALPHA * 0.999).drifted  # inclusive
    above = DriftPolicy(min_outlier_shift=float(np.nextafter(probe.shift, np.inf)))
    assert not judged(above, RISK_ALPHA * 0.999).drifted
    assert not judged(DriftPolicy(), RISK_ALPHA).drifted  # a large shift alone is not enough


def item(name: str, fired: bool, effect: float | None = 0.05, floor: float = 0.1) -> Evidence:
    return Evidence(name, effect, 0.0, effect, floor, 1e-9 if fired else 0.5, fired, f"{name} says so")


def comparison(columns: tuple[ColumnDrift, ...] = (), evidence: tuple[Evidence, ...] = ()) -> Comparison:
    """`columns` are the inputs; a quiet score column is added last, as compare does."""
    alert = AlertRateDrift(10, 1_000, 5, 1_000, 0.2, False)
    score = ColumnDrift(SCORE, 0.0, 0.01, 0.9, False)
    return Comparison((*columns, score), alert, None, evidence, PerformanceEstimate(1_000, 10, 5.0, 4.0))


def test_fired_names_the_evidence_that_fired_in_its_order() -> None:
    evidence = (item("score_distribution", True), item("alert_rate", False), item("estimated_recall", True))
    found = comparison(evidence=evidence)
    assert found.fired() == ["score_distribution", "estimated_recall"]
    assert found.at_risk
    assert not comparison(evidence=evidence[1:2]).at_risk


def test_input_drift_is_any_drifted_input_and_never_the_score() -> None:
    drifted_score = ColumnDrift(SCORE, 0.5, 0.3, 1e-9, True)
    alert = AlertRateDrift(10, 1_000, 5, 1_000, 0.2, False)
    only_score = Comparison((drifted_score,), alert, None, (), PerformanceEstimate(1_000, 10, 5.0, 4.0))
    assert not only_score.input_drift
    assert comparison(COLUMNS).input_drift
    assert not comparison(COLUMNS[2:]).input_drift


# the reason a report gives


COLUMNS = (
    ColumnDrift("V1", 0.05, 0.1, 1e-9, True),
    ColumnDrift("V2", 0.3, 0.2, 1e-9, True),
    ColumnDrift("V3", 0.5, 0.01, 0.5, False),
)


def test_the_reason_names_the_fired_evidence_then_the_input_drift_largest_psi_first() -> None:
    evidence = (item("score_distribution", True), item("alert_rate", False), item("outlier_pattern", True))
    assert _reason(comparison(COLUMNS, evidence)) == (
        "model at risk: score_distribution says so; outlier_pattern says so; "
        "input drift (diagnostic) in V2 (PSI 0.300), V1 (PSI 0.050)"
    )


def test_the_reason_at_risk_without_input_drift() -> None:
    assert _reason(comparison(COLUMNS[2:], (item("realised_recall", True),))) == (
        "model at risk: realised_recall says so; no input drift"
    )


def test_the_reason_names_five_drifted_inputs_and_counts_the_rest() -> None:
    columns = tuple(ColumnDrift(f"V{i}", i / 100, 0.1, 1e-9, True) for i in range(1, 8))
    assert _reason(comparison(columns)) == (
        "model not at risk; input drift (diagnostic) in V7 (PSI 0.070), V6 (PSI 0.060), V5 (PSI 0.050), "
        "V4 (PSI 0.040), V3 (PSI 0.030) and 2 more"
    )


def test_the_reason_not_at_risk_names_the_closest_call_relative_to_its_floor() -> None:
    """The closest call is the largest effect relative to its floor: 0.05 of 0.1 (half the floor) beats
    0.08 of 0.25 (a third), though 0.08 is the larger figure."""
    evidence = (
        item("alert_rate", False, effect=0.08, floor=0.25),
        item("score_distribution", False, effect=0.05, floor=0.1),
        item("estimated_precision", False, effect=None, floor=0.05),  # no figure: never the closest
        item("outlier_pattern", False, effect=5.0, floor=0.0),  # no floor: no ratio to rank by
    )
    assert _reason(comparison(COLUMNS[:1], evidence)) == (
        "model not at risk (closest: score_distribution says so, floor 0.1); "
        "input drift (diagnostic) in V1 (PSI 0.050)"
    )


def test_the_reason_without_any_evidence_to_rank() -> None:
    assert _reason(comparison(COLUMNS[2:])) == "model not at risk; no input drift"


# the report's JSON form


EVIDENCE = (
    Evidence("score_distribution", 0.2, None, 0.3, 0.1, 1e-9, True, "score PSI 0.300, KS 0.200"),
    Evidence("alert_rate", 0.01, 0.005, 1.0, 0.25, 1e-6, True, "alert rate 1.000% vs 0.500%"),
    Evidence("estimated_recall", None, 0.4, None, 0.02, None, False, "estimated recall n/a vs 0.400"),
)


def full_report() -> DriftReport:
    return DriftReport(
        model_name="fraud-lgbm",
        model_version=3,
        status="model_at_risk",
        reason="model at risk: score PSI 0.300, KS 0.200; input drift (diagnostic) in V2 (PSI 0.300)",
        window=DriftWindow(
            2_000, "2026-11-01T00:00:00+00:00", "2026-11-01T01:00:00+00:00", 7, ("bad.parquet",)
        ),
        rule="the rule",
        test_alpha=0.01 / 7,
        checked_at="2026-11-01T02:00:00+00:00",
        columns=(*COLUMNS, ColumnDrift(SCORE, 0.3, 0.2, 1e-9, True)),
        alert_rate=AlertRateDrift(10, 1_000, 5, 1_000, 1e-6, True),
        outliers=OutlierDrift(3, 9, 40.0, 1e-9, True, ("V11", "V12"), 0.4),
        evidence=EVIDENCE,
        estimate=PerformanceEstimate(2_000, 10, 8.0, 6.0, 0.05, 0.1),
        id="20261101T020000000000Z-v3",
    )


def test_the_report_json_adds_the_derived_figures_under_fixed_keys() -> None:
    document = json.loads(json.dumps(full_report().to_dict()))
    assert set(document) == {
        "model_name", "model_version", "status", "reason", "window", "rule", "test_alpha", "checked_at",
        "columns", "alert_rate", "outliers", "evidence", "estimate", "id", "model_at_risk", "input_drift",
        "drifted_inputs", "fired_evidence", "historical",
    }  # fmt: skip
    assert (document["model_at_risk"], document["input_drift"]) == (True, True)
    assert document["drifted_inputs"] == ["V1", "V2"]  # the drifted score column is no input
    assert document["fired_evidence"] == ["score_distribution", "alert_rate"]
    assert document["alert_rate"] == {
        "observed_alerts": 10, "window_rows": 1_000, "reference_alerts": 5, "reference_rows": 1_000,
        "p_value": 1e-6, "drifted": True, "observed_rate": 0.01, "reference_rate": 0.005,
    }  # fmt: skip
    assert document["evidence"][2] == {
        "name": "estimated_recall", "observed": None, "reference": 0.4, "effect": None, "floor": 0.02,
        "p_value": None, "fired": False, "detail": "estimated recall n/a vs 0.400",
    }  # fmt: skip
    assert document["estimate"] == {
        "rows": 2_000, "alerts": 10, "expected_frauds": 8.0, "expected_true_positives": 6.0,
        "precision_error": 0.05, "recall_error": 0.1, "precision": 0.6, "recall": 0.75,
    }  # fmt: skip
    assert document["window"]["skipped_files"] == ["bad.parquet"]
    assert document["outliers"]["unusual_columns"] == ["V11", "V12"]
    assert document["outliers"]["shift"] == 0.4


def test_the_report_round_trips_through_json_exactly() -> None:
    report = full_report()
    assert DriftReport.from_dict(json.loads(json.dumps(report.to_dict()))) == report


@pytest.mark.parametrize(
    ("status", "evidence", "columns", "verdicts"),
    [
        ("model_at_risk", EVIDENCE, COLUMNS[2:], (True, False)),
        ("input_drift", EVIDENCE[2:], COLUMNS, (False, True)),
        ("no_drift", EVIDENCE[2:], COLUMNS[2:], (False, False)),
    ],
)
def test_the_two_verdicts_are_read_from_the_status_and_the_inputs(
    status: Status,
    evidence: tuple[Evidence, ...],
    columns: tuple[ColumnDrift, ...],
    verdicts: tuple[bool, bool],
) -> None:
    report = replace(full_report(), status=status, evidence=evidence, columns=columns)
    assert (report.at_risk, report.input_drift) == verdicts
    document = report.to_dict()
    assert (document["model_at_risk"], document["input_drift"]) == verdicts


def test_a_report_stored_before_ids_columns_evidence_and_skipped_files_still_reads() -> None:
    document = asdict(full_report())
    for key in ("id", "columns", "alert_rate", "outliers", "evidence", "estimate"):
        del document[key]
    del document["window"]["skipped_files"]
    old = DriftReport.from_dict(document)
    assert old.id == ""
    assert old.columns == ()
    assert old.alert_rate is None
    assert old.outliers is None
    assert old.evidence == ()
    assert old.estimate is None
    assert old.window == DriftWindow(2_000, "2026-11-01T00:00:00+00:00", "2026-11-01T01:00:00+00:00", 7)


def test_an_outlier_result_stored_before_the_shift_reads_as_no_shift() -> None:
    document = full_report().to_dict()
    del document["outliers"]["shift"]
    outliers = DriftReport.from_dict(document).outliers
    assert outliers is not None
    assert outliers.shift == 0.0


def test_a_null_test_alpha_reads_back_as_nan_and_a_number_as_itself() -> None:
    document = full_report().to_dict() | {"test_alpha": None}
    assert math.isnan(DriftReport.from_dict(document).test_alpha)
    assert DriftReport.from_dict(full_report().to_dict()).test_alpha == 0.01 / 7


# the window spec


def test_a_window_of_one_row_and_half_open_windows_are_accepted() -> None:
    assert DriftWindowSpec(last_rows=1).last_rows == 1
    assert DriftWindowSpec(since=NOV_1).until is None
    assert DriftWindowSpec(until=NOV_1).since is None


def test_a_window_that_ends_where_it_starts_is_refused() -> None:
    moment = r"2026-11-01 00:00:00\+00:00"
    with pytest.raises(
        ValueError, match=rf"^the window is empty: since {moment} is not before until {moment}$"
    ):
        DriftWindowSpec(since=NOV_1, until=NOV_1)


def test_last_hours_counts_back_from_until() -> None:
    assert DriftWindowSpec.last_hours(0.5, NOV_1, 7) == DriftWindowSpec(
        NOV_1 - timedelta(minutes=30), NOV_1, 7
    )
    before = datetime.now(UTC)
    spec = DriftWindowSpec.last_hours(2)
    assert spec.until is None
    assert spec.last_rows is None
    assert spec.since is not None
    assert before - timedelta(hours=2) <= spec.since <= datetime.now(UTC) - timedelta(hours=2)


@pytest.mark.parametrize("hours", [0, -1.5, float("nan"), float("inf"), 1e12, 24 * 366 + 1])
def test_last_hours_must_be_positive_and_at_most_a_year(hours: float) -> None:
    with pytest.raises(
        ValueError, match=rf"^hours: must be more than 0 and at most 8,784 \(a year\), got {hours}$"
    ):
        DriftWindowSpec.last_hours(hours)
    assert DriftWindowSpec.last_hours(24 * 366).since is not None


# the use case on a small reference


class World:
    def __init__(self, tests: RecordingTests | None = None, min_rows: int = 10) -> None:
        self.captured = FakeCapturedPredictions()
        self.profiles = FakeReferenceProfiles()
        self.reports = FakeReports()
        self.publisher = FakePublisher()
        self.policy = DriftPolicy(min_rows=min_rows)
        self.tests = tests or RecordingTests()
        self.check = CheckDrift(
            self.captured, self.profiles, self.reports, self.tests, FakeDriftChart(), self.publisher,
            self.policy, model_name="fraud-lgbm",
        )  # fmt: skip
        self.profiles.save(small_reference())

    def serve(self, inputs: np.ndarray, version: int = 1, name: str = "fraud-lgbm") -> CapturedRows:
        padded = np.zeros((len(inputs), 29))
        padded[:, : inputs.shape[1]] = inputs
        return captured(padded, even_scores(len(inputs)), version=version, name=name)


def joined(*parts: CapturedRows) -> CapturedRows:
    names = ("inputs", "probabilities", "decisions", "model_names", "model_versions", "scored_at")
    return CapturedRows(**{n: np.concatenate([getattr(p, n) for p in parts]) for n in names})


def test_an_empty_window_reports_the_configured_model_and_the_skipped_files() -> None:
    world = World()
    world.captured.rows = captured(np.empty((0, 29)), np.empty(0), skipped=("predictions/a.parquet",))
    report = world.check().report
    assert (report.model_name, report.model_version, report.status) == ("fraud-lgbm", 0, "insufficient_data")
    assert report.reason == "insufficient data: no captured predictions in the window"
    assert report.window == DriftWindow(0, None, None, skipped_files=("predictions/a.parquet",))
    assert report.rule == world.policy.describe()
    assert math.isnan(report.test_alpha)


def test_the_newest_row_decides_which_model_and_version_are_checked() -> None:
    """20 rows of fraud-lgbm v1, then one row of fraud-new v2: v2 is serving, with too few rows."""
    world = World()
    world.captured.rows = joined(world.serve(even_inputs(20)), world.serve(even_inputs(1), 2, "fraud-new"))
    report = world.check().report
    assert (report.model_name, report.model_version, report.status) == ("fraud-new", 2, "insufficient_data")
    assert report.reason == "insufficient data: 1 rows of v2, at least 10 needed"
    start = "2026-11-01T00:00:00.000000+00:00"
    assert report.window == DriftWindow(rows=1, start=start, end=start, other_version_rows=20)
    assert report.id.endswith("-v2")


def test_a_missing_reference_profile_says_how_to_get_one() -> None:
    world = World()
    world.captured.rows = world.serve(even_inputs(20), version=4)
    message = (
        "model 'fraud-lgbm' v4 has no reference profile (registered before drift profiles were stored); "
        "train a new version to monitor drift"
    )
    with pytest.raises(ReferenceProfileMissingError) as raised:
        world.check()
    assert str(raised.value) == message


def test_the_window_reaches_the_reader_whole() -> None:
    world = World()
    spec = DriftWindowSpec(since=NOV_1 - timedelta(days=1), until=NOV_1 + timedelta(days=1), last_rows=15)
    world.captured.rows = world.serve(even_inputs(20))
    report = world.check(spec).report
    assert world.captured.requests == [(spec.since, spec.until, 15)]
    assert report.window == DriftWindow(
        15, "2026-11-01T00:00:05.000000+00:00", "2026-11-01T00:00:19.000000+00:00", other_version_rows=0
    )


def test_a_checked_window_reports_when_in_utc_under_an_id_made_of_that_moment() -> None:
    world = World()
    world.captured.rows = world.serve(even_inputs(20))
    before = datetime.now(UTC)
    report = world.check().report
    checked_at = datetime.fromisoformat(report.checked_at)
    assert checked_at.utcoffset() == timedelta(0)
    assert before <= checked_at <= datetime.now(UTC)
    assert report.id == f"{checked_at:%Y%m%dT%H%M%S%fZ}-v1"
    assert (report.model_name, report.model_version, report.status) == ("fraud-lgbm", 1, "no_drift")
    assert report.rule == world.policy.describe()
    assert report.test_alpha == DriftPolicy().risk_alpha


def test_input_drift_alone_is_reported_logged_but_never_published(caplog: pytest.LogCaptureFixture) -> None:
    world = World(RecordingTests(ks=1e-12))
    inputs = even_inputs(20)
    inputs[:, 0] += 2_000.0
    world.captured.rows = world.serve(inputs)
    with caplog.at_level(logging.INFO, logger="fraud_detection.application.drift.check"):
        outcome = world.check()
    report = outcome.report
    assert report.status == "input_drift"
    assert report.drifted_inputs == ("c0",)
    assert outcome.event is None
    assert world.publisher.events == []
    assert report.reason.startswith("model not at risk (closest: ")
    assert report.reason.endswith("; input drift (diagnostic) in c0 (PSI " + f"{report.columns[0].psi:.3f})")
    assert f"drift check: input_drift ({report.reason})" in caplog.messages
    assert world.reports.latest(DRIFT) == report  # stored all the same


def test_a_model_at_risk_publishes_an_event_carrying_the_report(caplog: pytest.LogCaptureFixture) -> None:
    """Half the window's rows are alerts against 0.5% in the reference, and the binomial test agrees."""
    world = World(RecordingTests(binomial=1e-12))
    world.captured.rows = world.serve(even_inputs(20))
    with caplog.at_level(logging.INFO, logger="fraud_detection.application.drift.check"):
        outcome = world.check()
    report, event = outcome.report, outcome.event
    assert report.status == "model_at_risk"
    assert not report.input_drift
    assert event is not None
    assert (event.model_name, event.version, event.evidence) == ("fraud-lgbm", 1, ("alert_rate",))
    assert (event.window_rows, event.report, event.reason) == (20, outcome.location, report.reason)
    assert report.reason == "model at risk: alert rate 50.000% vs 0.500%; no input drift"
    assert world.publisher.events == [event]
    assert f"drift check: model_at_risk ({report.reason})" in caplog.messages
