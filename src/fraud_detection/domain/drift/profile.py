"""The reference a model is checked against: each input's distribution on every row it was fitted on, the
score distribution of those rows, and the alert rate and precision/recall (realised and estimated) on its
out-of-fold rows.

A distribution is kept as 1,001 quantiles (every 0.1%), not as rows: a few kilobytes per column that answer
both drift statistics. The CDF read from them is within 0.001 of the empirical one, far below what any test
here can resolve (the KS critical value on a 100,000-row window is about 0.007). The score distribution is
the training rows' own scores by the served (refit) model: the out-of-fold scores come from weaker fold
models (fewer rows, fewer rounds), whose score distribution differs from the refit's on new rows (KS 0.53 on
the shared real rows; the refit's own scores: 0.015). The alert rate and the precision/recall figures, which
live in the top 1% of scores where a model is overconfident on its own rows, come from the out-of-fold
scores instead (there the estimates matched new rows within 0.01, the own scores' estimated precision was
0.06 too high).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from fraud_detection.domain.drift.estimate import PerformanceEstimate

QUANTILE_POINTS = 1001
PROBABILITIES = np.linspace(0.0, 1.0, QUANTILE_POINTS)
PSI_BINS = 10
SCORE = "score"  # the name the score distribution goes by among the features
PSEUDO_COUNT = 0.5  # a column the reference's outliers never used still gets a small share


@dataclass(frozen=True)
class DistributionProfile:
    """One column's reference distribution: quantiles at `PROBABILITIES`, and how many rows they summarise."""

    name: str
    quantiles: np.ndarray
    rows: int

    @classmethod
    def of(cls, name: str, values: np.ndarray) -> DistributionProfile:
        finite = np.asarray(values, dtype=np.float64)
        finite = finite[np.isfinite(finite)]
        if not len(finite):
            raise ValueError(f"no finite values to profile for '{name}'")
        return cls(name, np.quantile(finite, PROBABILITIES), len(finite))

    def cdf(self, values: np.ndarray, *, strict: bool = False) -> np.ndarray:
        """Share of the reference at or below each value (below it when `strict`), interpolated between
        quantiles. Repeated quantiles are a point mass (Amount has many): the two sides then differ by it.
        np.interp lands on the last of repeated points, so it gives the "at or below" side; run on the
        mirrored quantiles it lands on the first, the "below" side."""
        values = np.asarray(values, dtype=np.float64)
        if strict:
            below: np.ndarray = np.interp(-values, -self.quantiles[::-1], PROBABILITIES[::-1])
            return below
        at_or_below: np.ndarray = np.interp(values, self.quantiles, PROBABILITIES)
        return at_or_below

    def bin_edges(self) -> np.ndarray:
        """Interior edges of the PSI bins: the reference deciles, merged where a point mass repeats them."""
        deciles = self.quantiles[np.linspace(0, QUANTILE_POINTS - 1, PSI_BINS + 1).astype(int)[1:-1]]
        return np.unique(deciles)

    def bin_shares(self, edges: np.ndarray) -> np.ndarray:
        """The reference's share in each bin (-inf, e1), [e1, e2), ..., [ek, inf)."""
        below = self.cdf(edges, strict=True)
        return np.diff(np.concatenate(([0.0], below, [1.0])))

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "rows": self.rows, "quantiles": self.quantiles.tolist()}

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> DistributionProfile:
        quantiles = np.asarray(document["quantiles"], dtype=np.float64)
        if quantiles.shape != (QUANTILE_POINTS,) or np.any(np.diff(quantiles) < 0):
            raise ValueError(
                f"profile of '{document.get('name')}': expected {QUANTILE_POINTS} sorted quantiles"
            )
        return cls(str(document["name"]), quantiles, int(document["rows"]))


@dataclass(frozen=True)
class OutlierSignature:
    """Where the reference's outlying rows are extreme: cells per column, over `rows` outlying rows. A cell
    is extreme beyond the quantiles at `tail_index` from either end; a row is outlying with at least
    `min_columns` extreme cells. Both are stored: a check must count the window's cells the same way."""

    cells: tuple[float, ...]
    rows: int
    tail_index: int
    min_columns: int

    def shares(self) -> np.ndarray:
        smoothed = np.asarray(self.cells) + PSEUDO_COUNT
        shares: np.ndarray = smoothed / smoothed.sum()
        return shares

    def to_dict(self) -> dict[str, Any]:
        return {
            "cells": list(self.cells),
            "rows": self.rows,
            "tail_index": self.tail_index,
            "min_columns": self.min_columns,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> OutlierSignature:
        return cls(
            tuple(float(c) for c in document["cells"]),
            int(document["rows"]),
            int(document["tail_index"]),
            int(document["min_columns"]),
        )


@dataclass(frozen=True)
class ReferenceProfile:
    """Stored with each model version at training time; drift checks of that version compare against it."""

    model_name: str
    model_version: int
    features: tuple[DistributionProfile, ...]  # SCORING_INPUTS order, on the training rows
    score: DistributionProfile  # the served model's scores of its training rows
    alerts: int  # out-of-fold rows at or above the threshold
    scored_rows: int  # out-of-fold rows
    threshold: float
    created_at: str
    outliers: OutlierSignature | None = None  # absent from profiles stored before the outlier test
    estimate: PerformanceEstimate | None = None  # on the out-of-fold scores; absent from older profiles
    realised_precision: float | None = None  # out-of-fold, at the threshold
    realised_recall: float | None = None
    positive_weight: float = 1.0  # the training's scale_pos_weight (estimate.calibrated undoes it)

    @property
    def alert_rate(self) -> float:
        return self.alerts / self.scored_rows

    def to_dict(self) -> dict[str, Any]:
        return {
            "model_name": self.model_name,
            "model_version": self.model_version,
            "created_at": self.created_at,
            "threshold": self.threshold,
            "alerts": self.alerts,
            "scored_rows": self.scored_rows,
            "score": self.score.to_dict(),
            "features": [feature.to_dict() for feature in self.features],
            "outliers": self.outliers.to_dict() if self.outliers else None,
            "estimate": self.estimate.to_dict() if self.estimate else None,
            "realised_precision": self.realised_precision,
            "realised_recall": self.realised_recall,
            "positive_weight": self.positive_weight,
        }

    @classmethod
    def from_dict(cls, document: dict[str, Any]) -> ReferenceProfile:
        return cls(
            model_name=str(document["model_name"]),
            model_version=int(document["model_version"]),
            features=tuple(DistributionProfile.from_dict(f) for f in document["features"]),
            score=DistributionProfile.from_dict(document["score"]),
            alerts=int(document["alerts"]),
            scored_rows=int(document["scored_rows"]),
            threshold=float(document["threshold"]),
            created_at=str(document["created_at"]),
            outliers=OutlierSignature.from_dict(document["outliers"]) if document.get("outliers") else None,
            estimate=PerformanceEstimate.from_dict(document["estimate"])
            if document.get("estimate")
            else None,
            realised_precision=_optional(document.get("realised_precision")),
            realised_recall=_optional(document.get("realised_recall")),
            positive_weight=float(document.get("positive_weight", 1.0)),
        )


def _optional(value: Any) -> float | None:
    return None if value is None else float(value)
