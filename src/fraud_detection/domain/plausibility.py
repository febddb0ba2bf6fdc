"""Captured rows too far out to learn from: input errors, not new patterns.

The API scores any finite V value. A labelled captured row with `V1 = 1e308` (a client's bug) joined the
retraining set, whose V1 standard deviation then failed validation: every retrain stopped, for as long as
the label stayed in the lookback (30 days), naming only the aggregate expectation. No value of the full
284,807-row dataset lies beyond 103 of its column's standard deviations (V28's largest, 33.8; the shared
real rows reach 51, V20), frauds included, so a value beyond twice that is taken for an error. A bound set
by the champion's own data was tried first and refused real frauds: with the earliest 10% of the real rows
as the base, 10 later frauds held a value over 5x the base's largest.
"""

from __future__ import annotations

import numpy as np

from fraud_detection.domain.schema import V_COLUMNS
from fraud_detection.domain.validation import REFERENCE_V_STD

MAX_STDS = 200.0  # the full dataset's largest, 103 standard deviations, about twice over
LIMITS = np.array([MAX_STDS * REFERENCE_V_STD[column] for column in V_COLUMNS])


def implausible(v_values: np.ndarray) -> np.ndarray:
    """Mask of the rows of `v_values` (n, 28: V1..V28 in order) holding a value beyond MAX_STDS of its
    column's reference standard deviation."""
    return np.asarray((np.abs(v_values) > LIMITS).any(axis=1))
