"""Rank arithmetic of the rollout evidence on NumPy arrays: where a row falls among a model's scores, and how
alike two models order the same transactions."""

from __future__ import annotations

import numpy as np


def alert_rates_at(scores: np.ndarray, at: np.ndarray) -> np.ndarray:
    """For each of `at`, the share of `scores` at or above it: the alert rate at which that row is flagged
    (the ranking evidence of domain/rollout/ranking.py). A sort and a binary search: milliseconds."""
    ordered = np.sort(scores)
    shares: np.ndarray = (len(ordered) - np.searchsorted(ordered, at, side="left")) / max(len(ordered), 1)
    return shares


def spearman(x: np.ndarray, y: np.ndarray) -> float | None:
    """Spearman's rank correlation (ties take their average rank); None when either side is constant or
    there are fewer than 3 pairs."""
    if len(x) < 3:
        return None
    rx, ry = _ranks(x), _ranks(y)
    rx -= rx.mean()  # in place, and dot products: no temporary the size of a week of transactions
    ry -= ry.mean()
    spread = float(np.sqrt(np.dot(rx, rx) * np.dot(ry, ry)))
    return float(np.dot(rx, ry) / spread) if spread > 0 else None


def _ranks(values: np.ndarray) -> np.ndarray:
    """Average ranks, 1-based."""
    _, inverse, counts = np.unique(values, return_inverse=True, return_counts=True)
    ends = np.cumsum(counts).astype(np.float64)
    average: np.ndarray = (ends - (counts - 1) / 2.0)[inverse]
    return average
