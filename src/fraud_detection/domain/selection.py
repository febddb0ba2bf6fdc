"""Model selection on the folds: the number of boosting rounds, and how many rounds the final refit gets."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np


def rounds_by_mean_loss(curves: Sequence[np.ndarray]) -> int:
    """The round count with the lowest log-loss averaged over the folds (1-based), within the rounds every
    fold trained. Log-loss, not AUPRC: every evaluation row counts towards it, where AUPRC rests on the
    few dozen frauds of a fold and wanders from round to round (on the real rows, early stopping on
    validation AUPRC halted at 67 rounds where the log-loss minimum lies at 200-300)."""
    if not curves or any(len(curve) == 0 for curve in curves):
        raise ValueError("every fold needs a log-loss curve of at least one round")
    common = min(len(curve) for curve in curves)
    mean = np.mean([np.asarray(curve[:common], dtype=np.float64) for curve in curves], axis=0)
    return int(np.argmin(mean)) + 1


def refit_rounds(rounds: int, mean_fit_rows: float, all_rows: int) -> int:
    """Rounds for the refit on every row: the folds' choice scaled by how many more rows the refit sees
    (more rows support more rounds before the trees start fitting noise). On the real rows, halves by hash,
    3 seeds: mean AUPRC 0.879 scaled against 0.877 unscaled."""
    if mean_fit_rows <= 0:
        raise ValueError("mean_fit_rows must be positive")
    return max(1, round(rounds * max(all_rows / mean_fit_rows, 1.0)))
