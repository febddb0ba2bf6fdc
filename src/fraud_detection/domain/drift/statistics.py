"""The per-column statistics of a drift check, computed against a `DistributionProfile` (numpy only; the
p-values that turn them into decisions come through the `DistributionTests` port)."""

from __future__ import annotations

import numpy as np

from fraud_detection.domain.drift.profile import DistributionProfile

# Bins the window leaves empty would make PSI infinite; this share stands in for zero (a common convention).
EMPTY_BIN_SHARE = 1e-4


def finite_sorted(values: np.ndarray) -> np.ndarray:
    """The finite values in ascending order: what both statistics read, sorted once per column."""
    return np.sort(values[np.isfinite(values)])


def ks_statistic(reference: DistributionProfile, values: np.ndarray) -> float:
    """Kolmogorov-Smirnov distance between the window's empirical CDF and the reference's: the largest gap,
    looked for on both sides of every window value (which also catches the reference's point masses)."""
    return sorted_ks_statistic(reference, finite_sorted(values))


def sorted_ks_statistic(reference: DistributionProfile, window: np.ndarray) -> float:
    """`ks_statistic` of a window already `finite_sorted`."""
    n = len(window)
    if not n:
        return float("nan")
    ranks = np.arange(1, n + 1) / n
    above = ranks - reference.cdf(window)  # window CDF just after each value vs reference at or below it
    below = reference.cdf(window, strict=True) - (ranks - 1 / n)  # reference below each value vs window
    return float(max(above.max(), below.max(), 0.0))


def population_stability_index(reference: DistributionProfile, values: np.ndarray) -> float:
    """PSI over the reference's decile bins: sum of (window - reference) * ln(window / reference) shares.
    Conventional reading: < 0.1 stable, 0.1-0.25 moderate, > 0.25 a major shift."""
    return sorted_population_stability_index(reference, finite_sorted(values))


def sorted_population_stability_index(reference: DistributionProfile, window: np.ndarray) -> float:
    """`population_stability_index` of a window already `finite_sorted`."""
    if not len(window):
        return float("nan")
    edges = reference.bin_edges()
    expected = np.maximum(reference.bin_shares(edges), EMPTY_BIN_SHARE)
    # Bin k holds the values v with edges[k-1] <= v < edges[k]: counted from the sorted window by placing the
    # few edges in it (a value equal to an edge falls in the bin above, as searching each value would give).
    below = np.searchsorted(window, edges, side="left")
    counts = np.diff(np.concatenate(([0], below, [len(window)])))
    actual = np.maximum(counts / len(window), EMPTY_BIN_SHARE)
    return float(np.sum((actual - expected) * np.log(actual / expected)))


def effective_rows(window_rows: int, reference_rows: int) -> int:
    """The sample size of a two-sample KS test (n*m/(n+m)): the reference is a sample too."""
    return max(1, round(window_rows * reference_rows / (window_rows + reference_rows)))
