"""Boundaries of model selection in time: rows sharing a `Time` keep their input order however many there
are, and the gate's prequential rescoring fits each block on every row up to exactly `gap_seconds` before
it, never on a row of the block itself, with one model per block asked for."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from fraud_detection.application.train import FoldedData, TrainingResult, TrainModel
from fraud_detection.domain.folds import FoldPolicy, time_ordered_folds
from fraud_detection.domain.schema import TRANSACTION_COLUMNS
from fraud_detection.domain.training import TrainingParams
from tests.fakes import FakeTrainer

# 12 rows, first_fit_fraction 0.5, 2 folds of gap 10 s (as in test_folds.py): rows 10 and 11 are the last
# block, at 125 and 130 s.
TIMES = [0, 10, 20, 30, 40, 100, 105, 110, 115, 120, 125, 130]
LABELS = [1, 0, 1, 0, 0, 0, 1, 1, 0, 1, 1, 0]


def frame_of(times: list[float] | np.ndarray, labels: list[int] | np.ndarray) -> pd.DataFrame:
    """Transactions at `times`; `V1` and `Amount` hold the row's input position (Amount from 1)."""
    frame = pd.DataFrame(0.0, index=range(len(times)), columns=list(TRANSACTION_COLUMNS))
    frame["Time"] = np.asarray(times, dtype=float)
    frame["Class"] = np.asarray(labels, dtype=float)
    frame["V1"] = np.arange(len(times), dtype=float)
    frame["Amount"] = np.arange(1, len(times) + 1, dtype=float)
    return frame


def test_many_simultaneous_transactions_keep_their_input_order():
    """Sorting by `Time` is stable on a frame large enough for an unstable sort to reorder ties."""
    rng = np.random.default_rng(0)
    times = rng.permutation(np.repeat(np.arange(40.0), 10))
    labels = np.arange(len(times)) % 2
    folds = time_ordered_folds(frame_of(times, labels), FoldPolicy(2, 0.5, gap_seconds=0))
    expected = np.lexsort((np.arange(len(times)), times))  # by Time, then input position
    assert folds.ordered["V1"].astype(int).tolist() == expected.tolist()


class Prequential:
    """A result trained on the 12 rows above, with a trainer whose refits record the rows they saw."""

    def __init__(self) -> None:
        self.data = FoldedData.of(time_ordered_folds(frame_of(TIMES, LABELS), FoldPolicy(2, 0.5, 10)))
        self.trainer = FakeTrainer(best_round=3)
        self.train = TrainModel(self.trainer, TrainingParams(), review_cost=5.0)
        self.result: TrainingResult = self.train(self.data)
        self.trainer.refits.clear()

    def fitted_times(self, positions: list[int], blocks: int, gap_seconds: float) -> list[list[float]]:
        """The `Time`s of the rows each block's model was fitted on."""
        self.train.prequential_scores(self.data, self.result, np.array(positions), blocks, gap_seconds)
        times = self.data.folds.ordered["Time"].to_numpy()
        return [times[fit.amounts.astype(int) - 1].tolist() for fit, _, _ in self.trainer.refits]


def test_a_row_exactly_gap_seconds_before_the_block_is_fitted_on():
    """The block starts at 125 s: with a 10 s gap the row at 115 s is fitted on, the one at 120 s is not."""
    assert Prequential().fitted_times([10, 11], blocks=1, gap_seconds=10.0) == [
        [0, 10, 20, 30, 40, 100, 105, 110, 115]
    ]


def test_without_a_gap_no_row_of_the_block_is_fitted_on():
    """Even with a gap of 0 s the model that scores a block has not seen the block's first row."""
    assert Prequential().fitted_times([10, 11], blocks=1, gap_seconds=0.0) == [TIMES[:10]]


def test_a_block_of_one_row_is_scored_by_a_model_fitted_only_before_it():
    world = Prequential()
    assert world.fitted_times([11], blocks=1, gap_seconds=0.0) == [TIMES[:11]]


@pytest.mark.parametrize(("positions", "blocks"), [([9, 10, 11], 1), ([11], 3)])
def test_one_block_is_scored_by_a_single_model(positions: list[int], blocks: int):
    """One block asked for (or only one row to score): one refit, fitted on the rows before it."""
    world = Prequential()
    fitted = world.fitted_times(positions, blocks=blocks, gap_seconds=0.0)
    assert fitted == [TIMES[: positions[0]]]
