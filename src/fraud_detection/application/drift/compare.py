"""Compare a window of captured rows with a reference profile under a `DriftPolicy`."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from fraud_detection.domain.drift.outliers import g_statistic, unusual_columns, window_cells
from fraud_detection.domain.drift.policy import DriftPolicy
from fraud_detection.domain.drift.profile import SCORE, DistributionProfile, ReferenceProfile
from fraud_detection.domain.drift.report import AlertRateDrift, ColumnDrift, OutlierDrift
from fraud_detection.domain.drift.statistics import (
    effective_rows,
    ks_statistic,
    population_stability_index,
)
from fraud_detection.domain.ports.drift import DistributionTests


def tests_per_window(reference: ReferenceProfile) -> int:
    """Every input column, the score, the alert rate and (for profiles that have it) the outlier pattern."""
    return len(reference.features) + 2 + (reference.outliers is not None)


def compare(
    reference: ReferenceProfile,
    inputs: np.ndarray,
    probabilities: np.ndarray,
    policy: DriftPolicy,
    tests: DistributionTests,
) -> Comparison:
    alpha = policy.test_alpha(tests_per_window(reference))
    columns = [
        _column(profile, inputs[:, position], policy, alpha, tests)
        for position, profile in enumerate(reference.features)
    ]
    columns.append(_column(reference.score, probabilities, policy, alpha, tests, name=SCORE))
    return Comparison(
        tuple(columns),
        _alert_rate(reference, probabilities, policy, alpha, tests),
        _outliers(reference, inputs, alpha, tests),
    )


@dataclass(frozen=True)
class Comparison:
    columns: tuple[ColumnDrift, ...]
    alert_rate: AlertRateDrift
    outliers: OutlierDrift | None

    @property
    def drifted(self) -> bool:
        return (
            any(c.drifted for c in self.columns)
            or self.alert_rate.drifted
            or bool(self.outliers and self.outliers.drifted)
        )

    def fired(self) -> list[str]:
        """The tests that found drift: column names, then "alert_rate" and "outlier_pattern"."""
        names = [c.name for c in self.columns if c.drifted]
        names += ["alert_rate"] if self.alert_rate.drifted else []
        return names + (["outlier_pattern"] if self.outliers and self.outliers.drifted else [])


def _outliers(
    reference: ReferenceProfile, inputs: np.ndarray, alpha: float, tests: DistributionTests
) -> OutlierDrift | None:
    if reference.outliers is None:
        return None
    cells, rows = window_cells(inputs, reference.features, reference.outliers)
    statistic = g_statistic(cells, reference.outliers)
    p_value = tests.chi2_p_value(statistic, len(reference.features) - 1) if cells.sum() else 1.0
    names = tuple(profile.name for profile in reference.features)
    unusual = unusual_columns(cells, reference.outliers, names)
    return OutlierDrift(rows, int(cells.sum()), statistic, p_value, bool(p_value < alpha), unusual)


def _column(
    profile: DistributionProfile,
    values: np.ndarray,
    policy: DriftPolicy,
    alpha: float,
    tests: DistributionTests,
    name: str | None = None,
) -> ColumnDrift:
    finite = int(np.count_nonzero(np.isfinite(values)))
    statistic = ks_statistic(profile, values)
    psi = population_stability_index(profile, values)
    p_value = tests.ks_p_value(statistic, effective_rows(finite, profile.rows)) if finite else float("nan")
    drifted = bool(p_value < alpha and psi >= policy.min_psi)
    return ColumnDrift(name or profile.name, psi, statistic, p_value, drifted)


def _alert_rate(
    reference: ReferenceProfile,
    probabilities: np.ndarray,
    policy: DriftPolicy,
    alpha: float,
    tests: DistributionTests,
) -> AlertRateDrift:
    """Window and reference alert counts compared exactly: given k + K alerts in all, under no change the
    window's k follow Binomial(k + K, n / (n + N)). This accounts for the reference being a sample too."""
    n, big_n = len(probabilities), reference.scored_rows
    k, big_k = int(np.count_nonzero(probabilities >= reference.threshold)), reference.alerts
    p_value = 1.0 if k + big_k == 0 else tests.binomial_p_value(k, k + big_k, n / (n + big_n))
    reference_rate = big_k / big_n
    change = abs(k / n - reference_rate) / reference_rate if reference_rate else float("inf")
    drifted = bool(p_value < alpha and change >= policy.min_alert_rate_change)
    return AlertRateDrift(k, n, big_k, big_n, p_value, drifted)
