"""Dependence: weighted normal scores, their correlation, and the frauds disguised inside the legit copula."""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.special import ndtri

from fraud_detection.simulation.calibration import COPULA_COLUMNS, Disguise
from fraud_detection.simulation.fit_marginals import DECIMALS, in_fit_space, weighted_ecdf

DISGUISE_QUANTILE = 0.99
CORRELATION_DECIMALS = 4


def disguised_frauds(
    legit: pd.DataFrame, weights: np.ndarray, correlation: np.ndarray, fraud: pd.DataFrame
) -> tuple[Disguise, np.ndarray]:
    """Frauds whose Mahalanobis distance in the legit copula is within the legit rows' `DISGUISE_QUANTILE`:
    a real model scores them like legit rows (their out-of-fold scores average ~0.04 on the real sample).
    A single copula cannot make such a cluster, so they become their own mixture component."""
    inverse = np.linalg.inv(correlation)
    legit_scores = normal_scores(legit, weights, legit)
    legit_distance = np.einsum("ij,jk,ik->i", legit_scores, inverse, legit_scores)
    cumulative, ordered = weighted_ecdf(legit_distance, weights)
    threshold = round(float(np.interp(DISGUISE_QUANTILE, cumulative, ordered)), 2)
    fraud_scores = normal_scores(legit, weights, fraud)
    disguised = np.einsum("ij,jk,ik->i", fraud_scores, inverse, fraud_scores) <= threshold
    offset = np.round(fraud_scores[disguised].mean(axis=0), CORRELATION_DECIMALS)
    share = round(float(disguised.mean()), DECIMALS)
    return Disguise(share, int(disguised.sum()), threshold, offset), disguised


def normal_scores(reference: pd.DataFrame, weights: np.ndarray, rows: pd.DataFrame) -> np.ndarray:
    """Φ⁻¹ of each value's weighted mid-rank among `reference`'s values, column by column (ties share one:
    Amount has many exact repeats); `rows` may be `reference` itself or rows of another class."""
    scores = np.empty((len(rows), len(COPULA_COLUMNS)))
    for index, column in enumerate(COPULA_COLUMNS):
        space, _ = in_fit_space(reference, column)
        unique, inverse = np.unique(space, return_inverse=True)
        group = np.bincount(inverse, weights=weights, minlength=len(unique))
        middle = (np.cumsum(group) - group / 2) / group.sum()
        scores[:, index] = ndtri(np.interp(in_fit_space(rows, column)[0], unique, middle))
    return scores


def weighted_correlation(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    centred = scores - np.average(scores, axis=0, weights=weights)
    covariance = (centred * weights[:, None]).T @ centred / weights.sum()
    scale = np.sqrt(np.diag(covariance))
    correlation = np.asarray(np.round(covariance / np.outer(scale, scale), CORRELATION_DECIMALS))
    np.fill_diagonal(correlation, 1.0)
    return correlation
