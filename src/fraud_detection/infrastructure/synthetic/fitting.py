"""Fit the generator's figures from real rows (used by `scripts/calibrate_generator.py`, never at generation).

Choices, and why (they are also written into `calibration.json` under `choices`):
- The real sample over-represents the first hours of the file, and several V columns drift with time of day
  (V3 correlates -0.44 with Time). Legit rows are therefore weighted by (true share of their hour) / (share
  of their hour in the sample), the true share coming from the second day's profile, so the fit sees each
  hour of both days in its real proportion. Frauds are too few to weight and show no such bias.
- Hour-of-day intensity of legit transactions comes from the second day alone (Time 86,400..172,800), the
  part of the sample not inflated by file-head extracts. Frauds (242) use both days, folded to hour of day,
  shrunk towards the legit profile with `FRAUD_HOUR_PSEUDO_COUNT` pseudo-frauds so no hour is left empty.
- Marginals: quantile knots at interior probabilities only (legit 0.001..0.999, fraud 0.025..0.975, i.e. at
  least ~5 real rows beyond the outermost fraud knot), so no figure is a single row's value; generalised-
  Pareto tails fitted by least squares to the outer knots (probability <= `TAIL_SPAN`) extrapolate beyond.
  Knots sit at evenly spaced normal scores (cheap to evaluate). Amount is fitted on log1p(Amount).
- Dependence: a Gaussian copula per class: correlation of (weighted) normal scores of V1..V28 and Amount.
- About 1 fraud in 6 in the real rows lies inside the legit cloud (Mahalanobis distance in the legit copula
  within the legit rows' 99% quantile) and a model trained on real rows gives them legit scores. One copula
  cannot produce such a cluster next to the clearly anomalous frauds (it made generated frauds too easy: AUPRC
  ~0.99), so frauds are a two-part mixture: that share drawn from the legit copula shifted by the cluster's
  mean normal score, the rest from a copula fitted to the anomalous frauds only.
- Legit marginals are then adjusted towards the published full-dataset figures, which the biased sample
  cannot give: each V column is shifted so the full mixture (fraud rate `REFERENCE_FRAUD_RATE`) has mean 0,
  and its tail scales multiplied so the mixture's standard deviation equals `REFERENCE_V_STD`. Tails, not
  the body, carry the correction because the body is well measured while the extremes that dominate a
  heavy-tailed standard deviation are the least-sampled part. Amount is left as fitted (its weighted mean
  and median already sit near the published 88.35 and 22).
"""

from __future__ import annotations

from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd
from scipy.optimize import brentq
from scipy.special import ndtr, ndtri

from fraud_detection.domain.schema import AMOUNT, LABEL, TIME
from fraud_detection.domain.validation import REFERENCE_V_STD
from fraud_detection.infrastructure.synthetic.calibration import (
    COPULA_COLUMNS,
    HOURS_PER_DAY,
    Calibration,
    ClassCalibration,
    ColumnFit,
    Disguise,
)
from fraud_detection.infrastructure.synthetic.marginals import Marginal, Tail

REFERENCE_FRAUD_RATE = 0.00172
SECONDS_PER_HOUR = 3600
SECONDS_PER_DAY = 86_400
FRAUD_HOUR_PSEUDO_COUNT = 24.0
AMOUNT_MAX = 30_000.0
LEGIT_SCORES = np.linspace(-3.09, 3.09, 161)  # probabilities 0.001..0.999, 0.0386 apart in z
FRAUD_SCORES = np.linspace(-1.96, 1.96, 25)  # probabilities 0.025..0.975: >= 5 real frauds beyond each end
TAIL_SPAN = {"legit": 0.02, "fraud": 0.2}  # a tail is fitted to the knots at most this probable (each side)
DISGUISE_QUANTILE = 0.99
XI_GRID = np.round(np.arange(-0.6, 0.2501, 0.01), 2)  # bounded .. heavy, with finite kurtosis
TAIL_FACTOR_RANGE = (0.2, 5.0)
DECIMALS = 6
CORRELATION_DECIMALS = 4


