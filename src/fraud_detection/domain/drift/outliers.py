"""The outlier-pattern test: do the window's outlying rows stand out on the same columns as the reference's?

Frauds are the reference's outliers: each is extreme (beyond the 0.2% / 99.8% quantiles) on several
columns at once, and on the same columns (V14, V17, V12... in the Kaggle data). When fraud changes its
pattern, the per-column distributions barely move (a few rows in thousands) but the outlying rows become
extreme on *other* columns. The test counts, over the window's rows that are extreme on at least
`MIN_EXTREME_COLUMNS` columns, the extreme cells per column, and compares them with the reference's
shares by a G-test (chi-square with one degree of freedom fewer than the columns). Conditioning on the
window's own outlier count makes it blind to how many frauds there are (the alert-rate test sees that) and
sensitive to where they deviate. On 5,000-row windows of the generator (benchmarks/drift.py) its null
statistic stays well below the chi-square distribution's, so the p-value is conservative. Tails of 0.2%
and 3 columns were chosen on generated windows over 0.1%/0.2% tails and 2-4 columns (the most power for
the least null p-value: at best 0.08 in 200 windows without drift).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from fraud_detection.domain.drift.profile import DistributionProfile, OutlierSignature

MIN_EXTREME_COLUMNS = 3
TAIL_INDEX = 2  # quantiles[2] is the 0.2% point, quantiles[-3] the 99.8% point


def extreme_cells(
    inputs: np.ndarray, profiles: tuple[DistributionProfile, ...], tail_index: int = TAIL_INDEX
) -> np.ndarray:
    """(n, columns) booleans: the value lies beyond its column's quantile at `tail_index` from either end
    (by default the 0.2% and 99.8% points)."""
    columns = [
        _extreme(column, profile, tail_index) for column, profile in zip(inputs.T, profiles, strict=True)
    ]
    return np.column_stack(columns) if columns else np.zeros((len(inputs), 0), dtype=bool)


Columns = np.ndarray | Sequence[np.ndarray]  # an (n, columns) matrix, or one 1-D array per column


def outlier_cells(
    inputs: Columns,
    profiles: tuple[DistributionProfile, ...],
    tail_index: int = TAIL_INDEX,
    min_columns: int = MIN_EXTREME_COLUMNS,
) -> tuple[np.ndarray, int]:
    """Extreme cells per column over the outlying rows, and how many rows were outlying, as
    `extreme_cells` tells them. Column by column: a training set's whole (n, columns) boolean matrices
    took three times a byte per value (79 MiB on 1.4M rows), beside its inputs."""
    columns = inputs.T if isinstance(inputs, np.ndarray) else inputs
    extreme_counts = np.zeros(len(columns[0]) if len(columns) else 0, dtype=np.int32)
    for column, profile in zip(columns, profiles, strict=True):
        extreme_counts += _extreme(column, profile, tail_index)
    outlying = extreme_counts >= min_columns
    cells = [
        np.count_nonzero(_extreme(column[outlying], profile, tail_index))
        for column, profile in zip(columns, profiles, strict=True)
    ]
    return np.array(cells, dtype=np.int64), int(np.count_nonzero(outlying))


def _extreme(column: np.ndarray, profile: DistributionProfile, tail_index: int) -> np.ndarray:
    low, high = profile.quantiles[tail_index], profile.quantiles[-1 - tail_index]
    extreme: np.ndarray = (column < low) | (column > high)
    return extreme


def signature_of(inputs: Columns, profiles: tuple[DistributionProfile, ...]) -> OutlierSignature:
    cells, rows = outlier_cells(inputs, profiles)
    return OutlierSignature(tuple(float(c) for c in cells), rows, TAIL_INDEX, MIN_EXTREME_COLUMNS)


def window_cells(
    inputs: Columns, profiles: tuple[DistributionProfile, ...], signature: OutlierSignature
) -> tuple[np.ndarray, int]:
    """A window's outlier cells, counted as the signature's were."""
    return outlier_cells(inputs, profiles, signature.tail_index, signature.min_columns)


def g_statistic(cells: np.ndarray, signature: OutlierSignature) -> float:
    """2 * sum(observed * ln(observed / expected)) over the columns, expected from the signature's shares."""
    total = float(cells.sum())
    if not total:
        return 0.0
    expected = signature.shares() * total
    observed = cells.astype(np.float64)
    terms = np.where(observed > 0, observed * np.log(np.maximum(observed, 1e-300) / expected), 0.0)
    return float(2 * terms.sum())


def unusual_columns(
    cells: np.ndarray, signature: OutlierSignature, names: tuple[str, ...], top: int = 5
) -> tuple[str, ...]:
    """The columns whose extreme cells most exceed the signature's expectation, largest excess first."""
    excess = cells - signature.shares() * cells.sum()
    order = np.argsort(-excess)
    return tuple(names[i] for i in order[:top] if excess[i] > 1)
