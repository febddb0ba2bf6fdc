import numpy as np
import pytest

from fraud_detection.domain.metrics import alert_cost
from fraud_detection.domain.threshold import choose_threshold


def test_threshold_minimises_cost_over_every_candidate():
    rng = np.random.default_rng(7)
    labels = (rng.random(2_000) < 0.05).astype(float)
    scores = np.round(np.clip(rng.normal(0.2 + 0.5 * labels, 0.2), 0, 1), 3)
    amounts = rng.lognormal(3, 1, 2_000)
    choice = choose_threshold(labels, scores, amounts, review_cost=5.0)
    brute = min(alert_cost(labels, scores, amounts, t, 5.0) for t in np.unique(scores))
    assert choice.cost == pytest.approx(brute)
    assert alert_cost(labels, scores, amounts, choice.threshold, 5.0) == pytest.approx(choice.cost)
    assert choice.alerts == int((scores >= choice.threshold).sum())


def test_no_alert_when_reviews_cost_more_than_frauds():
    labels = np.array([0, 1, 0, 0.0])
    scores = np.array([0.1, 0.9, 0.5, 0.2])
    choice = choose_threshold(labels, scores, np.array([1.0, 2.0, 1.0, 1.0]), review_cost=100.0)
    assert choice.alerts == 0
    assert (scores >= choice.threshold).sum() == 0
    assert choice.cost == 2.0


def test_rows_sharing_a_score_are_flagged_together_never_split():
    """Flagging only the fraud among the two 0.5 scores would cost 20, but no threshold does that: the
    candidates are 0.9 (cost 100 missed + 10), 0.5 (3 alerts: 30) and 0.1 (4 alerts: 40)."""
    labels = np.array([1.0, 1.0, 0.0, 0.0])
    scores = np.array([0.9, 0.5, 0.5, 0.1])
    amounts = np.array([100.0, 100.0, 1.0, 1.0])
    choice = choose_threshold(labels, scores, amounts, review_cost=10.0)
    assert (choice.threshold, choice.cost, choice.alerts) == (0.5, 30.0, 3)
    assert alert_cost(labels, scores, amounts, choice.threshold, 10.0) == choice.cost
