"""The rollout use cases over fakes: evidence paired by transaction id, the operator's start / advance /
abort with their refusals, and the policy applied (or only reported) by EvaluateRollout."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from dependency_injector import providers
from scipy.stats import spearmanr

from fraud_detection.application.pipeline_stages import run_stages
from fraud_detection.application.rollout import (
    AbortRollout,
    AdvanceRollout,
    EvaluateRollout,
    GatherEvidence,
    NoActiveRolloutError,
    RolloutRefusedError,
    StartRollout,
)
from fraud_detection.application.rollout.evidence import _common
from fraud_detection.application.rollout.ranks import spearman
from fraud_detection.domain.errors import (
    IncompatibleModelError,
    ModelNotFoundError,
    RolloutConflictError,
    ServiceUnavailableError,
    TooManyCapturedRowsError,
)
from fraud_detection.domain.events import ModelPromoted, RolloutAbortRequested, RolloutTransitioned
from fraud_detection.domain.feedback import ScoredTransaction
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from fraud_detection.domain.rollout import Action, Rollout, RolloutPolicy, Stage
from fraud_detection.settings import Settings
from tests.drift_fakes import FakeCapturedPredictions, FakeReports
from tests.fakes import FakePublisher, FakeRegistry
from tests.feedback_fakes import FakeFeedbackStore
from tests.rollout_fakes import START, FakeRolloutStore, joined, scored
from tests.unit.conftest import World as PipelineWorld

T0 = START.timestamp()  # the rollout starts when the first captured row is scored
HOUR = 3600.0
POLICY = RolloutPolicy(
    min_shadow_hours=1, min_shadow_rows=10, min_labels=4, min_frauds=2, canary_steps=(10.0, 50.0),
    min_canary_hours=1, min_canary_rows=5, min_rows_for_rates=1_000,
)  # fmt: skip


class World:
    def __init__(self) -> None:
        self.registry = FakeRegistry()
        for _ in range(3):
            self.registry.register("models:/x", "run", ModelMetadata("fe-1", 0.5, "d"))
        self.registry.set_alias(CHAMPION, 1)
        self.store = FakeRolloutStore()
        self.publisher = FakePublisher()
        self.served, self.shadow = FakeCapturedPredictions(), FakeCapturedPredictions()
        self.feedback = FakeFeedbackStore()
        self.reports = FakeReports()
        self.gather = GatherEvidence(self.served, self.shadow, self.feedback)

    def start(self, version: int = 2, **options: object) -> Rollout:
        return StartRollout(self.registry, self.store, self.publisher)(version, now=T0, **options)  # type: ignore[arg-type]

    def advance(self, now: float = T0 + HOUR) -> Rollout:
        return AdvanceRollout(self.registry, self.store, self.publisher, POLICY, self.gather)(now=now)

    def abort(self, reason: str = "bad", now: float = T0 + HOUR) -> Rollout:
        return AbortRollout(self.registry, self.store, self.publisher, self.gather)(reason, now=now)

    def evaluate(self, apply: bool = True, now: float = T0 + 2 * HOUR):
        evaluate = EvaluateRollout(
            self.store, self.gather, POLICY, self.registry, self.publisher, self.reports
        )
        return evaluate(apply=apply, now=now)

    def label(self, ids: list[str], frauds: set[str]) -> None:
        for n, tid in enumerate(ids):
            at = START + timedelta(seconds=n)
            self.feedback.record_scored([ScoredTransaction(tid, 1, 0.0, False, at)])
            self.feedback.add_label(tid, tid in frauds, at + timedelta(days=1))


@pytest.fixture
def world() -> World:
    return World()


def ids(n: int, prefix: str = "t") -> list[str]:
    return [f"{prefix}{i}" for i in range(n)]


# --- evidence ---------------------------------------------------------------------------------------------


def test_evidence_pairs_the_served_champion_with_the_shadow_challenger(world: World) -> None:
    rollout = world.start()
    champion_p = np.linspace(0.0, 0.95, 20)
    challenger_p = champion_p[::-1].copy()  # opposite ranking
    challenger_p[3] = np.nan  # a shadow scoring that failed
    world.served.rows = scored(ids(20), champion_p, version=1)
    world.shadow.rows = scored(ids(20), challenger_p, version=2)

    evidence = world.gather(rollout, T0 + HOUR)

    assert (evidence.champion.version, evidence.champion.rows, evidence.champion.errors) == (1, 20, 0)
    assert (evidence.challenger.version, evidence.challenger.rows, evidence.challenger.errors) == (2, 19, 1)
    assert evidence.champion.alerts == int((champion_p >= 0.5).sum())
    assert evidence.paired_rows == 19
    assert evidence.canary_rows == 0
    keep = np.isfinite(challenger_p)
    agree = (champion_p[keep] >= 0.5) == (challenger_p[keep] >= 0.5)
    assert evidence.agreement == pytest.approx(agree.mean())
    assert evidence.score_correlation == pytest.approx(-1.0)


def test_canary_rows_are_served_challenger_rows_paired_with_the_shadow_champion(world: World) -> None:
    rollout = world.start()
    world.served.rows = joined(
        scored(ids(6), [0.1] * 6, version=1), scored(ids(4, "c"), [0.9, 0.2, 0.3, 0.4], version=2)
    )
    world.shadow.rows = joined(
        scored(ids(6), [0.2] * 6, version=2), scored(ids(4, "c"), [0.8, 0.1, 0.6, 0.5], version=1)
    )
    evidence = world.gather(rollout, T0 + HOUR)
    assert evidence.canary_rows == 4
    assert evidence.paired_rows == 10
    assert evidence.challenger.rows == evidence.champion.rows == 10
    assert evidence.agreement == pytest.approx(0.8)  # c2 and c3 differ


@pytest.mark.parametrize(("limit", "gathered"), [(12, True), (11, False), (6, False)])
def test_evidence_reads_served_and_shadow_rows_within_one_limit(
    world: World, limit: int, gathered: bool
) -> None:
    """6 served and 6 shadow rows: a limit of 12 holds both; 11 stops at the shadow read, 6 at the served
    one; either way the error names the whole limit, not what was left of it for the shadow read."""
    rollout = world.start()
    world.served.rows = scored(ids(6), [0.1] * 6, version=1)
    world.shadow.rows = scored(ids(6), [0.2] * 6, version=2)
    bounded = GatherEvidence(world.served, world.shadow, world.feedback, max_rows=limit)

    if gathered:
        assert bounded(rollout, T0 + HOUR).paired_rows == 6
        return
    with pytest.raises(TooManyCapturedRowsError) as raised:
        bounded(rollout, T0 + HOUR)
    assert raised.value.limit == limit
    assert str(raised.value) == f"more than {limit} captured rows to read"


def test_an_abort_past_the_evidence_limit_rolls_back_without_evidence(world: World) -> None:
    world.start()
    world.served.rows = scored(ids(6), [0.1] * 6, version=1)
    bounded = GatherEvidence(world.served, world.shadow, world.feedback, max_rows=5)

    rollout = AbortRollout(world.registry, world.store, world.publisher, bounded)("alert", now=T0 + HOUR)

    assert rollout.stage is Stage.ROLLED_BACK
    assert world.store.load() == rollout
    event = world.publisher.events[-1]
    assert isinstance(event, RolloutTransitioned)
    assert event.evidence == {}


def test_latency_is_the_p99_of_each_models_served_rows_timed_in_the_stage(world: World) -> None:
    """Served rows only (the shadow rows here carry a time to show they are left out), and rows without a
    time (scored in a batch, or captured before the time was recorded) or before the stage do not count."""
    rollout = world.start().moved(Stage.CANARY, 10.0, "ok", now=T0)
    champion_ms = np.arange(1.0, 201.0) / 100  # 0.01 .. 2.00 ms
    world.served.rows = joined(
        scored(ids(5, "old"), [0.1] * 5, version=1, start=START - timedelta(hours=1), model_ms=[50.0] * 5),
        scored(ids(200), [0.1] * 200, version=1, model_ms=champion_ms),
        scored(ids(3, "legacy"), [0.1] * 3, version=1),  # captured before model_ms: NaN
        scored(ids(10, "c"), [0.1] * 10, version=2, model_ms=[4.0] * 9 + [9.0]),
    )
    world.shadow.rows = joined(
        scored(ids(200), [0.1] * 200, version=2, model_ms=[0.001] * 200),
        scored(ids(10, "c"), [0.1] * 10, version=1, model_ms=[0.001] * 10),
    )
    evidence = world.gather(rollout, T0 + HOUR)
    assert evidence.champion.latency_rows == 200
    assert evidence.champion.latency_p99_ms == pytest.approx(np.percentile(champion_ms, 99))
    assert evidence.challenger.latency_rows == 10
    assert evidence.challenger.latency_p99_ms == pytest.approx(np.percentile([4.0] * 9 + [9.0], 99))


def test_a_challenger_in_shadow_has_no_latency_and_captures_without_the_column_none(world: World) -> None:
    rollout = world.start()
    world.served.rows = scored(ids(20), [0.1] * 20, version=1, model_ms=[0.05] * 20)
    world.shadow.rows = scored(ids(20), [0.1] * 20, version=2, model_ms=[0.01] * 20)
    evidence = world.gather(rollout, T0 + HOUR)
    assert (evidence.challenger.latency_p99_ms, evidence.challenger.latency_rows) == (None, 0)
    assert (evidence.champion.latency_p99_ms, evidence.champion.latency_rows) == (pytest.approx(0.05), 20)
    world.served.rows = replace(world.served.rows, model_ms=None)  # a capture source without the column
    assert world.gather(rollout, T0 + HOUR).champion.latency_rows == 0


def test_rows_before_the_stage_began_other_models_and_retries_are_left_out(world: World) -> None:
    rollout = world.start()
    early = START - timedelta(hours=1)
    world.served.rows = joined(
        scored(ids(5, "old"), [0.9] * 5, version=1, start=early),
        scored(ids(5), [0.1] * 5, version=1),
        scored(["t0", "t1"], [0.9, 0.9], version=1),  # retried: the first scoring counts
        scored(ids(5), [0.1] * 5, version=1, name="other-model"),
    )
    world.shadow.rows = scored([*ids(5), None, None], [0.1] * 7, version=2)
    evidence = world.gather(rollout, T0 + HOUR)
    assert (evidence.champion.rows, evidence.champion.alerts) == (5, 0)
    assert evidence.challenger.rows == 7  # rows without an id count, but pair with nothing
    assert evidence.paired_rows == 5
    assert evidence.agreement == 1.0
    assert evidence.score_correlation is None  # constant scores


def test_paired_labels_count_who_caught_which_fraud(world: World) -> None:
    rollout = world.start()
    champion_p = [0.9, 0.9, 0.1, 0.1, 0.9, 0.1, 0.9, 0.1]
    challenger_p = [0.9, 0.1, 0.9, 0.1, 0.1, 0.9, 0.9, 0.1]
    world.served.rows = scored(ids(8), champion_p, version=1)
    world.shadow.rows = scored(ids(8), challenger_p, version=2)
    world.label(ids(9), frauds={"t0", "t1", "t2", "t3", "t8"})  # t8: labelled, never paired

    labels = world.gather(rollout, T0 + HOUR).labels

    assert (labels.labelled, labels.frauds) == (8, 4)
    assert labels.caught_by_both == 1  # t0
    assert labels.caught_by_champion_only == 1  # t1
    assert labels.caught_by_challenger_only == 1  # t2
    assert labels.false_alarms_of_champion_only == 1  # t4
    assert labels.false_alarms_of_challenger_only == 1  # t5
    assert labels.false_alarms_of_both == 1  # t6
    # The ranking evidence: over all 8 paired rows, each fraud's alert rate at which each model flags it.
    assert labels.champion_alert_rate == 0.5
    assert sorted(labels.fraud_alert_rates) == [(0.5, 0.5), (0.5, 1.0), (1.0, 0.5), (1.0, 1.0)]


def test_labels_are_pooled_over_the_rollout_while_rates_count_the_stage_only(world: World) -> None:
    """Labels mature after a canary step has begun: the shadow stage's labelled pairs still count."""
    rollout = world.start().moved(Stage.CANARY, 10.0, "ok", now=T0 + HOUR)
    later = START + timedelta(hours=1, minutes=1)
    world.served.rows = joined(
        scored(ids(8), [0.9, 0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], version=1),  # shadow stage
        scored(ids(3, "k"), [0.1] * 3, version=1, start=later),  # canary stage
    )
    world.shadow.rows = joined(
        scored(ids(8), [0.9, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1, 0.1], version=2),
        scored(ids(3, "k"), [0.1] * 3, version=2, start=later),
    )
    world.label(ids(8), frauds={"t0", "t1"})

    evidence = world.gather(rollout, T0 + 2 * HOUR)

    assert (evidence.champion.rows, evidence.challenger.rows, evidence.paired_rows) == (3, 3, 3)
    assert (evidence.labels.labelled, evidence.labels.frauds) == (8, 2)
    assert (evidence.labels.caught_by_both, evidence.labels.caught_by_champion_only) == (1, 1)


