"""The drift statistics' figures on small examples, by hand or against scipy: KS, PSI, the CDF they read,
the G statistic of the outlier test, the calibration correction, the performance estimate's alerts, the
Brier score and the reliability curve.

The profiles are "ramps" (quantile i is exactly i, 0..1000): the reference is uniform on [0, 1000], its
CDF at v is v / 1000 and its PSI bins are the hundreds.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from fraud_detection.domain.drift.estimate import (
    ReliabilityBin,
    brier_score,
    calibrated,
    estimate_performance,
    reliability,
)
from fraud_detection.domain.drift.outliers import g_statistic
from fraud_detection.domain.drift.profile import QUANTILE_POINTS, DistributionProfile, OutlierSignature
from fraud_detection.domain.drift.statistics import EMPTY_BIN_SHARE, ks_statistic, population_stability_index


def ramp(name: str = "x") -> DistributionProfile:
    """Uniform on [0, 1000]: quantile i is i."""
    return DistributionProfile(name, np.arange(float(QUANTILE_POINTS)), 5_000)


WINDOW = np.array([50.0, 120.0, 130.0, 480.0, 700.0, 950.0, 990.0])


# KS, PSI and the CDF


def test_ks_against_a_ramp_is_scipys_one_sample_ks_against_the_uniform() -> None:
    expected = stats.kstest(WINDOW, "uniform", args=(0.0, 1000.0)).statistic
    assert ks_statistic(ramp(), WINDOW) == pytest.approx(expected, abs=1e-12)
    assert ks_statistic(ramp(), WINDOW[::-1]) == pytest.approx(expected, abs=1e-12)  # order is no matter


def test_ks_by_hand_on_three_values() -> None:
    """Window 100, 200, 900: after 200 the window is at 2/3 while the reference is at 0.2."""
    assert ks_statistic(ramp(), np.array([100.0, 200.0, 900.0])) == pytest.approx(2 / 3 - 0.2, abs=1e-12)


def test_ks_of_a_window_matching_the_reference_is_its_discreteness_only() -> None:
    """Values at the middles of ten equal bins: the largest gap is half a bin, 0.05."""
    window = np.arange(50.0, 1000.0, 100.0)
    assert ks_statistic(ramp(), window) == pytest.approx(0.05, abs=1e-12)


def test_psi_by_hand_with_a_value_on_an_edge_counted_in_the_bin_above() -> None:
    """Counts per hundred: 1, 2, 0, 0, 1, 0, 0, 1 (700 sits on an edge: the 700s), 0, 2; the reference
    has 0.1 in each bin, an empty window bin stands in for EMPTY_BIN_SHARE."""
    counts = np.array([1, 2, 0, 0, 1, 0, 0, 1, 0, 2])
    actual = np.maximum(counts / 7, EMPTY_BIN_SHARE)
    by_hand = float(np.sum((actual - 0.1) * np.log(actual / 0.1)))
    assert population_stability_index(ramp(), WINDOW) == pytest.approx(by_hand, rel=1e-12)


def test_psi_of_a_window_spread_as_the_reference_is_zero() -> None:
    assert population_stability_index(ramp(), np.arange(5.0, 1000.0, 10.0)) == pytest.approx(0.0, abs=1e-12)


def test_an_empty_window_has_no_ks_or_psi() -> None:
    assert math.isnan(ks_statistic(ramp(), np.array([np.nan, np.inf])))
    assert math.isnan(population_stability_index(ramp(), np.array([])))


@pytest.mark.parametrize("dtype", [np.uint8, np.int16, np.float32, np.float64])
def test_the_cdf_reads_values_of_any_numeric_type_as_numbers(dtype: type) -> None:
    """Unsigned values too: the share below 50 is 0.05, not that of a wrapped-around negative."""
    values: np.ndarray = np.array([0, 50, 200], dtype=dtype)
    assert ramp().cdf(values).tolist() == pytest.approx([0.0, 0.05, 0.2])
    assert ramp().cdf(values, strict=True).tolist() == pytest.approx([0.0, 0.05, 0.2])


# the G statistic of the outlier test


def test_the_g_statistic_is_scipys_log_likelihood_power_divergence() -> None:
    signature = OutlierSignature((30.0, 10.0, 5.0, 0.0), rows=20, tail_index=2, min_columns=3)
    cells = np.array([4, 9, 0, 2])
    expected = signature.shares() * cells.sum()
    scipy_g = stats.power_divergence(cells, expected, lambda_="log-likelihood").statistic
    assert g_statistic(cells, signature) == pytest.approx(scipy_g, rel=1e-12)


def test_the_g_statistic_holds_for_fractional_cells() -> None:
    """2 * sum(observed * ln(observed / expected)) for any non-negative cells, below one included."""
    signature = OutlierSignature((1.0, 1.0, 1.0), rows=1, tail_index=2, min_columns=3)  # a third each
    cells = np.array([0.5, 1.0, 1.5])  # expected 1.0 in each
    by_hand = 2 * (0.5 * math.log(0.5) + 1.5 * math.log(1.5))
    assert g_statistic(cells, signature) == pytest.approx(by_hand, rel=1e-12)
    scipy_g = stats.power_divergence(cells, np.ones(3), lambda_="log-likelihood").statistic
    assert g_statistic(cells, signature) == pytest.approx(scipy_g, rel=1e-12)


def test_cells_spread_as_the_reference_give_a_g_statistic_of_zero() -> None:
    signature = OutlierSignature((1.5, 3.5, 0.5), rows=2, tail_index=2, min_columns=3)  # shares 2:4:1
    assert g_statistic(np.array([2, 4, 1]), signature) == pytest.approx(0.0, abs=1e-12)


# calibration and the estimate


def test_calibration_divides_the_odds_by_the_positive_weight() -> None:
    """p = 0.2 has odds 1/4; up-weighted by 4 they were learnt as 1, so 0.5 comes back to 0.2."""
    assert calibrated(np.array([0.5, 0.0, 1.0]), 4.0).tolist() == pytest.approx([0.2, 0.0, 1.0])
    assert calibrated(np.array([0.1]), 2.0)[0] == pytest.approx(0.1 / (0.1 + 0.9 * 2.0), rel=1e-15)


def test_calibration_of_single_precision_scores_is_done_in_double_precision() -> None:
    p = np.float32(0.1)
    corrected = calibrated(np.array([p]), 2.0)
    assert corrected.dtype == np.float64
    exact = float(p) / (float(p) + (1.0 - float(p)) * 2.0)
    assert corrected[0] == pytest.approx(exact, rel=1e-15)


def test_a_single_precision_score_just_below_the_threshold_is_no_alert_in_the_estimate() -> None:
    """The threshold lies between the float32 score and the next float32: the score is below it, and
    rounding the threshold to the score's precision must not make it an alert."""
    score = np.float32(0.1)
    threshold = float(score) + 3e-9
    assert float(np.nextafter(score, np.float32(1.0))) > threshold > float(score)
    estimate = estimate_performance(np.array([score, np.float32(0.9)]), threshold)
    assert (estimate.rows, estimate.alerts) == (2, 1)
    assert estimate.expected_true_positives == pytest.approx(float(np.float32(0.9)), rel=1e-15)


