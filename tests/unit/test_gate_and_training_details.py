"""The promotion gate, training and the retraining set in detail: the decision texts and scores users
read, the tags and events stored with a promotion, and the exact rows and times a retrain learns from."""

from __future__ import annotations

import json
import math
from dataclasses import replace
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd
import pytest

from fraud_detection.application.champion import set_champion
from fraud_detection.application.evaluate import EvaluateModel
from fraud_detection.application.promote import ChallengerEvidence, PromoteChallenger
from fraud_detection.application.retraining import BuildRetrainingSet, RetrainingSet
from fraud_detection.application.train import FoldedData, TrainModel, imbalance_strategies, labelled
from fraud_detection.domain.errors import IncompatibleModelError, ModelNotFoundError, UntrustedModelError
from fraud_detection.domain.events import ModelPromoted
from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.feedback import ScoredTransaction
from fraud_detection.domain.folds import FoldPolicy, time_ordered_folds
from fraud_detection.domain.metrics import average_precision
from fraud_detection.domain.model import CHALLENGER, CHAMPION, ModelMetadata, ModelVersion
from fraud_detection.domain.ports.modelling import FraudModel
from fraud_detection.domain.promotion import PromotionDecision, PromotionPolicy
from fraud_detection.domain.schema import LABEL, TIME, TRANSACTION_COLUMNS
from fraud_detection.domain.selection import refit_rounds
from fraud_detection.domain.threshold import choose_threshold
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
        "on the same rows",
        "auprc",
        0.82,
        0.8,
    )


def test_a_challenger_within_the_margin_keeps_the_champion_with_both_scores():
    decision = PromotionPolicy("auprc", 0.01).decide({"auprc": 0.805}, {"auprc": 0.8}, "v3")
    assert decision == PromotionDecision(
        False,
        "champion kept: auprc 0.8050 vs champion v3 0.8000 (needs > 0.8100, margin 0.01) on the same rows",
        "auprc",
        0.805,
        0.8,
    )


def test_without_a_label_the_champion_is_named_by_nothing():
    decision = PromotionPolicy().decide({"auprc": 0.5}, {"auprc": 0.5})
    assert decision.reason == (
        "champion kept: auprc 0.5000 vs champion  0.5000 (needs > 0.5000, margin 0) on the same rows"
    )


def test_a_decision_as_a_document():
    decision = PromotionDecision(False, "why", "auprc", 0.5, 0.6)
    assert decision.as_dict() == {
        "promote": False,
        "reason": "why",
        "metric": "auprc",
        "challenger_score": 0.5,
        "champion_score": 0.6,
        "rows": 0,
        "frauds": 0,
        "forced": False,
        "confidence": None,
        "staged": False,
    }


# --- PromoteChallenger and set_champion --------------------------------------------------------------------