def test_estimated_quality_undoes_each_versions_positive_weight(world: World) -> None:
    rollout = world.start()
    p = np.array([0.9, 0.6, 0.2, 0.1])
    world.served.rows = scored(ids(4), p, version=1)
    world.shadow.rows = scored(ids(4), p, version=2)
    weighted = GatherEvidence(world.served, world.shadow, world.feedback, lambda version: float(version))
    evidence = weighted(rollout, T0 + HOUR)
    assert evidence.champion.estimated_precision == pytest.approx(0.75)
    chance = p / (p + (1 - p) * 2.0)
    assert evidence.challenger.estimated_precision == pytest.approx(chance[:2].mean())
    assert evidence.challenger.estimated_recall == pytest.approx(chance[:2].sum() / chance.sum())


def test_spearman_matches_scipy_with_ties() -> None:
    rng = np.random.default_rng(3)
    x = rng.integers(0, 5, 200).astype(float)
    y = x + rng.integers(0, 3, 200)
    assert spearman(x, y) == pytest.approx(spearmanr(x, y).statistic)


@pytest.mark.parametrize(
    ("left", "right"),
    [
        ([1, 5, 9], [0, 5, 9, 12]),
        ([3, 20, 40], [1, 2, 3]),  # keys past the right's end
        ([-7, 0, 8], []),
        ([], [1, 2]),
        (sorted(set(np.random.default_rng(5).integers(-50, 50, 40).tolist())),
         sorted(set(np.random.default_rng(6).integers(-50, 50, 40).tolist()))),
    ],
)  # fmt: skip
def test_pairing_by_binary_search_finds_what_intersect1d_finds(left: list[int], right: list[int]) -> None:
    a, b = np.array(left, np.int64), np.array(right, np.int64)
    _, expected_left, expected_right = np.intersect1d(a, b, assume_unique=True, return_indices=True)
    found_left, found_right = _common(a, b)
    assert found_left.tolist() == expected_left.tolist()
    assert found_right.tolist() == expected_right.tolist()


