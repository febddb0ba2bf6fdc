"""BuildRetrainingSet on fakes: the champion's data plus labelled captured rows, in time order."""

from __future__ import annotations

from datetime import UTC, datetime

import numpy as np
import pytest

from fraud_detection.application.retraining import BuildRetrainingSet
from fraud_detection.domain.errors import ModelNotFoundError
from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.feedback import ScoredTransaction
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from fraud_detection.domain.schema import LABEL, TIME, TRANSACTION_COLUMNS
from tests.builders import transactions
from tests.drift_fakes import FakeCapturedPredictions, captured
from tests.fakes import FakeDatasetStore, FakeRegistry
from tests.feedback_fakes import FakeFeedbackStore

NOW = datetime(2026, 11, 20, tzinfo=UTC)


class Retraining:
    def __init__(self) -> None:
        self.registry, self.datasets = FakeRegistry(), FakeDatasetStore()
        self.captured, self.feedback = FakeCapturedPredictions(), FakeFeedbackStore()
        self.base = self.datasets.save(transactions(2_000, fraud_rate=0.02), "base.csv")
        metadata = ModelMetadata("fe-1", 0.5, self.base.id.value, {"auprc": 0.8})
        version = self.registry.register("models:/1", "run-1", metadata)
        self.registry.set_alias(CHAMPION, version.version)
        self.build = BuildRetrainingSet(self.registry, self.datasets, self.captured, self.feedback, 30)

    def capture(self, rows: int, ids: list[str | None]) -> np.ndarray:
        inputs = np.random.default_rng(1).standard_normal((rows, len(SCORING_INPUTS)))
        inputs[:, -1] = np.abs(inputs[:, -1]) * 50
        window = captured(inputs, np.full(rows, 0.1))
        self.captured.rows = type(window)(
            **{**window.__dict__, "transaction_ids": np.array(ids, dtype=object)}
        )
        for position, tid in enumerate(ids):
            if tid is not None:
                scored_at = window.scored_at[position].astype(datetime).replace(tzinfo=UTC)
                self.feedback.record_scored([ScoredTransaction(tid, 1, 0.1, False, scored_at)])
        return inputs

    def label(self, tid: str, is_fraud: bool) -> None:
        self.feedback.add_label(tid, is_fraud, NOW)


def test_labelled_captured_rows_join_the_champions_data_after_its_last_time() -> None:
    world = Retraining()
    inputs = world.capture(5, ["a", "b", None, "c", "d"])
    world.label("a", True)
    world.label("c", False)
    world.label("zz", True)  # unknown id: refused by the store, never reaches the set

    built = world.build(NOW)
    assert built.dataset is not None
    assert (built.labelled_rows, built.labelled_frauds, built.labels_without_capture) == (2, 1, 0)
    frame = world.datasets.load(built.dataset.id)
    base = world.datasets.load(world.base.id)
    assert list(frame.columns) == list(TRANSACTION_COLUMNS)
    assert len(frame) == len(base) + 2
    recent = frame.iloc[len(base) :]
    np.testing.assert_array_equal(recent[list(SCORING_INPUTS)].to_numpy(), inputs[[0, 3]])
    assert recent[LABEL].tolist() == [1.0, 0.0]
    # After the base, in scoring order, at the base's mean interval between transactions.
    interval = (base[TIME].max() - base[TIME].min()) / (len(base) - 1)
    assert recent[TIME].tolist() == pytest.approx([base[TIME].max() + 1.0, base[TIME].max() + 1.0 + interval])
    assert "2 labelled captured rows (1 frauds)" in built.detail


def test_building_the_set_says_what_it_reads_and_stores_as_it_goes() -> None:
    """A scale probe: minutes of reading weeks of captured rows and a 3M-row base, with nothing shown."""
    world = Retraining()
    world.capture(3, ["a", "b", "c"])
    world.label("a", True)
    messages: list[str] = []
    built = world.build(NOW, progress=messages.append)
    assert [m.split(" (")[0] for m in messages] == [
        "reading the labels",
        "reading the captured rows of the last 30 days for 1 labels",
        f"1 labelled captured rows; reading dataset {world.base.id.short}",
        "storing the retraining set: 2,001 rows",
    ]
    assert all(m.endswith(" s in)") for m in messages)
    assert built.dataset is not None