class Gate:
    """A champion v1 fitted on `fitted` (1,000 rows); a challenger v2 whose out-of-fold rows are the last 200
    of those plus 600 rows labelled since (`new`, later `Time`s): only those 600 are fair to compare on."""

    def __init__(self, champion_features: str = "fe-1") -> None:
        self.registry, self.publisher, self.datasets = FakeRegistry(), FakePublisher(), FakeDatasetStore()
        self.fitted = transactions(1_000, fraud_rate=0.05, seed=1)
        base = self.datasets.save(self.fitted, "base")
        self.registry.register("models:/1", "run-1", ModelMetadata(champion_features, 0.5, base.id.value))
        self.registry.set_alias(CHAMPION, 1)
        self.registry.register("models:/2", "run-2", ModelMetadata("fe-1", 0.5, "d2"))
        self.registry.set_alias(CHALLENGER, 2)
        self.new = transactions(600, fraud_rate=0.05, seed=3)
        self.new[TIME] += self.fitted[TIME].max() + 1.0
        self.evaluate = EvaluateModel(review_cost=5.0, top_k=20)
        self.gate = PromoteChallenger(
            self.registry, PromotionPolicy(), self.evaluate, self.publisher, self.datasets
        )

    def evidence(
        self, new_scores: np.ndarray, old_scores: np.ndarray | None = None, rows: pd.DataFrame | None = None
    ) -> ChallengerEvidence:
        """Out-of-fold evidence: the last 200 fitted rows scored `old_scores` (default: perfectly), then the
        new rows scored `new_scores`."""
        old = self.fitted.tail(200)
        frame = pd.concat([old, self.new], ignore_index=True) if rows is None else rows
        perfect = old[LABEL].to_numpy(dtype=float)
        scores = np.concatenate([perfect if old_scores is None else old_scores, new_scores])[: len(frame)]
        return ChallengerEvidence(frame, labelled(frame), scores, 0.5, {"auprc": 0.77, "recall": 0.9})

    def champion_scores(self) -> np.ndarray:
        return self.registry.models[1].predict_proba(labelled(self.new).features)

    def champion_auprc(self) -> float:
        return self.evaluate(self.registry.models[1], labelled(self.new), 0.5).metrics.auprc

    def better_scores(self) -> np.ndarray:
        return 0.5 * self.champion_scores() + 0.5 * self.new[LABEL].to_numpy(dtype=float)


