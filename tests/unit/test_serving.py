"""Serving use cases on fakes: loading the champion (and surviving failures), scoring, reasons, capture."""

import numpy as np
import pytest

from fraud_detection.application.serving.champion_loader import ChampionLoader, RefreshFailure, RefreshOutcome
from fraud_detection.application.serving.model_holder import LOCAL_CACHE, REGISTRY, ModelHolder
from fraud_detection.application.serving.runtime import ServingRuntime
from fraud_detection.application.serving.score import ScoreTransactions
from fraud_detection.domain.errors import ModelNotReadyError, UntrustedModelError
from fraud_detection.domain.model import CHAMPION, ModelMetadata, ModelVersion
from fraud_detection.domain.ports.modelling import FraudModel
from tests.fakes import FakeModel, FakeModelCache, FakePredictionLog, FakeRegistry, RecordingTelemetry


class Serving:
    def __init__(self) -> None:
        self.registry, self.cache, self.holder = FakeRegistry(), FakeModelCache(), ModelHolder()
        self.telemetry, self.log = RecordingTelemetry(), FakePredictionLog()
        self.loader = ChampionLoader(self.registry, self.cache, self.holder, self.telemetry)
        self.score = ScoreTransactions(self.holder, self.log, self.telemetry, top_reasons=3)

    def champion(self, weight: float = 1.0, feature_version: str = "fe-1", threshold: float = 0.5) -> int:
        uri = f"models:/{len(self.registry.versions) + 1}"
        self.registry.uri_models[uri] = FakeModel(weight)
        version = self.registry.register(uri, "run", ModelMetadata(feature_version, threshold, "d"))
        self.registry.set_alias(CHAMPION, version.version)
        return version.version


@pytest.fixture
def serving() -> Serving:
    return Serving()


def rows(v14: list[float]) -> np.ndarray:
    inputs = np.zeros((len(v14), 29))
    inputs[:, 13] = v14  # V14
    inputs[:, 28] = 10.0  # Amount
    return inputs


def test_nothing_to_serve_until_a_champion_exists(serving):
    assert not serving.loader.refresh().changed
    with pytest.raises(ModelNotReadyError):
        serving.score(rows([0.0]), np.array([np.nan]), (None,), "r1")
    serving.champion()
    assert serving.loader.refresh().changed
    assert serving.holder.require().source == REGISTRY
    assert serving.cache.saved is not None  # a local copy for the next restart


def test_new_champion_is_swapped_in_and_unchanged_is_a_no_op(serving):
    serving.champion()
    serving.loader.refresh()
    assert serving.loader.refresh().detail == "v1 already serving"
    serving.champion(weight=2.0)
    outcome = serving.loader.refresh()
    assert outcome.detail == "now serving v2 (was v1)"
    assert serving.holder.require().version.version == 2
    assert serving.telemetry.loaded == [(1, REGISTRY), (2, REGISTRY)]


@pytest.mark.parametrize("problem", ["corrupt", "features", "down"])
def test_a_failed_load_keeps_the_current_model_serving(serving, problem):
    serving.champion()
    serving.loader.refresh()
    if problem == "corrupt":
        serving.registry.broken.add(serving.champion())
    elif problem == "features":
        serving.champion(feature_version="fe-0")
    else:
        serving.champion()
        serving.registry.down = True
    assert not serving.loader.refresh().changed
    assert serving.holder.require().version.version == 1
    if problem != "down":
        assert len(serving.telemetry.failures) == 1


def test_registry_down_at_start_serves_the_local_copy_then_the_registry_again(serving):
    serving.champion()
    serving.loader.refresh()  # leaves a local copy
    restarted = Serving()
    restarted.registry, restarted.cache = serving.registry, serving.cache
    restarted.loader = ChampionLoader(
        restarted.registry, restarted.cache, restarted.holder, restarted.telemetry
    )
    serving.registry.down = True
    assert "serving the local copy of v1" in restarted.loader.refresh().detail
    assert restarted.holder.require().source == LOCAL_CACHE
    assert restarted.loader.registry_reachable is False
    serving.registry.down = False
    assert "now serving v1 from the registry (was its local copy)" in restarted.loader.refresh().detail
    assert restarted.holder.require().source == REGISTRY
    assert restarted.loader.registry_reachable is True


