"""The promotion gate, training and the retraining set in detail: the decision texts and scores users
read, the tags and events stored with a promotion, and the exact rows and times a retrain learns from."""

from __future__ import annotations

import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from fraud_detection.application.evaluate import EvaluateModel
from fraud_detection.application.promote import PromoteChallenger, set_champion
from fraud_detection.application.retraining import BuildRetrainingSet, RetrainingSet
from fraud_detection.application.train import FeatureSplit, TrainModel, imbalance_strategies, labelled
from fraud_detection.domain.errors import ModelNotFoundError
from fraud_detection.domain.events import ModelPromoted
from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.feedback import ScoredTransaction
from fraud_detection.domain.model import CHALLENGER, CHAMPION, ModelMetadata
from fraud_detection.domain.promotion import PromotionDecision, PromotionPolicy
from fraud_detection.domain.schema import LABEL, TIME, TRANSACTION_COLUMNS
from fraud_detection.domain.split import SplitPolicy, time_ordered_split
from fraud_detection.domain.training import LabelledData, TrainingParams
from tests.builders import transactions
from tests.drift_fakes import FakeCapturedPredictions, captured
from tests.fakes import FakeDatasetStore, FakeModel, FakePublisher, FakeRegistry, FakeTrainer
from tests.feedback_fakes import FakeFeedbackStore

# --- PromotionPolicy -------------------------------------------------------------------------------------


def test_the_first_model_is_promoted_with_its_score_and_no_champion_score():
    decision = PromotionPolicy("recall", 0.1).decide({"recall": 0.6, "auprc": 0.2}, None)
    assert decision == PromotionDecision(True, "no champion yet", "recall", 0.6, None)


def test_a_better_challenger_is_promoted_with_both_scores_and_the_comparison():
    decision = PromotionPolicy("auprc", 0.01).decide({"auprc": 0.82}, {"auprc": 0.8}, "v3")
    assert decision == PromotionDecision(
        True,
        "challenger better: auprc 0.8200 vs champion v3 0.8000 (needs > 0.8100, margin 0.01) "
        "on the same test rows",
        "auprc",
        0.82,
        0.8,
    )


def test_a_challenger_within_the_margin_keeps_the_champion_with_both_scores():
    decision = PromotionPolicy("auprc", 0.01).decide({"auprc": 0.805}, {"auprc": 0.8}, "v3")
    assert decision == PromotionDecision(
        False,
        "champion kept: auprc 0.8050 vs champion v3 0.8000 (needs > 0.8100, margin 0.01) "
        "on the same test rows",
        "auprc",
        0.805,
        0.8,
    )


def test_without_a_label_the_champion_is_named_by_nothing():
    decision = PromotionPolicy().decide({"auprc": 0.5}, {"auprc": 0.5})
    assert decision.reason == (
        "champion kept: auprc 0.5000 vs champion  0.5000 (needs > 0.5000, margin 0) on the same test rows"
    )


def test_a_decision_as_a_document():
    decision = PromotionDecision(False, "why", "auprc", 0.5, 0.6)
    assert decision.as_dict() == {
        "promote": False,
        "reason": "why",
        "metric": "auprc",
        "challenger_score": 0.5,
        "champion_score": 0.6,
    }


# --- PromoteChallenger and set_champion --------------------------------------------------------------------


class Gate:
    """A champion v1 and a challenger v2 in a fake registry; the gate compares on 600 test rows."""

    def __init__(self, champion_features: str = "fe-1") -> None:
        self.registry, self.publisher = FakeRegistry(), FakePublisher()
        self.registry.register("models:/1", "run-1", ModelMetadata(champion_features, 0.5, "d"))
        self.registry.set_alias(CHAMPION, 1)
        self.registry.register("models:/2", "run-2", ModelMetadata("fe-1", 0.5, "d"))
        self.registry.set_alias(CHALLENGER, 2)
        self.evaluate = EvaluateModel(review_cost=5.0, top_k=20)
        self.test = labelled(transactions(600, fraud_rate=0.05, seed=3))
        self.gate = PromoteChallenger(self.registry, PromotionPolicy(), self.evaluate, self.publisher)

    def champion_auprc(self) -> float:
        return self.evaluate(self.registry.models[1], self.test, 0.5).metrics.auprc


