"""The time-ordered split on a 12-row frame whose parts are known row by row: the gap's boundary, the
stable order of simultaneous transactions, and the error naming the part with a single class."""

import numpy as np
import pandas as pd
import pytest

from fraud_detection.domain.errors import InsufficientDataError
from fraud_detection.domain.schema import TRANSACTION_COLUMNS
from fraud_detection.domain.split import SplitPolicy, time_ordered_split

# 12 rows, fractions 0.5 / 0.25: train = rows 0-5, valid candidates 6-8, test candidates 9-11.
TIMES = [0, 10, 20, 30, 40, 100, 105, 110, 115, 120, 125, 130]
LABELS = [1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0]
POLICY = SplitPolicy(0.5, 0.25, gap_seconds=10)


def frame_of(times, labels) -> pd.DataFrame:
    frame = pd.DataFrame(0.0, index=range(len(times)), columns=list(TRANSACTION_COLUMNS))
    frame["Time"] = np.asarray(times, dtype=float)
    frame["Class"] = np.asarray(labels, dtype=float)
    frame["V1"] = np.arange(len(times), dtype=float)  # the row's input position
    return frame


def test_each_part_is_known_row_by_row():
    """A row exactly `gap_seconds` after the previous part is kept; one inside the gap is dropped."""
    split = time_ordered_split(frame_of(TIMES, LABELS), POLICY)
    assert split.train["Time"].tolist() == [0, 10, 20, 30, 40, 100]
    assert split.valid["Time"].tolist() == [110, 115]  # 105 is within 10 s of the last training row
    assert split.test["Time"].tolist() == [125, 130]  # 120 is within 10 s of the last validation row
    assert split.describe() == {
        "train_rows": 6, "valid_rows": 2, "test_rows": 2,
        "train_frauds": 2, "valid_frauds": 1, "test_frauds": 1,
    }  # fmt: skip
    assert [name for name, _ in split.parts()] == ["train", "valid", "test"]


def test_parts_keep_the_schema_columns_only():
    split = time_ordered_split(frame_of(TIMES, LABELS).iloc[::-1], POLICY)
    for _, part in split.parts():
        assert list(part.columns) == list(TRANSACTION_COLUMNS)
    assert split.train["V1"].tolist() == [0, 1, 2, 3, 4, 5]


def test_a_gap_below_one_second_still_applies():
    times = [0, 10, 20, 30, 40, 100, 100.5, 110, 115, 120, 125, 130]
    split = time_ordered_split(frame_of(times, LABELS), SplitPolicy(0.5, 0.25, gap_seconds=1))
    assert split.valid["Time"].tolist() == [110, 115]
    assert split.test["Time"].tolist() == [120, 125, 130]


def test_simultaneous_transactions_keep_their_input_order():
    """Many rows share a timestamp in the real data; which of them land in train must not depend on an
    unstable sort."""
    rows = 60
    times = np.repeat([0.0, 1.0, 2.0], rows // 3)[np.r_[np.arange(0, rows, 2), np.arange(1, rows, 2)]]
    labels = np.tile([1.0, 0.0, 0.0], rows // 3)
    frame = frame_of(times, labels)
    split = time_ordered_split(frame, SplitPolicy(0.5, 0.25, gap_seconds=0))
    ordered = pd.concat([part for _, part in split.parts()])
    expected = frame.sort_values("Time", kind="stable")
    assert ordered["V1"].tolist() == expected["V1"].tolist()
    assert list(ordered.index) == list(range(rows))


def test_a_frame_too_small_for_a_training_part_is_an_input_error():
    with pytest.raises(InsufficientDataError, match=r"^the time-ordered train split holds 0 rows"):
        time_ordered_split(frame_of([0.0], [1.0]), POLICY)


@pytest.mark.parametrize(
    ("labels", "part", "rows"),
    [
        ([0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 0], "train", 6),
        ([1, 0, 1, 0, 0, 0, 1, 0, 0, 1, 1, 0], "valid", 2),
        ([1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0], "test", 2),
    ],
)
def test_the_error_names_the_part_with_one_class(labels, part, rows):
    with pytest.raises(InsufficientDataError) as error:
        time_ordered_split(frame_of(TIMES, labels), POLICY)
    assert str(error.value) == (
        f"the time-ordered {part} split holds {rows} rows of only one class; "
        "the dataset is too small or its frauds too concentrated in time"
    )


def test_bad_fractions_give_the_rule():
    with pytest.raises(ValueError, match="fractions") as error:
        SplitPolicy(0.7, 0.3)
    assert str(error.value) == "train and valid fractions must be positive and sum to less than 1"
