"""The rollout policy at its edges: exactly each minimum is enough and one short holds; a rate exactly at its
limit or tolerance passes and beyond it holds or rolls back; and what each check and verdict says why.

The policy decides whether a challenger is served to more traffic or pulled, so the comparisons must sit on
the documented side of each threshold. Where a boundary lies inside a confidence interval, a policy with
`confidence_z=0` (the interval collapses onto the point estimate) puts the interval exactly on it.
"""

from __future__ import annotations

from dataclasses import replace

import pytest

from fraud_detection.domain.rollout import (
    Action,
    Check,
    PairedLabels,
    RoleEvidence,
    Rollout,
    RolloutEvidence,
    RolloutPolicy,
    Stage,
    Verdict,
    judge,
    next_step,
)

HOUR = 3600.0
T0 = 1_000_000.0  # a rollout that starts late in the clock: stage time is counted from its start
POLICY = RolloutPolicy(
    min_shadow_hours=1, min_shadow_rows=1_000, min_labels=500, min_frauds=20, canary_steps=(10.0, 50.0),
    min_canary_hours=1, min_canary_rows=200,
)  # fmt: skip
POINT = replace(POLICY, confidence_z=0.0)  # intervals collapse onto the point estimate
# Exactly the shadow minimums of labels: 20 frauds caught alike but for one either way, ranked alike (the
# champion alerts on 1%: budgets 0.5%..1.5% are compared).
SAME_RANKS = ((0.002, 0.002),) * 15 + ((0.4, 0.4),) * 5
EVEN = PairedLabels(labelled=500, frauds=20, caught_by_both=15, caught_by_challenger_only=1,
                    caught_by_champion_only=1, false_alarms_of_both=4, champion_alert_rate=0.01,
                    fraud_alert_rates=SAME_RANKS)  # fmt: skip
# 40 frauds, for the realised-recall boundaries: the challenger misses 2 the champion catches: -2/40 = -0.05.
BEHIND_BY_TOLERANCE = PairedLabels(labelled=1_000, frauds=40, caught_by_both=30, caught_by_champion_only=2,
                                   false_alarms_of_both=8, champion_alert_rate=0.01,
                                   fraud_alert_rates=((0.002, 0.002),) * 40)  # fmt: skip


def evidence(
    labels: PairedLabels = EVEN,
    *,
    paired_rows: int = 1_000,
    canary_rows: int = 200,
    champion: RoleEvidence | None = None,
    **challenger: object,
) -> RolloutEvidence:
    """Both models on the same 1,000 transactions, alerting alike, unless told otherwise."""
    mine = replace(RoleEvidence(2, rows=1_000, alerts=10), **challenger)  # type: ignore[arg-type]
    theirs = champion or RoleEvidence(1, rows=1_000, alerts=10)
    return RolloutEvidence(theirs, mine, paired_rows=paired_rows, labels=labels, canary_rows=canary_rows)


# The champion's model time over the minimum of served rows: the latency check's other side.
TIMED_CHAMPION = RoleEvidence(1, rows=1_000, alerts=10, latency_p99_ms=10.0, latency_rows=1_000)


def shadow(shadow_only: bool = False) -> Rollout:
    return Rollout.start("fraud-lgbm", challenger=2, champion=1, now=T0, shadow_only=shadow_only)


def canary(percent: float = 10.0) -> Rollout:
    return shadow().moved(Stage.CANARY, percent, "shadow evidence held", now=T0)


def check(verdict: Verdict, name: str) -> Check:
    found = [c for c in verdict.checks if c.name == name]
    assert len(found) == 1, f"{name} not in {[c.name for c in verdict.checks]}"
    return found[0]


def waiting(verdict: Verdict) -> list[str]:
    return [c.name for c in verdict.checks if not c.passed]


# --- the stage minimums ---------------------------------------------------------------------------------


def test_exactly_every_shadow_minimum_is_enough_to_advance() -> None:
    """An hour in shadow, 1,000 paired rows, 500 labels and 20 frauds, each exactly the minimum: advance."""
    verdict = judge(shadow(), evidence(), POLICY, now=T0 + 1 * HOUR)
    assert waiting(verdict) == []
    assert (verdict.action, verdict.to, verdict.percent) == (Action.ADVANCE, Stage.CANARY, 10.0)