def test_a_labelled_row_with_an_impossible_value_is_left_out_and_named() -> None:
    """A probe: one scored row with V1 = 1e308, once labelled, failed every retrain's validation for the
    30 days of the lookback, naming only V1's standard deviation."""
    world = Retraining()
    inputs = world.capture(4, ["a", "bug-1", "b", "bug-2"])
    world.label("a", True)
    for tid in ("b", "bug-1", "bug-2"):
        world.label(tid, False)
    world.captured.rows.inputs[1, 0] = 1e308  # V1
    world.captured.rows.inputs[3, 27] = -0.330 * 201  # V28, 201 of its standard deviations
    built = world.build(NOW)
    assert built.dataset is not None
    assert built.labelled_rows == 2
    recent = world.datasets.load(built.dataset.id).iloc[-2:]
    np.testing.assert_array_equal(recent[list(SCORING_INPUTS)].to_numpy(), inputs[[0, 2]])
    assert built.detail.endswith(
        "; 2 left out, each with a V value beyond 200 standard deviations of its column (the full dataset's "
        "largest is 103): an input error, not a pattern to learn (transaction ids bug-1, bug-2)"
    )
    assert [tid for tid, _, _ in built.labels] == ["a", "b"]
    fresh = Retraining()  # only an error labelled: nothing to learn, and the detail says why
    fresh.capture(1, ["bug-1"])
    fresh.captured.rows.inputs[0, 0] = 1e308
    fresh.label("bug-1", False)
    nothing = fresh.build(NOW)
    assert nothing.dataset is None
    assert nothing.detail.startswith("no labelled captured row to learn from; 1 left out, ")


def test_an_id_scored_twice_counts_once_with_its_first_scoring() -> None:
    """A later re-score of an id (another caller's features) never becomes the labelled row."""
    world = Retraining()
    inputs = world.capture(3, ["a", "b", "a"])
    world.label("a", True)
    built = world.build(NOW)
    assert built.labelled_rows == 1
    assert built.dataset is not None
    recent = world.datasets.load(built.dataset.id).iloc[-1:]
    np.testing.assert_array_equal(recent[list(SCORING_INPUTS)].to_numpy(), inputs[[0]])


def test_without_labelled_captured_rows_there_is_nothing_to_train_on() -> None:
    world = Retraining()
    world.capture(3, ["a", "b", "c"])
    built = world.build(NOW)
    assert built.dataset is None
    assert "nothing new to learn from" in built.detail
    assert len(world.datasets.list()) == 1


def test_no_champion_is_a_clear_error() -> None:
    world = Retraining()
    world.registry.remove_alias(CHAMPION)
    with pytest.raises(ModelNotFoundError, match="no champion to retrain from"):
        world.build(NOW)


def test_labelled_rows_scored_before_the_lookback_stay_out() -> None:
    """Captured rows are scored from 2026-11-01 00:00:00, one per second; a lookback of 30 days from
    2026-12-01 00:00:02 starts at 2026-11-01 00:00:02, so the first two rows are too old."""
    world = Retraining()
    world.capture(4, ["a", "b", "c", "d"])
    for tid in ("a", "b", "c", "d"):
        world.label(tid, True)
    built = world.build(datetime(2026, 12, 1, 0, 0, 2, tzinfo=UTC))
    assert (built.labelled_rows, built.labels_without_capture) == (2, 2)
    assert world.captured.requests[-1][0] == datetime(2026, 11, 1, 0, 0, 2, tzinfo=UTC)


def test_a_fractional_lookback_is_named_as_set() -> None:
    """Before, half a day read "in the last 0 days" (the timedelta's whole days)."""
    world = Retraining()
    build = BuildRetrainingSet(world.registry, world.datasets, world.captured, world.feedback, 0.5)
    assert build(NOW).detail.startswith("no labelled captured transactions in the last 0.5 days ")
