"""The numbers a promotion rests on (domain/rollout/evidence.py): each model's recall and precision on the
paired labels, the Wilson interval, the paired recall difference and the precision difference, checked on
small hand-worked examples and at the edges (none caught, all caught, no rows), and the evidence as the CLI
and the rollout history report it."""

from __future__ import annotations

import math

import pytest

from fraud_detection.domain.rollout import PairedLabels, RoleEvidence, RolloutEvidence, wilson

Z = 1.96  # two-sided 95%, the policy's default


def wilson_reference(successes: int, trials: int, z: float) -> tuple[float, float]:
    """The textbook Wilson score interval, (p + z²/2n ± z·√(p(1-p)/n + z²/4n²)) / (1 + z²/n), from counts."""
    p = successes / trials
    middle = p + z**2 / (2 * trials)
    half_width = z * math.sqrt(p * (1 - p) / trials + z**2 / (4 * trials**2))
    scale = 1 + z**2 / trials
    return (middle - half_width) / scale, (middle + half_width) / scale


# 10 frauds: 5 caught by both, 3 by the challenger alone, 1 by the champion alone, 1 by neither.
# 4 discordant frauds, 3 of them favour the challenger.
RECALL_LABELS = PairedLabels(labelled=100, frauds=10, caught_by_both=5, caught_by_challenger_only=3,
                             caught_by_champion_only=1)  # fmt: skip
# Alerts: the challenger catches 4 + 2 = 6 frauds and raises 2 + 3 = 5 false alarms (11 alerts);
# the champion catches 4 + 1 = 5 and raises 2 + 1 = 3 (8 alerts).
PRECISION_LABELS = PairedLabels(
    labelled=100, frauds=8, caught_by_both=4, caught_by_challenger_only=2, caught_by_champion_only=1,
    false_alarms_of_both=2, false_alarms_of_challenger_only=3, false_alarms_of_champion_only=1,
)  # fmt: skip


# --- Wilson ---------------------------------------------------------------------------------------------


def test_wilson_of_3_in_10_at_95_percent_is_the_published_interval() -> None:
    """3/10 at z=1.96: (0.1078, 0.6032), the value every table of the Wilson interval gives."""
    low, high = wilson(0.3, 10, Z)
    assert low == pytest.approx(0.1078, abs=5e-5)
    assert high == pytest.approx(0.6032, abs=5e-5)
    assert (low, high) == pytest.approx(wilson_reference(3, 10, Z))


def test_wilson_of_none_in_n_starts_at_zero_and_reaches_z2_over_n_plus_z2() -> None:
    """0 of n: the lower end is 0, the upper end z²/(n + z²), not 0 (no successes is not a rate of 0)."""
    for trials in (1, 5, 10, 40):
        low, high = wilson(0.0, trials, Z)
        assert low == 0.0
        assert high == pytest.approx(Z**2 / (trials + Z**2))


def test_wilson_of_n_in_n_ends_at_one_and_starts_at_n_over_n_plus_z2() -> None:
    """n of n: the upper end is exactly 1 (clamped where rounding would put it a hair above, as for 5 of
    5) and the lower end n/(n + z²)."""
    for trials in (1, 5, 10, 19, 40):
        low, high = wilson(1.0, trials, Z)
        assert high == 1.0
        assert low == pytest.approx(trials / (trials + Z**2))


def test_one_trial_already_narrows_the_interval() -> None:
    """A single trial is evidence: 1 of 1 at 95% is (1/(1 + z²), 1) = (0.2065, 1), not the whole [0, 1]."""
    low, high = wilson(1.0, 1, Z)
    assert low == pytest.approx(1 / (1 + Z**2))
    assert low == pytest.approx(0.2065, abs=5e-5)
    assert high == 1.0


@pytest.mark.parametrize("trials", [0, -1])
def test_wilson_without_trials_is_the_whole_unit_interval(trials: int) -> None:
    assert wilson(0.0, trials, Z) == (0.0, 1.0)


# --- Recall and its paired difference --------------------------------------------------------------------


