import numpy as np
import pytest
from sklearn.metrics import average_precision_score, precision_recall_curve, roc_auc_score

from fraud_detection.domain.metrics import (
    Curve,
    RankedRows,
    alert_cost,
    average_precision,
    classification_metrics,
    curve_average_precision,
    curve_recall_at_precision,
    curve_roc_auc,
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


@pytest.mark.parametrize("seed", range(5))
def test_a_weighted_curve_of_rows_sorted_once_equals_the_curve_of_the_resample_itself(seed):
    """The gate's bootstrap reads each resample's curve off rows sorted once (RankedRows): it must be the
    resample's own curve, ties and undrawn rows included, or the speed-up changes the gate's confidence."""
    rng = np.random.default_rng(seed)
    rows = 400
    labels = (rng.random(rows) < 0.1).astype(np.int64)
    scores = np.round(rng.random(rows) + 0.4 * labels, 1)  # few distinct scores: many ties
    ranked = RankedRows.of(labels, scores)
    for _ in range(20):
        drawn = rng.choice(rows, size=rows)
        expected = Curve.of(labels[drawn], scores[drawn])
        found = ranked.curve(np.bincount(drawn, minlength=rows))
        np.testing.assert_array_equal(found.thresholds, expected.thresholds)
        np.testing.assert_array_equal(found.true_positives, expected.true_positives)
        np.testing.assert_array_equal(found.false_positives, expected.false_positives)
        assert curve_average_precision(found) == average_precision(labels[drawn], scores[drawn])
        assert curve_roc_auc(found) == roc_auc(labels[drawn], scores[drawn])
        assert curve_recall_at_precision(found, 0.5) == recall_at_precision(labels[drawn], scores[drawn], 0.5)
    top = np.argsort(-scores, kind="mergesort")[:50]
    weights = np.ones(rows, dtype=np.int64)
    weights[top] = 0  # the highest scores never drawn: no point of the curve stands for them
    assert ranked.curve(weights).thresholds.max() == scores[weights > 0].max()
