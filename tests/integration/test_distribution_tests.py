"""The drift check's p-values (closed forms over NumPy and `math`, for start-up time) held to scipy, which
computes the same functions with more machinery."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import special, stats

from fraud_detection.infrastructure.numpy.distribution_tests import (
    ClosedFormDistributionTests,
    chi2_sf,
    kolmogorov_sf,
)

pytestmark = pytest.mark.integration
TESTS = ClosedFormDistributionTests()


@pytest.mark.parametrize("rows", [300, 1_000, 4_000, 20_000, 100_000])
@pytest.mark.parametrize("p_value", [0.5, 0.1, 0.01, 1e-3, 1e-4, 1e-6])
def test_the_ks_p_value_is_within_4_percent_of_the_exact_distribution(rows: int, p_value: float) -> None:
    statistic = float(stats.kstwo.isf(p_value, rows))
    exact = float(stats.kstwo.sf(statistic, rows))
    assert TESTS.ks_p_value(statistic, rows) == pytest.approx(exact, rel=0.04)


@pytest.mark.parametrize(
    ("successes", "trials", "probability"),
    [(5, 100, 0.05), (60, 200, 0.2), (0, 50, 0.3), (50, 50, 0.3), (300, 2_000, 0.1), (130, 1_130, 0.1),
     (12, 13, 0.5), (7, 1_500, 0.004), (0, 10, 0.0), (1, 10, 0.0), (10, 10, 1.0), (3, 10, 1.0),
     (4_000, 100_000, 0.035)],
)  # fmt: skip
def test_the_binomial_p_value_is_scipys_exact_two_sided_test(
    successes: int, trials: int, probability: float
) -> None:
    expected = stats.binomtest(successes, trials, probability).pvalue
    assert TESTS.binomial_p_value(successes, trials, probability) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize(
    ("statistic", "degrees"),
    [(0.5, 1), (28.0, 28), (60.0, 28), (200.0, 28), (0.0, 3), (1e-6, 2), (3.0, 3), (40.0, 27), (500.0, 29),
     (900.0, 1), (5.0, 120), (150.0, 121)],
)  # fmt: skip
def test_the_chi2_tail_is_scipys(statistic: float, degrees: int) -> None:
    expected = stats.chi2.sf(statistic, degrees)
    assert TESTS.chi2_p_value(statistic, degrees) == pytest.approx(expected, rel=1e-9)


@pytest.mark.parametrize("x", [0.0, 0.02, 0.2, 0.5, 0.8, 0.99, 1.0, 1.01, 1.36, 2.0, 3.0, 4.0, 6.0])
def test_kolmogorovs_limit_is_scipys_in_both_forms_of_the_series(x: float) -> None:
    assert kolmogorov_sf(x) == pytest.approx(float(special.kolmogorov(x)), rel=1e-9, abs=1e-300)


def test_the_chi2_tail_refuses_no_degrees_of_freedom() -> None:
    with pytest.raises(ValueError, match="degrees of freedom must be at least 1, got 0"):
        chi2_sf(3.0, 0)


def test_a_random_window_gets_the_same_decision_as_scipys_two_sample_test() -> None:
    """Where it matters: a drift of 0.05 standard deviations on 5,000 rows against 50,000."""
    rng = np.random.default_rng(0)
    reference, window = rng.standard_normal(50_000), rng.standard_normal(5_000) + 0.05
    exact = stats.ks_2samp(window, reference)
    effective = round(5_000 * 50_000 / 55_000)
    assert TESTS.ks_p_value(float(exact.statistic), effective) == pytest.approx(exact.pvalue, rel=0.1)