def fit_calibration(frame: pd.DataFrame, provenance: dict[str, Any]) -> Calibration:
    legit = frame[frame[LABEL] == 0]
    fraud = frame[frame[LABEL] == 1]
    legit_hours = _second_day_profile(legit[TIME].to_numpy())
    legit_weights = _time_weights(legit[TIME].to_numpy(), legit_hours)
    legit_fit = _fit_class(legit, legit_weights, LEGIT_SCORES, TAIL_SPAN["legit"], legit_hours)
    disguise, disguised = _disguised_frauds(legit, legit_weights, legit_fit.correlation, fraud)
    fraud_hours = _fraud_profile(fraud[TIME].to_numpy(), legit_hours)
    anomalous = fraud[~disguised]
    fraud_fit = _fit_class(anomalous, np.ones(len(anomalous)), FRAUD_SCORES, TAIL_SPAN["fraud"], fraud_hours)
    fraud_fit = replace(fraud_fit, disguise=disguise)
    return Calibration(_adjust_legit(legit_fit, fraud_fit), fraud_fit, AMOUNT_MAX, provenance, _choices())


def _fit_class(
    rows: pd.DataFrame, weights: np.ndarray, scores: np.ndarray, tail_span: float, hours: np.ndarray
) -> ClassCalibration:
    marginals: dict[str, ColumnFit] = {}
    for column in COPULA_COLUMNS:
        space, transform = _in_fit_space(rows, column)
        marginals[column] = _column_fit(_fit_marginal(space, weights, scores, tail_span, transform))
    return ClassCalibration(
        rows=len(rows),
        effective_rows=float(weights.sum() ** 2 / (weights**2).sum()),
        marginals=marginals,
        correlation=_weighted_correlation(_normal_scores(rows, weights, rows), weights),
        hour_weights=hours,
    )


def _in_fit_space(rows: pd.DataFrame, column: str) -> tuple[np.ndarray, str]:
    values = rows[column].to_numpy(dtype=np.float64)
    return (np.log1p(values), "log1p") if column == AMOUNT else (values, "identity")


def _disguised_frauds(
    legit: pd.DataFrame, weights: np.ndarray, correlation: np.ndarray, fraud: pd.DataFrame
) -> tuple[Disguise, np.ndarray]:
    """Frauds whose Mahalanobis distance in the legit copula is within the legit rows' `DISGUISE_QUANTILE`:
    a real model scores them like legit rows (their out-of-fold scores average ~0.04 on the real sample).
    A single copula cannot make such a cluster, so they become their own mixture component."""
    inverse = np.linalg.inv(correlation)
    legit_scores = _normal_scores(legit, weights, legit)
    legit_distance = np.einsum("ij,jk,ik->i", legit_scores, inverse, legit_scores)
    cumulative, ordered = _weighted_ecdf(legit_distance, weights)
    threshold = round(float(np.interp(DISGUISE_QUANTILE, cumulative, ordered)), 2)
    fraud_scores = _normal_scores(legit, weights, fraud)
    disguised = np.einsum("ij,jk,ik->i", fraud_scores, inverse, fraud_scores) <= threshold
    offset = np.round(fraud_scores[disguised].mean(axis=0), CORRELATION_DECIMALS)
    share = round(float(disguised.mean()), DECIMALS)
    return Disguise(share, int(disguised.sum()), threshold, offset), disguised


def _fit_marginal(
    values: np.ndarray, weights: np.ndarray, scores: np.ndarray, tail_span: float, transform: str
) -> Marginal:
    cumulative, ordered = _weighted_ecdf(values, weights)
    probabilities = ndtr(scores)
    knots = np.round(np.interp(probabilities, cumulative, ordered), DECIMALS)
    side = int(np.searchsorted(probabilities, tail_span, side="right"))
    lower = _fit_tail(probabilities[:side], knots[:side])
    upper = _fit_tail(probabilities[:side], -knots[::-1][:side])  # the grid is symmetric in z
    return Marginal(scores, knots, lower, upper, transform)


def _fit_tail(tail_probabilities: np.ndarray, knots: np.ndarray) -> Tail:
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