@pytest.mark.parametrize(
    ("short", "name"),
    [
        ({"now": T0 + HOUR - 1}, "shadow_hours"),
        ({"paired_rows": 999}, "shadow_rows"),
        ({"labels": replace(EVEN, labelled=499)}, "labels"),
        ({"labels": replace(EVEN, frauds=19, caught_by_both=14)}, "frauds"),
    ],
)
def test_one_short_of_a_shadow_minimum_holds_on_that_check_alone(short: dict[str, object], name: str) -> None:
    given = dict(short)  # a copy: the parameter is shared by every run of this test in the process
    now = float(given.pop("now", T0 + HOUR))  # type: ignore[arg-type]
    verdict = judge(shadow(), evidence(**given), POLICY, now=now)  # type: ignore[arg-type]
    assert (verdict.action, verdict.to) == (Action.HOLD, None)
    assert waiting(verdict) == [name]


def test_stage_time_counts_from_when_the_stage_began() -> None:
    """Half an hour into a stage that began late on the clock is half an hour, in shadow and in canary."""
    early = T0 + 0.5 * HOUR
    assert waiting(judge(shadow(), evidence(), POLICY, now=early)) == ["shadow_hours"]
    assert waiting(judge(canary(), evidence(), POLICY, now=early)) == ["canary_hours"]


def test_exactly_the_canary_minimums_are_enough_and_one_short_holds() -> None:
    assert judge(canary(), evidence(), POLICY, now=T0 + HOUR).action is Action.ADVANCE
    assert waiting(judge(canary(), evidence(), POLICY, now=T0 + HOUR - 1)) == ["canary_hours"]
    assert waiting(judge(canary(), evidence(canary_rows=199), POLICY, now=T0 + HOUR)) == ["canary_rows"]


def test_the_progress_checks_say_what_they_counted_and_what_they_need() -> None:
    """Hours to one decimal, counts with thousands separators, each with its unit and minimum."""
    third = T0 + HOUR / 3
    held = judge(shadow(), evidence(paired_rows=1_234), POLICY, now=third)
    assert [(c.name, c.detail) for c in held.checks if c.name in {"shadow_hours", "shadow_rows",
                                                                   "labels", "frauds"}] == [
        ("shadow_hours", "0.3h in shadow (need 1)"),
        ("shadow_rows", "1,234 transactions scored by both (need 1,000)"),
        ("labels", "500 matured labels (need 500)"),
        ("frauds", "20 labelled frauds (need 20)"),
    ]  # fmt: skip
    held = judge(canary(), evidence(canary_rows=1_500), POLICY, now=third)
    assert [(c.name, c.detail) for c in held.checks if c.name.startswith("canary")] == [
        ("canary_hours", "0.3h at 10% (need 1)"),
        ("canary_rows", "1,500 transactions served by the canary (need 200)"),
    ]


# --- the verdicts ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("end", [Stage.CHAMPION, Stage.ROLLED_BACK])
def test_a_finished_rollout_holds_at_no_share_with_no_checks(end: Stage) -> None:
    done = canary().moved(end, 0.0, "decided", now=T0)
    assert judge(done, evidence(), POLICY, now=T0 + 10 * HOUR) == Verdict(
        Action.HOLD, None, 0.0, f"the rollout is over ({end})", ()
    )


def test_a_roll_back_names_every_harm_and_serves_the_challenger_to_no_one() -> None:
    slow_and_failing = evidence(errors=50, latency_p99_ms=30.0, latency_rows=1_000, champion=TIMED_CHAMPION)
    verdict = judge(canary(50.0), slow_and_failing, POLICY, now=T0 + 2 * HOUR)
    harmful = [c for c in verdict.checks if c.harmful]
    assert [c.name for c in harmful] == ["error_rate", "latency"]
    assert (verdict.action, verdict.to, verdict.percent) == (Action.ROLL_BACK, Stage.ROLLED_BACK, 0.0)
    assert verdict.reason == "; ".join(c.detail for c in harmful)


