"""Expanding-window (prequential) folds over time-ordered labelled rows: model selection sees no future.

The rows are sorted by `Time`. The first `first_fit_fraction` of them are only ever fitted on; the rest are
cut into `folds` consecutive evaluation blocks. Fold i fits on every row before its block and is evaluated
on the block, less the rows within `gap_seconds` of the last fitted row (the ULB handbook's delay period:
bursts of one fraud would otherwise straddle the boundary). Every evaluation row is scored exactly once, by
a model fitted only on earlier rows: those out-of-fold scores are the out-of-time estimate of the model's
quality, and what the threshold is chosen on.
"""

from __future__ import annotations

from dataclasses import dataclass
from itertools import pairwise

import numpy as np
import pandas as pd

from fraud_detection.domain.errors import InsufficientDataError
from fraud_detection.domain.schema import LABEL, TIME


@dataclass(frozen=True)
class FoldPolicy:
    folds: int = 3
    first_fit_fraction: float = 0.5
    gap_seconds: float = 600.0

    def __post_init__(self) -> None:
        if self.folds < 1:
            raise ValueError("folds must be at least 1")
        if not 0 < self.first_fit_fraction < 1:
            raise ValueError("first_fit_fraction must be between 0 and 1")
        if self.gap_seconds < 0:
            raise ValueError("gap_seconds must not be negative")


@dataclass(frozen=True)
class Fold:
    """Positions in the time-ordered frame: `fit` rows all come before `evaluate` rows."""

    number: int
    fit: np.ndarray
    evaluate: np.ndarray


@dataclass(frozen=True)
class TimeFolds:
    ordered: pd.DataFrame  # every labelled row, sorted by Time, index 0..n-1
    folds: tuple[Fold, ...]

    @property
    def out_of_fold(self) -> np.ndarray:
        """Positions scored out of fold, in time order (each exactly once)."""
        return np.concatenate([fold.evaluate for fold in self.folds])

    def describe(self) -> dict[str, int]:
        labels = self.ordered[LABEL].to_numpy()
        oof = self.out_of_fold
        described = {
            "rows": len(self.ordered),
            "frauds": int(labels.sum()),
            "folds": len(self.folds),
            "out_of_fold_rows": len(oof),
            "out_of_fold_frauds": int(labels[oof].sum()),
        }
        for fold in self.folds:
            described[f"fold{fold.number}_fit_rows"] = len(fold.fit)
            described[f"fold{fold.number}_eval_rows"] = len(fold.evaluate)
            described[f"fold{fold.number}_eval_frauds"] = int(labels[fold.evaluate].sum())
        return described


def time_ordered_folds(frame: pd.DataFrame, policy: FoldPolicy) -> TimeFolds:
    ordered = frame.sort_values(TIME, kind="stable").reset_index(drop=True)
    times = ordered[TIME].to_numpy(dtype=np.float64)
    labels = ordered[LABEL].to_numpy()
    n = len(ordered)
    first = int(n * policy.first_fit_fraction)
    bounds = [first + (n - first) * i // policy.folds for i in range(policy.folds + 1)]
    folds = []
    for number, (start, end) in enumerate(pairwise(bounds), start=1):
        fit = np.arange(start)
        block = np.arange(start, end)
        evaluate = block[times[block] >= times[start - 1] + policy.gap_seconds] if start else block
        if len(block) and not len(evaluate):  # the gap took the whole block: not a matter of classes
            raise InsufficientDataError(
                f"fold {number} of {policy.folds}: all {len(block):,} rows of its evaluation block lie "
                f"within FRAUD_SPLIT_GAP_SECONDS ({policy.gap_seconds:g} s) of its last fitted row, so none "
                f"is left to evaluate on; the dataset's Time spans {times[-1] - times[0]:g} s (Time counts "
                "seconds)"
            )
        for part, rows in (("fitted", fit), ("evaluation", evaluate)):
            if np.unique(labels[rows]).size < 2:
                raise InsufficientDataError(
                    f"fold {number} of {policy.folds}: its {part} rows ({len(rows)}) hold only one class; "
                    "the dataset is too small or its frauds too concentrated in time"
                )
        folds.append(Fold(number, fit, evaluate))
    return TimeFolds(ordered, tuple(folds))