def test_a_promotion_is_tagged_moves_the_aliases_and_publishes_the_reason():
    gate = Gate()
    score = gate.champion_auprc() + 0.01
    decision = gate.gate(gate.registry.get(2), {"auprc": score}, gate.test)
    assert decision.promote
    assert "vs champion v1 " in decision.reason
    assert gate.registry.get(2).tags == {
        "promotion_decision": "promote",
        "promotion_reason": decision.reason,
        "previous_champion": "1",
    }
    assert gate.registry.aliases == {CHAMPION: 2}
    (event,) = gate.publisher.events
    assert (event.model_name, event.version, event.previous_version, event.reason) == (
        "fake-model",
        2,
        1,
        decision.reason,
    )


def test_a_kept_champion_is_tagged_keep_with_the_reason_and_nothing_moves():
    gate = Gate()
    champion = gate.champion_auprc()
    decision = gate.gate(gate.registry.get(2), {"auprc": champion}, gate.test)
    expected = PromotionPolicy().decide({"auprc": champion}, {"auprc": champion}, "v1")
    assert decision.reason == expected.reason
    assert (decision.promote, decision.champion_score) == (False, pytest.approx(champion))
    assert gate.registry.get(2).tags == {"promotion_decision": "keep", "promotion_reason": decision.reason}
    assert gate.registry.aliases == {CHAMPION: 1, CHALLENGER: 2}
    assert gate.publisher.events == []


def test_a_champion_built_for_other_features_is_replaced_without_being_loaded():
    gate = Gate(champion_features="fe-0")
    gate.registry.broken.add(1)  # loading it would fail: the gate must not try
    decision = gate.gate(gate.registry.get(2), {"auprc": 0.3, "recall": 0.9}, gate.test)
    assert decision == PromotionDecision(
        True,
        "champion v1 uses feature version fe-0, this code computes fe-1: it cannot be served or compared, "
        "so the challenger replaces it",
        "auprc",
        0.3,
        None,
    )
    assert gate.registry.aliases == {CHAMPION: 2}
    assert gate.publisher.events[0].reason == decision.reason


def test_a_champion_without_metadata_is_replaced_as_of_unknown_features():
    gate = Gate()
    gate.registry.versions[1] = replace(gate.registry.versions[1], metadata=None)
    decision = gate.gate(gate.registry.get(2), {"auprc": 0.3}, gate.test)
    assert decision.promote
    assert decision.reason.startswith("champion v1 uses feature version unknown, this code computes fe-1")
    assert (decision.metric, decision.challenger_score, decision.champion_score) == ("auprc", 0.3, None)


def test_set_champion_remembers_and_announces_the_replaced_version():
    registry, publisher = FakeRegistry(), FakePublisher()
    for _ in range(2):
        registry.register("models:/x", "run", ModelMetadata("fe-1", 0.5, "d"))
    assert set_champion(registry, publisher, 1, "first") is None
    assert set_champion(registry, publisher, 2, "better") == 1
    assert set_champion(registry, publisher, 2, "again") is None  # already the champion: nothing replaced
    assert [(e.model_name, e.version, e.previous_version, e.reason) for e in publisher.events] == [
        ("fake-model", 1, None, "first"),
        ("fake-model", 2, 1, "better"),
        ("fake-model", 2, None, "again"),
    ]
    assert all(isinstance(e, ModelPromoted) for e in publisher.events)
    assert registry.get(2).tags == {"previous_champion": "1"}


# --- Training ------------------------------------------------------------------------------------------


def test_labelled_data_is_float64_even_from_integer_columns():
    frame = transactions(10).astype({LABEL: "int64"})
    frame["Amount"] = np.arange(10, dtype=np.int64)
    data = labelled(frame)
    assert data.labels.dtype == np.float64
    assert data.amounts.dtype == np.float64
    assert data.amounts.tolist() == [float(a) for a in range(10)]
    assert data.labels.tolist() == frame[LABEL].astype(float).tolist()


