"""A retrain learns each labelled row once, and a repeated trigger with nothing new costs no training.

Drift checks publish `DriftDetected` every hour the model stays at risk, and a nightly schedule retrains
whatever arrived. Before: after a retrain was promoted, its labelled rows (still captured, still labelled)
joined the next retrain's set again, on top of the promoted set that already held them, one more copy per
retrain; a retrain on a set some version was already trained on registered the same model again; and
during a rollout every trigger trained a challenger that could not be promoted.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from fraud_detection.application.retraining import BuildRetrainingSet, RetrainingSet
from fraud_detection.domain.features import SCORING_INPUTS
from fraud_detection.domain.model import CHAMPION, REGISTRATION_FAILED_TAG, ModelMetadata
from fraud_detection.domain.promotion import rows_not_in
from fraud_detection.domain.rollout import Rollout, Stage
from fraud_detection.domain.schema import LABEL, TIME
from tests.builders import transactions
from tests.rollout_fakes import FakeRolloutStore
from tests.unit.test_retraining import NOW, Retraining


def promote(world: Retraining, built: RetrainingSet, decision: str = "promote") -> int:
    """Register a version trained on `built` (as the pipeline would), the champion when `decision` says so."""
    assert built.dataset is not None
    version = world.registry.register(
        "models:/n", "run-n", ModelMetadata("fe-1", 0.5, built.dataset.id.value)
    )
    world.registry.set_tag(version.version, "promotion_decision", decision)
    if decision == "promote":
        world.registry.set_alias(CHAMPION, version.version)
    return version.version


def labelled(world: Retraining) -> Retraining:
    world.capture(5, ["a", "b", None, "c", "d"])
    world.label("a", True)
    world.label("c", False)
    return world


def test_after_a_promoted_retrain_its_labelled_rows_are_not_added_again() -> None:
    world = labelled(Retraining())
    first = world.build(NOW)
    promote(world, first)

    again = world.build(NOW)
    assert again == RetrainingSet(
        first.dataset,  # the promoted set is the new base
        None,
        0,
        0,
        0,
        f"the 2 labelled captured transactions of the last 30 days are all rows of dataset "
        f"{first.dataset.id.short} already (the champion learned them in an earlier retrain); nothing new to "
        "learn from",
    )

    world.label("d", True)  # one more label: only it joins
    grown = world.build(NOW)
    assert grown.dataset is not None
    assert (grown.labelled_rows, grown.labelled_frauds) == (1, 1)
    assert grown.detail == (
        f"2,002 rows of dataset {first.dataset.id.short} + 1 labelled captured rows (1 frauds), "
        f"2 more already in it -> dataset {grown.dataset.id.short}"
    )
    frame = world.datasets.load(grown.dataset.id)
    assert len(frame) == 2_003
    assert frame[LABEL].tail(3).tolist() == [1.0, 0.0, 1.0]  # a, c from the promoted set, then d
    assert frame[TIME].is_monotonic_increasing


def test_a_set_some_version_was_trained_on_is_not_trained_again() -> None:
    world = labelled(Retraining())
    first = world.build(NOW)
    assert first.dataset is not None
    assert first.trained_as is None
    kept = promote(world, first, decision="keep")

    again = world.build(NOW)
    assert again == replace(
        first,
        dataset=None,
        detail=f"{first.detail}, which v{kept} was already trained on (gate: keep); no label has arrived "
        f"since, so a retrain would register the same model: nothing new to learn from (`fraud model "
        f"promote {kept}` serves it)",
        trained_as=kept,
        labels=(),  # nothing trained: no record of what was learnt
        since="",
    )


def test_a_version_a_failed_registration_left_on_the_same_set_does_not_block_the_retrain() -> None:
    """Before, the retry after a failed registration (S3 down as the profile was stored) was skipped as
    "nothing new to learn from", pointing to a `fraud model promote` that refuses that version."""
    world = labelled(Retraining())
    first = world.build(NOW)
    failed = promote(world, first, decision="keep")
    world.registry.set_tag(failed, REGISTRATION_FAILED_TAG, "reference profile not stored: S3 down")
    again = world.build(NOW)
    assert again.dataset == first.dataset
    assert again.trained_as is None


def test_a_version_the_gate_never_judged_does_not_block_the_retrain() -> None:
    """A retrain stopped during `promote` (SIGTERM after `register`) left a version without a gate
    decision; every later retrain on the same labels stopped as "already trained on", so the gate never
    judged that model, and drift-triggered retrains skipped for good."""
    world = labelled(Retraining())
    first = world.build(NOW)
    assert first.dataset is not None
    world.registry.register("models:/n", "run-n", ModelMetadata("fe-1", 0.5, first.dataset.id.value))
    again = world.build(NOW)
    assert again.dataset == first.dataset
    assert again.trained_as is None


def test_a_version_of_another_feature_version_on_the_same_set_is_retrained() -> None:
    world = labelled(Retraining())
    first = world.build(NOW)
    assert first.dataset is not None
    world.registry.register("models:/old", "run-old", ModelMetadata("fe-0", 0.5, first.dataset.id.value))
    assert world.build(NOW).dataset == first.dataset


def test_during_a_rollout_nothing_is_retrained_and_no_capture_is_read() -> None:
    world = labelled(Retraining())
    store = FakeRolloutStore()
    shadow = Rollout.start("fake-model", 2, 1, 0.0)
    store.save(shadow, replacing=None)
    build = BuildRetrainingSet(world.registry, world.datasets, world.captured, world.feedback, 30, store.load)

    assert build(NOW) == RetrainingSet(
        world.base,
        None,
        0,
        0,
        0,
        "nothing to retrain now: a rollout of v2 against champion v1 is active (shadow), and the champion "
        "moves only through it; end it first with `fraud rollout abort`",
    )
    assert world.captured.requests == []

    store.save(shadow.moved(Stage.ROLLED_BACK, 0.0, "aborted", 1.0, None), replacing=shadow)
    assert build(NOW).dataset is not None


@pytest.mark.parametrize("label", [1.0, 0.0])
def test_a_row_counts_as_held_only_with_the_same_inputs_and_label(label: float) -> None:
    """Integer and float columns compare by value; `Time` is the retrain's own and never compared."""
    base = transactions(20, fraud_rate=0.2, seed=3)
    base[LABEL] = base[LABEL].astype("int64")
    assert base[LABEL].iloc[[0, 8]].tolist() == [1, 1]  # frauds: a label of 1, whose bits differ by type
    recent = base.iloc[[0, 8]].copy().reset_index(drop=True)
    recent[TIME] = [1e9, 2e9]
    recent[LABEL] = [1.0, label]
    assert rows_not_in(recent, base).tolist() == [False, label == 0.0]
    with_time = [*SCORING_INPUTS, LABEL, TIME]  # what the gate matched on before: every row looked new
    assert rows_not_in(recent, base, with_time).tolist() == [True, True]
    moved = recent.copy()
    moved.loc[0, "Amount"] += 0.01  # another amount: a new row
    assert rows_not_in(moved, base)[0]


