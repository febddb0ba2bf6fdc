"""How sure the promotion gate can be that the challenger is ahead: a paired, stratified bootstrap of the
metric's difference on the gate's rows.

The gate compares two models on a few thousand labelled rows holding a few dozen frauds. On the real rows,
two models of the same data and settings (another seed) differ there by up to ~0.02 AUPRC either way, so a
bare "higher" promoted an equal challenger about half the time, moving the threshold and the alert volume
for nothing. Resampling the rows (frauds and legitimate rows each with replacement, so every resample holds
the gate's count of frauds) and scoring both models on each resample gives the share of resamples in which
the challenger is ahead and an interval of the difference; `PromotionPolicy.min_confidence` can require a
share. Hand-written rather than scipy.stats.bootstrap: the statistic is a pair of ranking metrics on shared
indices, with a stratification scipy's paired mode does not do.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from fraud_detection.domain.decision import flagged as alerts
from fraud_detection.domain.metrics import (
    Curve,
    RankedRows,
    curve_average_precision,
    curve_recall_at_precision,
    curve_roc_auc,
    precision_at_k,
)

# 1,000 resamples: the share ahead within ~1.5 points (its standard error at 50% is 1.6%), ~1 s for a gate
# of 5,000 rows and AUPRC.
RESAMPLES = 1_000
INTERVAL = 0.90  # the difference's central interval reported with the decision

RowMetric = Callable[[np.ndarray, np.ndarray, float], float]  # (labels, scores, threshold) -> value


@dataclass(frozen=True)
class PairedDifference:
    """Challenger minus champion over the resamples."""

    ahead: float  # share of resamples where the challenger scored strictly higher
    low: float
    high: float
    resamples: int

    def describe(self) -> str:
        return (
            f"challenger ahead in {self.ahead:.0%} of {self.resamples:,} resamples of these rows "
            f"({INTERVAL:.0%} interval of the difference {self.low:+.4f} to {self.high:+.4f})"
        )

    def as_dict(self) -> dict[str, float]:
        return {"ahead": self.ahead, "low": self.low, "high": self.high, "resamples": float(self.resamples)}


@dataclass(frozen=True)
class GateMetric:
    """The one gate metric, computed alone: on a sample's rows, and, for a metric read off the ranking curve,
    on a curve, which the bootstrap builds per resample without sorting it (`RankedRows`)."""

    on_rows: RowMetric
    on_curve: Callable[[Curve], float] | None = None

    def __call__(self, labels: np.ndarray, scores: np.ndarray, threshold: float) -> float:
        return self.on_rows(labels, scores, threshold)


def metric_function(metric: str, top_k: int) -> GateMetric:
    """(labels, scores, threshold) -> the one gate metric, without computing the others."""

    def at_threshold(labels: np.ndarray, scores: np.ndarray, threshold: float) -> float:
        flagged = alerts(scores, threshold)
        hits = float((flagged & (labels == 1)).sum())
        if metric == "precision":
            return hits / flagged.sum() if flagged.any() else 0.0
        return hits / labels.sum() if labels.any() else 0.0

    on_curve: dict[str, Callable[[Curve], float]] = {
        "auprc": curve_average_precision,
        "roc_auc": curve_roc_auc,
        "recall_at_precision_90": lambda curve: curve_recall_at_precision(curve, 0.9),
    }
    if metric in ("precision", "recall"):
        return GateMetric(at_threshold)
    if metric == "precision_at_k":
        return GateMetric(lambda labels, scores, _: precision_at_k(labels, scores, top_k))
    read = on_curve[metric]
    return GateMetric(lambda labels, scores, _: read(Curve.of(labels, scores)), read)


def paired_bootstrap(
    labels: np.ndarray,
    challenger: tuple[np.ndarray, float],
    champion: tuple[np.ndarray, float],
    metric: GateMetric | RowMetric,
    resamples: int = RESAMPLES,
    seed: int = 0,
) -> PairedDifference:
    """`challenger` and `champion`: (scores, threshold) on the same rows. Seeded: a decision is repeatable.
    A curve metric is read off each model's rows sorted once and weighted by the resample's draws: the same
    value as on the resample itself, 3.5x faster at 500,000 rows (benchmarks/gate_bootstrap.py)."""
    labels = np.asarray(labels, dtype=np.int64)
    frauds, legit = np.flatnonzero(labels == 1), np.flatnonzero(labels == 0)
    rng = np.random.default_rng(seed)
    on_curve = metric.on_curve if isinstance(metric, GateMetric) else None
    if on_curve is not None:
        ranked = RankedRows.of(labels, challenger[0]), RankedRows.of(labels, champion[0])
    differences = np.empty(resamples)
    for i in range(resamples):
        rows = np.concatenate([rng.choice(frauds, size=len(frauds)), rng.choice(legit, size=len(legit))])
        if on_curve is not None:
            drawn = np.bincount(rows, minlength=len(labels))
            differences[i] = on_curve(ranked[0].curve(drawn)) - on_curve(ranked[1].curve(drawn))
            continue
        sample = labels[rows]
        differences[i] = metric(sample, challenger[0][rows], challenger[1]) - metric(
            sample, champion[0][rows], champion[1]
        )
    tail = (1 - INTERVAL) / 2
    low, high = np.quantile(differences, [tail, 1 - tail])
    return PairedDifference(float(np.mean(differences > 0)), float(low), float(high), resamples)
