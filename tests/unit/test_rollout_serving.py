"""Serving during a rollout, on fakes: the snapshot the loader keeps, shadow and canary scoring, the dark
worker's bounds, failures of the challenger, and what a replica reports."""

from __future__ import annotations

import math
import time
from dataclasses import replace

import numpy as np
import pytest

from fraud_detection.application.serving import model_scoring
from fraud_detection.application.serving.champion_loader import ChampionLoader
from fraud_detection.application.serving.model_holder import ModelHolder, Snapshot
from fraud_detection.application.serving.model_scoring import ChallengerChaos
from fraud_detection.application.serving.rollout_scoring import RolloutScoring
from fraud_detection.application.serving.rollout_stats import RolloutRecorder
from fraud_detection.application.serving.runtime import ServingRuntime
from fraud_detection.application.serving.score import ScoreTransactions
from fraud_detection.application.serving.shadow import ShadowScorer
from fraud_detection.domain.errors import ServiceUnavailableError
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.domain.ports.rollout import RolloutStore
from fraud_detection.domain.rollout import Rollout, Stage
from tests.fakes import FakeModel, FakeModelCache, FakePredictionLog, FakeRegistry, RecordingTelemetry


class MemoryRolloutStore(RolloutStore):
    def __init__(self) -> None:
        self.rollout: Rollout | None = None
        self.down = False

    def load(self) -> Rollout | None:
        if self.down:
            raise ServiceUnavailableError("registry unreachable")
        return self.rollout

    def save(self, rollout: Rollout) -> None:
        self.rollout = rollout


class RolloutTelemetry(RecordingTelemetry):
    def __init__(self) -> None:
        super().__init__()
        self.states: list[tuple[str, float, int | None]] = []
        self.rows: dict[tuple[str, int], int] = {}
        self.seconds: dict[tuple[str, int], list[float]] = {}
        self.errors: dict[tuple[str, int], int] = {}
        self.dropped: dict[str, int] = {}
        self.rollout_failures: list[str] = []

    def rollout_state(
        self, stage: str, percent: float, challenger: int | None, started_at: float | None = None
    ) -> None:
        self.states.append((stage, percent, challenger))

    def rollout_scored(self, role: str, version: int, rows: int, alerts: int, seconds: float) -> None:
        self.rows[(str(role), version)] = self.rows.get((str(role), version), 0) + rows
        self.seconds.setdefault((str(role), version), []).append(seconds)

    def rollout_errors(self, role: str, version: int, rows: int) -> None:
        self.errors[(str(role), version)] = self.errors.get((str(role), version), 0) + rows

    def shadow_dropped(self, reason: str, rows: int) -> None:
        self.dropped[reason] = self.dropped.get(reason, 0) + rows

    def rollout_failed(self, what: str) -> None:
        self.rollout_failures.append(what)


class BrokenModel(FakeModel):
    def predict_row(self, features: np.ndarray) -> float:
        raise RuntimeError("challenger bug")

    def predict_matrix(self, features: np.ndarray) -> np.ndarray:
        raise RuntimeError("challenger bug")


