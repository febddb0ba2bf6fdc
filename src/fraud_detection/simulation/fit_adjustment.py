"""Legit marginals moved towards the published full-dataset figures (mean 0, `REFERENCE_V_STD`)."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from scipy.optimize import brentq

from fraud_detection.domain.validation import REFERENCE_V_STD
from fraud_detection.simulation.calibration import COPULA_COLUMNS, ClassCalibration
from fraud_detection.simulation.fit_marginals import DECIMALS, column_fit
from fraud_detection.simulation.marginals import Marginal, Tail

REFERENCE_FRAUD_RATE = 0.00172
TAIL_FACTOR_RANGE = (0.2, 5.0)


def adjust_legit(legit: ClassCalibration, fraud: ClassCalibration) -> ClassCalibration:
    pi = REFERENCE_FRAUD_RATE
    adjusted = dict(legit.marginals)
    for column, reference_std in REFERENCE_V_STD.items():
        fraud_mean, fraud_std = fraud_moments(legit, fraud, column)
        target_mean = -pi / (1 - pi) * fraud_mean
        target_var = (
            reference_std**2 - pi * fraud_std**2 - pi * (1 - pi) * (fraud_mean - target_mean) ** 2
        ) / (1 - pi)
        marginal = legit.marginals[column].marginal
        factor = tail_factor(marginal, float(np.sqrt(target_var)))
        scaled = scaled_tails(marginal, factor)
        body_scale = float(np.sqrt(target_var)) / scaled.moments()[1]
        if abs(body_scale - 1) > 1e-3:  # tails alone could not reach the target within the allowed range
            scaled = scaled_body(scaled, body_scale)
        shift = round(target_mean - scaled.moments()[0], DECIMALS)
        final = Marginal(scaled.scores, np.round(scaled.knots + shift, DECIMALS), scaled.lower, scaled.upper)
        adjustment = {"tail_factor": round(factor, 4), "shift": shift}
        if abs(body_scale - 1) > 1e-3:
            adjustment["body_scale"] = round(body_scale, 4)
        adjusted[column] = column_fit(final, adjustment)
    return replace(legit, marginals=adjusted)


def fraud_moments(legit: ClassCalibration, fraud: ClassCalibration, column: str) -> tuple[float, float]:
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


def tail_factor(marginal: Marginal, target_std: float) -> float:
    low, high = TAIL_FACTOR_RANGE

    def gap(factor: float) -> float:
        return scaled_tails(marginal, factor).moments()[1] - target_std

    if gap(low) >= 0:
        return low
    if gap(high) <= 0:
        return high
    return float(brentq(gap, low, high, xtol=1e-6))


def scaled_tails(marginal: Marginal, factor: float) -> Marginal:
    def scaled(tail: Tail) -> Tail:
        return Tail(tail.xi, round(tail.scale * factor, DECIMALS))

    return Marginal(
        marginal.scores, marginal.knots, scaled(marginal.lower), scaled(marginal.upper), marginal.transform
    )


def scaled_body(marginal: Marginal, factor: float) -> Marginal:
    centre = float(np.interp(0.0, marginal.scores, marginal.knots))
    knots = np.round(centre + (marginal.knots - centre) * factor, DECIMALS)
    lower = Tail(marginal.lower.xi, round(marginal.lower.scale * factor, DECIMALS))
    upper = Tail(marginal.upper.xi, round(marginal.upper.scale * factor, DECIMALS))
    return Marginal(marginal.scores, knots, lower, upper, marginal.transform)
