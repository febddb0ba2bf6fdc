"""Backward jumps of Time in file order: a file joining periods that each count from 0 is flagged; a shuffled
file, a few late rows and an ordered file are not."""

import numpy as np
import pytest

from fraud_detection.domain.time_order import time_jumps

DAY = 86_400.0


def two_days(n: int = 1_000) -> np.ndarray:
    day = np.linspace(0.0, DAY - 1, n)
    return np.concatenate([day, day])


def test_a_file_joining_two_days_that_each_count_from_0_is_flagged_at_the_second_days_first_row() -> None:
    jumps = time_jumps(two_days())
    assert jumps is not None
    assert (jumps.count, jumps.first_row, jumps.before, jumps.after) == (1, 1_001, DAY - 1, 0.0)
    text = jumps.describe("days.csv")
    assert text.startswith("days.csv: Time goes back by more than 3600 s once in file order")
    assert "data row 1,001: from 86399 s to 0 s" in text


def test_three_periods_are_counted() -> None:
    day = np.linspace(0.0, DAY - 1, 1_000)
    jumps = time_jumps(np.concatenate([day, day, day]))
    assert jumps is not None
    assert jumps.count == 2
    assert "2 times" in jumps.describe("x")


@pytest.mark.parametrize(
    "times",
    [
        pytest.param(np.linspace(0.0, 2 * DAY, 2_000), id="ordered"),
        pytest.param(np.random.default_rng(0).permutation(two_days()), id="shuffled"),
        pytest.param(np.r_[np.linspace(0.0, DAY, 1_000), DAY - 600, DAY + 1], id="late row"),
        pytest.param(np.array([5.0]), id="one row"),
        pytest.param(np.array([], dtype=float), id="empty"),
    ],
)
def test_files_in_time_order_or_in_no_order_are_not_flagged(times: np.ndarray) -> None:
    assert time_jumps(times) is None
