import numpy as np
import pytest
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from fraud_detection.domain.metrics import (
    alert_cost,
    average_precision,
    classification_metrics,
    precision_at_k,
    recall_at_precision,
    roc_auc,
)


@pytest.fixture(params=[0, 1, 2])
def scored(request):
    rng = np.random.default_rng(request.param)
    labels = (rng.random(3_000) < 0.03).astype(float)
    # rounded scores create ties, which is where hand-written metrics usually go wrong
    scores = np.round(np.clip(rng.normal(0.3 + 0.3 * labels, 0.2), 0, 1), 2)
    return labels, scores


def test_average_precision_matches_scikit_learn(scored):
    labels, scores = scored
    assert average_precision(labels, scores) == pytest.approx(
        average_precision_score(labels, scores), abs=1e-12
    )


def test_roc_auc_matches_scikit_learn(scored):
    labels, scores = scored
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores), abs=1e-12)


def test_recall_at_precision_matches_the_pr_curve(scored):
    labels, scores = scored
    precision, recall, _ = precision_recall_curve(labels, scores)
    expected = recall[precision >= 0.5].max()
    assert recall_at_precision(labels, scores, 0.5) == pytest.approx(expected)


def test_precision_at_k_and_cost():
    labels = np.array([1, 0, 1, 0, 0])
    scores = np.array([0.9, 0.8, 0.7, 0.1, 0.0])
    amounts = np.array([100.0, 5.0, 50.0, 1.0, 2.0])
    assert precision_at_k(labels, scores, 2) == 0.5
    assert precision_at_k(labels, scores, 10) == 0.4
    # threshold 0.75 flags two rows (cost 2 x 3) and misses the 50-euro fraud
    assert alert_cost(labels, scores, amounts, 0.75, 3.0) == 56.0


def test_degenerate_inputs_do_not_crash():
    assert average_precision(np.zeros(4), np.arange(4.0)) == 0.0
    assert np.isnan(roc_auc(np.ones(4), np.arange(4.0)))
    assert recall_at_precision(np.array([0, 1.0]), np.array([1.0, 0]), 0.99) == 0.0  # never that precise
    assert recall_at_precision(np.array([1, 0.0]), np.array([1.0, 0]), 0.99) == 1.0
    metrics = classification_metrics(np.array([0, 1.0]), np.array([0.1, 0.2]), np.ones(2), 0.9, 1.0, 5)
    assert (metrics.alerts, metrics.precision, metrics.recall) == (0, 0.0, 0.0)
