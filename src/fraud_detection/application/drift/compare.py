"""Compare a window of captured rows with a reference profile under a `DriftPolicy`: the input diagnostic,
and the evidence that the model is at risk (see domain/drift/policy.py for the rule and its reasons)."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from fraud_detection.domain.decision import alert_count
from fraud_detection.domain.drift.estimate import PerformanceEstimate, estimate_performance
from fraud_detection.domain.drift.outliers import g_statistic, unusual_columns, window_cells
from fraud_detection.domain.drift.policy import DriftPolicy
from fraud_detection.domain.drift.profile import SCORE, DistributionProfile, ReferenceProfile
from fraud_detection.domain.drift.report import AlertRateDrift, ColumnDrift, Evidence, OutlierDrift
from fraud_detection.domain.drift.statistics import (
    effective_rows,
    finite_sorted,
    sorted_ks_statistic,
    sorted_population_stability_index,
)
from fraud_detection.domain.feedback import RealisedQuality, TimeWindow
from fraud_detection.domain.ports.drift import DistributionTests


def compare(
    reference: ReferenceProfile,
    inputs: np.ndarray,
    probabilities: np.ndarray,
    policy: DriftPolicy,
    tests: DistributionTests,
    realised: RealisedQuality | None = None,
) -> Comparison:
    """`realised`: the serving version's labelled outcomes, when a quality report has them."""
    input_alpha, risk_alpha = policy.input_alpha(len(reference.features)), policy.risk_alpha
    columns = [
        _column(profile, inputs[:, position], policy.min_psi, input_alpha, tests)
        for position, profile in enumerate(reference.features)
    ]
    score = _column(reference.score, probabilities, policy.min_score_psi, risk_alpha, tests, name=SCORE)
    columns.append(score)
    alert_rate = _alert_rate(reference, probabilities, policy, risk_alpha, tests)
    outliers = _outliers(reference, inputs, policy, risk_alpha, tests)
    estimate = estimate_performance(probabilities, reference.threshold, reference.positive_weight)
    evidence = [
        Evidence(
            "score_distribution", score.ks_statistic, None, score.psi, policy.min_score_psi, score.p_value,
            score.drifted, f"score PSI {score.psi:.3f}, KS {score.ks_statistic:.3f}",
        ),
        Evidence(
            "alert_rate", alert_rate.observed_rate, alert_rate.reference_rate, alert_rate.relative_change,
            policy.min_alert_rate_change, alert_rate.p_value, alert_rate.drifted,
            f"alert rate {alert_rate.observed_rate:.3%} vs {alert_rate.reference_rate:.3%}",
        ),
    ]  # fmt: skip
    if outliers is not None:
        where = ", ".join(outliers.unusual_columns) or "no column in particular"
        evidence.append(
            Evidence(
                "outlier_pattern", outliers.shift, 0.0, outliers.shift, policy.min_outlier_shift,
                outliers.p_value, outliers.drifted,
                f"outlying rows stand out on {where} (shift {outliers.shift:.3f})",
            )
        )  # fmt: skip
    evidence += _estimated(reference, estimate, policy, risk_alpha)
    evidence += _realised(reference, realised, policy, risk_alpha, tests)
    return Comparison(tuple(columns), alert_rate, outliers, tuple(evidence), estimate)


@dataclass(frozen=True)
class Comparison:
    columns: tuple[ColumnDrift, ...]  # the inputs, then the score
    alert_rate: AlertRateDrift
    outliers: OutlierDrift | None
    evidence: tuple[Evidence, ...]
    estimate: PerformanceEstimate

    @property
    def at_risk(self) -> bool:
        return any(item.fired for item in self.evidence)

    @property
    def input_drift(self) -> bool:
        return any(c.drifted for c in self.columns if c.name != SCORE)

    def fired(self) -> list[str]:
        """The model-at-risk evidence that fired, by name."""
        return [item.name for item in self.evidence if item.fired]


def _outliers(
    reference: ReferenceProfile,
    inputs: np.ndarray,
    policy: DriftPolicy,
    alpha: float,
    tests: DistributionTests,
) -> OutlierDrift | None:
    if reference.outliers is None:
        return None
    cells, rows = window_cells(inputs, reference.features, reference.outliers)
    statistic = g_statistic(cells, reference.outliers)
    total = cells.sum()
    p_value = tests.chi2_p_value(statistic, len(reference.features) - 1) if total else 1.0
    # Total variation distance between where the window's and the reference's outliers are extreme.
    shift = float(0.5 * np.abs(cells / total - reference.outliers.shares()).sum()) if total else 0.0
    names = tuple(profile.name for profile in reference.features)
    unusual = unusual_columns(cells, reference.outliers, names)
    drifted = bool(p_value < alpha and shift >= policy.min_outlier_shift)
    return OutlierDrift(rows, int(total), statistic, p_value, drifted, unusual, shift)


