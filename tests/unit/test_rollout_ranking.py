"""Promotion needs the challenger shown, with confidence, to rank the labelled frauds no worse than the
champion at the alert budgets the policy accepts (domain/rollout/ranking.py).

What benchmarks/rollout.py found on real rows: a challenger trained on a broken extract (AUPRC 0.843 against
the champion's 0.867) was within every tolerance at its own threshold and was promoted; its frauds ranked
lower than the champion's at the champion's alert budget, which the decision counts at the thresholds did not
see.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from fraud_detection.application.rollout.ranks import alert_rates_at
from fraud_detection.domain.rollout import (
    Action,
    PairedLabels,
    RoleEvidence,
    Rollout,
    RolloutEvidence,
    RolloutPolicy,
    judge,
)
from fraud_detection.domain.rollout.ranking import budget_recall, ranking_difference

POLICY = RolloutPolicy(min_shadow_hours=1, min_shadow_rows=1_000, min_labels=500, min_frauds=20)
RATE = 0.01  # the champion's alert rate: budgets 0.5%..1.5% with the default ±50% alert-rate tolerance
# 40 frauds, decided alike at both thresholds (every realised check passes).
COUNTS = PairedLabels(labelled=1_000, frauds=40, caught_by_both=32, false_alarms_of_both=8,
                      champion_alert_rate=RATE)  # fmt: skip
SAME = ((0.002, 0.002),) * 32 + ((0.3, 0.3),) * 8  # both rank every fraud alike


def verdict(ranks: tuple[tuple[float, float], ...], policy: RolloutPolicy = POLICY) -> tuple[Action, str]:
    labels = replace(COUNTS, fraud_alert_rates=ranks)
    evidence = RolloutEvidence(
        RoleEvidence(1, rows=5_000, alerts=50), RoleEvidence(2, rows=5_000, alerts=50), paired_rows=5_000,
        labels=labels,
    )  # fmt: skip
    found = judge(Rollout.start("fraud", 2, 1, now=0.0), evidence, policy, now=7_200.0)
    check = next(c for c in found.checks if c.name == "ranking")
    return found.action, check.detail


def lower(ranks: tuple[tuple[float, float], ...]) -> float:
    difference = ranking_difference(ranks, 0.5 * RATE, 1.5 * RATE, POLICY.confidence_z)
    assert difference is not None
    return difference[1]


def test_a_fraud_counts_whole_within_the_smaller_budget_none_beyond_the_larger_a_share_between() -> None:
    assert budget_recall(0.004, 0.005, 0.015) == 1.0
    assert budget_recall(0.005, 0.005, 0.015) == 1.0
    assert budget_recall(0.015, 0.005, 0.015) == 0.0
    assert budget_recall(0.0125, 0.005, 0.015) == pytest.approx(0.25)


def test_the_difference_is_the_mean_paired_difference_with_a_normal_interval() -> None:
    ranks = ((0.004, 0.004), (0.004, 0.02), (0.02, 0.004), (0.004, 0.02))  # 0, +1, -1, +1
    delta, low, high = ranking_difference(ranks, 0.005, 0.015, 1.96) or (0.0, 0.0, 0.0)
    spread = 1.96 * np.std([0, 1, -1, 1], ddof=1) / 2
    assert delta == pytest.approx(0.25)
    assert (low, high) == pytest.approx((0.25 - spread, 0.25 + spread))
    assert ranking_difference(ranks[:1], 0.005, 0.015, 1.96) is None
    assert ranking_difference(ranks, 0.01, 0.01, 1.96) is None


def test_within_every_tolerance_at_the_threshold_but_ranking_worse_is_rolled_back() -> None:
    worse = ((0.002, 0.002),) * 20 + ((0.014, 0.002),) * 12 + ((0.3, 0.3),) * 8
    action, detail = verdict(worse)
    assert action is Action.ROLL_BACK
    assert "ranks worse" in detail


def test_ranking_alike_advances() -> None:
    assert verdict(SAME)[0] is Action.ADVANCE


def test_promotion_needs_the_lower_end_at_or_above_minus_the_margin() -> None:
    """A challenger a little behind, not shown worse: advances when its interval's lower end clears the
    margin, holds when it falls short of it by a hair."""
    behind = ((0.002, 0.002),) * 28 + ((0.012, 0.002),) * 4 + ((0.3, 0.3),) * 8
    edge = -lower(behind)
    assert 0 < edge < 1
    assert verdict(behind, replace(POLICY, ranking_margin=edge + 1e-9))[0] is Action.ADVANCE
    action, detail = verdict(behind, replace(POLICY, ranking_margin=edge - 1e-9))
    assert action is Action.HOLD
    assert "not yet shown not worse" in detail


def test_without_ranked_frauds_it_holds_even_when_every_count_is_in() -> None:
    """Evidence without ranks (or with fewer ranked frauds than `min_frauds`) is no evidence of not worse."""
    action, detail = verdict(())
    assert action is Action.HOLD
    assert "ranked frauds" in detail
    assert verdict(SAME[:19])[0] is Action.HOLD


def test_alert_rates_at_is_the_share_scored_at_or_above() -> None:
    scores = np.array([0.1, 0.2, 0.2, 0.9])
    assert alert_rates_at(scores, np.array([0.9, 0.2, 0.1])).tolist() == [0.25, 0.75, 1.0]


def test_a_single_budget_counts_a_fraud_flagged_at_it_as_caught() -> None:
    """Budgets from r to r (no tolerance): a fraud flagged at an alert rate up to r counts 1, beyond it 0."""
    assert budget_recall(0.01, 0.01, 0.01) == 1.0
    assert budget_recall(0.009, 0.01, 0.01) == 1.0
    assert budget_recall(0.011, 0.01, 0.01) == 0.0


def test_two_frauds_are_enough_for_an_interval() -> None:
    """Differences +1 and 0: mean 0.5, sd 1/√2, so the interval is 0.5 ± z · 0.5."""
    ranks = ((0.004, 0.02), (0.004, 0.004))
    assert ranking_difference(ranks, 0.005, 0.015, 1.96) == pytest.approx((0.5, 0.5 - 0.98, 0.5 + 0.98))


def test_budgets_may_start_at_zero() -> None:
    """A tolerance of 100% puts the smaller budget at 0: budgets 0..1.5%, a fraud at 0.3% counts 0.8 and at
    1.2% 0.2, so differences 0.6 and 0 give 0.3 ± z · 0.3."""
    ranks = ((0.003, 0.012), (0.006, 0.006))
    assert ranking_difference(ranks, 0.0, 0.015, 1.96) == pytest.approx((0.3, 0.3 - 0.588, 0.3 + 0.588))