class Rig:
    """Champion v1 (score rises as V14 falls), challenger v2 (the opposite): their answers always differ."""

    def __init__(
        self,
        queue_max: int = 100,
        chaos: float = 0.0,
        challenger: FakeModel | None = None,
        delay_ms: float = 0.0,
    ) -> None:
        self.registry, self.holder, self.store = FakeRegistry(), ModelHolder(), MemoryRolloutStore()
        self.telemetry, self.log, self.shadow_log = (
            RolloutTelemetry(),
            FakePredictionLog(),
            FakePredictionLog(),
        )
        self.loader = ChampionLoader(
            self.registry, FakeModelCache(), self.holder, self.telemetry, rollouts=self.store
        )
        self.now = 0.0
        self.recorder = RolloutRecorder(self.telemetry)
        chaos_of = ChallengerChaos(chaos, delay_ms=delay_ms)
        self.shadow = ShadowScorer(self.shadow_log, self.recorder, queue_max, budget_ms=50.0,
                                   chaos=chaos_of, clock=lambda: self.now, background=False)  # fmt: skip
        self.rollout = RolloutScoring(self.shadow, self.recorder, ChallengerChaos(chaos, delay_ms=delay_ms))
        self.score = ScoreTransactions(self.holder, self.log, self.telemetry, 3, self.rollout)
        self.register(FakeModel(1.0))
        self.registry.set_alias(CHAMPION, 1)
        self.register(challenger or FakeModel(-1.0))

    def register(self, model: FakeModel, feature_version: str = "fe-1") -> int:
        uri = f"models:/{len(self.registry.versions) + 1}"
        self.registry.uri_models[uri] = model
        return self.registry.register(uri, "run", ModelMetadata(feature_version, 0.5, "d")).version

    def start(self, stage: Stage = Stage.SHADOW, percent: float = 0.0, challenger: int = 2) -> Rollout:
        rollout = Rollout.start("fake-model", challenger, 1, now=0.0)
        if stage is not Stage.SHADOW:
            rollout = rollout.moved(stage, percent, "test", now=1.0)
        self.store.save(rollout)
        self.loader.refresh()
        return rollout

    def request(self, v14: list[float], ids: list[str | None] | None = None, request_id: str = "r1",
                explain: bool = False):  # fmt: skip
        inputs = np.zeros((len(v14), 29))
        inputs[:, 13], inputs[:, 28] = v14, 10.0
        ids = ids if ids is not None else [f"t{i}" for i in range(len(v14))]
        return self.score(inputs, np.full(len(v14), np.nan), ids, request_id, explain)


def captured(log: FakePredictionLog) -> dict[str, tuple[int, float]]:
    """transaction id -> (version, probability) over every batch."""
    return {
        tid: (batch.model_version, float(p))
        for batch in log.batches
        for tid, p in zip(batch.transaction_ids, batch.probabilities, strict=True)
        if tid is not None
    }


def test_the_loader_keeps_the_challenger_of_an_active_rollout_and_drops_it_when_it_ends():
    rig = Rig()
    rig.loader.refresh()
    assert rig.holder.snapshot == Snapshot(rig.holder.current)  # no rollout: the champion alone
    rollout = rig.start()
    snapshot = rig.holder.snapshot
    assert (snapshot.require().version.version, snapshot.challenger.version.version) == (1, 2)
    assert snapshot.rollout == rollout
    canary = rollout.moved(Stage.CANARY, 10.0, "ok", now=2.0)
    rig.store.save(canary)
    assert rig.loader.refresh_rollout().changed
    assert rig.holder.snapshot.rollout == canary
    assert rig.holder.snapshot.challenger is snapshot.challenger  # not loaded again
    rig.store.save(canary.moved(Stage.ROLLED_BACK, 0.0, "worse", now=3.0))
    assert rig.loader.refresh_rollout().changed
    assert rig.holder.snapshot.challenger is None
    assert rig.holder.snapshot.rollout is None
    assert rig.telemetry.states[-3:] == [("shadow", 0.0, 2), ("canary", 10.0, 2), ("none", 0.0, None)]


def test_a_request_reads_one_snapshot_while_the_holder_swaps():
    rig = Rig()
    rig.start()
    before = rig.holder.snapshot
    rig.store.save(replace(rig.store.rollout, stage=Stage.ROLLED_BACK))
    rig.loader.refresh()
    assert before.challenger is not None
    assert rig.holder.snapshot.challenger is None
    with pytest.raises(ValueError, match="with its rollout"):
        rig.holder.set_challenger(before.challenger, None)


def test_an_unreadable_state_keeps_the_snapshot_and_is_counted():
    rig = Rig()
    rig.start()
    before = rig.holder.snapshot
    rig.store.down = True
    outcome = rig.loader.refresh()
    assert not outcome.changed
    assert "unreadable" in outcome.detail
    assert rig.holder.snapshot is before
    assert rig.telemetry.rollout_failures == ["read"]