def small(labels: list[float]) -> LabelledData:
    return LabelledData(pd.DataFrame({"x": labels}), np.array(labels), np.ones(len(labels)))


@pytest.mark.parametrize(
    ("labels", "weight"),
    [
        ([1.0, 0.0, 0.0, 0.0, 0.0], 2.0),  # sqrt(4 / 1)
        ([1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0], 2.0),  # sqrt(8 / 2)
        ([0.0, 0.0, 0.0, 0.0, 0.0], 2.0),  # no fraud counts as one: sqrt(4 / 1)
    ],
)
def test_the_weighted_strategy_uses_the_square_root_of_negatives_per_positive(labels, weight):
    assert imbalance_strategies(small(labels)) == [("none", 1.0), ("sqrt_balanced", weight)]


class RecordingTrainer(FakeTrainer):
    def __init__(self) -> None:
        super().__init__()
        self.data: list[tuple[LabelledData, LabelledData]] = []

    def fit(self, train: LabelledData, valid: LabelledData, params: TrainingParams) -> FakeModel:
        self.data.append((train, valid))
        model = super().fit(train, valid, params)
        model.rounds = 7 * len(self.data)
        return model


def test_each_strategy_is_fitted_on_train_stopped_on_valid_and_recorded_as_tried():
    data = FeatureSplit.of(time_ordered_split(transactions(4_000, 0.03), SplitPolicy()))
    trainer = RecordingTrainer()
    result = TrainModel(trainer, TrainingParams(), review_cost=5.0)(data)
    assert all(train is data.train and valid is data.valid for train, valid in trainer.data)
    weight = math.sqrt((len(data.train) - data.train.frauds) / data.train.frauds)
    assert [(c.strategy, c.scale_pos_weight, c.best_iteration) for c in result.candidates] == [
        ("none", 1.0, 7),
        ("sqrt_balanced", weight, 14),
    ]
    assert result.chosen == result.candidates[0]


# --- BuildRetrainingSet --------------------------------------------------------------------------------

NOW = datetime(2026, 11, 20, tzinfo=UTC)


class Retrain:
    """A champion trained on `base`, captured rows with ids from 2026-11-01 00:00:00 one per second."""

    def __init__(self, base: pd.DataFrame | None = None) -> None:
        self.registry, self.datasets = FakeRegistry(), FakeDatasetStore()
        self.captured, self.feedback = FakeCapturedPredictions(), FakeFeedbackStore()
        self.base = self.datasets.save(transactions(200) if base is None else base, "base.csv")
        self.registry.register("models:/1", "run-1", ModelMetadata("fe-1", 0.5, self.base.id.value))
        self.registry.set_alias(CHAMPION, 1)
        self.build = BuildRetrainingSet(self.registry, self.datasets, self.captured, self.feedback, 30)

    def capture(self, ids: list[str] | None, rows: int = 3) -> np.ndarray:
        inputs = np.random.default_rng(2).standard_normal((rows, len(SCORING_INPUTS)))
        inputs[:, -1] = np.abs(inputs[:, -1]) * 20
        window = captured(inputs, np.full(rows, 0.1))
        if ids is not None:
            window = replace(window, transaction_ids=np.array(ids, dtype=object))
        self.captured.rows = window
        return inputs

    def label(self, tid: str, is_fraud: bool) -> None:
        scored_at = datetime(2026, 11, 1, tzinfo=UTC)
        self.feedback.record_scored([ScoredTransaction(tid, 1, 0.1, False, scored_at)])
        self.feedback.add_label(tid, is_fraud, NOW)


def base_at(times: list[float]) -> pd.DataFrame:
    frame = transactions(len(times) + 2).iloc[: len(times)].copy()
    frame[TIME] = times
    return frame.reset_index(drop=True)


