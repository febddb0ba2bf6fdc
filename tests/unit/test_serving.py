"""Serving use cases on fakes: loading the champion (and surviving failures), scoring, reasons, capture."""

import numpy as np
import pytest

from fraud_detection.application.serving.champion_loader import ChampionLoader
from fraud_detection.application.serving.model_holder import LOCAL_CACHE, REGISTRY, ModelHolder
from fraud_detection.application.serving.score import ScoreTransactions
from fraud_detection.domain.errors import ModelNotReadyError
from fraud_detection.domain.model import CHAMPION, ModelMetadata
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
    restarted.loader.refresh()
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