def test_a_hundred_thousand_rows_are_paired_whole(world: World) -> None:
    rollout = world.start()
    rng = np.random.default_rng(1)
    n = 100_000
    names = np.array([f"tx-{i}" for i in rng.permutation(n)], dtype=object)
    world.served.rows = scored(names, rng.random(n), version=1)
    world.shadow.rows = scored(names[::-1], rng.random(n), version=2)
    evidence = world.gather(rollout, T0 + 2 * n)
    assert evidence.paired_rows == n
    assert abs(evidence.score_correlation or 1.0) < 0.02  # independent scores


# --- operator actions -------------------------------------------------------------------------------------


def test_start_puts_the_challenger_in_shadow_against_the_champion(world: World) -> None:
    rollout = world.start(shadow_only=True)
    assert (rollout.challenger, rollout.champion, rollout.stage, rollout.shadow_only) == (
        2,
        1,
        "shadow",
        True,
    )
    assert world.store.load() == rollout
    event = world.publisher.events[-1]
    assert isinstance(event, RolloutTransitioned)
    assert (event.version, event.from_stage, event.to_stage) == (2, "offline", "shadow")


def test_start_again_for_the_same_version_changes_nothing(world: World) -> None:
    first = world.start()
    assert world.start() == first
    assert len(world.store.saved) == 1


