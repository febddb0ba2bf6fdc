"""Time-ordered train/validation/test split with a gap, so no fold sees its own future."""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd

from fraud_detection.domain.errors import InsufficientDataError
from fraud_detection.domain.schema import LABEL, TIME


@dataclass(frozen=True)
class SplitPolicy:
    """Fractions of rows in time order; `gap_seconds` of transactions after each boundary are dropped, as
    in the ULB handbook's delay period, so bursts of one fraud do not straddle train and test."""

    train_fraction: float = 0.6
    valid_fraction: float = 0.2
    gap_seconds: float = 600.0

    def __post_init__(self) -> None:
        fractions_ok = self.train_fraction > 0 and self.valid_fraction > 0
        if not fractions_ok or self.train_fraction + self.valid_fraction >= 1:
            raise ValueError("train and valid fractions must be positive and sum to less than 1")


@dataclass(frozen=True)
class TimeSplit:
    train: pd.DataFrame
    valid: pd.DataFrame
    test: pd.DataFrame

    def describe(self) -> dict[str, int]:
        return {f"{name}_rows": len(part) for name, part in self.parts()} | {
            f"{name}_frauds": int(part[LABEL].sum()) for name, part in self.parts()
        }

    def parts(self) -> list[tuple[str, pd.DataFrame]]:
        return [("train", self.train), ("valid", self.valid), ("test", self.test)]


def time_ordered_split(frame: pd.DataFrame, policy: SplitPolicy) -> TimeSplit:
    ordered = frame.sort_values(TIME, kind="stable").reset_index(drop=True)
    n = len(ordered)
    first_cut = int(n * policy.train_fraction)
    second_cut = int(n * (policy.train_fraction + policy.valid_fraction))
    train = ordered.iloc[:first_cut]
    valid = _after_gap(ordered.iloc[first_cut:second_cut], train, policy.gap_seconds)
    test = _after_gap(ordered.iloc[second_cut:], ordered.iloc[:second_cut], policy.gap_seconds)
    for name, part in (("train", train), ("valid", valid), ("test", test)):
        if part[LABEL].nunique() < 2:
            raise InsufficientDataError(
                f"the time-ordered {name} split holds {len(part)} rows of only one class; "
                "the dataset is too small or its frauds too concentrated in time"
            )
    return TimeSplit(train, valid, test)


def _after_gap(part: pd.DataFrame, before: pd.DataFrame, gap_seconds: float) -> pd.DataFrame:
    if before.empty or gap_seconds <= 0:
        return part
    start = float(before[TIME].iloc[-1]) + gap_seconds
    return part[part[TIME] >= start]