@pytest.mark.parametrize(
    ("times", "new_times"),
    [
        ([100.0, 110.0, 130.0], [131.0, 146.0]),  # mean interval (130 - 100) / 2 = 15
        ([100.0, 130.0], [131.0, 161.0]),  # (130 - 100) / 1
        ([100.0], [101.0, 102.0]),  # one row: no interval, one second
        ([50.0, 50.0, 50.0], [51.0, 52.0]),  # all at once: one second
    ],
)
def test_recent_rows_follow_the_base_at_its_mean_interval(times, new_times):
    world = Retrain(base_at(times))
    world.capture(["a", "b", "c"])
    world.label("a", True)
    world.label("c", False)
    built = world.build(NOW)
    frame = world.datasets.load(built.dataset.id)
    assert frame[TIME].tolist() == times + new_times


def test_the_set_stacks_base_then_recent_rows_under_a_fresh_index_and_names_its_source():
    world = Retrain()
    inputs = world.capture(["a", "b", "c"])
    world.label("c", True)
    world.label("a", False)
    built = world.build(NOW)
    base = world.datasets.load(world.base.id)
    frame = world.datasets.load(built.dataset.id)
    assert list(frame.columns) == list(TRANSACTION_COLUMNS)
    assert frame.index.tolist() == list(range(len(base) + 2))
    pd.testing.assert_frame_equal(frame.iloc[: len(base)], base)
    np.testing.assert_array_equal(frame[list(SCORING_INPUTS)].to_numpy()[len(base) :], inputs[[0, 2]])
    assert frame[LABEL].tolist()[len(base) :] == [0.0, 1.0]  # scoring order, not labelling order
    assert built.dataset.source == f"retrain:{world.base.id.short}+2-labelled"
    assert built == RetrainingSet(
        world.base,
        built.dataset,
        2,
        1,
        0,
        f"200 rows of dataset {world.base.id.short} + 2 labelled captured rows (1 frauds) "
        f"-> dataset {built.dataset.id.short}",
    )


def test_labels_of_rows_outside_the_lookback_leave_nothing_to_learn_from():
    world = Retrain()
    world.capture(["a", "b", "c"])
    world.label("a", True)
    built = world.build(datetime(2027, 1, 1, tzinfo=UTC))
    assert built == RetrainingSet(
        world.base,
        None,
        0,
        0,
        1,
        "no labelled captured transactions in the last 30 days (1 labels in all); nothing new to learn from",
    )


def test_captured_rows_without_ids_cannot_be_matched_to_labels():
    """Rows captured before ids were logged: the labels exist but join nothing."""
    world = Retrain()
    world.capture(None)
    world.label("a", True)
    world.label("b", False)
    built = world.build(NOW)
    assert (built.dataset, built.labelled_rows, built.labelled_frauds, built.labels_without_capture) == (
        None,
        0,
        0,
        2,
    )
    assert built.base == world.base


def test_no_labels_at_all_counts_zero():
    world = Retrain()
    world.capture(["a", "b", "c"])
    built = world.build(NOW)
    assert (built.base, built.dataset, built.labelled_rows, built.labels_without_capture) == (
        world.base,
        None,
        0,
        0,
    )
    assert "(0 labels in all)" in built.detail


def test_without_a_time_the_lookback_ends_now_in_utc():
    world = Retrain()
    world.capture(["a", "b", "c"])
    before = datetime.now(UTC)
    world.build()
    since = world.captured.requests[-1][0]
    assert since.tzinfo is UTC
    assert before - timedelta(days=30) <= since <= datetime.now(UTC) - timedelta(days=30)


@pytest.mark.parametrize("metadata", [False, True])
def test_no_champion_or_one_without_metadata_is_the_same_clear_error(metadata):
    world = Retrain()
    if metadata:
        world.registry.versions[1] = replace(world.registry.versions[1], metadata=None)
    else:
        world.registry.remove_alias(CHAMPION)
    with pytest.raises(ModelNotFoundError) as error:
        world.build(NOW)
    assert str(error.value) == "no champion to retrain from; run `fraud pipeline run` first"