@pytest.mark.parametrize(("first", "again"), [(False, True), (True, False)])
def test_start_again_asking_another_shadow_only_is_refused_not_answered_as_done(
    world: World, first: bool, again: bool
) -> None:
    """`start 2 --shadow-only` on a running rollout of v2 said it was done: the policy then moved it to a
    canary the operator believed pinned to shadow."""
    world.start(shadow_only=first)
    with pytest.raises(RolloutRefusedError, match=r"already active \(shadow.*abort it"):
        world.start(shadow_only=again)
    assert len(world.store.saved) == 1


@pytest.mark.parametrize(
    ("setup", "version", "error", "message"),
    [
        (None, 9, ModelNotFoundError, "v9"),
        (None, 1, RolloutRefusedError, "v1 is already the champion"),
        ("active", 3, RolloutRefusedError, "a rollout of v2 is active"),
        ("no champion", 2, RolloutRefusedError, "no champion to compare v2 with"),
        ("untrusted", 2, IncompatibleModelError, "a rollout of v2 refused: v2: its registry tags differ"),
    ],
)
def test_start_refuses_naming_the_problem(world, setup, version, error, message) -> None:
    if setup == "active":
        world.start(2)
    if setup == "untrusted":
        world.registry.untrusted.add(2)
    if setup == "no champion":
        world.registry.remove_alias(CHAMPION)
    with pytest.raises(error, match=message):
        world.start(version)


