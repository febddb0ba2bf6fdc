"""Fit the generator's figures from real rows (used by `scripts/calibrate_generator.py`, never at generation).

This module assembles the fit; each step lives beside it: `fit_hours` (hour profiles, time weights),
`fit_marginals` (knots and tails), `fit_copula` (dependence, disguised frauds) and `fit_adjustment` (legit
marginals towards the published figures).

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

from fraud_detection.domain.schema import LABEL, TIME
from fraud_detection.simulation.calibration import (
    COPULA_COLUMNS,
    Calibration,
    ClassCalibration,
    ColumnFit,
)
from fraud_detection.simulation.fit_adjustment import REFERENCE_FRAUD_RATE, adjust_legit
from fraud_detection.simulation.fit_copula import (
    DISGUISE_QUANTILE,
    disguised_frauds,
    normal_scores,
    weighted_correlation,
)
from fraud_detection.simulation.fit_hours import (
    FRAUD_HOUR_PSEUDO_COUNT,
    fraud_profile,
    second_day_profile,
    time_weights,
)
from fraud_detection.simulation.fit_marginals import (
    XI_GRID,
    column_fit,
    fit_marginal,
    in_fit_space,
)

AMOUNT_MAX = 30_000.0
LEGIT_SCORES = np.linspace(-3.09, 3.09, 161)  # probabilities 0.001..0.999, 0.0386 apart in z
FRAUD_SCORES = np.linspace(-1.96, 1.96, 25)  # probabilities 0.025..0.975: >= 5 real frauds beyond each end
TAIL_SPAN = {"legit": 0.02, "fraud": 0.2}  # a tail is fitted to the knots at most this probable (each side)


def fit_calibration(frame: pd.DataFrame, provenance: dict[str, Any]) -> Calibration:
    legit = frame[frame[LABEL] == 0]
    fraud = frame[frame[LABEL] == 1]
    legit_hours = second_day_profile(legit[TIME].to_numpy())
    legit_weights = time_weights(legit[TIME].to_numpy(), legit_hours)
    legit_fit = _fit_class(legit, legit_weights, LEGIT_SCORES, TAIL_SPAN["legit"], legit_hours)
    disguise, disguised = disguised_frauds(legit, legit_weights, legit_fit.correlation, fraud)
    fraud_hours = fraud_profile(fraud[TIME].to_numpy(), legit_hours)
    anomalous = fraud[~disguised]
    fraud_fit = _fit_class(anomalous, np.ones(len(anomalous)), FRAUD_SCORES, TAIL_SPAN["fraud"], fraud_hours)
    fraud_fit = replace(fraud_fit, disguise=disguise)
    return Calibration(adjust_legit(legit_fit, fraud_fit), fraud_fit, AMOUNT_MAX, provenance, _choices())


def _fit_class(
    rows: pd.DataFrame, weights: np.ndarray, scores: np.ndarray, tail_span: float, hours: np.ndarray
) -> ClassCalibration:
    marginals: dict[str, ColumnFit] = {}
    for column in COPULA_COLUMNS:
        space, transform = in_fit_space(rows, column)
        marginals[column] = column_fit(fit_marginal(space, weights, scores, tail_span, transform))
    return ClassCalibration(
        rows=len(rows),
        effective_rows=float(weights.sum() ** 2 / (weights**2).sum()),
        marginals=marginals,
        correlation=weighted_correlation(normal_scores(rows, weights, rows), weights),
        hour_weights=hours,
    )


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