def test_a_refresh_that_finds_the_registry_down_leaves_the_rollout_unread():
    """The rollout's state is a registry tag: reading it after the champion's lookup failed would fail the
    same way, after as long again (an admin reload then took twice ~46 s on a host that never answers)."""
    rig = Rig()
    rig.start()
    before = rig.holder.snapshot
    reads = []
    load = rig.store.load
    rig.store.load = lambda: reads.append(1) or load()
    rig.registry.down = True
    outcome = rig.loader.refresh()
    assert outcome.detail.endswith("still serving v1; rollout state kept as it was")
    assert outcome.failure is not None
    assert reads == []
    assert rig.holder.snapshot is before


@pytest.mark.parametrize("problem", ["broken", "features"])
def test_a_challenger_that_fails_to_load_is_counted_and_the_champion_serves_alone(problem):
    rig = Rig()
    if problem == "broken":
        rig.registry.broken.add(2)
    else:
        rig.register(FakeModel(-1.0), feature_version="fe-0")
    rig.start(challenger=2 if problem == "broken" else 3)
    assert rig.holder.snapshot.challenger is None
    assert rig.holder.current.version.version == 1
    assert rig.telemetry.rollout_failures == ["load"]
    assert rig.request([-5.0]).decisions.tolist() == [True]  # served as without a rollout
    assert rig.shadow_log.batches == []


def test_a_promoted_challenger_becomes_the_champion_at_the_next_rollout_poll():
    rig = Rig()
    rollout = rig.start(Stage.CANARY, 50.0)
    rig.registry.set_alias(CHAMPION, 2)
    rig.store.save(rollout.moved(Stage.CHAMPION, 0.0, "passed", now=5.0))
    outcome = rig.loader.refresh_rollout()
    assert outcome.changed
    assert rig.holder.snapshot == Snapshot(rig.holder.current)
    assert rig.holder.current.version.version == 2
    # "rollout of v2 champion" read as a rollout under way, in the log and /admin/model/reload's answer
    assert outcome.detail.startswith("no active rollout (the last, of v2, completed)")
    assert "no active rollout (the last, of v2, completed)" in rig.loader.refresh_rollout().detail


def test_shadow_never_changes_the_answer_and_captures_the_challenger_in_the_dark():
    plain = Rig()
    plain.loader.refresh()
    expected = plain.request([-5.0, 0.0, 3.0], explain=True)
    rig = Rig()
    rig.start()
    scored = rig.request([-5.0, 0.0, 3.0], explain=True)
    np.testing.assert_array_equal(scored.probabilities, expected.probabilities)
    np.testing.assert_array_equal(scored.decisions, expected.decisions)
    assert scored.reasons == expected.reasons
    assert [scored.answered(i).version.version for i in range(3)] == [1, 1, 1]
    assert {v for v, _ in captured(rig.log).values()} == {1}
    assert rig.shadow_log.batches == []  # off the response path: nothing scored in the dark yet
    assert rig.shadow.drain() == 1
    dark = captured(rig.shadow_log)
    assert set(dark) == {"t0", "t1", "t2"}
    assert {v for v, _ in dark.values()} == {2}
    assert dark["t0"][1] == pytest.approx(1 - expected.probabilities[0])  # the challenger's own score
    assert rig.telemetry.rows == {("champion", 1): 3, ("shadow", 2): 3}


def test_canary_routing_serves_its_share_within_two_points():
    rollout = Rollout.start("fake-model", 2, 1, now=0.0).moved(Stage.CANARY, 10.0, "ok", now=1.0)
    routed = RolloutScoring.routing(rollout, tuple(f"client:{i}" for i in range(10_000)), "r")
    assert abs(routed.mean() - 0.10) <= 0.02
    ids = tuple(f"c{i}" for i in range(10_000))
    half = RolloutScoring.routing(replace(rollout, canary_percent=50.0), ids, "r")
    assert abs(half.mean() - 0.50) <= 0.02
    no_ids = RolloutScoring.routing(rollout, (None,) * 10_000, "request-7")  # keyed by request id and row
    assert abs(no_ids.mean() - 0.10) <= 0.02
    again = RolloutScoring.routing(rollout, tuple(f"client:{i}" for i in range(10_000)), "other-request")
    np.testing.assert_array_equal(routed, again)  # a retried transaction meets the same model


