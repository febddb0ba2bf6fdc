"""Backward jumps of `Time` in file order: the sign that a file joins periods that each count from 0.

Training sorts rows by `Time` (the time-ordered folds, the gate's newest rows). Two days each counting from
0 interleave there, so the "out-of-time" estimate mixes both days and nothing fails. A shuffled file is fine
(its order means nothing, and the sort restores time), so only a file otherwise in time order is flagged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

JUMP_SECONDS = 3_600.0  # a step back larger than this is not a late transaction but another period
ORDERED_SHARE = 0.99  # at least this share of consecutive rows in order: the file order is time order


@dataclass(frozen=True)
class TimeJumps:
    count: int
    first_row: int  # 1-based data row (the header is not counted) where Time first jumps back
    before: float
    after: float

    def describe(self, source: str) -> str:
        times = "once" if self.count == 1 else f"{self.count:,} times"
        return (
            f"{source}: Time goes back by more than {JUMP_SECONDS:g} s {times} in file order (first at data "
            f"row {self.first_row:,}: from {self.before:g} s to {self.after:g} s). Training orders rows by "
            "Time, so periods that each count from 0 interleave and the out-of-time estimate mixes them; if "
            "the file joins such periods, add each period's start to its Time before ingesting"
        )


def time_jumps(times: np.ndarray) -> TimeJumps | None:
    """The backward jumps of a file otherwise in time order, or None (in order, or shuffled)."""
    times = np.asarray(times, dtype=np.float64)
    steps = np.diff(times)
    if steps.size == 0 or np.count_nonzero(steps < 0) > (1 - ORDERED_SHARE) * steps.size:
        return None
    jumps = np.flatnonzero(steps < -JUMP_SECONDS)
    if jumps.size == 0:
        return None
    first = int(jumps[0])
    return TimeJumps(int(jumps.size), first + 2, float(times[first]), float(times[first + 1]))