def test_a_set_trained_with_another_configuration_is_trained_again_with_the_current_one() -> None:
    """The skip held for the data alone: after FRAUD_REVIEW_COST (or the seed, or the folds) changed, a
    retrain on the same labels still stopped, and the model the new settings call for was never trained."""
    from fraud_detection.domain.folds import FoldPolicy
    from fraud_detection.domain.training import TrainingParams
    from fraud_detection.domain.training_config import TRAINING_CONFIG_TAG, encode_config, training_config

    world = labelled(Retraining())
    current = training_config(TrainingParams(), FoldPolicy(), review_cost=5.0)
    build = BuildRetrainingSet(
        world.registry, world.datasets, world.captured, world.feedback, 30, config=current
    )
    first = build(NOW)
    kept = promote(world, first, decision="keep")
    before = training_config(TrainingParams(), FoldPolicy(), review_cost=50.0)
    world.registry.set_tag(kept, TRAINING_CONFIG_TAG, encode_config(before))
    again = build(NOW)
    assert again.dataset == first.dataset  # trained again, with review cost 5
    assert again.detail.endswith(f"(v{kept} was trained on it with another training configuration)")

    world.registry.set_tag(kept, TRAINING_CONFIG_TAG, encode_config(current))
    assert build(NOW).trained_as == kept  # the same configuration: the same model, not trained again
    del world.registry.versions[kept].tags[TRAINING_CONFIG_TAG]
    assert build(NOW).trained_as == kept  # a version from before the tag counts as it did then
    world.registry.set_tag(kept, TRAINING_CONFIG_TAG, "{edited")
    assert build(NOW).trained_as is None  # unreadable: trained again rather than wrongly skipped
    assert training_config(TrainingParams(threads=1), FoldPolicy(), 5.0) == current  # the same trees