def test_a_single_row_meets_the_model_its_transaction_meets_in_a_batch():
    """One-row requests are routed without numpy (the online path): the same hash, key and salt as a batch,
    so a transaction scored alone and then within a batch meets the same model."""
    rig = Rig()
    rollout = rig.start(Stage.CANARY, 10.0)
    ids = [f"client:{i}" for i in range(1_000)]
    scored = [rig.request([-2.0], [tid]) for tid in ids]
    alone = [s.answered(0).version.version for s in scored]
    routed = RolloutScoring.routing(rollout, tuple(ids), "any-request")
    assert alone == [2 if r else 1 for r in routed]
    assert 50 <= sum(v == 2 for v in alone) <= 150
    served = captured(rig.log)
    assert {tid: v for tid, (v, _) in served.items()} == dict(zip(ids, alone, strict=True))
    champion = 1 / (1 + np.exp(-2.0))
    expected = np.where(routed, 1 - champion, champion)
    np.testing.assert_allclose([s.probabilities[0] for s in scored], expected)  # the answering model's
    np.testing.assert_allclose([served[tid][1] for tid in ids], expected)
    rig.shadow.drain()
    dark = captured(rig.shadow_log)  # each one paired by the model that did not answer
    assert {tid: v for tid, (v, _) in dark.items()} == {tid: 3 - v for tid, v in zip(ids, alone, strict=True)}
    assert rig.telemetry.rows[("canary", 2)] == sum(routed)
    assert rig.telemetry.rows[("champion", 1)] == 1_000 - sum(routed)
    no_id = [rig.request([0.0], [None], request_id=f"q{i}").answered(0).version.version for i in range(1_000)]
    by_request = [RolloutScoring.routing(rollout, (None,), f"q{i}")[0] for i in range(1_000)]
    assert no_id == [2 if r else 1 for r in by_request]  # keyed by request id and row, as in a batch


def test_a_batch_the_canary_wholly_owns_is_answered_captured_and_paired_as_one():
    rig = Rig()
    rig.start(Stage.CANARY, 100.0)
    scored = rig.request([-5.0, -1.0, 5.0], ids=["a", "b", "c"])
    np.testing.assert_allclose(scored.probabilities, 1 - 1 / (1 + np.exp([-5.0, -1.0, 5.0])))
    assert [scored.answered(i).version.version for i in range(3)] == [2, 2, 2]
    assert scored.serving.version.version == 1  # the batch response still names the champion
    assert [(b.model_version, len(b)) for b in rig.log.batches] == [(2, 3)]
    assert set(scored.reasons) == {2}  # the canary's alert (V14 = 5) is explained by the canary
    rig.shadow.drain()
    assert {v for v, _ in captured(rig.shadow_log).values()} == {1}
    assert rig.telemetry.rows == {("canary", 2): 3, ("shadow", 1): 3}  # the champion scored it in the dark


def test_canary_rows_get_the_challengers_answer_and_both_models_score_every_transaction():
    rig = Rig()
    rollout = rig.start(Stage.CANARY, 50.0)
    ids = [f"t{i}" for i in range(40)]
    v14 = list(np.linspace(-5, 5, 40))
    scored = rig.request(v14, ids)
    routed = RolloutScoring.routing(rollout, tuple(ids), "r1")
    assert 0 < routed.sum() < 40
    champion = 1 / (1 + np.exp(np.array(v14)))
    np.testing.assert_allclose(scored.probabilities, np.where(routed, 1 - champion, champion))
    assert [scored.answered(i).version.version for i in range(40)] == [2 if r else 1 for r in routed]
    assert sorted(b.model_version for b in rig.log.batches) == [1, 2]  # one append per version
    served = captured(rig.log)
    assert {tid for tid, (v, _) in served.items() if v == 2} == {ids[i] for i in np.flatnonzero(routed)}
    rig.shadow.drain()
    dark = captured(rig.shadow_log)
    assert set(dark) == set(ids)  # paired: every transaction scored by both
    assert all(dark[tid][0] != served[tid][0] for tid in ids)
    assert rig.telemetry.rows[("canary", 2)] == routed.sum()


