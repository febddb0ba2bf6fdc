"""The rollout's domain: the state machine, the policy's verdicts, the intervals and the canary routing."""

from __future__ import annotations

from dataclasses import replace

import pytest

from fraud_detection.domain.rollout import (
    HISTORY_KEPT,
    Action,
    CanaryRouter,
    PairedLabels,
    RoleEvidence,
    Rollout,
    RolloutEvidence,
    RolloutPolicy,
    Stage,
    judge,
    routes_to_challenger,
    wilson,
)

HOUR = 3600.0
POLICY = RolloutPolicy(
    min_shadow_hours=1, min_shadow_rows=1_000, min_labels=500, min_frauds=20, canary_steps=(10.0, 50.0),
    min_canary_hours=1, min_canary_rows=200,
)  # fmt: skip
# Labels on which the two models agree closely: 40 frauds, each caught the same but for one either way, and
# ranked the same but for two a little apart (the champion alerts on 1%: budgets 0.5%..1.5% are compared).
RANKS = ((0.002, 0.002),) * 30 + ((0.004, 0.006), (0.006, 0.004)) + ((0.4, 0.4),) * 8
EVEN = PairedLabels(labelled=1_000, frauds=40, caught_by_both=30, caught_by_challenger_only=1,
                    caught_by_champion_only=1, false_alarms_of_both=8, champion_alert_rate=0.01,
                    fraud_alert_rates=RANKS)  # fmt: skip


def evidence(labels: PairedLabels = EVEN, **challenger: object) -> RolloutEvidence:
    mine = replace(RoleEvidence(2, rows=5_000, alerts=50), **challenger)  # type: ignore[arg-type]
    return RolloutEvidence(RoleEvidence(1, rows=5_000, alerts=50), mine, paired_rows=5_000, labels=labels,
                           canary_rows=1_000)  # fmt: skip


def started(shadow_only: bool = False) -> Rollout:
    return Rollout.start("fraud-lgbm", challenger=2, champion=1, now=0.0, shadow_only=shadow_only)


def test_a_rollout_starts_in_shadow_and_records_every_transition() -> None:
    rollout = started()
    assert rollout.stage is Stage.SHADOW
    assert rollout.active
    assert rollout.canary_percent == 0
    canary = rollout.moved(Stage.CANARY, 10.0, "evidence held", now=5.0, evidence={"agreement": 0.99})
    assert (canary.stage, canary.canary_percent, canary.stage_since) == (Stage.CANARY, 10.0, 5.0)
    assert [(step.from_stage, step.to_stage) for step in canary.history] == [
        (Stage.OFFLINE, Stage.SHADOW), (Stage.SHADOW, Stage.CANARY),
    ]  # fmt: skip
    assert canary.history[-1].evidence == {"agreement": 0.99}
    assert Rollout.from_dict(canary.to_dict()) == canary


def test_a_finished_rollout_cannot_move_and_its_history_stays_bounded() -> None:
    rollout = started()
    for step in range(HISTORY_KEPT + 5):
        rollout = rollout.moved(Stage.CANARY, 10.0 + step % 2, "step", now=float(step))
    assert len(rollout.history) == HISTORY_KEPT
    done = rollout.moved(Stage.ROLLED_BACK, 50.0, "operator", now=99.0)
    assert done.canary_percent == 0
    assert not done.active
    with pytest.raises(ValueError, match="over"):
        done.moved(Stage.CANARY, 10.0, "again", now=100.0)


@pytest.mark.parametrize("steps", [(), (0.0,), (50.0, 10.0), (10.0, 100.0), (10.0, 10.0)])
def test_canary_steps_must_be_increasing_shares_below_100(steps: tuple[float, ...]) -> None:
    with pytest.raises(ValueError, match="canary steps"):
        RolloutPolicy(canary_steps=steps)


def test_shadow_holds_until_time_traffic_and_labels_are_in_then_advances_to_the_first_step() -> None:
    rollout = started()
    early = judge(rollout, evidence(), POLICY, now=0.5 * HOUR)
    assert early.action is Action.HOLD
    assert "h in shadow" in early.reason
    few_frauds = judge(rollout, evidence(replace(EVEN, frauds=10, caught_by_both=8)), POLICY, now=2 * HOUR)
    assert few_frauds.action is Action.HOLD
    assert "labelled frauds" in few_frauds.reason
    ready = judge(rollout, evidence(), POLICY, now=2 * HOUR)
    assert (ready.action, ready.to, ready.percent) == (Action.ADVANCE, Stage.CANARY, 10.0)
    assert {check.name for check in ready.checks} >= {"shadow_hours", "labels", "frauds", "realised_recall"}


def test_shadow_only_holds_with_complete_evidence() -> None:
    verdict = judge(started(shadow_only=True), evidence(), POLICY, now=2 * HOUR)
    assert verdict.action is Action.HOLD
    assert "shadow only" in verdict.reason


def test_canary_climbs_the_steps_then_becomes_champion() -> None:
    canary = started().moved(Stage.CANARY, 10.0, "ok", now=0.0)
    assert judge(canary, evidence(), POLICY, now=0.5 * HOUR).action is Action.HOLD
    step = judge(canary, evidence(), POLICY, now=2 * HOUR)
    assert (step.action, step.to, step.percent) == (Action.ADVANCE, Stage.CANARY, 50.0)
    last = canary.moved(Stage.CANARY, 50.0, "ok", now=0.0)
    final = judge(last, evidence(), POLICY, now=2 * HOUR)
    assert (final.action, final.to) == (Action.ADVANCE, Stage.CHAMPION)