def _adjust_legit(legit: ClassCalibration, fraud: ClassCalibration) -> ClassCalibration:
    pi = REFERENCE_FRAUD_RATE
    adjusted = dict(legit.marginals)
    for column, reference_std in REFERENCE_V_STD.items():
        fraud_mean, fraud_std = _fraud_moments(legit, fraud, column)
        target_mean = -pi / (1 - pi) * fraud_mean
        target_var = (
            reference_std**2 - pi * fraud_std**2 - pi * (1 - pi) * (fraud_mean - target_mean) ** 2
        ) / (1 - pi)
        marginal = legit.marginals[column].marginal
        factor = _tail_factor(marginal, float(np.sqrt(target_var)))
        scaled = _scaled_tails(marginal, factor)
        body_scale = float(np.sqrt(target_var)) / scaled.moments()[1]
        if abs(body_scale - 1) > 1e-3:  # tails alone could not reach the target within the allowed range
            scaled = _scaled_body(scaled, body_scale)
        shift = round(target_mean - scaled.moments()[0], DECIMALS)
        final = Marginal(scaled.scores, np.round(scaled.knots + shift, DECIMALS), scaled.lower, scaled.upper)
        adjustment = {"tail_factor": round(factor, 4), "shift": shift}
        if abs(body_scale - 1) > 1e-3:
            adjustment["body_scale"] = round(body_scale, 4)
        adjusted[column] = _column_fit(final, adjustment)
    return replace(legit, marginals=adjusted)


def _fraud_moments(legit: ClassCalibration, fraud: ClassCalibration, column: str) -> tuple[float, float]:
    """Mean and std of all frauds in `column`: the anomalous copula mixed with the disguised share."""
    mean, std = fraud.marginals[column].mean, fraud.marginals[column].std
    if fraud.disguise is None:
        return mean, std
    share = fraud.disguise.share
    offset = float(fraud.disguise.offset[COPULA_COLUMNS.index(column)])
    disguised_mean, disguised_std = legit.marginals[column].marginal.moments(offset)
    mixed_mean = (1 - share) * mean + share * disguised_mean
    second = (1 - share) * (std**2 + mean**2) + share * (disguised_std**2 + disguised_mean**2)
    return mixed_mean, float(np.sqrt(second - mixed_mean**2))


def _tail_factor(marginal: Marginal, target_std: float) -> float:
    low, high = TAIL_FACTOR_RANGE

    def gap(factor: float) -> float:
        return _scaled_tails(marginal, factor).moments()[1] - target_std

    if gap(low) >= 0:
        return low
    if gap(high) <= 0:
        return high
    return float(brentq(gap, low, high, xtol=1e-6))


def _scaled_tails(marginal: Marginal, factor: float) -> Marginal:
    def scaled(tail: Tail) -> Tail:
        return Tail(tail.xi, round(tail.scale * factor, DECIMALS))

    return Marginal(
        marginal.scores, marginal.knots, scaled(marginal.lower), scaled(marginal.upper), marginal.transform
    )


def _scaled_body(marginal: Marginal, factor: float) -> Marginal:
    centre = float(np.interp(0.0, marginal.scores, marginal.knots))
    knots = np.round(centre + (marginal.knots - centre) * factor, DECIMALS)
    lower = Tail(marginal.lower.xi, round(marginal.lower.scale * factor, DECIMALS))
    upper = Tail(marginal.upper.xi, round(marginal.upper.scale * factor, DECIMALS))
    return Marginal(marginal.scores, knots, lower, upper, marginal.transform)


def _column_fit(marginal: Marginal, adjustment: dict[str, float] | None = None) -> ColumnFit:
    mean, std = marginal.moments()
    return ColumnFit(marginal, round(mean, DECIMALS), round(std, DECIMALS), adjustment or {})


