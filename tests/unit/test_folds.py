"""Expanding time-ordered folds on small frames whose folds are known row by row: no fold is fitted on its
future, the gap after each fold's last fitted row holds, every evaluation row is scored exactly once, and
the error names the fold and the part that holds a single class."""

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from fraud_detection.domain.errors import InsufficientDataError
from fraud_detection.domain.folds import FoldPolicy, time_ordered_folds
from fraud_detection.domain.schema import TRANSACTION_COLUMNS

# 12 rows, first_fit_fraction 0.5, 2 folds: fold 1 fits rows 0-5 and evaluates 6-8, fold 2 fits 0-8 and
# evaluates 9-11.
TIMES = [0, 10, 20, 30, 40, 100, 105, 110, 115, 120, 125, 130]
LABELS = [1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0]
POLICY = FoldPolicy(folds=2, first_fit_fraction=0.5, gap_seconds=10)


def frame_of(times, labels) -> pd.DataFrame:
    frame = pd.DataFrame(0.0, index=range(len(times)), columns=list(TRANSACTION_COLUMNS))
    frame["Time"] = np.asarray(times, dtype=float)
    frame["Class"] = np.asarray(labels, dtype=float)
    frame["V1"] = np.arange(len(times), dtype=float)  # the row's input position
    return frame


def times_of(folds, positions) -> list[float]:
    return folds.ordered["Time"].to_numpy()[positions].tolist()


def test_each_fold_is_known_row_by_row():
    """A row exactly `gap_seconds` after the last fitted row is evaluated; one inside the gap is not."""
    folds = time_ordered_folds(frame_of(TIMES, LABELS), POLICY)
    first, second = folds.folds
    assert times_of(folds, first.fit) == [0, 10, 20, 30, 40, 100]
    assert times_of(folds, first.evaluate) == [110, 115]  # 105 is within 10 s of 100
    assert times_of(folds, second.fit) == [0, 10, 20, 30, 40, 100, 105, 110, 115]
    assert times_of(folds, second.evaluate) == [125, 130]  # 120 is within 10 s of 115
    assert times_of(folds, folds.out_of_fold) == [110, 115, 125, 130]
    assert [f.number for f in folds.folds] == [1, 2]


def test_the_description_counts_rows_and_frauds_per_fold():
    assert time_ordered_folds(frame_of(TIMES, LABELS), POLICY).describe() == {
        "rows": 12, "frauds": 6, "folds": 2, "out_of_fold_rows": 4, "out_of_fold_frauds": 2,
        "fold1_fit_rows": 6, "fold1_eval_rows": 2, "fold1_eval_frauds": 1,
        "fold2_fit_rows": 9, "fold2_eval_rows": 2, "fold2_eval_frauds": 1,
    }  # fmt: skip


def test_rows_are_ordered_by_time_whatever_the_input_order():
    folds = time_ordered_folds(frame_of(TIMES, LABELS).iloc[::-1], POLICY)
    assert folds.ordered["Time"].tolist() == sorted(TIMES)
    assert folds.ordered.index.tolist() == list(range(12))
    assert list(folds.ordered.columns) == list(TRANSACTION_COLUMNS)  # the old index is not kept as a column


def test_simultaneous_transactions_keep_their_input_order():
    times = [0, 0, 0, 0, 0, 0, 50, 50, 50, 80, 80, 80]
    folds = time_ordered_folds(frame_of(times, LABELS), FoldPolicy(2, 0.5, gap_seconds=0))
    assert folds.ordered["V1"].tolist() == list(range(12))


def test_no_gap_evaluates_every_row_after_the_first_fit_share():
    folds = time_ordered_folds(frame_of(TIMES, [1, 0] * 6), FoldPolicy(3, 0.5, gap_seconds=0))
    assert [len(f.evaluate) for f in folds.folds] == [2, 2, 2]
    assert folds.out_of_fold.tolist() == list(range(6, 12))


