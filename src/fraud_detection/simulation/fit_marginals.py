"""Marginal fits: weighted quantile knots at normal scores, generalised-Pareto tails beyond them."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtr

from fraud_detection.domain.schema import AMOUNT
from fraud_detection.simulation.calibration import ColumnFit
from fraud_detection.simulation.marginals import Marginal, Tail

XI_GRID = np.round(np.arange(-0.6, 0.2501, 0.01), 2)  # bounded .. heavy, with finite kurtosis
DECIMALS = 6


def in_fit_space(rows: pd.DataFrame, column: str) -> tuple[np.ndarray, str]:
    values = rows[column].to_numpy(dtype=np.float64)
    return (np.log1p(values), "log1p") if column == AMOUNT else (values, "identity")


def fit_marginal(
    values: np.ndarray, weights: np.ndarray, scores: np.ndarray, tail_span: float, transform: str
) -> Marginal:
    cumulative, ordered = weighted_ecdf(values, weights)
    probabilities = ndtr(scores)
    knots = np.round(np.interp(probabilities, cumulative, ordered), DECIMALS)
    side = int(np.searchsorted(probabilities, tail_span, side="right"))
    lower = fit_tail(probabilities[:side], knots[:side])
    upper = fit_tail(probabilities[:side], -knots[::-1][:side])  # the grid is symmetric in z
    return Marginal(scores, knots, lower, upper, transform)


def fit_tail(tail_probabilities: np.ndarray, knots: np.ndarray) -> Tail:
    """Least-squares GPD through the outer knots (outermost first, values oriented so the tail goes down),
    anchored at the innermost of them; returned re-anchored at the outermost knot for continuity."""
    anchor_p, anchor_q = tail_probabilities[-1], knots[-1]
    t = np.log(anchor_p / tail_probabilities[:-1])
    distance = anchor_q - knots[:-1]
    best: tuple[float, float, float] | None = None
    for xi in XI_GRID:
        shape = t if xi == 0 else np.expm1(xi * t) / xi
        scale = max(float(shape @ distance / (shape @ shape)), 0.0)
        error = float(((distance - scale * shape) ** 2).sum())
        if best is None or error < best[0] - 1e-15:
            best = (error, float(xi), scale)
    assert best is not None
    _, xi, scale = best
    return Tail(xi, round(scale * float(np.exp(xi * t[0])), DECIMALS))


def column_fit(marginal: Marginal, adjustment: dict[str, float] | None = None) -> ColumnFit:
    mean, std = marginal.moments()
    return ColumnFit(marginal, round(mean, DECIMALS), round(std, DECIMALS), adjustment or {})


def weighted_ecdf(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mid-point cumulative weight of each sorted value (Hazen plotting positions when weights are equal)."""
    order = np.argsort(values, kind="stable")
    ordered, ordered_weights = values[order], weights[order]
    cumulative = (np.cumsum(ordered_weights) - ordered_weights / 2) / ordered_weights.sum()
    return cumulative, ordered