def test_a_hold_keeps_the_current_share_and_names_every_check_still_waiting() -> None:
    verdict = judge(canary(), evidence(canary_rows=10), POLICY, now=T0 + 0.5 * HOUR)
    assert (verdict.action, verdict.to, verdict.percent) == (Action.HOLD, None, 10.0)
    still = [c for c in verdict.checks if not c.passed]
    assert [c.name for c in still] == ["canary_hours", "canary_rows"]
    assert verdict.reason == "; ".join(c.detail for c in still)


def test_shadow_only_with_complete_evidence_holds_at_no_share_and_tells_how_to_go_on() -> None:
    complete = judge(shadow(), evidence(), POLICY, now=T0 + HOUR)
    verdict = judge(shadow(shadow_only=True), evidence(), POLICY, now=T0 + HOUR)
    assert (verdict.action, verdict.to, verdict.percent) == (Action.HOLD, None, 0.0)
    assert verdict.checks == complete.checks
    assert verdict.reason.startswith("shadow evidence complete; ")
    assert "`fraud rollout advance`" in verdict.reason


def test_an_advance_names_its_target_and_the_evidence_it_stood_on() -> None:
    first = judge(shadow(), evidence(), POLICY, now=T0 + HOUR)
    assert first.reason == "to canary 10%: " + "; ".join(c.detail for c in first.checks)
    last = judge(canary(50.0), evidence(), POLICY, now=T0 + HOUR)
    assert (last.action, last.to, last.percent) == (Action.ADVANCE, Stage.CHAMPION, 0.0)
    assert last.reason == "to champion: " + "; ".join(c.detail for c in last.checks)


def test_next_step_climbs_the_configured_steps_then_promotes() -> None:
    steps = RolloutPolicy(canary_steps=(5.0, 25.0, 50.0))
    assert next_step(shadow(), steps) == (Stage.CANARY, 5.0)
    assert next_step(canary(5.0), steps) == (Stage.CANARY, 25.0)
    assert next_step(canary(10.0), steps) == (Stage.CANARY, 25.0)  # a share set by hand: the next larger
    assert next_step(canary(50.0), steps) == (Stage.CHAMPION, 0.0)


def test_a_canary_step_may_be_any_share_above_zero() -> None:
    assert RolloutPolicy(canary_steps=(0.5, 1.0, 50.0)).canary_steps == (0.5, 1.0, 50.0)
    with pytest.raises(
        ValueError, match=r"^canary steps must be increasing percentages between 0 and 100 \(exclusive\)$"
    ):
        RolloutPolicy(canary_steps=(0.0, 50.0))


# --- harm: error rate and latency -----------------------------------------------------------------------


def test_the_error_rate_is_judged_from_exactly_the_minimum_of_attempts_failures_included() -> None:
    """990 scored + 10 failed = 1,000 attempts: judged, and exactly the 1% limit passes; 999 attempts: not."""
    at_limit = check(judge(shadow(), evidence(rows=990, errors=10), POLICY, T0 + HOUR), "error_rate")
    assert (at_limit.passed, at_limit.harmful) == (True, False)
    assert at_limit.detail == "challenger error rate 1.00% (limit 1.00%)"
    fewer = judge(shadow(), evidence(rows=989, errors=10), POLICY, T0 + HOUR)
    assert "error_rate" not in {c.name for c in fewer.checks}


def test_the_alert_rate_is_judged_from_exactly_the_minimum_of_rows_on_both_sides() -> None:
    assert check(judge(shadow(), evidence(), POLICY, T0 + HOUR), "alert_rate").passed
    fewer = judge(shadow(), evidence(rows=999), POLICY, T0 + HOUR)
    assert "alert_rate" not in {c.name for c in fewer.checks}


@pytest.mark.parametrize("challenger_ms", [5.0, 15.0, 20.0])
def test_a_p99_up_to_exactly_the_latency_ratio_passes(challenger_ms: float) -> None:
    ev = evidence(latency_p99_ms=challenger_ms, latency_rows=1_000, champion=TIMED_CHAMPION)
    latency = check(judge(canary(), ev, POLICY, T0 + HOUR), "latency")
    assert (latency.passed, latency.harmful) == (True, False)
    assert latency.detail == f"p99 {challenger_ms:.1f} vs 10.0 ms (x{challenger_ms / 10:.2f}, limit x2)"


