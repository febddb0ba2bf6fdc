"""Transaction times with a daily rhythm: few purchases at night, a plateau from mid-morning to late evening.

Times are drawn from a piecewise-constant intensity (one level per hour of the day, repeating daily) by
inverting its cumulative integral. Hours are counted from `Time = 0`, which in the real data falls around
midnight, and phases follow absolute time, so a batch starting at `start` continues the rhythm of the batch
before it.
"""

from __future__ import annotations

import numpy as np

SECONDS_PER_HOUR = 3600.0
HOURS_PER_DAY = 24


def sample_times(
    hour_weights: np.ndarray, count: int, start: float, seconds: float, rng: np.random.Generator
) -> np.ndarray:
    """`count` unsorted whole seconds in [floor(start), start + seconds), distributed as `hour_weights`."""
    end = start + seconds
    first_hour = int(np.floor(start / SECONDS_PER_HOUR))
    last_hour = int(np.ceil(end / SECONDS_PER_HOUR))
    edges = np.clip(np.arange(first_hour, last_hour + 1) * SECONDS_PER_HOUR, start, end)
    hours_of_day = np.arange(first_hour, last_hour) % HOURS_PER_DAY
    cumulative = np.concatenate([[0.0], np.cumsum(np.diff(edges) * hour_weights[hours_of_day])])
    instants = np.interp(rng.random(count) * cumulative[-1], cumulative, edges)
    return np.asarray(np.minimum(np.floor(instants), np.ceil(end) - 1), dtype=np.float64)
