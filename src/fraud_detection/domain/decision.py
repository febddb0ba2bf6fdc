"""The decision rule: a score at or above the threshold raises an alert.

Serving, batch jobs, evaluation, cost, drift estimates and plots must agree on which rows are alerts (a
`>` in one place would count a row scored exactly at the threshold differently), so they all ask here.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import ArrayLike


def flagged(scores: ArrayLike, threshold: float) -> np.ndarray:
    """Boolean mask of the alerts among `scores`."""
    return np.asarray(scores) >= threshold


def alert_count(scores: ArrayLike, threshold: float) -> int:
    """How many of `scores` are alerts."""
    return int(np.count_nonzero(flagged(scores, threshold)))