def test_a_promotion_is_tagged_moves_the_aliases_and_publishes_the_reason():
    gate = Gate()
    decision = gate.gate(gate.registry.get(2), gate.evidence(gate.better_scores()))
    assert decision.promote
    assert "vs champion v1 " in decision.reason
    tags = gate.registry.get(2).tags
    (move,) = (json.loads(value) for key, value in tags.items() if key.startswith("champion."))
    assert (move["replaced"], move["reason"]) == (1, decision.reason)  # `fraud model history`
    assert {key: value for key, value in tags.items() if not key.startswith("champion.")} == {
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


def test_the_gate_compares_only_the_rows_the_champion_was_not_fitted_on_and_names_them():
    """The challenger scores the champion's own rows perfectly, and the new rows as the champion does: a
    tie on the fair rows, so the champion stays; its rows would have made the challenger look better."""
    gate = Gate()
    decision = gate.gate(gate.registry.get(2), gate.evidence(gate.champion_scores()))
    frauds = int(gate.new[LABEL].sum())
    champion = gate.champion_auprc()
    assert (decision.promote, decision.rows, decision.frauds) == (False, 600, frauds)
    assert decision.challenger_score == pytest.approx(champion)
    assert decision.champion_score == pytest.approx(champion)
    assert decision.reason == (
        f"champion kept: auprc {champion:.4f} vs champion v1 {champion:.4f} (needs > {champion:.4f}, "
        f"margin 0) on 600 labelled rows ({frauds} frauds) neither model was fitted on; challenger ahead "
        "in 0% of 1,000 resamples of these rows (90% interval of the difference +0.0000 to +0.0000)"
    )
    assert decision.confidence is not None
    assert decision.confidence.as_dict() == {"ahead": 0.0, "low": 0.0, "high": 0.0, "resamples": 1_000.0}
    assert gate.registry.get(2).tags == {"promotion_decision": "keep", "promotion_reason": decision.reason}
    assert gate.registry.aliases == {CHAMPION: 1, CHALLENGER: 2}
    assert gate.publisher.events == []


def test_the_challenger_is_scored_at_its_own_threshold_and_the_champion_at_its_own():
    gate = Gate()
    gate.registry.versions[1] = replace(
        gate.registry.versions[1], metadata=replace(gate.registry.versions[1].metadata, threshold=0.99)
    )
    evidence = gate.evidence(gate.champion_scores())
    decision = gate.gate(gate.registry.get(2), evidence)
    assert PromotionPolicy("recall").metric == "recall"
    gate_recall = PromoteChallenger(
        gate.registry, PromotionPolicy("recall"), gate.evaluate, gate.publisher, gate.datasets
    )
    by_recall = gate_recall(gate.registry.get(2), evidence)
    assert not decision.promote  # same AUPRC
    assert by_recall.promote  # recall at 0.5 beats recall at 0.99 on the same scores
    assert by_recall.champion_score < by_recall.challenger_score


def test_no_rows_new_to_the_champion_keeps_it_and_says_so():
    gate = Gate()
    old = gate.fitted.tail(200)
    decision = gate.gate(gate.registry.get(2), gate.evidence(np.array([]), rows=old))
    assert not decision.promote
    assert (decision.rows, decision.frauds, decision.champion_score) == (0, 0, None)
    assert decision.reason == (
        "champion v1 kept (`fraud model promote 2` overrides): none of the challenger's out-of-fold rows is "
        "new to champion v1 (it was fitted on all of them): nothing to compare on"
    )
    assert gate.registry.aliases == {CHAMPION: 1, CHALLENGER: 2}


def test_the_champions_rows_exported_again_with_other_times_are_not_new_to_it():
    """`Time` counts from a file's first row: a re-export from another start moves it. Before, the gate
    matched on it, took the champion's 200 rows for unseen ones and compared on 800 rows."""
    gate = Gate()
    moved = gate.fitted.tail(200).copy()
    moved[TIME] += 3_600.0
    rows = pd.concat([moved, gate.new], ignore_index=True)
    decision = gate.gate(gate.registry.get(2), gate.evidence(gate.champion_scores(), rows=rows))
    assert (decision.rows, decision.frauds) == (600, int(gate.new[LABEL].sum()))


def test_new_rows_without_a_fraud_are_not_compared_on():
    gate = Gate()
    gate.new[LABEL] = 0.0
    decision = gate.gate(gate.registry.get(2), gate.evidence(gate.champion_scores()))
    assert (decision.promote, decision.rows, decision.frauds) == (False, 600, 0)
    assert "nothing to compare on" in decision.reason


def test_a_champion_whose_training_data_is_gone_is_kept():
    gate = Gate()
    gate.datasets.refs.clear()
    decision = gate.gate(gate.registry.get(2), gate.evidence(gate.better_scores()))
    assert not decision.promote
    assert "is not in the store, so no rows can be shown to be new to it" in decision.reason


def test_force_promotes_where_the_gate_would_keep_and_keeps_its_reason():
    gate = Gate()
    old = gate.fitted.tail(200)
    decision = gate.gate(gate.registry.get(2), gate.evidence(np.array([]), rows=old), force=True)
    assert decision.promote
    assert decision.forced
    assert decision.reason.startswith("forced by the operator; the gate said: champion v1 kept")
    assert gate.registry.aliases == {CHAMPION: 2}


def test_a_champion_built_for_other_features_is_replaced_without_being_loaded():
    gate = Gate(champion_features="fe-0")
    gate.registry.broken.add(1)  # loading it would fail: the gate must not try
    decision = gate.gate(gate.registry.get(2), gate.evidence(gate.better_scores()))
    assert decision == PromotionDecision(
        True,
        "champion v1 uses feature version fe-0, this code computes fe-1: it cannot be served or compared, "
        "so the challenger replaces it",
        "auprc",
        0.77,
        None,
    )
    assert gate.registry.aliases == {CHAMPION: 2}
    assert gate.publisher.events[0].reason == decision.reason


def test_a_champion_without_metadata_is_replaced_as_of_unknown_features():
    gate = Gate()
    gate.registry.versions[1] = replace(gate.registry.versions[1], metadata=None)
    decision = gate.gate(gate.registry.get(2), gate.evidence(gate.better_scores()))
    assert decision.promote
    assert decision.reason.startswith("champion v1 uses feature version unknown, this code computes fe-1")
    assert (decision.metric, decision.challenger_score, decision.champion_score) == ("auprc", 0.77, None)


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
    moved = [key for key in registry.get(2).tags if key.startswith("champion.")]
    assert len(moved) == 1  # "again" moved nothing: no record
    assert {key: value for key, value in registry.get(2).tags.items() if key not in moved} == {
        "previous_champion": "1"
    }


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


def folded(rows: int = 4_000) -> FoldedData:
    return FoldedData.of(time_ordered_folds(transactions(rows, 0.03), FoldPolicy()))


def test_each_strategy_is_fitted_on_every_fold_and_scored_on_its_evaluation_rows():
    data = folded()
    trainer = FakeTrainer(best_round=37)
    result = TrainModel(trainer, TrainingParams(), review_cost=5.0)(data)
    expected = [(data.parts(fold)) for fold in data.folds.folds] * 2
    assert len(trainer.folds) == 6
    for (train, valid), (want_train, want_valid) in zip(trainer.folds, expected, strict=True):
        assert train.labels.tolist() == want_train.labels.tolist()
        assert valid.labels.tolist() == want_valid.labels.tolist()
    assert all(fit.rounds_asked == [37] for fit in trainer.fold_fits)  # scored at the chosen rounds
    weight = math.sqrt((len(data.data) - data.data.frauds) / data.data.frauds)
    assert [(c.strategy, c.scale_pos_weight, c.rounds) for c in result.candidates] == [
        ("none", 1.0, 37),
        ("sqrt_balanced", weight, 37),
    ]
    assert result.chosen == result.candidates[0]
    assert len(result.chosen.fold_auprc) == 3
    # later folds stop at the shortest curve so far (37 + 29 rounds here): longer could never be chosen
    assert [p.max_rounds for p in trainer.calls] == [2_000, 66, 66] * 2  # per strategy


def test_the_refit_sees_every_row_for_the_scaled_rounds():
    data = folded()
    trainer = FakeTrainer(best_round=37)
    result = TrainModel(trainer, TrainingParams(), review_cost=5.0)(data)
    ((train, params, rounds),) = trainer.refits
    assert train.labels.tolist() == data.data.labels.tolist()  # every labelled row, the newest included
    mean_fit = np.mean([len(fold.fit) for fold in data.folds.folds])
    assert rounds == result.refit_rounds == round(37 * len(data.data) / mean_fit)
    assert params == result.params
    assert result.model.best_iteration == rounds


def test_out_of_fold_scores_give_the_metrics_rows_and_threshold():
    data = folded()
    result = TrainModel(FakeTrainer(), TrainingParams(), review_cost=5.0)(data)
    oof = data.out_of_fold
    assert result.out_of_fold.labels.tolist() == oof.labels.tolist()
    expected_scores = FakeModel().predict_proba(oof.features)
    assert result.oof_scores.tolist() == pytest.approx(expected_scores.tolist())
    assert result.chosen.oof_auprc == pytest.approx(average_precision(oof.labels, expected_scores))
    assert result.threshold == choose_threshold(oof.labels, expected_scores, oof.amounts, 5.0)


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
        None,
        (("a", False, NOW.isoformat()), ("c", True, NOW.isoformat())),  # what it learnt, in scoring order
        (NOW - timedelta(days=30)).isoformat(),
    )
    # Kept with the retrain's run (`retraining/labels.json`); before, nothing said which labels it used.
    assert built.lineage() == {
        "base_dataset": world.base.id.value,
        "dataset": built.dataset.id.value,
        "lookback_since": (NOW - timedelta(days=30)).isoformat(),
        "labels": [
            {"transaction_id": "a", "is_fraud": False, "labelled_at": NOW.isoformat()},
            {"transaction_id": "c", "is_fraud": True, "labelled_at": NOW.isoformat()},
        ],
    }


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