def test_advance_walks_shadow_canary_steps_then_champion(world: World) -> None:
    world.start()
    stages = [(r.stage, r.canary_percent) for r in (world.advance(), world.advance(), world.advance())]
    assert stages == [(Stage.CANARY, 10.0), (Stage.CANARY, 50.0), (Stage.CHAMPION, 0.0)]
    assert world.registry.aliases[CHAMPION] == 2
    assert world.registry.get(2).tags["previous_champion"] == "1"
    assert any(isinstance(e, ModelPromoted) and e.version == 2 for e in world.publisher.events)
    with pytest.raises(NoActiveRolloutError, match="is over"):
        world.advance()


def misses_frauds(world: World) -> None:
    """The champion catches all 40 frauds of 60 labelled rows, the challenger none: harm, roll back."""
    n = 60
    champion_p = np.full(n, 0.1)
    champion_p[:40] = 0.9
    world.served.rows = scored(ids(n), champion_p, version=1)
    world.shadow.rows = scored(ids(n), np.full(n, 0.1), version=2)
    world.label(ids(n), {f"t{i}" for i in range(40)})


def test_an_advance_over_a_roll_back_verdict_records_the_override(world: World) -> None:
    """The operator may advance whatever the evidence; the history says the policy would have rolled back."""
    world.start()
    misses_frauds(world)
    moved = world.advance()
    assert (moved.stage, moved.canary_percent) == (Stage.CANARY, 10.0)
    reason = moved.history[-1].reason
    assert reason.startswith("advanced by an operator (over the policy's verdict to roll back: ")
    assert "worse" in reason
    assert healthy_advance_reason(World()) == "advanced by an operator"


def healthy_advance_reason(world: World) -> str:
    world.start()
    healthy_shadow(world)
    return world.advance().history[-1].reason


@pytest.mark.parametrize("ending", ["promoted", "rolled back"])
def test_the_status_of_an_ended_rollout_says_when_the_champion_moved_since(world: World, ending: str) -> None:
    """`fraud model rollback` after a promotion: the status read "v2: champion" while v1 served."""
    world.start()
    if ending == "promoted":
        for _ in range(3):
            world.advance()
        left, moved_to = 2, 1
    else:
        world.abort()
        left, moved_to = 1, 3
    assert "since then" not in world.evaluate(apply=False).detail  # where the rollout left it
    world.registry.set_alias(CHAMPION, moved_to)
    decision = world.evaluate(apply=False)
    assert decision.detail.endswith(f"; since then the champion alias moved from v{left} to v{moved_to}")
    assert decision.applied is False