@pytest.mark.parametrize(
    ("challenger", "check"),
    [
        ({"errors": 100}, "error_rate"),  # 100 of 5,100 = 2% > 1%
        ({"alerts": 120}, "alert_rate"),  # +140% > 50%
        ({"alerts": 10}, "alert_rate"),  # -80%
        ({"latency_p99_ms": 30.0, "latency_rows": 1_000}, "latency"),
    ],
)
def test_harm_rolls_back_at_any_stage(challenger: dict[str, object], check: str) -> None:
    base = evidence()
    slow = replace(base, champion=replace(base.champion, latency_p99_ms=10.0, latency_rows=5_000))
    ev = replace(slow, challenger=replace(slow.challenger, **challenger))  # type: ignore[arg-type]
    for rollout in (started(), started().moved(Stage.CANARY, 10.0, "ok", now=0.0)):
        verdict = judge(rollout, ev, POLICY, now=0.1 * HOUR)
        assert (verdict.action, verdict.to) == (Action.ROLL_BACK, Stage.ROLLED_BACK)
        assert [c.name for c in verdict.checks if c.harmful] == [check]


def test_rates_on_too_few_rows_decide_nothing() -> None:
    few = RolloutEvidence(RoleEvidence(1, rows=100, alerts=1), RoleEvidence(2, rows=100, alerts=9, errors=50))
    verdict = judge(started(), few, POLICY, now=2 * HOUR)
    assert verdict.action is Action.HOLD
    assert not {check.name for check in verdict.checks} & {"error_rate", "alert_rate"}


def test_a_challenger_clearly_worse_on_labels_is_rolled_back_and_one_merely_behind_holds() -> None:
    worse = replace(EVEN, caught_by_challenger_only=0, caught_by_champion_only=12)  # recall -0.30, sure
    verdict = judge(started(), evidence(worse), POLICY, now=2 * HOUR)
    assert verdict.action is Action.ROLL_BACK
    assert "realised recall" in verdict.reason
    behind = replace(EVEN, caught_by_challenger_only=0, caught_by_champion_only=3)  # -0.075, 3 pairs
    held = judge(started(), evidence(behind), POLICY, now=2 * HOUR)
    assert held.action is Action.HOLD
    assert "behind, not yet shown" in held.reason


def test_a_finished_rollout_is_never_moved() -> None:
    done = started().moved(Stage.CHAMPION, 0.0, "promoted", now=1.0)
    assert judge(done, evidence(), POLICY, now=10 * HOUR).action is Action.HOLD


def test_wilson_interval_matches_the_textbook_values() -> None:
    low, high = wilson(0.0, 10, 1.96)
    assert low == 0.0
    assert high == pytest.approx(0.2775, abs=1e-4)
    low, high = wilson(0.5, 100, 1.96)
    assert low == pytest.approx(0.4038, abs=1e-4)
    assert high == pytest.approx(0.5962, abs=1e-4)
    assert wilson(0.3, 0, 1.96) == (0.0, 1.0)


def test_paired_recall_difference_counts_only_discordant_frauds() -> None:
    delta, low, high = EVEN.recall_difference(1.96) or (0, 0, 0)
    assert delta == 0
    assert low < 0 < high
    assert EVEN.recall(True) == EVEN.recall(False) == 31 / 40
    assert PairedLabels().recall_difference(1.96) is None
    assert PairedLabels().precision(True) is None


def test_the_canary_share_is_stable_and_within_two_points_of_the_setting() -> None:
    ids = [f"client-a/tx-{i}" for i in range(10_000)]
    routed = [routes_to_challenger(key, 10.0, "fraud-lgbm:2") for key in ids]
    assert abs(sum(routed) / len(ids) - 0.10) <= 0.02
    assert routed == [routes_to_challenger(key, 10.0, "fraud-lgbm:2") for key in ids]
    other = [routes_to_challenger(key, 10.0, "fraud-lgbm:3") for key in ids]
    assert other != routed  # a new rollout reshuffles who meets the new model first
    assert not any(routes_to_challenger(key, 0.0, "s") for key in ids[:100])
    assert all(routes_to_challenger(key, 100.0, "s") for key in ids[:100])


def test_routing_keeps_its_assignment_salt_nul_key_hashed_in_one_go():
    """The router hashes the salt once and the key after: the same digest as hashing `salt NUL key` at once,
    so replicas of the old and the new code route every transaction alike during an upgrade."""
    import hashlib

    def one_go(key: str, percent: float, salt: str) -> bool:
        digest = hashlib.blake2b(f"{salt}\x00{key}".encode(), digest_size=8).digest()
        return int.from_bytes(digest, "big") < percent / 100 * 2**64

    keys = [f"client:{i}" for i in range(5_000)] + ["", "é", "a/0"]
    for percent in (0.0, 1.0, 10.0, 50.0, 100.0):
        router = CanaryRouter(percent, "fraud-lgbm:7")
        assert [router(k) for k in keys] == [one_go(k, percent, "fraud-lgbm:7") for k in keys]
        assert [routes_to_challenger(k, percent, "fraud-lgbm:7") for k in keys] == [router(k) for k in keys]
