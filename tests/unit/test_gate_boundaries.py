"""The promotion gate at its edges: every way it keeps the champion is a plain `False` with the policy's
metric, the challenger's score and the rows it counted (what `fraud model promote` and the pipeline report
print), the gate is forced only when asked, and a bad metric setting names the metrics allowed."""

from __future__ import annotations

import re
from dataclasses import replace

import numpy as np
import pandas as pd
import pytest

from fraud_detection.application.promote import PromoteChallenger
from fraud_detection.domain.errors import RolloutRefusedError, UntrustedModelError
from fraud_detection.domain.model import CHALLENGER, CHAMPION, ModelVersion
from fraud_detection.domain.ports.modelling import FraudModel
from fraud_detection.domain.promotion import PromotionDecision, PromotionPolicy
from fraud_detection.domain.schema import LABEL
from tests.unit.test_gate_and_training_details import Gate

KEEP = "champion v1 kept (`fraud model promote 2` overrides)"


def recall_gate(gate: Gate) -> PromoteChallenger:
    """The same gate judging on recall: a metric other than the default, so a decision must name it."""
    return PromoteChallenger(
        gate.registry, PromotionPolicy("recall"), gate.evaluate, gate.publisher, gate.datasets
    )


def test_a_champion_whose_training_data_is_gone_is_kept_naming_the_dataset_by_its_short_id():
    gate = Gate()
    (base,) = gate.datasets.refs.values()
    gate.datasets.refs.clear()
    decision = recall_gate(gate)(gate.registry.get(2), gate.evidence(gate.better_scores()))
    assert decision == PromotionDecision(
        False,
        f"{KEEP}: its training data, dataset {base.id.short}, is not in the store, so no rows can be shown "
        "to be new to it",
        "recall",
        0.9,
        None,
    )
    assert gate.registry.aliases == {CHAMPION: 1, CHALLENGER: 2}


def test_new_rows_that_are_all_frauds_are_not_compared_on_and_counted():
    """Only one class among the rows new to the champion: nothing to rank, whatever their number."""
    gate = Gate()
    gate.new[LABEL] = 1.0
    decision = recall_gate(gate)(gate.registry.get(2), gate.evidence(gate.champion_scores()))
    assert decision == PromotionDecision(
        False,
        f"{KEEP}: the challenger's out-of-fold rows hold 600 rows that champion v1 was not fitted on, "
        "with 600 frauds: no legitimate row among them, so nothing to compare on",
        "recall",
        0.9,
        None,
        600,
        600,
    )


@pytest.mark.parametrize("extra", [1, 0])
def test_fewer_new_frauds_than_the_minimum_keep_the_champion_before_anything_is_rescored(extra):
    """The minimum counts the frauds new to the champion; at it, the comparison is made as before."""
    gate = Gate()
    frauds = int(gate.new[LABEL].sum())
    rescored: list[int] = []

    def rescore(mask: np.ndarray) -> np.ndarray:
        rescored.append(int(mask.sum()))
        return gate.better_scores()

    policy = PromotionPolicy(min_frauds=frauds + extra)
    promote = PromoteChallenger(gate.registry, policy, gate.evaluate, gate.publisher, gate.datasets)
    evidence = replace(gate.evidence(gate.better_scores()), rescore=rescore)
    decision = promote(gate.registry.get(2), evidence)
    if extra:
        assert decision == PromotionDecision(
            False,
            f"{KEEP}: the challenger's out-of-fold rows hold 600 rows that champion v1 was not fitted on, "
            f"with {frauds} frauds, fewer than the {frauds + 1} FRAUD_PROMOTION_MIN_FRAUDS asks for: too few "
            "to tell the better model; the next retrain compares again on every label gathered by then",
            "auprc",
            0.77,
            None,
            600,
            frauds,
        )
        assert rescored == []  # the gate's extra fits are not paid for a comparison it will not make
        assert gate.registry.aliases == {CHAMPION: 1, CHALLENGER: 2}
    else:
        assert decision.promote
        assert rescored == [600]