def test_recall_counts_frauds_caught_by_both_plus_by_that_model_alone() -> None:
    assert RECALL_LABELS.recall(challenger=True) == pytest.approx(0.8)  # (5 + 3) / 10
    assert RECALL_LABELS.recall(challenger=False) == pytest.approx(0.6)  # (5 + 1) / 10
    assert PairedLabels(labelled=100).recall(True) is None
    assert PairedLabels(labelled=100).recall(False) is None


def test_recall_difference_splits_the_discordant_frauds_by_a_wilson_interval() -> None:
    """3 gains, 1 loss in 10 frauds: delta 0.2; Wilson on 3/4 = (0.3006, 0.9544) scaled back by
    (2w - 1) * 4 / 10 gives (-0.1595, 0.3635)."""
    delta, low, high = RECALL_LABELS.recall_difference(Z) or (math.nan, math.nan, math.nan)
    share_low, share_high = wilson_reference(3, 4, Z)
    assert delta == pytest.approx(0.2)
    assert low == pytest.approx((2 * share_low - 1) * 4 / 10)
    assert high == pytest.approx((2 * share_high - 1) * 4 / 10)
    assert (low, high) == pytest.approx((-0.1595, 0.3635), abs=5e-5)


def test_recall_difference_when_the_challenger_loses_every_discordant_fraud() -> None:
    """0 gains, 2 losses in 20 frauds: delta -0.1, interval (-0.1, (2·z²/(2 + z²) - 1)·2/20)."""
    labels = PairedLabels(labelled=200, frauds=20, caught_by_both=15, caught_by_champion_only=2)
    delta, low, high = labels.recall_difference(Z) or (math.nan, math.nan, math.nan)
    assert delta == pytest.approx(-0.1)
    assert low == pytest.approx(-0.1)
    assert high == pytest.approx((2 * Z**2 / (2 + Z**2) - 1) * 2 / 20)


def test_recall_difference_without_discordant_frauds_is_exactly_zero() -> None:
    """Both models caught (or missed) the same frauds: no difference, and no width to the interval."""
    labels = PairedLabels(labelled=100, frauds=10, caught_by_both=6)
    assert labels.recall_difference(Z) == (0.0, 0.0, 0.0)


def test_recall_difference_without_frauds_is_unknown() -> None:
    assert PairedLabels(labelled=100).recall_difference(Z) is None


# --- Precision and its difference ------------------------------------------------------------------------


def test_precision_is_each_models_caught_frauds_over_its_alerts() -> None:
    assert PRECISION_LABELS.precision(challenger=True) == pytest.approx(6 / 11)
    assert PRECISION_LABELS.precision(challenger=False) == pytest.approx(5 / 8)


def test_precision_of_as_many_frauds_as_false_alarms_is_one_half() -> None:
    labels = PairedLabels(labelled=10, frauds=2, caught_by_both=2, false_alarms_of_both=2)
    assert labels.precision(True) == 0.5
    assert labels.precision(False) == 0.5


def test_precision_without_alerts_is_unknown_and_all_false_alarms_is_zero() -> None:
    silent = PairedLabels(labelled=100, frauds=3)
    assert silent.precision(True) is None
    assert silent.precision(False) is None
    noisy = PairedLabels(labelled=100, frauds=3, false_alarms_of_challenger_only=4)
    assert noisy.precision(True) == 0.0
    assert noisy.precision(False) is None


def test_precision_difference_spans_each_sides_wilson_bounds_on_its_own_alert_count() -> None:
    """6/11 against 5/8: the difference 6/11 - 5/8, from the challenger's Wilson low minus the champion's high
    to the challenger's high minus the champion's low, each on that model's own number of alerts."""
    delta, low, high = PRECISION_LABELS.precision_difference(Z) or (math.nan, math.nan, math.nan)
    low_mine, high_mine = wilson_reference(6, 11, Z)
    low_theirs, high_theirs = wilson_reference(5, 8, Z)
    assert delta == pytest.approx(6 / 11 - 5 / 8)
    assert low == pytest.approx(low_mine - high_theirs)
    assert high == pytest.approx(high_mine - low_theirs)
    assert (delta, low, high) == pytest.approx((-0.0795, -0.5831, 0.4816), abs=5e-5)


