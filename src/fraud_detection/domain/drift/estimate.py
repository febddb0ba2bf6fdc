"""Precision and recall at the served threshold, estimated from the model's probabilities before any label
arrives (confidence-based performance estimation, as NannyML's CBPE).

If the probabilities are calibrated, a row scored p is a fraud with chance p. Then the expected true
positives are the sum of p over the alerts, the expected frauds the sum of p over every row, and

    estimated precision = sum(p over alerts) / alerts,   estimated recall = sum(p over alerts) / sum(p).

Written here rather than taken from NannyML: it is these few lines of numpy, while NannyML 0.13 brings
statsmodels, plotly and its own pins into the serving image (tried here, it did not import alongside this
project's set). tests/unit/test_performance_estimate.py checks it on a fixture whose labels are drawn from
its own probabilities, and tests/integration/test_performance_estimate.py on a real LightGBM model, where
the estimate must match the realised figures.

Calibration. The model is trained on log-loss, so with the unweighted strategy its probabilities are the
estimates (Brier score and reliability curve are logged at training). When positives were up-weighted by
w (scale_pos_weight), the odds it learns are w times the true odds; `calibrated` divides them back out (the
standard prior correction). Isotonic regression on out-of-fold scores was measured on the shared real rows
and not kept: out-of-fold scores come from weaker fold models than the served refit, and the map moved the
recall estimate further from the realised one (0.995 vs realised 0.969; raw 0.977).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

import numpy as np

from fraud_detection.domain.decision import flagged


@dataclass(frozen=True)
class PerformanceEstimate:
    """Estimated figures at the threshold over `rows` scored rows; None where undefined (no alert, or no
    expected fraud at all)."""

    rows: int
    alerts: int
    expected_frauds: float
    expected_true_positives: float
    # Standard errors from which rows happened to be in the window (the ratio estimator's, by the delta
    # method): with a few dozen alerts spread over many scores, a window's estimate moves by several points.
    precision_error: float | None = None
    recall_error: float | None = None

    @property
    def precision(self) -> float | None:
        return self.expected_true_positives / self.alerts if self.alerts else None

    @property
    def recall(self) -> float | None:
        return self.expected_true_positives / self.expected_frauds if self.expected_frauds > 0 else None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"precision": self.precision, "recall": self.recall}

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> PerformanceEstimate:
        return cls(
            int(document["rows"]),
            int(document["alerts"]),
            float(document["expected_frauds"]),
            float(document["expected_true_positives"]),
            _optional(document.get("precision_error")),
            _optional(document.get("recall_error")),
        )


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)


def calibrated(probabilities: np.ndarray, positive_weight: float = 1.0) -> np.ndarray:
    """Undo up-weighting of positives by `positive_weight`: odds / w, back to a probability."""
    if positive_weight <= 0:
        raise ValueError(f"positive_weight must be positive, got {positive_weight}")
    p = np.clip(np.asarray(probabilities, dtype=np.float64), 0.0, 1.0)
    if positive_weight == 1.0:
        return p
    corrected: np.ndarray = p / (p + (1.0 - p) * positive_weight)
    return corrected


def estimate_performance(
    probabilities: np.ndarray, threshold: float, positive_weight: float = 1.0
) -> PerformanceEstimate:
    """The estimate for rows scored `probabilities` (raw model output; alerts are raw >= threshold, as
    served), each row's fraud chance taken from the calibrated probability."""
    raw = np.asarray(probabilities, dtype=np.float64)
    raw = raw[np.isfinite(raw)]
    chance = calibrated(raw, positive_weight)
    alerts = flagged(raw, threshold)
    hits = np.where(alerts, chance, 0.0)  # each row's expected true positive
    return PerformanceEstimate(
        rows=len(raw),
        alerts=int(np.count_nonzero(alerts)),
        expected_frauds=float(chance.sum()),
        expected_true_positives=float(hits.sum()),
        precision_error=ratio_error(hits, alerts.astype(np.float64)),
        recall_error=ratio_error(hits, chance),
    )


def ratio_error(numerator: np.ndarray, denominator: np.ndarray) -> float | None:
    """Standard error of sum(numerator) / sum(denominator) over rows drawn at random (delta method):
    sqrt(n * var(numerator - ratio * denominator)) / sum(denominator). None when the ratio is undefined."""
    total = float(denominator.sum())
    if total <= 0 or len(numerator) < 2:
        return None
    residual = numerator - numerator.sum() / total * denominator
    return float(np.sqrt(len(numerator) * residual.var()) / total)


# Fixed edges rather than equal-count bins: at a 0.17% fraud rate equal-count bins all sit near 0, and the
# part that decides the estimates (the alerts, the half-recognised rows) would share one bin.
RELIABILITY_EDGES = (0.0, 0.001, 0.01, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 1.0)


@dataclass(frozen=True)
class ReliabilityBin:
    low: float
    high: float
    rows: int
    mean_probability: float
    fraud_rate: float


def reliability(labels: np.ndarray, chance: np.ndarray) -> tuple[ReliabilityBin, ...]:
    """The reliability curve: per probability bin, the mean predicted chance against the observed fraud rate
    (empty bins left out). Calibrated probabilities lie on the diagonal."""
    y, p = np.asarray(labels, dtype=np.float64), np.asarray(chance, dtype=np.float64)
    edges = np.asarray(RELIABILITY_EDGES)
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, len(edges) - 2)
    found = []
    for b in range(len(edges) - 1):
        members = index == b
        if members.any():
            found.append(
                ReliabilityBin(
                    float(edges[b]), float(edges[b + 1]), int(members.sum()),
                    float(p[members].mean()), float(y[members].mean()),
                )
            )  # fmt: skip
    return tuple(found)


def brier_score(labels: np.ndarray, chance: np.ndarray) -> float:
    """Mean squared gap between the predicted chance and the 0/1 outcome."""
    y, p = np.asarray(labels, dtype=np.float64), np.asarray(chance, dtype=np.float64)
    return float(np.mean((p - y) ** 2))