# Brier score and the reliability curve


def test_the_brier_score_by_hand() -> None:
    """Gaps 0.1, 0.2, 0.4, 0.5: squares 0.01 + 0.04 + 0.16 + 0.25 over four rows."""
    assert brier_score(np.array([1, 0, 0, 1]), np.array([0.9, 0.2, 0.4, 0.5])) == pytest.approx(0.115)
    assert brier_score(np.array([True, False]), np.array([1.0, 0.0])) == 0.0


def test_the_reliability_curve_by_hand() -> None:
    """Bins [0, 0.001), [0.001, 0.01), ... [0.9, 1]: empty bins left out, an edge opens the bin above,
    1.0 closes the last bin."""
    labels = np.array([0, 0, 0, 1, 1, 0, 1, 1])
    chance = np.array([0.0, 0.0005, 0.01, 0.3, 0.4, 0.5, 0.95, 1.0])
    assert reliability(labels, chance) == (
        ReliabilityBin(0.0, 0.001, 2, pytest.approx(0.00025), 0.0),  # type: ignore[arg-type]
        ReliabilityBin(0.01, 0.05, 1, 0.01, 0.0),
        ReliabilityBin(0.25, 0.5, 2, pytest.approx(0.35), 1.0),  # type: ignore[arg-type]
        ReliabilityBin(0.5, 0.75, 1, 0.5, 0.0),
        ReliabilityBin(0.9, 1.0, 2, pytest.approx(0.975), 1.0),  # type: ignore[arg-type]
    )


def test_every_row_is_counted_in_the_curve_out_of_range_chances_in_the_end_bins() -> None:
    (low, high) = reliability(np.array([0, 1]), np.array([-0.01, 1.2]))
    assert (low.low, low.rows, low.fraud_rate) == (0.0, 1, 0.0)
    assert (high.high, high.rows, high.fraud_rate) == (1.0, 1, 1.0)


def test_the_reliability_curve_is_computed_in_double_precision_whatever_the_input_type() -> None:
    """float32 labels and chances: the fraud rate is exactly 1/3 and the mean chance that of the values."""
    chance = np.array([0.3, 0.4, 0.45], dtype=np.float32)
    (only,) = reliability(np.array([1, 0, 0], dtype=np.float32), chance)
    assert only.fraud_rate == pytest.approx(1 / 3, rel=1e-15)
    assert only.mean_probability == pytest.approx(chance.astype(np.float64).mean(), rel=1e-15)