def _promotion_saved_halfway(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    """The last advance moves the alias, then the registry fails before the state is saved (MLflow killed
    between the two writes on a real stack)."""
    world.start()
    world.advance()
    world.advance()
    monkeypatch.setattr(world.store, "save", _registry_gone)
    with pytest.raises(ServiceUnavailableError):
        world.advance()
    monkeypatch.undo()
    assert world.registry.aliases[CHAMPION] == 2
    assert world.store.load().stage is Stage.CANARY


def _registry_gone(rollout: Rollout, *, replacing: Rollout | None) -> None:
    raise ServiceUnavailableError("MLflow at fake:// is unreachable")


def test_advancing_again_completes_a_promotion_whose_state_was_not_saved(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The retry read the half-done move as 'the champion alias moved outside the rollout' and refused,
    and an evaluation then recorded rolled_back while the challenger stayed champion."""
    _promotion_saved_halfway(world, monkeypatch)
    rollout = world.advance()
    assert rollout.stage is Stage.CHAMPION
    assert world.registry.aliases[CHAMPION] == 2
    assert world.registry.get(2).tags["previous_champion"] == "1"
    assert world.registry.get_model_tag("champion_history") == "1,2"  # written once


def test_an_evaluation_completes_a_promotion_whose_state_was_not_saved(
    world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    _promotion_saved_halfway(world, monkeypatch)
    decision = world.evaluate()
    assert decision.verdict.action is Action.ADVANCE
    assert "already holds the champion alias" in decision.verdict.reason
    assert world.store.load().stage is Stage.CHAMPION
    assert world.registry.aliases[CHAMPION] == 2


def test_abort_rolls_back_and_keeps_the_champion(world: World) -> None:
    world.start()
    world.advance()
    rollout = world.abort("alert storm")
    assert (rollout.stage, rollout.canary_percent) == (Stage.ROLLED_BACK, 0.0)
    assert rollout.history[-1].reason == "alert storm"
    assert world.registry.aliases[CHAMPION] == 1
    event = world.publisher.events[-1]
    assert isinstance(event, RolloutTransitioned)
    assert (event.from_stage, event.to_stage, event.reason) == ("canary", "rolled_back", "alert storm")
    assert "challenger" in event.evidence  # the full evidence travels with the event


def test_abort_is_not_blocked_by_unreadable_evidence(world: World) -> None:
    world.start()

    def down(rollout: Rollout, now: float):
        raise ServiceUnavailableError("object store down")

    rollout = AbortRollout(world.registry, world.store, world.publisher, down)("now", now=T0 + 1)
    assert rollout.stage is Stage.ROLLED_BACK


def test_an_abort_is_written_before_its_evidence_is_gathered(world: World) -> None:
    """Gathering reads every capture file since the rollout began (minutes over days of traffic): a
    misbehaving canary must stop serving first. The evidence still lands in the history and the event."""
    world.start()
    world.served.rows = scored(ids(20), np.linspace(0.0, 0.9, 20), version=1)
    stage_while_gathering = []

    def gather(rollout: Rollout, now: float):
        stage_while_gathering.append(world.store.load().stage)
        return world.gather(rollout, now)

    rollout = AbortRollout(world.registry, world.store, world.publisher, gather)("errors", now=T0 + HOUR)

    assert stage_while_gathering == [Stage.ROLLED_BACK]
    assert world.store.load() == rollout
    assert rollout.history[-1].evidence["champion"] == [20, 9]  # rows, alerts (scores 0.5 and up)
    event = world.publisher.events[-1]
    assert (event.to_stage, event.evidence["champion"]["rows"]) == ("rolled_back", 20)


def test_an_abort_the_registry_refuses_reads_no_evidence(world: World) -> None:
    world.start()
    world.store.read_only = True
    gathered = []
    abort = AbortRollout(world.registry, world.store, world.publisher, lambda *a: gathered.append(a))
    assert abort.or_hand_off("alert", now=T0 + 1).handed_off
    assert gathered == []


def test_a_rollout_started_while_an_abort_gathers_keeps_the_roll_back_without_its_evidence(
    world: World,
) -> None:
    world.start(version=2)

    def gather(rollout: Rollout, now: float):
        world.start(version=3)  # the roll-back is written: another rollout may start meanwhile
        return world.gather(rollout, now)

    rollout = AbortRollout(world.registry, world.store, world.publisher, gather)("bad", now=T0 + 1)

    assert (rollout.challenger, rollout.stage, rollout.history[-1].evidence) == (2, Stage.ROLLED_BACK, {})
    assert (world.store.load().challenger, world.store.load().stage) == (3, Stage.SHADOW)
    rolled_back = [e for e in world.publisher.events if getattr(e, "to_stage", None) == "rolled_back"]
    assert rolled_back[-1].evidence  # the event still carries it


def test_an_abort_stands_when_the_store_fails_while_its_evidence_is_recorded(world: World) -> None:
    world.start()

    def gather(rollout: Rollout, now: float):
        evidence = world.gather(rollout, now)
        world.store.down = True  # after the roll-back's write, before the evidence's
        return evidence

    rollout = AbortRollout(world.registry, world.store, world.publisher, gather)("bad", now=T0 + 1)

    assert (rollout.stage, rollout.history[-1].evidence) == (Stage.ROLLED_BACK, {})
    assert world.store.saved[-1].stage is Stage.ROLLED_BACK
    assert world.publisher.events[-1].to_stage == "rolled_back"


def test_an_abort_the_registry_refuses_is_handed_to_its_writer_as_an_event(world: World) -> None:
    started = world.start()
    world.store.read_only = True  # the API's identity on AWS: reads only
    abort = AbortRollout(world.registry, world.store, world.publisher, world.gather)

    outcome = abort.or_hand_off("alert FraudRolloutCanaryErrors", now=T0 + 1)

    assert outcome.handed_off
    assert (outcome.rollout.stage, world.store.load()) == (Stage.SHADOW, started)  # nothing written
    assert world.publisher.events[-1] == RolloutAbortRequested(
        started.model_name,
        2,
        "alert FraudRolloutCanaryErrors",
        occurred_at=world.publisher.events[-1].occurred_at,
    )
    assert not any(
        isinstance(e, RolloutTransitioned) and e.to_stage == "rolled_back" for e in world.publisher.events
    )


def test_an_abort_the_registry_allows_rolls_back_here(world: World) -> None:
    world.start()

    outcome = AbortRollout(world.registry, world.store, world.publisher, world.gather).or_hand_off(
        "bad", T0 + 1
    )

    assert (outcome.handed_off, outcome.rollout.stage) == (False, Stage.ROLLED_BACK)
    assert not any(isinstance(e, RolloutAbortRequested) for e in world.publisher.events)


def test_an_abort_for_another_version_rolls_nothing_back(world: World) -> None:
    world.start(version=2)
    abort = AbortRollout(world.registry, world.store, world.publisher, world.gather)

    with pytest.raises(NoActiveRolloutError, match="is of v2, not v3"):
        abort("requested for v3", now=T0 + 1, version=3)

    assert world.store.load().stage is Stage.SHADOW
    assert abort("requested for v2", now=T0 + 2, version=2).stage is Stage.ROLLED_BACK


def test_abort_without_a_rollout_says_so(world: World) -> None:
    with pytest.raises(NoActiveRolloutError, match="no rollout yet"):
        world.abort()


# --- the policy applied -----------------------------------------------------------------------------------


def healthy_shadow(world: World, n: int = 20) -> None:
    p = np.linspace(0.0, 0.99, n)
    world.served.rows = scored(ids(n), p, version=1)
    world.shadow.rows = scored(ids(n), p, version=2)
    world.label(ids(n), frauds={f"t{i}" for i in range(n - 3, n)})


def test_status_reports_what_the_policy_would_do_without_moving(world: World) -> None:
    world.start()
    healthy_shadow(world)
    decision = world.evaluate(apply=False)
    assert decision.verdict.action is Action.ADVANCE
    assert not decision.applied
    assert decision.rollout.stage is Stage.SHADOW
    assert "would move to canary 10%" in decision.detail
    assert len(world.store.saved) == 1
    assert world.reports.saved == []
    assert decision.to_dict()["verdict"]["action"] == "advance"


def test_evaluate_applies_an_advance_and_stores_the_evidence(world: World) -> None:
    world.start()
    healthy_shadow(world)
    decision = world.evaluate()
    assert decision.applied
    assert (decision.rollout.stage, decision.rollout.canary_percent) == (Stage.CANARY, 10.0)
    assert world.store.load() == decision.rollout
    assert decision.rollout.history[-1].evidence["paired_rows"] == 20
    assert world.reports.saved[-1][0] == "rollout"
    assert decision.report is not None
    assert decision.report.startswith("memory://rollout/")
    event = world.publisher.events[-1]
    assert isinstance(event, RolloutTransitioned)
    assert event.to_stage == "canary"
    assert event.percent == 10.0


def aborting_while_gathering(world: World):
    """Evidence that takes long enough for an operator to abort the rollout meanwhile."""

    def gather(rollout: Rollout, now: float):
        evidence = world.gather(rollout, now)
        AbortRollout(world.registry, world.store, world.publisher)("operator: alert storm", now=now)
        return evidence

    return gather


def test_an_evaluation_never_undoes_a_roll_back_made_while_it_gathered(world: World) -> None:
    world.start()
    healthy_shadow(world)
    evaluate = EvaluateRollout(
        world.store, aborting_while_gathering(world), POLICY, world.registry, world.publisher, world.reports
    )
    decision = evaluate(now=T0 + 2 * HOUR)
    assert decision.verdict.action is Action.ADVANCE
    assert not decision.applied
    assert "not applied: the rollout changed while this ran: it is now v2 in rolled_back" in decision.detail
    stored = world.store.load()
    assert stored is not None
    assert (stored.stage, stored.history[-1].reason) == (Stage.ROLLED_BACK, "operator: alert storm")
    last = world.publisher.events[-1]
    assert isinstance(last, RolloutTransitioned)
    assert last.to_stage == "rolled_back"  # no canary event after it


def test_a_stale_step_to_champion_moves_no_alias(world: World) -> None:
    world.start()
    world.advance()
    world.advance()  # canary 50%: the next step is champion
    advance = AdvanceRollout(
        world.registry, world.store, world.publisher, POLICY, aborting_while_gathering(world)
    )
    with pytest.raises(RolloutConflictError, match="it is now v2 in rolled_back"):
        advance(now=T0 + 3 * HOUR)
    assert world.registry.aliases[CHAMPION] == 1
    assert not any(isinstance(e, ModelPromoted) for e in world.publisher.events)


def test_evaluate_holds_while_evidence_is_short(world: World) -> None:
    world.start()
    decision = world.evaluate()
    assert decision.verdict.action is Action.HOLD
    assert not decision.applied
    assert decision.rollout.stage is Stage.SHADOW
    assert "holds" in decision.detail


def test_evaluate_rolls_back_a_challenger_that_misses_frauds(world: World) -> None:
    world.start()
    misses_frauds(world)
    decision = world.evaluate()
    assert decision.verdict.action is Action.ROLL_BACK
    assert decision.applied
    assert decision.rollout.stage is Stage.ROLLED_BACK
    assert world.registry.aliases[CHAMPION] == 1
    assert "worse" in decision.rollout.history[-1].reason


def test_evaluate_of_a_finished_rollout_holds_and_reads_nothing(world: World) -> None:
    world.start()
    world.abort()
    world.served.requests.clear()
    decision = world.evaluate()
    assert decision.verdict.action is Action.HOLD
    assert "over" in decision.verdict.reason
    assert world.served.requests == []


def test_evaluate_without_a_rollout_says_so(world: World) -> None:
    with pytest.raises(NoActiveRolloutError, match="fraud rollout start"):
        world.evaluate()


# --- FRAUD_PROMOTION_MODE=staged --------------------------------------------------------------------------


@pytest.fixture
def staged() -> tuple[PipelineWorld, FakeRolloutStore]:
    """The training pipeline wired as in production, its gate in staged mode, the rollout state in memory."""
    world = PipelineWorld()
    settings = Settings(
        home=Path("/nonexistent/unit-tests"), review_cost=5.0, top_k=20, promotion_mode="staged"
    )
    world.container.settings.override(providers.Object(settings))
    store = FakeRolloutStore()
    world.container.rollout.store.override(providers.Object(store))
    return world, store


def test_staged_mode_starts_a_shadow_rollout_instead_of_promoting(staged) -> None:
    world, store = staged
    first = world.run_pipeline()  # no champion yet: promoted directly
    assert first.decision.promote
    assert world.registry.aliases[CHAMPION] == 1
    world.registry.models[1].weight = -1.0  # the champion now ranks frauds last

    summary = world.run_pipeline("more.csv")

    assert summary.decision.promote
    assert "staged: v2 starts in shadow" in summary.decision.reason
    assert world.registry.aliases[CHAMPION] == 1  # not moved
    rollout = store.load()
    assert rollout is not None
    assert (rollout.challenger, rollout.champion, rollout.stage) == (2, 1, Stage.SHADOW)
    assert rollout.history[0].reason.startswith("the promotion gate passed: ")
    assert world.registry.get(2).tags["promotion_decision"] == "staged"
    assert summary.decision.staged
    assert world.tracker.runs[-1].tags["promotion_decision"] == "staged"  # the run said "promote"
    assert any(isinstance(e, RolloutTransitioned) and e.version == 2 for e in world.publisher.events)


def test_staged_mode_leaves_a_new_version_registered_while_another_rolls_out(staged) -> None:
    world, store = staged
    world.run_pipeline()
    world.registry.models[1].weight = -1.0
    world.run_pipeline("more.csv")  # v2 in shadow

    pipeline = world.pipeline()
    with pipeline.session(pipeline.ingest("more.csv")) as session:
        summary = run_stages(session, force=True)

    assert not summary.decision.promote
    assert "not rolled out: a rollout of v2 is active" in summary.decision.reason
    assert store.load().challenger == 2
    assert world.registry.aliases[CHAMPION] == 1