@pytest.mark.parametrize("how", ["bug", "chaos"])
def test_a_failing_canary_falls_back_to_the_champion_and_is_counted(how):
    rig = Rig(challenger=BrokenModel(-1.0)) if how == "bug" else Rig(chaos=1.0)
    rig.start(Stage.CANARY, 100.0)
    scored = rig.request([-5.0, 5.0])
    np.testing.assert_allclose(scored.probabilities, 1 / (1 + np.exp([-5.0, 5.0])))
    assert scored.answered(0).version.version == 1
    assert scored.challenger is None
    assert {v for v, _ in captured(rig.log).values()} == {1}
    assert rig.telemetry.errors == {("canary", 2): 2}
    dark = captured(rig.shadow_log)  # captured at once, as NaN of the challenger
    assert {v for v, _ in dark.values()} == {2}
    assert all(np.isnan(p) for _, p in dark.values())
    assert rig.shadow.drain() == 0  # the champion answered every row: nothing left to pair


def test_a_failing_shadow_is_captured_as_nan_and_counted():
    rig = Rig(challenger=BrokenModel(-1.0))
    rig.start()
    assert rig.request([-5.0]).decisions.tolist() == [True]
    rig.shadow.drain()
    (batch,) = rig.shadow_log.batches
    assert np.isnan(batch.probabilities).all()
    assert not batch.decisions.any()
    assert batch.model_version == 2
    assert rig.telemetry.errors == {("shadow", 2): 1}


class SteppingClock:
    """Stands in for the `time` module of the scoring code: every model call takes exactly 8 ms."""

    def __init__(self) -> None:
        self.reading = 0.0

    def perf_counter(self) -> float:
        self.reading += 0.008  # read once before and once after the call
        return self.reading

    def sleep(self, seconds: float) -> None:  # a chaos delay: time passes, none is spent
        self.reading += seconds

    time = staticmethod(time.time)


@pytest.fixture
def eight_ms_calls(monkeypatch: pytest.MonkeyPatch) -> None:
    clock = SteppingClock()
    monkeypatch.setattr(model_scoring, "time", clock)


@pytest.mark.usefixtures("eight_ms_calls")
def test_a_row_scored_alone_carries_the_models_time_and_rows_of_a_batch_or_a_failure_none():
    """What the rollout's latency check compares: one-row calls only, since a call's time per row falls
    with its size (a canary answering a few rows of a batch would look slower than the same model)."""
    plain = Rig()
    plain.loader.refresh()
    plain.request([-5.0])
    plain.request([-5.0, 0.0, 1.0, 3.0])
    assert [b.model_ms for b in plain.log.batches] == pytest.approx([8.0, math.nan], nan_ok=True)

    rig = Rig()
    rig.start(Stage.CANARY, 50.0)
    for i in range(20):  # the online case: each model answers some transactions alone
        rig.request([-1.0], [f"t{i}"], request_id=f"r{i}")
    assert {b.model_version for b in rig.log.batches} == {1, 2}
    assert all(b.model_ms == pytest.approx(8.0) for b in rig.log.batches)
    rig.shadow.drain()  # the other model scored every request in the dark, in one call per model
    assert sorted(len(b) for b in rig.shadow_log.batches) == [5, 15]  # the routing is a stable hash
    assert all(math.isnan(b.model_ms) for b in rig.shadow_log.batches)

    mixed = Rig()
    mixed.start(Stage.CANARY, 50.0)
    mixed.request(list(np.linspace(-5, 5, 40)), [f"t{i}" for i in range(40)])
    assert {b.model_version for b in mixed.log.batches} == {1, 2}  # the request split between them
    assert all(math.isnan(b.model_ms) for b in mixed.log.batches)

    broken = Rig(challenger=BrokenModel(-1.0))
    broken.start()
    broken.request([-5.0])
    broken.shadow.drain()
    (failed,) = broken.shadow_log.batches
    assert math.isnan(failed.model_ms)