def test_a_policy_needing_no_fraud_is_refused():
    with pytest.raises(ValueError, match="at least one fraud"):
        PromotionPolicy(min_frauds=0)


def test_a_champion_failing_its_integrity_check_is_kept_with_the_rows_that_were_ready(monkeypatch):
    gate = Gate()

    def refused(version: ModelVersion) -> FraudModel:
        raise UntrustedModelError(f"fake-model v{version.version}: SHA-256 differs")

    monkeypatch.setattr(gate.registry, "load_model", refused)
    decision = recall_gate(gate)(gate.registry.get(2), gate.evidence(gate.better_scores()))
    frauds = int(gate.new[LABEL].sum())
    assert decision == PromotionDecision(
        False,
        f"{KEEP}: it failed its integrity check, so it was not loaded and nothing was compared "
        "(fake-model v1: SHA-256 differs)",
        "recall",
        0.9,
        None,
        600,
        frauds,
    )


def test_a_compared_decision_names_the_policys_metric():
    gate = Gate()
    decision = recall_gate(gate)(gate.registry.get(2), gate.evidence(gate.champion_scores()))
    assert (decision.metric, decision.rows) == ("recall", 600)
    assert decision.reason.startswith("champion kept: recall ")


def test_deciding_without_force_keeps_what_the_gate_keeps():
    """`decide` (the pipeline's read-only step) does not force a promotion unless asked to."""
    gate = Gate()
    evidence = gate.evidence(np.array([]), rows=gate.fitted.tail(200))
    decision, champion = gate.gate.decide(gate.registry.get(2), evidence)
    assert (decision.promote, decision.forced) == (False, False)
    assert champion == gate.registry.get(1)


def test_a_refused_rollout_leaves_a_plain_keep_decision():
    """Staged mode, another rollout under way: the passing challenger is registered, not rolled out, and
    the decision says `promote: false`, not a missing value."""
    gate = Gate()
    started: list[int] = []

    def refuse(version: int, reason: str) -> None:
        started.append(version)
        raise RolloutRefusedError("a rollout of v7 is under way")

    staged = PromoteChallenger(
        gate.registry, PromotionPolicy(), gate.evaluate, gate.publisher, gate.datasets, start_rollout=refuse
    )
    decision = staged(gate.registry.get(2), gate.evidence(gate.better_scores()))
    assert started == [2]
    assert decision.as_dict()["promote"] is False
    assert "; not rolled out: a rollout of v7 is under way (`fraud rollout start 2` later)" in decision.reason
    assert gate.registry.get(2).tags["promotion_decision"] == "keep"
    assert gate.registry.aliases == {CHAMPION: 1, CHALLENGER: 2}


def test_an_unknown_promotion_metric_is_refused_listing_the_allowed_ones():
    message = (
        "the promotion metric must be one of auprc, roc_auc, recall_at_precision_90, precision_at_k, "
        "precision, recall, not 'f1'"
    )
    with pytest.raises(ValueError, match=f"^{re.escape(message)}$"):
        PromotionPolicy("f1")  # type: ignore[arg-type]


def test_copies_of_new_rows_are_counted_once():
    """A probe: a file holding its newest rows three times passed validation, and the gate promoted on the
    copies' count (15,150 rows, 183 frauds, where 6,955 and 111 stood)."""
    gate = Gate()
    once = gate.evidence(gate.better_scores())
    decided_once = gate.gate(gate.registry.get(2), once)
    gate = Gate()
    thrice = pd.concat([gate.fitted.tail(200), gate.new, gate.new, gate.new], ignore_index=True)
    scores = np.concatenate([gate.better_scores()] * 3)
    decision = gate.gate(gate.registry.get(2), gate.evidence(scores, rows=thrice))
    assert (
        (decision.rows, decision.frauds)
        == (decided_once.rows, decided_once.frauds)
        == (
            600,
            int(gate.new[LABEL].sum()),
        )
    )
    assert "600 labelled rows" in decision.reason
    assert "(1,200 copies of them counted once)" in decision.reason
    assert decision.confidence == decided_once.confidence  # the same rows resampled, not three times as many