def _column(
    profile: DistributionProfile,
    values: np.ndarray,
    min_psi: float,
    alpha: float,
    tests: DistributionTests,
    name: str | None = None,
) -> ColumnDrift:
    window = finite_sorted(values)
    finite = len(window)
    statistic = sorted_ks_statistic(profile, window)
    psi = sorted_population_stability_index(profile, window)
    p_value = tests.ks_p_value(statistic, effective_rows(finite, profile.rows)) if finite else float("nan")
    drifted = bool(p_value < alpha and psi >= min_psi)
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
    k, big_k = alert_count(probabilities, reference.threshold), reference.alerts
    p_value = 1.0 if k + big_k == 0 else tests.binomial_p_value(k, k + big_k, n / (n + big_n))
    found = AlertRateDrift(k, n, big_k, big_n, p_value, False)
    drifted = bool(p_value < alpha and found.relative_change >= policy.min_alert_rate_change)
    return AlertRateDrift(k, n, big_k, big_n, p_value, drifted)


def _estimated(
    reference: ReferenceProfile, estimate: PerformanceEstimate, policy: DriftPolicy, alpha: float
) -> list[Evidence]:
    """Estimated precision and recall against the reference's estimates (both by the same estimator, so its
    bias cancels). A fall fires when it passes the tolerance and a one-sided z-test: a window of a few dozen
    alerts moves its estimate by several points (on generated traffic a 6,000-row window fell 0.10 below the
    reference with nothing changed). Too few expected frauds in the window: reported, never fired."""
    if reference.estimate is None:
        return []
    enough = estimate.expected_frauds >= policy.min_expected_frauds
    found = []
    for name, tolerance in (("precision", policy.precision_tolerance), ("recall", policy.recall_tolerance)):
        observed, expected = getattr(estimate, name), getattr(reference.estimate, name)
        drop = None if observed is None or expected is None else expected - observed
        error = _null_error(
            getattr(reference.estimate, f"{name}_error"), reference.estimate.rows, estimate.rows
        )
        p_value = None if drop is None or not error else 0.5 * math.erfc(drop / error / math.sqrt(2))
        fired = bool(
            enough and drop is not None and drop > tolerance and p_value is not None and p_value < alpha
        )
        detail = f"estimated {name} {_figure(observed)} vs {_figure(expected)} in the reference" + (
            "" if enough else f" ({estimate.expected_frauds:.1f} expected frauds: too few to decide)"
        )
        found.append(
            Evidence(f"estimated_{name}", observed, expected, drop, tolerance, p_value, fired, detail)
        )
    return found


def _null_error(reference_error: float | None, reference_rows: int, window_rows: int) -> float:
    """The standard error of (reference - window) estimate if nothing changed: the window's, predicted from
    the reference's per-row spread at the window's size, and the reference's own. Under no change the window
    spreads as the reference does; its own spread would grow with the change itself (a new pattern adds
    half-recognised rows) and hide it: on the real rows that cut detection of one from 200/200 to 168/200."""
    if not reference_error or not window_rows:
        return 0.0
    return math.hypot(reference_error * math.sqrt(reference_rows / window_rows), reference_error)


def _realised(
    reference: ReferenceProfile,
    realised: RealisedQuality | None,
    policy: DriftPolicy,
    alpha: float,
    tests: DistributionTests,
) -> list[Evidence]:
    """Realised precision/recall of labelled rows against the reference's out-of-fold figures: the drop must
    pass the tolerance and an exact binomial test (successes among alerts, or among frauds)."""
    if realised is None:
        return []
    found = []
    for name, successes, trials, expected in (
        ("precision", realised.true_positives, realised.true_positives + realised.false_positives,
         reference.realised_precision),
        ("recall", realised.true_positives, realised.true_positives + realised.false_negatives,
         reference.realised_recall),
    ):  # fmt: skip
        observed = getattr(realised, name)
        if observed is None or expected is None:
            continue
        drop = expected - observed
        enough = realised.true_positives + realised.false_negatives >= policy.min_labelled_frauds
        p_value = tests.binomial_p_value(successes, trials, expected) if trials and enough else None
        fired = bool(p_value is not None and p_value < alpha and drop > policy.realised_tolerance)
        # The labelled rows are the quality report's (`fraud quality measure`), not the drift window's: a
        # window of unlabelled rows showed figures that read as its own.
        detail = (
            f"realised {name} {observed:.3f} vs {expected:.3f} out of fold, on {trials} labelled rows "
            f"scored {_span(realised.window)} (latest quality report)"
        ) + (
            "" if enough else f" (fewer than {policy.min_labelled_frauds} labelled frauds: too few to decide)"
        )
        found.append(
            Evidence(
                f"realised_{name}",
                observed,
                expected,
                drop,
                policy.realised_tolerance,
                p_value,
                fired,
                detail,
            )
        )
    return found


def _span(window: TimeWindow) -> str:
    return f"{window.start:%Y-%m-%d %H:%M}..{window.end:%Y-%m-%d %H:%M} UTC"


def _figure(value: float | None) -> str:
    return "n/a" if value is None else f"{value:.3f}"