@pytest.mark.usefixtures("eight_ms_calls")
def test_a_chaos_delay_slows_every_challenger_scoring_inside_its_timing_and_never_the_champion():
    rig = Rig(delay_ms=5.0)
    rig.start(Stage.CANARY, 50.0)
    for i in range(20):
        rig.request([-1.0], [f"t{i}"], request_id=f"r{i}")
    served = {(b.model_version, round(b.model_ms, 6)) for b in rig.log.batches}
    assert served == {(1, 8.0), (2, 13.0)}  # the canary: its 5 ms on the call's 8
    seen = rig.telemetry.seconds  # what the p99 histogram and the FraudRolloutCanarySlow alert see
    assert {round(t, 6) for t in seen[("canary", 2)]} == {0.013}
    assert {round(t, 6) for t in seen[("champion", 1)]} == {0.008}
    rig.shadow.drain()  # the dark jobs: one call per model, its time shared by its jobs
    jobs = {b.model_version: len(b) for b in rig.shadow_log.batches}
    assert seen[("shadow", 2)] == [pytest.approx(0.013 / jobs[2])]
    assert seen[("shadow", 1)] == [pytest.approx(0.008 / jobs[1])]
    assert rig.telemetry.errors == {}  # slowed, not failed


def test_a_full_queue_and_a_spent_budget_drop_dark_scorings_and_count_them():
    rig = Rig(queue_max=1)
    rig.start()
    rig.request([0.0], request_id="a")
    rig.request([0.0, 1.0], request_id="b")  # the queue holds one job: dropped at once
    assert rig.telemetry.dropped == {"queue_full": 2}
    rig.now = 0.051  # over the 50 ms budget when picked up
    rig.shadow.drain()
    assert rig.telemetry.dropped == {"queue_full": 2, "over_budget": 1}
    assert rig.telemetry.errors == {("shadow", 2): 3}
    assert all(np.isnan(b.probabilities).all() for b in rig.shadow_log.batches)
    assert sum(len(b) for b in rig.shadow_log.batches) == 3
    assert rig.recorder.view()["shadow_dropped"] == {"queue_full": 2, "over_budget": 1}


def test_a_share_of_requests_is_scored_in_the_dark():
    rig = Rig()
    draws = iter([0.1, 0.9])
    rig.rollout = RolloutScoring(rig.shadow, rig.recorder, shadow_share=0.5, draw=lambda: next(draws))
    rig.score = ScoreTransactions(rig.holder, rig.log, rig.telemetry, 3, rig.rollout)
    rig.start()
    rig.request([0.0], request_id="a")
    rig.request([0.0], request_id="b")
    assert rig.shadow.drain() == 1


def test_the_replica_view_reports_stage_models_counts_and_p99():
    rig = Rig()
    runtime = ServingRuntime(rig.loader, rig.log, 0.0, 10.0, rig.holder, rig.rollout)
    assert runtime.replica_view()["stage"] == "none"
    rig.start(Stage.CANARY, 100.0)
    rig.request([-5.0])
    rig.shadow.drain()
    view = runtime.replica_view()
    assert (view["stage"], view["canary_percent"], view["champion_version"], view["challenger_version"]) == (
        "canary", 100.0, 1, 2,
    )  # fmt: skip
    assert {(c["role"], c["version"], c["rows"], c["alerts"]) for c in view["counts"]} == {
        ("canary", 2, 1, 0), ("shadow", 1, 1, 1),
    }  # fmt: skip
    assert set(view["p99_ms"]) == {"canary", "shadow"}
    assert all(v >= 0 for v in view["p99_ms"].values())
    runtime.stop()
    assert rig.log.closed
    assert rig.shadow_log.closed


def test_chaos_rates_outside_zero_to_one_and_delays_below_zero_or_unbounded_are_refused():
    with pytest.raises(ValueError, match=r"within 0\.\.1"):
        ChallengerChaos(1.5)
    for delay in (-1.0, math.inf, math.nan):
        with pytest.raises(ValueError, match="finite number of ms >= 0"):
            ChallengerChaos(delay_ms=delay)