@pytest.mark.parametrize(("challenger_rows", "champion_rows"), [(999, 1_000), (1_000, 999)])
def test_latency_is_judged_from_exactly_the_minimum_of_timed_rows_on_both_sides(
    challenger_rows: int, champion_rows: int
) -> None:
    """A p99 of a few hundred served rows is a handful of slowest calls (a GC pause, a cold cache): it waits
    for as many rows as the rates do, on each side."""
    champion = replace(TIMED_CHAMPION, latency_rows=champion_rows)
    slow = evidence(latency_p99_ms=100.0, latency_rows=challenger_rows, champion=champion)
    assert "latency" not in {c.name for c in judge(canary(), slow, POLICY, T0 + HOUR).checks}
    enough = evidence(latency_p99_ms=100.0, latency_rows=1_000, champion=TIMED_CHAMPION)
    assert check(judge(canary(), enough, POLICY, T0 + HOUR), "latency").harmful


# --- harm: the alert rate -------------------------------------------------------------------------------


def alert_check(challenger_alerts: int, champion_alerts: int, rows: int, policy: RolloutPolicy) -> Check:
    ev = evidence(
        rows=rows, alerts=challenger_alerts, champion=RoleEvidence(1, rows=rows, alerts=champion_alerts)
    )
    return check(judge(shadow(), ev, policy, T0 + HOUR), "alert_rate")


def test_the_same_alert_rate_on_many_rows_passes() -> None:
    """200 alerts each on 20,000 rows: the interval of the ratio is narrow and around no change."""
    same = alert_check(200, 200, rows=20_000, policy=POLICY)
    assert (same.passed, same.harmful) == (True, False)
    assert same.detail.endswith("tolerance ±50%)")


@pytest.mark.parametrize(("challenger_alerts", "change"), [(8, "-50%"), (24, "+50%")])
def test_an_alert_rate_changed_by_exactly_the_tolerance_passes(challenger_alerts: int, change: str) -> None:
    """8 or 24 alerts against 16 on 1,024 rows: -50% and +50% exactly, within the ±50% tolerance."""
    for policy in (POLICY, POINT):  # also when the interval is the point itself
        at = alert_check(challenger_alerts, 16, rows=1_024, policy=policy)
        assert (at.passed, at.harmful) == (True, False), policy.confidence_z
        assert f"({change}, " in at.detail
        assert "outside" not in at.detail


def test_an_alert_rate_beyond_the_tolerance_on_few_rows_holds_and_says_so() -> None:
    held = alert_check(7, 16, rows=1_024, policy=POLICY)
    assert (held.passed, held.harmful) == (False, False)
    assert held.detail.endswith(": outside, not yet shown")


def test_an_alert_rate_shown_beyond_the_tolerance_fails_as_harm() -> None:
    changed = alert_check(60, 200, rows=20_000, policy=POLICY)
    assert (changed.passed, changed.harmful) == (False, True)
    assert changed.detail.endswith(": changed")


def test_a_challenger_that_stops_alerting_is_reported_as_a_fall_of_100_percent() -> None:
    silent = alert_check(0, 20, rows=1_000, policy=POLICY)
    assert silent.detail.startswith("alert rate 0.000% vs 2.000% (-100%, ")
    assert silent.harmful


# --- realised recall and precision ----------------------------------------------------------------------


def recall_check(labels: PairedLabels, policy: RolloutPolicy = POLICY) -> Check:
    return check(judge(shadow(), evidence(labels), policy, T0 + HOUR), "realised_recall")


def test_realised_recall_behind_by_exactly_the_tolerance_passes() -> None:
    """-2/40 = -0.05 against a tolerance of 0.05: passes, also when the interval is the point itself."""
    for policy in (POLICY, POINT):
        at = recall_check(BEHIND_BY_TOLERANCE, policy)
        assert (at.passed, at.harmful) == (True, False), policy.confidence_z
        assert at.detail.endswith("tolerance -0.05)")


