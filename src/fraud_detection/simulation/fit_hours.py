"""Time of day: hour profiles of each class, and the weights that undo the sample's over-represented hours."""

from __future__ import annotations

import numpy as np

from fraud_detection.simulation.calibration import HOURS_PER_DAY
from fraud_detection.simulation.fit_marginals import DECIMALS

SECONDS_PER_HOUR = 3600
SECONDS_PER_DAY = 86_400
FRAUD_HOUR_PSEUDO_COUNT = 24.0


def second_day_profile(times: np.ndarray) -> np.ndarray:
    second_day = times[(times >= SECONDS_PER_DAY) & (times < 2 * SECONDS_PER_DAY)]
    hours = ((second_day - SECONDS_PER_DAY) // SECONDS_PER_HOUR).astype(int)
    counts = np.bincount(hours, minlength=HOURS_PER_DAY).astype(np.float64)
    return np.asarray(np.round(counts / counts.sum(), DECIMALS), dtype=np.float64)


def time_weights(times: np.ndarray, hour_profile: np.ndarray) -> np.ndarray:
    """Weight = true share of a row's absolute hour (profile spread evenly over the days) / its share in the
    sample, normalised to mean 1."""
    days = max(1, int(np.ceil((times.max() + 1) / SECONDS_PER_DAY)))
    absolute_hour = np.minimum(times // SECONDS_PER_HOUR, days * HOURS_PER_DAY - 1).astype(int)
    counts = np.bincount(absolute_hour, minlength=days * HOURS_PER_DAY).astype(np.float64)
    true_share = np.tile(hour_profile, days) / days
    sample_share = counts / counts.sum()
    weights = np.divide(true_share, sample_share, out=np.zeros_like(true_share), where=counts > 0)[
        absolute_hour
    ]
    return np.asarray(weights / weights.mean(), dtype=np.float64)


def fraud_profile(times: np.ndarray, legit_profile: np.ndarray) -> np.ndarray:
    hours = ((times // SECONDS_PER_HOUR) % HOURS_PER_DAY).astype(int)
    counts = np.bincount(hours, minlength=HOURS_PER_DAY) + FRAUD_HOUR_PSEUDO_COUNT * legit_profile
    return np.asarray(np.round(counts / counts.sum(), DECIMALS), dtype=np.float64)