def test_prometheus_names_the_rollout_metrics_as_the_alert_rules_expect():
    from prometheus_client import REGISTRY

    from fraud_detection.infrastructure.prometheus.metrics import PrometheusScoringTelemetry

    def value(name: str, **labels: str) -> float:
        return REGISTRY.get_sample_value(name, labels) or 0.0

    before = {
        "rows": value("fraud_rollout_scored_rows_total", role="canary", version="97"),
        "alerts": value("fraud_rollout_alerts_total", role="canary", version="97"),
        "errors": value("fraud_rollout_errors_total", role="shadow", version="97"),
        "dropped": value("fraud_rollout_shadow_dropped_total", reason="over_budget"),
        "timed": value("fraud_rollout_score_seconds_count", role="canary"),
    }
    telemetry = PrometheusScoringTelemetry()
    telemetry.rollout_state("canary", 10.0, 97, 1_700_000_000.0)
    telemetry.rollout_scored("canary", 97, rows=3, alerts=1, seconds=0.001)
    telemetry.rollout_errors("shadow", 97, 2)
    telemetry.shadow_dropped("over_budget", 2)
    assert value("fraud_rollout_scored_rows_total", role="canary", version="97") == before["rows"] + 3
    assert value("fraud_rollout_alerts_total", role="canary", version="97") == before["alerts"] + 1
    assert value("fraud_rollout_errors_total", role="shadow", version="97") == before["errors"] + 2
    assert value("fraud_rollout_shadow_dropped_total", reason="over_budget") == before["dropped"] + 2
    assert value("fraud_rollout_score_seconds_count", role="canary") == before["timed"] + 1
    assert value("fraud_rollout_stage", stage="canary") == 1.0
    assert value("fraud_rollout_stage", stage="none") == 0.0
    assert value("fraud_rollout_canary_percent") == 10.0
    assert value("fraud_rollout_challenger_version") == 97.0
    assert value("fraud_rollout_challenger", version="97") == 1.0
    assert value("fraud_rollout_started_timestamp_seconds") == 1_700_000_000.0
    telemetry.rollout_state("canary", 10.0, 98)  # another challenger: the first one's series at 0
    assert value("fraud_rollout_challenger", version="97") == 0.0
    assert value("fraud_rollout_challenger", version="98") == 1.0
    telemetry.rollout_state("none", 0.0, None)
    assert value("fraud_rollout_challenger_version") == 0.0
    assert value("fraud_rollout_challenger", version="98") == 0.0  # roll-back alerts keep to an active one
    assert value("fraud_rollout_started_timestamp_seconds") == 0.0


class CountingModel(FakeModel):
    def __init__(self, weight: float) -> None:
        super().__init__(weight)
        self.calls = 0

    def predict_row(self, features: np.ndarray) -> float:
        self.calls += 1
        return super().predict_row(features)

    def predict_matrix(self, features: np.ndarray) -> np.ndarray:
        self.calls += 1
        return super().predict_matrix(features)


def test_the_worker_scores_the_waiting_jobs_in_one_call_and_captures_them_in_one_batch():
    """One model call, one capture (each row keeps its own request id) and one count per drain."""
    challenger = CountingModel(-1.0)
    rig = Rig(challenger=challenger)
    rig.start()
    rig.request([-5.0], ids=["a1"], request_id="a")
    rig.request([0.0, 5.0], ids=["b1", "b2"], request_id="b")
    assert rig.shadow.drain() == 2
    assert challenger.calls == 1
    assert [(b.request_id, b.transaction_ids) for b in rig.shadow_log.batches] == [
        (("a", "b", "b"), ("a1", "b1", "b2")),
    ]  # fmt: skip
    shadow = next(c for c in rig.recorder.view()["counts"] if c["role"] == "shadow")
    assert (shadow["rows"], shadow["alerts"]) == (3, int(rig.shadow_log.batches[0].decisions.sum()))
    assert captured(rig.shadow_log)["b2"][1] == pytest.approx(
        1 / (1 + np.exp(-5.0))
    )  # the challenger: V14 mirrored


def test_a_drain_after_the_response_is_offered_only_once_a_batch_of_dark_jobs_waits():
    """Single requests leave their dark job queued; a response carries the drain once `drain_min` wait, so
    the dark work runs batched (one scoring and capture per model) rather than once per request."""
    rig = Rig()
    rig.start()
    for n in range(31):
        rig.request([-5.0], ids=[f"s{n}"])
        assert rig.score.dark_work() is None
    rig.request([-5.0], ids=["s31"])
    drain = rig.score.dark_work()
    assert drain is not None
    drain()
    assert len(captured(rig.shadow_log)) == 32
    assert len(rig.shadow_log.batches) == 1  # one capture for the 32 requests
    assert rig.score.dark_work() is None