def test_registry_down_and_no_copy_is_not_ready_and_counted(serving):
    serving.registry.down = True
    assert "no local copy" in serving.loader.refresh().detail
    assert serving.holder.current is None
    assert serving.telemetry.failures


def test_scoring_decides_at_the_threshold_explains_alerts_and_captures(serving):
    serving.champion(threshold=0.5)
    serving.loader.refresh()
    scored = serving.score(rows([-4.0, 3.0]), np.array([1.0, np.nan]), ("t1", None), "req-1")
    assert scored.decisions.tolist() == [True, False]  # low V14 -> fraud, as in the real data
    assert scored.probabilities[0] == pytest.approx(1 / (1 + np.exp(-4.0)))
    assert list(scored.reasons) == [0]  # only the alert is explained
    assert scored.reasons[0][0] == ("V14", pytest.approx(4.0))
    assert len(scored.reasons[0]) == 3
    batch = serving.log.batches[0]
    assert (batch.request_id, batch.model_version, batch.transaction_ids) == ("req-1", 1, ("t1", None))
    assert batch.decisions.tolist() == [True, False]
    assert serving.telemetry.scored == 2


def test_explain_returns_reasons_for_every_row(serving):
    serving.champion()
    serving.loader.refresh()
    scored = serving.score(rows([3.0, 2.0]), np.array([0.0, 0.0]), (None, None), "r", explain=True)
    assert sorted(scored.reasons) == [0, 1]


def test_a_score_equal_to_the_threshold_is_an_alert(serving):
    """V14 = 0 scores exactly 0.5 with the fake model: the rule is `score >= threshold`."""
    serving.champion(threshold=0.5)
    serving.loader.refresh()
    scored = serving.score(rows([0.0, 1e-9]), np.array([1.0, 1.0]), (None, None), "edge")
    assert scored.probabilities[0] == 0.5
    assert scored.probabilities[1] < 0.5
    assert scored.decisions.tolist() == [True, False]


class FailingLookup(FakeRegistry):
    """A registry that answers every alias lookup with `error` (auth failure, corrupt store, a bug)."""

    def __init__(self, error: Exception) -> None:
        super().__init__()
        self.error = error

    def get_by_alias(self, alias: str) -> ModelVersion | None:
        raise self.error


REGISTRY_FAILURES = [
    pytest.param(PermissionError("403 Forbidden: PERMISSION_DENIED"), id="forbidden"),
    pytest.param(RuntimeError("401 Unauthorized after a password rotation"), id="unauthorized"),
    pytest.param(ValueError("(sqlite3.DatabaseError) file is not a database"), id="corrupt-store"),
]


@pytest.mark.parametrize("error", REGISTRY_FAILURES)
def test_any_registry_failure_at_start_serves_the_local_copy(serving, error):
    serving.champion()
    serving.loader.refresh()  # leaves a local copy
    restarted = Serving()
    restarted.cache = serving.cache
    restarted.loader = ChampionLoader(
        FailingLookup(error), serving.cache, restarted.holder, restarted.telemetry
    )
    runtime = ServingRuntime(restarted.loader, restarted.log, poll_seconds=0)

    runtime.start()

    assert restarted.holder.require().source == LOCAL_CACHE
    assert restarted.holder.require().version.version == 1
    assert restarted.loader.registry_reachable is False


@pytest.mark.parametrize("error", REGISTRY_FAILURES)
def test_any_registry_failure_at_start_without_a_copy_is_live_and_not_ready(serving, error):
    serving.loader = ChampionLoader(FailingLookup(error), serving.cache, serving.holder, serving.telemetry)

    ServingRuntime(serving.loader, serving.log, poll_seconds=0).start()  # does not raise

    assert serving.holder.current is None
    assert serving.telemetry.failures
    assert type(error).__name__ in serving.telemetry.failures[-1]


