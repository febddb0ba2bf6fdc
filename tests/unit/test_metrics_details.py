"""Metrics and the threshold rule on tiny hand-built inputs, each pinned to scikit-learn or to a hand count:
the random-data tests cannot see the edges (one positive, one negative, k = 0, a score equal to the
threshold, a tie between alerting and not)."""

import numpy as np
import pytest
from sklearn.metrics import average_precision_score, precision_score, recall_score, roc_auc_score

from fraud_detection.domain.metrics import (
    Curve,
    average_precision,
    classification_metrics,
    precision_at_k,
    roc_auc,
)
from fraud_detection.domain.threshold import choose_threshold

LABELS = np.array([1, 0, 1, 0, 0, 1.0])
SCORES = np.array([0.9, 0.8, 0.7, 0.7, 0.2, 0.1])
AMOUNTS = np.array([100.0, 5.0, 50.0, 1.0, 2.0, 30.0])


def test_curve_counts_per_distinct_score():
    curve = Curve.of(np.array([1, 0, 1, 0]), np.array([0.9, 0.5, 0.5, 0.1]))
    np.testing.assert_array_equal(curve.thresholds, [0.9, 0.5, 0.1])
    np.testing.assert_array_equal(curve.true_positives, [1, 2, 2])
    np.testing.assert_array_equal(curve.false_positives, [0, 1, 2])
    np.testing.assert_array_equal(curve.precision, [1.0, 2 / 3, 0.5])
    np.testing.assert_array_equal(curve.recall, [0.5, 1.0, 1.0])


def test_curve_holds_floats_whatever_the_input_dtype():
    """Boolean labels and integer scores (a rule's 0/1 flags) give the same float curve."""
    curve = Curve.of(np.array([True, False, True]), np.array([1, 0, 0]))
    assert curve.thresholds.dtype == curve.true_positives.dtype == np.float64
    np.testing.assert_array_equal(curve.thresholds, [1.0, 0.0])
    np.testing.assert_array_equal(curve.true_positives, [1.0, 2.0])


def test_a_single_row_is_a_curve():
    curve = Curve.of(np.array([1.0]), np.array([0.3]))
    assert (curve.thresholds.tolist(), curve.true_positives.tolist(), curve.false_positives.tolist()) == (
        [0.3],
        [1.0],
        [0.0],
    )


@pytest.mark.parametrize(("labels", "scores"), [([], []), ([1, 0, 1], [0.2, 0.1]), ([1, 0], [0.2, 0.1, 0.3])])
def test_empty_or_mismatched_inputs_are_refused(labels, scores):
    with pytest.raises(ValueError, match=r"^labels and scores must be non-empty and of the same length$"):
        Curve.of(np.array(labels), np.array(scores))


def test_text_inputs_are_read_as_numbers():
    """Labels and scores held as text (a CSV read without dtypes) give the numeric results."""
    text_labels, text_scores = LABELS.astype(str), SCORES.astype(str)
    assert average_precision(text_labels, text_scores) == average_precision(LABELS, SCORES)
    assert roc_auc(text_labels, text_scores) == roc_auc(LABELS, SCORES)
    assert choose_threshold(text_labels, text_scores, AMOUNTS.astype(str), 2.0) == choose_threshold(
        LABELS, SCORES, AMOUNTS, 2.0
    )
    assert classification_metrics(text_labels, SCORES, AMOUNTS, 0.7, 2.0, 3) == classification_metrics(
        LABELS, SCORES, AMOUNTS, 0.7, 2.0, 3
    )


@pytest.mark.parametrize(
    ("labels", "scores"),
    [
        ([0, 0, 1], [0.9, 0.8, 0.1]),  # the only fraud is scored last
        ([1, 0, 0], [0.9, 0.8, 0.1]),
        ([0, 1, 0, 1], [0.9, 0.8, 0.7, 0.1]),
        ([1, 0, 1], [0.9, 0.8, 0.1]),  # a single legit transaction
        ([0, 1, 0], [0.9, 0.8, 0.1]),  # a single fraud
    ],
)
def test_average_precision_and_roc_auc_on_tiny_inputs_match_scikit_learn(labels, scores):
    labels, scores = np.array(labels, dtype=float), np.array(scores)
    assert average_precision(labels, scores) == pytest.approx(average_precision_score(labels, scores))
    assert roc_auc(labels, scores) == pytest.approx(roc_auc_score(labels, scores))