def _weighted_ecdf(values: np.ndarray, weights: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Mid-point cumulative weight of each sorted value (Hazen plotting positions when weights are equal)."""
    order = np.argsort(values, kind="stable")
    ordered, ordered_weights = values[order], weights[order]
    cumulative = (np.cumsum(ordered_weights) - ordered_weights / 2) / ordered_weights.sum()
    return cumulative, ordered


def _normal_scores(reference: pd.DataFrame, weights: np.ndarray, rows: pd.DataFrame) -> np.ndarray:
    """Φ⁻¹ of each value's weighted mid-rank among `reference`'s values, column by column (ties share one:
    Amount has many exact repeats); `rows` may be `reference` itself or rows of another class."""
    scores = np.empty((len(rows), len(COPULA_COLUMNS)))
    for index, column in enumerate(COPULA_COLUMNS):
        space, _ = _in_fit_space(reference, column)
        unique, inverse = np.unique(space, return_inverse=True)
        group = np.bincount(inverse, weights=weights, minlength=len(unique))
        middle = (np.cumsum(group) - group / 2) / group.sum()
        scores[:, index] = ndtri(np.interp(_in_fit_space(rows, column)[0], unique, middle))
    return scores


def _weighted_correlation(scores: np.ndarray, weights: np.ndarray) -> np.ndarray:
    centred = scores - np.average(scores, axis=0, weights=weights)
    covariance = (centred * weights[:, None]).T @ centred / weights.sum()
    scale = np.sqrt(np.diag(covariance))
    correlation = np.asarray(np.round(covariance / np.outer(scale, scale), CORRELATION_DECIMALS))
    np.fill_diagonal(correlation, 1.0)
    return correlation


def _second_day_profile(times: np.ndarray) -> np.ndarray:
    second_day = times[(times >= SECONDS_PER_DAY) & (times < 2 * SECONDS_PER_DAY)]
    hours = ((second_day - SECONDS_PER_DAY) // SECONDS_PER_HOUR).astype(int)
    counts = np.bincount(hours, minlength=HOURS_PER_DAY).astype(np.float64)
    return np.asarray(np.round(counts / counts.sum(), DECIMALS), dtype=np.float64)


def _time_weights(times: np.ndarray, hour_profile: np.ndarray) -> np.ndarray:
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


def _fraud_profile(times: np.ndarray, legit_profile: np.ndarray) -> np.ndarray:
    hours = ((times // SECONDS_PER_HOUR) % HOURS_PER_DAY).astype(int)
    counts = np.bincount(hours, minlength=HOURS_PER_DAY) + FRAUD_HOUR_PSEUDO_COUNT * legit_profile
    return np.asarray(np.round(counts / counts.sum(), DECIMALS), dtype=np.float64)


def _choices() -> dict[str, Any]:
    return {
        "reference_fraud_rate": REFERENCE_FRAUD_RATE,
        "reference_v_std": "domain.validation.REFERENCE_V_STD (full 284,807-row dataset)",
        "legit_time_reweighting": (
            "legit rows weighted by true/sample share of their absolute hour (true share from the second-day "
            "profile, equal per day) to undo the over-represented first hours of the sample"
        ),
        "legit_hour_weights": "second day only (Time 86,400..172,800), hour-of-day counts",
        "fraud_hour_weights": (
            f"both days folded to hour of day, plus {FRAUD_HOUR_PSEUDO_COUNT:g} pseudo-frauds spread as the "
            "legit profile (shrinks the 242-fraud estimate towards the legit shape)"
        ),
        "knots": (
            f"at evenly spaced normal scores: legit {len(LEGIT_SCORES)} over probabilities 0.001..0.999, "
            f"fraud {len(FRAUD_SCORES)} over 0.025..0.975; weighted Hazen plotting positions"
        ),
        "tails": (
            f"GPD least squares on the knots with tail probability <= {TAIL_SPAN['legit']} (legit) or "
            f"{TAIL_SPAN['fraud']} (fraud), xi on a 0.01 grid in "
            f"[{XI_GRID[0]}, {XI_GRID[-1]}] (finite kurtosis), anchored at the outermost knot"
        ),
        "legit_adjustment": (
            "per V column: tails scaled so the mixture std at the reference fraud rate equals "
            "REFERENCE_V_STD, then knots shifted so the mixture mean is 0 (Amount not adjusted)"
        ),
        "copula": "Gaussian copula per class; Pearson correlation of weighted normal scores, ties mid-ranked",
        "disguised_frauds": (
            f"frauds within the legit rows' {DISGUISE_QUANTILE:g} quantile of Mahalanobis distance in the "
            "legit copula form a mixture component: legit copula shifted by their mean legit normal score; "
            "the fraud marginals and correlation are fitted to the remaining frauds"
        ),
        "amount": f"knots on log1p(Amount); generated amounts clipped to [0, amount_max = {AMOUNT_MAX:g}]",
        "not_modelled": (
            "dependence of V columns on time of day; tail dependence between columns; exact repeats of "
            "popular amounts beyond what flat quantile stretches give"
        ),
    }