def test_a_refused_champion_at_start_serves_the_verified_local_copy(serving):
    number = serving.champion()
    serving.loader.refresh()  # leaves a local copy of v1
    restarted = Serving()
    restarted.loader = ChampionLoader(serving.registry, serving.cache, restarted.holder, restarted.telemetry)

    def refused(version: ModelVersion) -> FraudModel:
        raise UntrustedModelError(f"v{version.version}: digest mismatch")

    serving.registry.load_model = refused  # type: ignore[method-assign]
    outcome = restarted.loader.refresh()

    assert restarted.holder.require().source == LOCAL_CACHE
    assert restarted.holder.require().version.version == number
    assert "UntrustedModelError" in outcome.detail
    assert restarted.telemetry.failures  # the refusal is still counted

    polled = restarted.loader.refresh()  # the registry answers, and still has the refused version

    assert restarted.holder.require().source == LOCAL_CACHE  # not relabelled as the registry's
    assert "still serving v1" in polled.detail
    assert len(restarted.telemetry.failures) == 2


def test_a_loader_that_raises_at_start_leaves_the_service_not_ready(serving):
    class Exploding(ChampionLoader):
        def refresh(self) -> RefreshOutcome:
            raise RuntimeError("unexpected")

    loader = Exploding(serving.registry, serving.cache, serving.holder, serving.telemetry)
    ServingRuntime(loader, serving.log, poll_seconds=0).start()
    assert serving.holder.current is None


def test_a_start_behind_a_registry_that_does_not_answer_goes_on_and_the_load_ends_later(serving, caplog):
    """A database tracking URI retries its connection for ~100 s: the start waited for it, and the API
    answered nothing (not even /healthz) meanwhile."""
    import logging
    import threading
    import time

    caplog.set_level(logging.WARNING)
    serving.champion()
    answer = threading.Event()

    class Unanswered(ChampionLoader):
        def refresh(self, wait: float | None = None) -> RefreshOutcome:
            answer.wait(10)
            return super().refresh(wait)

    loader = Unanswered(serving.registry, serving.cache, serving.holder, serving.telemetry)
    began = time.monotonic()
    ServingRuntime(loader, serving.log, poll_seconds=0, start_wait_seconds=0.2).start()
    assert time.monotonic() - began < 5
    assert serving.holder.current is None  # live, not ready
    assert "still under way" in caplog.text
    answer.set()
    deadline = time.monotonic() + 10
    while serving.holder.current is None:
        assert time.monotonic() < deadline
        time.sleep(0.01)
    assert serving.holder.require().version.version == 1


def test_a_reload_behind_a_refresh_stuck_on_the_registry_gives_up_after_its_wait(serving):
    """The poller's refresh waits on a registry that does not answer; an admin reload waiting for it took
    minutes. With a wait it answers at once that the registry is slow, naming what serves on."""
    import threading
    import time

    serving.champion()
    serving.loader.refresh()
    answering, stuck = threading.Event(), threading.Event()
    original = serving.registry.get_by_alias

    def slow_lookup(alias: str):
        stuck.set()
        answering.wait(10)
        return original(alias)

    serving.registry.get_by_alias = slow_lookup
    poller = threading.Thread(target=serving.loader.refresh)
    poller.start()
    assert stuck.wait(5)
    started = time.monotonic()
    outcome = serving.loader.refresh(wait=0.2)
    waited = time.monotonic() - started
    answering.set()
    poller.join(5)
    assert outcome == RefreshOutcome(
        False,
        "another refresh has been under way for over 0.2 s (a registry slow to answer); still serving v1",
        RefreshFailure.REGISTRY,
    )
    assert waited < 5
    serving.registry.get_by_alias = original
    serving.champion(weight=2.0)
    assert serving.loader.refresh(wait=0.2).detail == "now serving v2 (was v1)"  # the lock was released