@pytest.mark.parametrize("labels", [np.zeros(3), np.ones(3)])
def test_roc_auc_of_one_class_is_nan_without_dividing_by_zero(labels):
    with np.errstate(all="raise"):
        assert np.isnan(roc_auc(labels, np.array([0.9, 0.5, 0.1])))
        assert average_precision(np.zeros(3), np.array([0.9, 0.5, 0.1])) == 0.0


def test_precision_at_k_at_its_edges():
    labels = np.array([1, 0, 1, 0.0])
    scores = np.array([0.9, 0.8, 0.7, 0.1])
    with np.errstate(all="raise"):
        assert precision_at_k(labels, scores, 0) == 0.0
        assert precision_at_k(labels, scores, -3) == 0.0
    assert precision_at_k(labels, scores, 1) == 1.0
    assert precision_at_k(1 - labels, scores, 1) == 0.0
    assert precision_at_k(labels, scores, 3) == pytest.approx(2 / 3)


def test_precision_at_k_breaks_ties_by_input_order():
    """20 rows share the top score; the first five of them (in input order) are frauds, so the figure is
    reproducible rather than depending on how an unstable sort orders the tie."""
    scores = np.zeros(40)
    scores[::2] = 0.5
    labels = np.zeros(40)
    labels[:10] = 1.0
    assert precision_at_k(labels, scores, 5) == 1.0
    assert precision_at_k(labels, scores, 10) == 0.5


def test_classification_metrics_on_a_hand_counted_example():
    """Threshold 0.7 equals two scores: both are alerts (4 alerts, 2 frauds among them, 1 fraud of 30
    missed). Cost = 30 missed + 2 x 4 alerts."""
    metrics = classification_metrics(LABELS, SCORES, AMOUNTS, threshold=0.7, review_cost=2.0, top_k=3)
    flagged = SCORES >= 0.7
    assert metrics.auprc == pytest.approx(average_precision_score(LABELS, SCORES))
    assert metrics.roc_auc == pytest.approx(roc_auc_score(LABELS, SCORES))
    assert metrics.precision == precision_score(LABELS, flagged) == 0.5
    assert metrics.recall == pytest.approx(recall_score(LABELS, flagged))
    assert metrics.recall == 2 / 3
    assert metrics.recall_at_precision_90 == pytest.approx(1 / 3)
    assert metrics.precision_at_k == pytest.approx(2 / 3)
    assert (metrics.k, metrics.cost, metrics.alerts, metrics.rows, metrics.frauds) == (3, 38.0, 4, 6, 3)
    assert metrics.as_dict()["cost"] == 38.0


def test_classification_metrics_without_frauds_or_alerts_are_zero_not_nan():
    with np.errstate(all="raise"):
        no_frauds = classification_metrics(np.zeros(3), np.array([0.9, 0.5, 0.1]), np.ones(3), 0.5, 1.0, 2)
    assert (no_frauds.recall, no_frauds.precision, no_frauds.alerts, no_frauds.frauds) == (0.0, 0.0, 2, 0)
    assert no_frauds.cost == 2.0
    with np.errstate(all="raise"):
        no_alerts = classification_metrics(np.array([0, 1.0]), np.array([0.1, 0.2]), np.ones(2), 0.9, 1.0, 5)
    assert (no_alerts.precision, no_alerts.recall, no_alerts.cost) == (0.0, 0.0, 1.0)


def test_flagging_everything_can_be_the_cheapest_threshold():
    """Every transaction is a large fraud: the lowest score is the threshold and all three are alerts."""
    choice = choose_threshold(np.ones(3), np.array([0.9, 0.5, 0.1]), np.full(3, 100.0), review_cost=1.0)
    assert (choice.threshold, choice.cost, choice.alerts) == (0.1, 3.0, 3)
    assert choice.rule == "min expected cost: missed fraud Amount + 1 per alert"


def test_a_tie_between_alerting_and_not_raises_no_alert():
    """Catching the 10-euro fraud costs one 10-euro review: no better than missing it, so no alert."""
    labels, scores = np.array([1.0, 0.0]), np.array([0.9, 0.1])
    choice = choose_threshold(labels, scores, np.array([10.0, 3.0]), review_cost=10.0)
    assert (choice.cost, choice.alerts) == (10.0, 0)
    assert choice.threshold == np.nextafter(0.9, np.inf)
    assert choice.rule == "min expected cost: missed fraud Amount + 10 per alert"
    cheaper = choose_threshold(labels, scores, np.array([10.5, 3.0]), review_cost=10.0)
    assert (cheaper.threshold, cheaper.cost, cheaper.alerts) == (0.9, 10.0, 1)
    assert cheaper.rule == "min expected cost: missed fraud Amount + 10 per alert"