def test_a_response_drains_dark_jobs_that_waited_a_fifth_of_the_budget_and_the_sweep_only_older_ones():
    """Under load responses drain everything before the sweep thread would (no second thread taking the GIL
    from the event loop); the sweep is for jobs no response came to drain."""
    rig = Rig()
    rig.start()
    rig.request([-5.0], ids=["a"])
    rig.now = 0.009
    assert rig.score.dark_work() is None  # 1 job, 9 ms old (the budget is 50 ms)
    rig.now = 0.010
    assert rig.shadow.sweep() == 0  # not twice 10 ms yet: left to the next response
    drain = rig.score.dark_work()
    assert drain is not None
    assert drain() == 1
    rig.request([-5.0], ids=["b"])  # queued at 10 ms
    assert rig.score.dark_work() is None
    rig.now = 0.029
    assert rig.shadow.sweep() == 0
    rig.now = 0.031
    assert rig.shadow.sweep() == 1
    assert sorted(captured(rig.shadow_log)) == ["a", "b"]
    assert rig.score.dark_work() is None
    assert rig.shadow.sweep() == 0


def row_requests(batch: PredictionBatch) -> tuple[str, ...]:
    """Each row's request id (a dark drain captures several requests' rows in one batch)."""
    request_id = batch.request_id
    return request_id if isinstance(request_id, tuple) else (request_id,) * len(batch)


def test_in_canary_only_a_share_of_requests_is_also_scored_by_the_model_that_did_not_answer():
    """FRAUD_ROLLOUT_CANARY_DARK_SHARE: in canary the pairing is sampled per request (both directions); the
    shadow stage keeps its own share."""
    rig = Rig()
    draws = iter([0.1, 0.9, 0.2, 0.7])
    rig.rollout = RolloutScoring(rig.shadow, rig.recorder, shadow_share=1.0, draw=lambda: next(draws),
                                 canary_dark_share=0.5)  # fmt: skip
    rig.score = ScoreTransactions(rig.holder, rig.log, rig.telemetry, 3, rig.rollout)
    rig.start()
    rig.request([0.0], ids=["s1"])  # shadow: every request, no draw
    assert rig.shadow.drain() == 1
    rig.start(Stage.CANARY, 50.0)
    for n, request_id in enumerate(("a", "b", "c", "d")):
        rig.request([0.0] * 10, ids=[f"c{n}-{i}" for i in range(10)], request_id=request_id)
    assert {b.request_id for b in rig.log.batches if b.request_id != "r1"} == {"a", "b", "c", "d"}
    rig.shadow.drain()
    dark = {request for b in rig.shadow_log.batches for request in row_requests(b)} - {"r1"}
    assert dark == {"a", "c"}  # drawn below 0.5: both models' dark jobs; "b" and "d" none
    assert {b.model_version for b in rig.shadow_log.batches if "a" in row_requests(b)} == {1, 2}
    with pytest.raises(ValueError, match="canary dark share"):
        RolloutScoring(rig.shadow, rig.recorder, canary_dark_share=0.0)


def test_a_new_canary_share_takes_effect_on_the_next_request():
    """The router is kept between requests and rebuilt when the rollout changes (share or challenger)."""
    rig = Rig()
    rig.start(Stage.CANARY, 0.0)
    assert {rig.request([0.0], [f"a{i}"]).answered(0).version.version for i in range(50)} == {1}
    rig.start(Stage.CANARY, 100.0)
    assert {rig.request([0.0], [f"a{i}"]).answered(0).version.version for i in range(50)} == {2}
    rig.register(FakeModel(-1.0))
    rig.start(Stage.CANARY, 50.0, challenger=3)
    routed = RolloutScoring.routing(rig.holder.snapshot.rollout, tuple(f"a{i}" for i in range(50)), "r")
    served = [rig.request([0.0], [f"a{i}"]).answered(0).version.version for i in range(50)]
    assert served == [3 if r else 1 for r in routed]  # salted by the new challenger