def test_a_champion_whose_tags_cannot_be_read_is_named_not_called_missing():
    world = Retrain()
    world.registry.versions[1] = replace(
        world.registry.versions[1],
        metadata=None,
        metadata_problem="its tag 'threshold' is 'high', not a number",
    )
    with pytest.raises(IncompatibleModelError) as error:
        world.build(NOW)
    assert str(error.value) == (
        "champion fake-model v1 (champion): its tag 'threshold' is 'high', not a number; its dataset cannot "
        "be told, so nothing is retrained"
    )


# --- The gate's rescoring of rows new to the champion ------------------------------------------------------


def test_prequential_scores_fit_every_row_before_each_block_less_the_gap():
    data = folded()
    trainer = FakeTrainer(best_round=37)
    train = TrainModel(trainer, TrainingParams(), review_cost=5.0)
    result = train(data)
    trainer.refits.clear()
    positions = np.arange(3_000, 4_000)
    times = data.folds.ordered["Time"].to_numpy()
    scores = train.prequential_scores(data, result, positions, blocks=4, gap_seconds=600.0)
    starts = [3_000, 3_250, 3_500, 3_750]
    expected_fit = [int(np.searchsorted(times, times[s] - 600.0, side="right")) for s in starts]
    assert [len(fit) for fit, _, _ in trainer.refits] == expected_fit
    assert all(0 < n <= s for n, s in zip(expected_fit, starts, strict=True))  # nothing from the block on
    for (fit, params, rounds), n in zip(trainer.refits, expected_fit, strict=True):
        assert fit.labels.tolist() == data.data.labels[:n].tolist()
        assert params == result.params
        assert rounds == refit_rounds(37, result.mean_fold_fit_rows, n)
    block_rows = data.data.take(positions)
    assert scores.tolist() == pytest.approx(FakeModel().predict_proba(block_rows.features).tolist())