def test_precision_difference_is_unknown_when_either_model_raised_no_alert() -> None:
    only_challenger = PairedLabels(labelled=100, frauds=2, caught_by_challenger_only=2)
    only_champion = PairedLabels(labelled=100, frauds=2, caught_by_champion_only=2)
    assert only_challenger.precision_difference(Z) is None
    assert only_champion.precision_difference(Z) is None


# --- The evidence as reported ----------------------------------------------------------------------------


def test_paired_labels_report_their_counts_rates_and_the_number_of_ranked_frauds() -> None:
    """The per-fraud ranks stay out of the report (the history keeps the evidence): their count stands in."""
    labels = PairedLabels(
        labelled=100, frauds=10, caught_by_both=5, caught_by_challenger_only=3, caught_by_champion_only=1,
        false_alarms_of_both=2, false_alarms_of_challenger_only=3, false_alarms_of_champion_only=1,
        champion_alert_rate=0.02, fraud_alert_rates=((0.01, 0.02), (0.5, 0.4), (0.03, 0.01)),
    )  # fmt: skip
    assert labels.to_dict() == {
        "labelled": 100, "frauds": 10, "caught_by_both": 5, "caught_by_challenger_only": 3,
        "caught_by_champion_only": 1, "false_alarms_of_challenger_only": 3,
        "false_alarms_of_champion_only": 1, "false_alarms_of_both": 2, "champion_alert_rate": 0.02,
        "ranked_frauds": 3,
        "challenger_recall": pytest.approx(0.8), "champion_recall": pytest.approx(0.6),
        "challenger_precision": pytest.approx(8 / 13), "champion_precision": pytest.approx(6 / 9),
    }  # fmt: skip


def test_rollout_evidence_reports_both_roles_with_their_rates_and_the_labels() -> None:
    champion = RoleEvidence(1, rows=1_000, alerts=20, errors=0, latency_p99_ms=4.5, latency_rows=1_000)
    challenger = RoleEvidence(
        2, rows=900, alerts=9, errors=100, estimated_precision=0.7, estimated_recall=0.8
    )
    labels = PairedLabels(labelled=50, frauds=2, caught_by_both=1, caught_by_challenger_only=1)
    evidence = RolloutEvidence(champion, challenger, paired_rows=880, agreement=0.97, score_correlation=0.91,
                               labels=labels, canary_rows=120)  # fmt: skip
    assert evidence.to_dict() == {
        "champion": {
            "version": 1, "rows": 1_000, "alerts": 20, "errors": 0, "estimated_precision": None,
            "estimated_recall": None, "latency_p99_ms": 4.5, "latency_rows": 1_000, "alert_rate": 0.02,
            "error_rate": 0.0,
        },
        "challenger": {
            "version": 2, "rows": 900, "alerts": 9, "errors": 100, "estimated_precision": 0.7,
            "estimated_recall": 0.8, "latency_p99_ms": None, "latency_rows": 0, "alert_rate": 0.01,
            "error_rate": 0.1,
        },
        "paired_rows": 880, "agreement": 0.97, "score_correlation": 0.91, "labels": labels.to_dict(),
        "canary_rows": 120,
    }  # fmt: skip


def test_evidence_of_no_rows_reports_unknown_rates_not_zero() -> None:
    report = RolloutEvidence(RoleEvidence(1), RoleEvidence(2)).to_dict()
    assert (report["champion"]["alert_rate"], report["champion"]["error_rate"]) == (None, None)
    assert (report["challenger"]["alert_rate"], report["challenger"]["error_rate"]) == (None, None)
    labels = report["labels"]
    assert (labels["challenger_recall"], labels["champion_recall"]) == (None, None)
    assert (labels["challenger_precision"], labels["champion_precision"]) == (None, None)
    assert labels["ranked_frauds"] == 0
