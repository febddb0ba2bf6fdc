"""The gate's bootstrap of the challenger-minus-champion difference, and the policy that can require it."""

import numpy as np
import pytest

from fraud_detection.domain.gate_confidence import PairedDifference, metric_function, paired_bootstrap
from fraud_detection.domain.metrics import average_precision
from fraud_detection.domain.promotion import PromotionPolicy

AUPRC = metric_function("auprc", 100)


def gate_rows(seed: int = 0, rows: int = 3_000, frauds: int = 40) -> tuple[np.ndarray, np.ndarray]:
    """Labels and a decent model's scores: frauds score higher on average, with overlap."""
    rng = np.random.default_rng(seed)
    labels = np.zeros(rows, dtype=np.int64)
    labels[rng.choice(rows, frauds, replace=False)] = 1
    return labels, rng.normal(0.0, 1.0, rows) + 2.5 * labels


def test_a_clearly_better_challenger_is_ahead_in_nearly_every_resample():
    labels, champion = gate_rows()
    challenger = champion + 2.0 * labels  # separates the frauds further
    found = paired_bootstrap(labels, (challenger, 0.5), (champion, 0.5), AUPRC, resamples=300)
    assert found.ahead > 0.99
    assert 0 < found.low < found.high


def test_an_equal_challenger_is_ahead_about_half_the_time_with_an_interval_around_zero():
    """Two models as good as each other (independent noise around the same signal): a bare lead is a coin
    flip, which is what promoted equal challengers about half the time on the real rows."""
    labels, _ = gate_rows()
    rng = np.random.default_rng(1)
    signal = 2.5 * labels
    first, second = signal + rng.normal(0, 1, len(labels)), signal + rng.normal(0, 1, len(labels))
    found = paired_bootstrap(labels, (first, 0.5), (second, 0.5), AUPRC, resamples=300)
    assert 0.05 < found.ahead < 0.95
    assert found.low < 0 < found.high


def test_every_resample_holds_the_gates_frauds_and_the_result_is_repeatable():
    labels, scores = gate_rows(frauds=3)
    seen: list[int] = []

    def counting(sample: np.ndarray, values: np.ndarray, threshold: float) -> float:
        seen.append(int(sample.sum()))
        return average_precision(sample, values)

    first = paired_bootstrap(labels, (scores, 0.5), (scores[::-1].copy(), 0.5), counting, resamples=50)
    assert set(seen) == {3}  # stratified: no resample without a fraud (AUPRC undefined)
    assert first == paired_bootstrap(labels, (scores, 0.5), (scores[::-1].copy(), 0.5), AUPRC, resamples=50)


@pytest.mark.parametrize("metric", ["auprc", "roc_auc", "recall_at_precision_90"])
def test_a_curve_metrics_resamples_read_off_rows_sorted_once_give_the_resamples_own_values(metric: str):
    """The speed-up (no sort per resample) must not move the gate's confidence by a single resample."""
    labels, scores = gate_rows(frauds=30)
    other = np.round(scores[::-1] + 1.5 * labels, 1)  # ties
    fast = metric_function(metric, 100)
    plain = fast.on_rows  # the same metric computed on each resample's rows
    assert fast.on_curve is not None
    found = paired_bootstrap(labels, (scores, 0.5), (other, 0.5), fast, resamples=200)
    assert found == paired_bootstrap(labels, (scores, 0.5), (other, 0.5), plain, resamples=200)


@pytest.mark.parametrize(
    ("metric", "expected"),
    [("precision", 2 / 3), ("recall", 2 / 2), ("auprc", 1.0), ("precision_at_k", 1.0)],
)
def test_each_gate_metric_is_computed_alone(metric: str, expected: float):
    labels = np.array([0, 0, 0, 1, 1])
    scores = np.array([0.1, 0.2, 0.6, 0.7, 0.9])
    assert metric_function(metric, 2)(labels, scores, 0.5) == pytest.approx(expected)


def test_the_policy_keeps_the_champion_when_a_lead_is_within_noise():
    policy = PromotionPolicy("auprc", min_confidence=0.9)
    noisy = PairedDifference(ahead=0.64, low=-0.015, high=0.024, resamples=1_000)
    decision = policy.decide({"auprc": 0.8475}, {"auprc": 0.8431}, "v1", "the gate's rows", noisy)
    assert not decision.promote
    assert decision.reason.startswith("champion kept: the lead is within noise, auprc 0.8475 vs champion v1")
    assert "challenger ahead in 64% of 1,000 resamples" in decision.reason
    assert decision.reason.endswith("FRAUD_PROMOTION_MIN_CONFIDENCE asks for 90%")
    assert decision.confidence == noisy
    sure = PairedDifference(ahead=0.97, low=0.004, high=0.03, resamples=1_000)
    assert policy.decide({"auprc": 0.8475}, {"auprc": 0.8431}, "v1", "rows", sure).promote
    assert not policy.decide({"auprc": 0.8475}, {"auprc": 0.8431}, "v1", "rows").promote  # no evidence


def test_the_default_policy_promotes_on_any_lead_and_reports_the_confidence():
    noisy = PairedDifference(ahead=0.64, low=-0.015, high=0.024, resamples=1_000)
    decision = PromotionPolicy("auprc").decide({"auprc": 0.8475}, {"auprc": 0.8431}, "v1", "rows", noisy)
    assert decision.promote
    assert decision.reason.endswith(
        "on rows; challenger ahead in 64% of 1,000 resamples of these rows "
        "(90% interval of the difference -0.0150 to +0.0240)"
    )
    with pytest.raises(ValueError, match="confidence must be in"):
        PromotionPolicy("auprc", min_confidence=1.0)
