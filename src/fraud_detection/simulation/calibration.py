"""The generator's fitted figures: typed view of `calibration.json` and its (de)serialisation.

The JSON holds only aggregate figures fitted from real rows (quantiles at interior probabilities, tail
shapes, correlations of normal scores, hour-of-day weights), never a row; `scripts/calibrate_generator.py`
rewrites it and `fitting.py` documents how each figure is obtained. Every key is described under `keys` in the
file itself.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from fraud_detection.domain.schema import AMOUNT, V_COLUMNS
from fraud_detection.simulation.marginals import Marginal, Tail

FORMAT = "fraud-detection/synthetic-calibration"
FORMAT_VERSION = 1
CALIBRATION_FILE = "calibration.json"
COPULA_COLUMNS: tuple[str, ...] = (*V_COLUMNS, AMOUNT)
HOURS_PER_DAY = 24

KEY_DOCS: dict[str, str] = {
    "format, version": "identify this file's layout; the generator refuses other versions",
    "about": "what the file is, in one paragraph",
    "provenance": "the real rows the figures were fitted from (name, SHA-256, counts) and the fitting script",
    "choices": "calibration decisions, in words, with the reference figures they use",
    "columns": "copula column order: V1..V28 then Amount (rows/columns of every correlation matrix)",
    "amount_max": "upper bound on a generated Amount before any drift scenario scales it (euros)",
    "classes.<legit|fraud>.rows": (
        "real rows the class's marginals and correlation were fitted to (fraud: the anomalous ones only)"
    ),
    "classes.<c>.effective_rows": "Kish effective sample size after the time-of-day reweighting",
    "classes.<c>.knot_scores": (
        "evenly spaced normal scores z (`count` from `first` to `last`) at whose probabilities Φ(z) every "
        "column's quantile knots are given"
    ),
    "classes.<c>.hour_weights": "relative transaction intensity in each hour of the day 0..23 (sums to 1)",
    "classes.<c>.correlation": "correlation of the normal scores (Gaussian copula), in `columns` order",
    "classes.<c>.marginals.<col>.transform": "space of the knots: `identity`, or `log1p` for Amount",
    "classes.<c>.marginals.<col>.knots": "quantiles (in `transform` space) at probabilities Φ(knot_scores)",
    "classes.<c>.marginals.<col>.lower_tail|upper_tail": (
        "generalised-Pareto tail beyond the outermost knot: `xi` (shape: >0 heavy, <0 bounded) and `scale`"
    ),
    "classes.<c>.marginals.<col>.mean|std": "mean and standard deviation of the fitted marginal (quadrature)",
    "classes.fraud.disguised": (
        "frauds that look legit: `share` of all frauds (`rows` real ones, whose Mahalanobis distance in the "
        "legit copula is at most `max_distance2`, the legit rows' 99% quantile) are drawn from the legit "
        "copula moved by `latent_offset` (mean legit normal score of those rows, in `columns` order); the "
        "fraud `marginals` and `correlation` describe the other, clearly anomalous frauds"
    ),
    "classes.<c>.marginals.<col>.adjustment": (
        "legit only: `tail_factor` applied to both tail scales and `shift` added to every knot so the "
        "generated full dataset matches the published column means (~0) and standard deviations"
    ),
}


@dataclass(frozen=True)
class ColumnFit:
    """A fitted marginal with its summary moments and any post-fit adjustment (for the record)."""

    marginal: Marginal
    mean: float
    std: float
    adjustment: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Disguise:
    """The share of frauds indistinguishable from legit rows (~1 in 6 in the real data), drawn from the legit
    copula shifted by `offset` in normal-score space."""

    share: float
    rows: int
    max_distance2: float
    offset: np.ndarray

    def to_dict(self) -> dict[str, Any]:
        return {
            "share": self.share,
            "rows": self.rows,
            "max_distance2": self.max_distance2,
            "latent_offset": [float(v) for v in self.offset],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Disguise:
        offset = np.asarray(data["latent_offset"], dtype=np.float64)
        share = float(data["share"])
        if offset.shape != (len(COPULA_COLUMNS),) or not 0 <= share < 1:
            raise ValueError("calibration: disguised frauds need a share in [0, 1) and one offset per column")
        return cls(share, int(data["rows"]), float(data["max_distance2"]), offset)


@dataclass(frozen=True)
class ClassCalibration:
    rows: int
    effective_rows: float
    marginals: dict[str, ColumnFit]
    correlation: np.ndarray
    hour_weights: np.ndarray
    disguise: Disguise | None = None

    def cholesky(self) -> np.ndarray:
        """Lower factor of the copula correlation; nudges a matrix that rounding left not quite positive."""
        try:
            return np.linalg.cholesky(self.correlation)
        except np.linalg.LinAlgError:
            values, vectors = np.linalg.eigh(self.correlation)
            repaired = (vectors * np.clip(values, 1e-6, None)) @ vectors.T
            scale = np.sqrt(np.diag(repaired))
            return np.linalg.cholesky(repaired / np.outer(scale, scale))


@dataclass(frozen=True)
class Calibration:
    legit: ClassCalibration
    fraud: ClassCalibration
    amount_max: float
    provenance: dict[str, Any] = field(default_factory=dict)
    choices: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "version": FORMAT_VERSION,
            "about": (
                "Figures of the synthetic credit-card transaction generator: a Gaussian copula per class "
                "over V1..V28 and Amount (quantile knots with generalised-Pareto tails per column, "
                "correlation of normal scores), a legit-looking share of frauds, and hour-of-day intensities "
                "for Time. Fitted from real rows; holds no row."
            ),
            "keys": KEY_DOCS,
            "provenance": self.provenance,
            "choices": self.choices,
            "columns": list(COPULA_COLUMNS),
            "amount_max": self.amount_max,
            "classes": {"legit": _class_to_dict(self.legit), "fraud": _class_to_dict(self.fraud)},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Calibration:
        if data.get("format") != FORMAT or data.get("version") != FORMAT_VERSION:
            raise ValueError(
                f"calibration: expected format {FORMAT!r} version {FORMAT_VERSION}, "
                f"got {data.get('format')!r} version {data.get('version')!r}"
            )
        if list(data["columns"]) != list(COPULA_COLUMNS):
            raise ValueError(f"calibration: columns must be {list(COPULA_COLUMNS)}, got {data['columns']}")
        classes = data["classes"]
        return cls(
            legit=_class_from_dict(classes["legit"]),
            fraud=_class_from_dict(classes["fraud"]),
            amount_max=float(data["amount_max"]),
            provenance=dict(data.get("provenance", {})),
            choices=dict(data.get("choices", {})),
        )

    def to_json(self) -> str:
        return pretty_json(self.to_dict())


def _class_to_dict(fit: ClassCalibration) -> dict[str, Any]:
    scores = fit.marginals[COPULA_COLUMNS[0]].marginal.scores
    entry: dict[str, Any] = {
        "rows": fit.rows,
        "effective_rows": round(fit.effective_rows, 1),
        "hour_weights": [float(w) for w in fit.hour_weights],
    }
    if fit.disguise is not None:
        entry["disguised"] = fit.disguise.to_dict()
    return entry | {
        "knot_scores": {"first": float(scores[0]), "last": float(scores[-1]), "count": len(scores)},
        "correlation": [[float(v) for v in row] for row in fit.correlation],
        "marginals": {column: _column_to_dict(fit.marginals[column]) for column in COPULA_COLUMNS},
    }


def _column_to_dict(fit: ColumnFit) -> dict[str, Any]:
    marginal = fit.marginal
    entry: dict[str, Any] = {
        "transform": marginal.transform,
        "mean": fit.mean,
        "std": fit.std,
        "lower_tail": {"xi": marginal.lower.xi, "scale": marginal.lower.scale},
        "upper_tail": {"xi": marginal.upper.xi, "scale": marginal.upper.scale},
        "knots": [float(k) for k in marginal.knots],
    }
    if fit.adjustment:
        entry["adjustment"] = fit.adjustment
    return entry


def _class_from_dict(data: dict[str, Any]) -> ClassCalibration:
    grid = data["knot_scores"]
    scores = np.linspace(float(grid["first"]), float(grid["last"]), int(grid["count"]))
    marginals: dict[str, ColumnFit] = {}
    for column in COPULA_COLUMNS:
        entry = data["marginals"][column]
        marginal = Marginal(
            scores=scores,
            knots=np.asarray(entry["knots"], dtype=np.float64),
            lower=Tail(float(entry["lower_tail"]["xi"]), float(entry["lower_tail"]["scale"])),
            upper=Tail(float(entry["upper_tail"]["xi"]), float(entry["upper_tail"]["scale"])),
            transform=str(entry["transform"]),
        )
        adjustment = {str(k): float(v) for k, v in entry.get("adjustment", {}).items()}
        marginals[column] = ColumnFit(marginal, float(entry["mean"]), float(entry["std"]), adjustment)
    correlation = np.asarray(data["correlation"], dtype=np.float64)
    size = len(COPULA_COLUMNS)
    if correlation.shape != (size, size):
        raise ValueError(f"calibration: correlation must be {size}x{size}, got {correlation.shape}")
    hours = np.asarray(data["hour_weights"], dtype=np.float64)
    if hours.shape != (HOURS_PER_DAY,) or (hours <= 0).any():
        raise ValueError("calibration: hour_weights must be 24 positive numbers")
    return ClassCalibration(
        rows=int(data["rows"]),
        effective_rows=float(data["effective_rows"]),
        marginals=marginals,
        correlation=correlation,
        hour_weights=hours / hours.sum(),
        disguise=Disguise.from_dict(data["disguised"]) if "disguised" in data else None,
    )


def pretty_json(data: dict[str, Any]) -> str:
    """Indented JSON with each flat list (numbers, short strings) on one line: the file reads as a table."""
    text = json.dumps(data, indent=2, ensure_ascii=False)
    scalar = r'(?:-?[0-9][0-9.eE+-]*|"[^"\[\],]*")'
    flat_list = re.compile(rf"\[\s*((?:{scalar},\s*)*{scalar})\s*\]")
    return flat_list.sub(lambda m: "[" + ", ".join(re.split(r",\s*", m.group(1))) + "]", text) + "\n"


@lru_cache(maxsize=1)
def default_calibration() -> Calibration:
    """The calibration shipped with the package (package data), parsed once per process."""
    text = resources.files(__package__).joinpath(CALIBRATION_FILE).read_text(encoding="utf-8")
    return Calibration.from_dict(json.loads(text))