@settings(max_examples=60, deadline=None)
@given(
    gaps=st.lists(st.floats(0, 500), min_size=40, max_size=200),
    folds=st.integers(1, 6),
    first=st.floats(0.2, 0.8),
    gap=st.floats(0, 300),
)
def test_no_fold_sees_its_future_and_every_evaluation_row_is_scored_once(gaps, folds, first, gap):
    times = np.cumsum(gaps)
    labels = np.arange(len(times)) % 3 == 0  # frauds everywhere, so no fold is single-class
    try:
        built = time_ordered_folds(frame_of(times, labels), FoldPolicy(folds, first, gap))
    except InsufficientDataError:
        return  # a gap that swallowed a whole block: refused, never a fold without its rows
    t = built.ordered["Time"].to_numpy()
    for fold in built.folds:
        assert fold.fit.tolist() == list(range(len(fold.fit)))  # expanding: every earlier row
        assert t[fold.evaluate].min() >= t[fold.fit].max() + gap  # the gap holds
        assert fold.evaluate.min() > fold.fit.max()
    oof = built.out_of_fold
    assert len(np.unique(oof)) == len(oof)  # scored once
    assert np.all(np.diff(oof) > 0)  # in time order
    assert oof.min() >= int(len(t) * first)  # the first share is only fitted on


@pytest.mark.parametrize(
    ("labels", "message"),
    [
        (
            [0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1, 0],
            "fold 1 of 2: its fitted rows (6) hold only one class; the dataset is too small or its frauds "
            "too concentrated in time",
        ),
        ([1, 0, 1, 0, 0, 0, 1, 0, 0, 1, 1, 0], "fold 1 of 2: its evaluation rows (2) hold only one class"),
        ([1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0], "fold 2 of 2: its evaluation rows (2) hold only one class"),
    ],
)
def test_a_single_class_part_is_refused_naming_the_fold(labels, message):
    with pytest.raises(InsufficientDataError, match=message.replace("(", r"\(").replace(")", r"\)")):
        time_ordered_folds(frame_of(TIMES, labels), POLICY)


def test_a_block_the_gap_swallows_is_refused_naming_the_gap_and_the_span_of_time():
    """A probe: Time all 0 (or in kiloseconds) read as "frauds too concentrated in time" with 242 frauds."""
    with pytest.raises(InsufficientDataError) as error:
        time_ordered_folds(frame_of([0.0] * 12, LABELS), POLICY)
    assert str(error.value) == (
        "fold 1 of 2: all 3 rows of its evaluation block lie within FRAUD_SPLIT_GAP_SECONDS (10 s) of its "
        "last fitted row, so none is left to evaluate on; the dataset's Time spans 0 s (Time counts seconds)"
    )


def test_a_single_row_is_refused():
    with pytest.raises(InsufficientDataError, match="fold 1"):
        time_ordered_folds(frame_of([0.0], [1.0]), POLICY)


@pytest.mark.parametrize(
    ("folds", "first", "gap", "message"),
    [
        (0, 0.5, 0, "folds must be at least 1"),
        (2, 0.0, 0, "first_fit_fraction must be between 0 and 1"),
        (2, 1.0, 0, "first_fit_fraction must be between 0 and 1"),
        (2, 0.5, -1, "gap_seconds must not be negative"),
    ],
)
def test_the_policy_refuses_impossible_settings(folds, first, gap, message):
    with pytest.raises(ValueError, match=f"^{message}$"):
        FoldPolicy(folds, first, gap)


def test_rows_already_in_time_order_are_not_copied():
    """Training holds the folds' rows beside nothing else of the dataset's (pandas hands a sorted frame's
    columns back from `sort_values` instead of copying them; a `.copy()` here would double the memory)."""
    frame = frame_of(TIMES, LABELS)
    folds = time_ordered_folds(frame, POLICY)
    assert np.shares_memory(folds.ordered["V1"].to_numpy(), frame["V1"].to_numpy())

    shuffled = frame.iloc[::-1]
    ordered = time_ordered_folds(shuffled, POLICY).ordered
    assert ordered["Time"].tolist() == TIMES
    assert list(ordered.index) == list(range(len(TIMES)))
