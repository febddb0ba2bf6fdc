"""Synthetic transactions in the exact schema of the ULB/Kaggle credit-card dataset, anywhere, in under 2 s.

Each class is a Gaussian copula over V1..V28 and Amount with calibrated marginals (see `calibration.json`), so
columns keep their heavy tails, their correlations within a class, and fraud keeps separating mostly on V14,
V17, V12, V10, V16, V3, V7, V11 and V4. Times follow each class's hour-of-day intensity (frauds are relatively
more common at night). A `DriftScenario` changes what it documents and nothing else.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from fraud_detection.domain.schema import AMOUNT, TRANSACTION_COLUMNS
from fraud_detection.domain.validation import REFERENCE_V_STD
from fraud_detection.simulation.calibration import (
    COPULA_COLUMNS,
    Calibration,
    ClassCalibration,
    default_calibration,
)
from fraud_detection.simulation.diurnal import sample_times
from fraud_detection.simulation.scenarios import SCENARIOS, DriftScenario, get_scenario
from fraud_detection.simulation.writer import write_transactions

__all__ = ["fraud_count", "generate_transactions", "write_transactions"]

SECONDS_PER_DAY = 86_400.0
DEFAULT_ROWS = 284_807
DEFAULT_FRAUD_RATE = 0.00172
V_DECIMALS = 9  # as many of Kaggle's values carry; keeps written files ~40% smaller than full precision
_AMOUNT_INDEX = COPULA_COLUMNS.index(AMOUNT)


def fraud_count(rows: int, fraud_rate: float) -> int:
    """round(rows * fraud_rate), but at least one fraud once the product reaches 0.5, and never above rows."""
    expected = rows * fraud_rate
    count = round(expected)
    if expected >= 0.5:
        count = max(count, 1)
    return min(count, rows)


def generate_transactions(
    rows: int = DEFAULT_ROWS,
    *,
    seed: int = 42,
    fraud_rate: float = DEFAULT_FRAUD_RATE,
    scenario: DriftScenario | str | None = None,
    start_time: float = 0.0,
    days: float = 2.0,
    calibration: Calibration | None = None,
) -> pd.DataFrame:
    """`rows` transactions over `days` days from `start_time` (seconds), sorted by `Time`.

    Columns are `TRANSACTION_COLUMNS` in order, all float64; `Time` holds whole seconds, `Amount` cents,
    `Class` 0/1 with exactly `fraud_count(rows, rate)` frauds, where `rate` is the scenario's `fraud_rate` if
    it sets one, else `fraud_rate`. The same arguments and seed give the same frame. `calibration` replaces
    the packaged figures (e.g. ones refitted on other rows).
    """
    drift = _resolve(scenario)
    rate = drift.fraud_rate if drift.fraud_rate is not None else fraud_rate
    _check_arguments(rows, rate, days, start_time)
    figures = calibration or default_calibration()
    rng = np.random.default_rng(seed)
    frauds = fraud_count(rows, rate)
    legit_values = _sample_class(figures.legit, rows - frauds, rng)
    fraud_values = _sample_frauds(figures, frauds, rng)
    if drift.pattern:
        fraud_values = _new_fraud_pattern(figures, fraud_values, drift, rng)
    values = np.hstack([legit_values, fraud_values])  # one row per copula column: columns stay contiguous
    _apply_shift(values, drift)
    amounts = np.clip(values[_AMOUNT_INDEX], 0.0, figures.amount_max) * drift.amount_factor
    values[_AMOUNT_INDEX] = np.round(amounts, 2)
    np.round(values[:_AMOUNT_INDEX], V_DECIMALS, out=values[:_AMOUNT_INDEX])
    seconds = days * SECONDS_PER_DAY
    times = np.concatenate(
        [
            sample_times(figures.legit.hour_weights, rows - frauds, start_time, seconds, rng),
            sample_times(figures.fraud.hour_weights, frauds, start_time, seconds, rng),
        ]
    )
    labels = np.concatenate([np.zeros(rows - frauds), np.ones(frauds)])
    order = np.argsort(times, kind="stable")
    table = np.empty((len(TRANSACTION_COLUMNS), rows), dtype=np.float64)  # Time, V1..V28, Amount, Class
    table[0] = times[order]
    np.take(values, order, axis=1, out=table[1 : 1 + len(COPULA_COLUMNS)])
    table[-1] = labels[order]
    return pd.DataFrame(table.T, columns=list(TRANSACTION_COLUMNS), copy=False)


def _resolve(scenario: DriftScenario | str | None) -> DriftScenario:
    if scenario is None:
        return SCENARIOS["none"]
    return get_scenario(scenario) if isinstance(scenario, str) else scenario


def _check_arguments(rows: int, fraud_rate: float, days: float, start_time: float) -> None:
    if isinstance(rows, bool) or not isinstance(rows, int | np.integer) or rows < 0:
        raise ValueError(f"rows must be a whole number >= 0, got {rows!r}")
    if not 0.0 <= fraud_rate <= 1.0:
        raise ValueError(f"fraud_rate must be in [0, 1], got {fraud_rate!r}")
    if not days > 0:
        raise ValueError(f"days must be > 0, got {days!r}")
    if not start_time >= 0:
        raise ValueError(f"start_time must be >= 0 (Time is never negative), got {start_time!r}")


def _sample_class(
    figures: ClassCalibration, count: int, rng: np.random.Generator, offset: np.ndarray | None = None
) -> np.ndarray:
    """Shape (len(COPULA_COLUMNS), count): correlated normal scores (shifted by `offset`) mapped through each
    column's quantile function."""
    scores = figures.cholesky() @ rng.standard_normal((len(COPULA_COLUMNS), count))
    if offset is not None:
        scores += offset[:, None]
    for index, column in enumerate(COPULA_COLUMNS):
        scores[index] = figures.marginals[column].marginal.from_normal(scores[index])
    return scores


def _sample_frauds(figures: Calibration, count: int, rng: np.random.Generator) -> np.ndarray:
    """The calibrated mixture: a fixed share of legit-looking frauds, the rest from the anomalous copula."""
    disguise = figures.fraud.disguise
    disguised = round(count * disguise.share) if disguise else 0
    anomalous = _sample_class(figures.fraud, count - disguised, rng)
    if disguise is None:
        return anomalous
    return np.hstack([anomalous, _sample_class(figures.legit, disguised, rng, disguise.offset)])


def _new_fraud_pattern(
    figures: Calibration, frauds: np.ndarray, drift: DriftScenario, rng: np.random.Generator
) -> np.ndarray:
    """Legit-looking V columns, plus each `pattern_from` column's fraud deviation (in legit standard
    deviations) moved onto its `pattern_to` partner; Amount stays the fraud's."""
    disguised = _sample_class(figures.legit, frauds.shape[1], rng)
    disguised[_AMOUNT_INDEX] = frauds[_AMOUNT_INDEX]
    legit = figures.legit.marginals
    for source, target in drift.pattern:
        deviation = (frauds[COPULA_COLUMNS.index(source)] - legit[source].mean) / legit[source].std
        disguised[COPULA_COLUMNS.index(target)] += deviation * legit[target].std
    return disguised


def _apply_shift(values: np.ndarray, drift: DriftScenario) -> None:
    columns, shift_std = drift.shift
    for column in columns:
        values[COPULA_COLUMNS.index(column)] += shift_std * REFERENCE_V_STD[column]