def test_realised_recall_behind_beyond_the_tolerance_without_confidence_holds_and_says_so() -> None:
    behind = recall_check(replace(BEHIND_BY_TOLERANCE, caught_by_both=29, caught_by_champion_only=3))
    assert (behind.passed, behind.harmful) == (False, False)
    assert behind.detail.endswith(": behind, not yet shown")


def test_realised_recall_shown_worse_fails_as_harm() -> None:
    worse = recall_check(replace(BEHIND_BY_TOLERANCE, caught_by_both=20, caught_by_champion_only=12))
    assert (worse.passed, worse.harmful) == (False, True)
    assert worse.detail.endswith(": worse")


def test_realised_recall_and_precision_both_pass_on_even_labels() -> None:
    verdict = judge(shadow(), evidence(), POLICY, T0 + HOUR)
    for name in ("realised_recall", "realised_precision"):
        even = check(verdict, name)
        assert (even.passed, even.harmful) == (True, False)
        assert even.detail.endswith("tolerance -0.05)")


def test_precision_is_compared_before_the_first_fraud_is_labelled() -> None:
    """False alarms are evidence too: without any labelled fraud, recall is skipped but precision is not."""
    no_frauds = PairedLabels(labelled=500, false_alarms_of_both=5, false_alarms_of_challenger_only=3)
    names = {c.name for c in judge(shadow(), evidence(no_frauds), POLICY, T0 + HOUR).checks}
    assert "realised_precision" in names
    assert "realised_recall" not in names


# --- ranking --------------------------------------------------------------------------------------------


def ranking_check(ranks: tuple[tuple[float, float], ...], policy: RolloutPolicy = POLICY) -> Check:
    labels = replace(EVEN, fraud_alert_rates=ranks)
    return check(judge(shadow(), evidence(labels), policy, T0 + HOUR), "ranking")


def test_ranking_is_judged_from_exactly_min_frauds_ranked_and_holds_one_short() -> None:
    assert ranking_check(SAME_RANKS).passed
    short = ranking_check(SAME_RANKS[:19])
    assert short == Check("ranking", False, "ranking: 19 ranked frauds (need 20)")


def test_ranking_needs_two_ranked_frauds_even_when_min_frauds_is_lower() -> None:
    lenient = replace(POLICY, min_frauds=0)
    two = ranking_check(SAME_RANKS[:2], lenient)
    assert two.passed
    assert two.detail.startswith("recall at alert rates 0.50%..1.50% +0.000 on 2 frauds")
    assert ranking_check(SAME_RANKS[:1], lenient) == Check(
        "ranking", False, "ranking: 1 ranked frauds (need 2)"
    )


def test_ranking_holds_when_the_alert_rate_tolerance_leaves_no_budget_to_compare_at() -> None:
    no_band = replace(POLICY, alert_rate_tolerance=0.0)
    assert ranking_check(SAME_RANKS, no_band) == Check(
        "ranking", False, "ranking: no alert budget to compare at"
    )


# One fraud of 20 caught by the champion within every budget and by the challenger in none: -1/20 = -0.05.
ONE_LOST = ((0.4, 0.002),) + ((0.002, 0.002),) * 19


def test_ranking_behind_by_exactly_the_margin_passes_when_shown() -> None:
    """With the interval on the point (z=0), a ranking exactly the margin behind is not worse beyond it."""
    at = ranking_check(ONE_LOST, POINT)
    assert (at.passed, at.harmful) == (True, False)
    assert at.detail.endswith("margin -0.05)")


def test_ranking_not_yet_shown_within_the_margin_holds_and_says_so() -> None:
    held = ranking_check(ONE_LOST)
    assert (held.passed, held.harmful) == (False, False)
    assert held.detail.endswith(": not yet shown not worse")


def test_ranking_shown_worse_beyond_the_margin_fails_as_harm() -> None:
    worse = ranking_check(((0.4, 0.002),) * 10 + ((0.002, 0.002),) * 10)
    assert (worse.passed, worse.harmful) == (False, True)
    assert worse.detail.endswith(": ranks worse")