def test_the_gate_scores_the_new_rows_through_rescore_when_given():
    gate = Gate()
    asked: list[np.ndarray] = []

    def rescore(mask: np.ndarray) -> np.ndarray:
        asked.append(mask)
        return gate.better_scores()

    evidence = replace(gate.evidence(gate.champion_scores()), rescore=rescore)
    decision = gate.gate(gate.registry.get(2), evidence)
    (mask,) = asked
    assert mask.tolist() == [False] * 200 + [True] * 600  # only the rows new to the champion
    assert decision.promote  # the fold scores tie with the champion; the rescored ones beat it


def test_a_champion_that_fails_its_integrity_check_is_kept_for_a_person_to_decide(monkeypatch):
    """A tampered champion artifact is a security event: the gate neither loads it nor lets the challenger
    through on its own; `fraud model promote` (or --force-promotion) is the way on."""
    gate = Gate()

    def refused(version: ModelVersion) -> FraudModel:
        raise UntrustedModelError(f"fake-model v{version.version}: SHA-256 differs from the recorded digest")

    monkeypatch.setattr(gate.registry, "load_model", refused)
    decision = gate.gate(gate.registry.get(2), gate.evidence(gate.better_scores()))

    assert not decision.promote
    assert decision.champion_score is None
    assert "failed its integrity check" in decision.reason
    assert "`fraud model promote 2` overrides" in decision.reason
    assert gate.registry.aliases == {CHAMPION: 1, CHALLENGER: 2}


def test_a_champion_whose_tags_were_edited_into_nonsense_is_kept_not_replaced():
    """Its threshold tag edited into "0.5%": read as a champion built for other features, it was replaced
    by any challenger (one of AUPRC 0.1 in the probe), with no comparison and no rollout."""
    gate = Gate()
    champion = gate.registry.versions[1]
    gate.registry.versions[1] = replace(
        champion, metadata=None, metadata_problem="its tag 'threshold' is '0.5%'"
    )

    decision = gate.gate(gate.registry.get(2), gate.evidence(gate.better_scores()))

    assert not decision.promote
    assert decision.reason == (
        "champion v1 kept (`fraud model promote 2` overrides): its tag 'threshold' is '0.5%', so it is "
        "neither compared nor replaced"
    )
    assert gate.registry.aliases == {CHAMPION: 1, CHALLENGER: 2}
