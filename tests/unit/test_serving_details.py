"""Online scoring in detail: the single-row fast path, which reasons are given, and exactly what is
captured and counted for each request."""

import time

import numpy as np
import pytest

from fraud_detection.application.serving.model_holder import REGISTRY, ModelHolder, ServingModel
from fraud_detection.application.serving.score import ScoreTransactions
from fraud_detection.domain.model import ModelMetadata, ModelVersion
from tests.fakes import FakeModel, FakePredictionLog, RecordingTelemetry


class SpyModel(FakeModel):
    """The fake V14 model, recording the rows it is asked to score one at a time and to explain."""

    def __init__(self) -> None:
        super().__init__()
        self.single_rows: list[np.ndarray] = []
        self.explained: list[int] = []

    def predict_row(self, features: np.ndarray) -> float:
        self.single_rows.append(features.copy())
        return super().predict_row(features)

    def contributions_matrix(self, features: np.ndarray) -> np.ndarray:
        self.explained.append(len(features))
        return super().contributions_matrix(features)


class AmountLedModel(FakeModel):
    """Contributions: log_amount (the last feature) 5, V14 -1, V1 0.5, and a bias of 100 that is no
    feature and must never be given as a reason."""

    def contributions_matrix(self, features: np.ndarray) -> np.ndarray:
        out = np.zeros((len(features), len(self.feature_names) + 1))
        out[:, self.feature_names.index("log_amount")] = 5.0
        out[:, self.feature_names.index("V14")] = -1.0
        out[:, self.feature_names.index("V1")] = 0.5
        out[:, -1] = 100.0
        return out


class DecisionTelemetry(RecordingTelemetry):
    def __init__(self) -> None:
        super().__init__()
        self.batches: list[tuple[list[float], list[bool]]] = []

    def scores(self, probabilities: np.ndarray, decisions: np.ndarray) -> None:
        super().scores(probabilities, decisions)
        self.batches.append((probabilities.tolist(), decisions.tolist()))


def holding(model: FakeModel, threshold: float = 0.5) -> ModelHolder:
    version = ModelVersion(
        "fake-model", 7, ("champion",), "run", "2026-01-01", ModelMetadata("fe-1", 0.5, "d")
    )
    holder = ModelHolder()
    holder.swap(ServingModel(version, model, threshold, REGISTRY, 0.0))
    return holder


def rows(v14: list[float], amount: float = 10.0) -> np.ndarray:
    inputs = np.zeros((len(v14), 29))
    inputs[:, 13] = v14  # V14
    inputs[:, 28] = amount
    return inputs


def test_one_row_takes_the_models_single_row_path_on_its_features():
    """The online case: the model sees the transformed row (log1p of the amount), once."""
    model = SpyModel()
    score = ScoreTransactions(holding(model), FakePredictionLog(), RecordingTelemetry())
    scored = score(rows([-4.0], amount=np.e - 1), np.array([5.0]), ("t1",), "one")
    assert scored.probabilities.tolist() == [pytest.approx(1 / (1 + np.exp(-4.0)))]
    assert scored.decisions.tolist() == [True]
    assert len(model.single_rows) == 1
    assert model.single_rows[0][13] == -4.0
    assert model.single_rows[0][28] == pytest.approx(1.0)


def test_no_alert_and_no_explain_never_asks_the_model_for_contributions():
    """Reasons are the expensive part (TreeSHAP): a request with nothing to explain must not pay for it."""
    model = SpyModel()
    score = ScoreTransactions(holding(model), FakePredictionLog(), RecordingTelemetry())
    scored = score(rows([3.0, 2.0]), np.array([0.0, 0.0]), (None, None), "quiet")
    assert scored.reasons == {}
    assert model.explained == []
    score(rows([3.0, -2.0]), np.array([0.0, 0.0]), (None, None), "one alert")
    assert model.explained == [1]


def test_five_reasons_by_default():
    score = ScoreTransactions(holding(FakeModel()), FakePredictionLog(), RecordingTelemetry())
    scored = score(rows([-4.0, 3.0]), np.array([0.0, 0.0]), (None, None), "r")
    assert list(scored.reasons) == [0]
    assert len(scored.reasons[0]) == 5
    assert scored.reasons[0][0] == ("V14", pytest.approx(4.0))


def test_reasons_rank_every_feature_by_size_including_the_last_and_never_the_bias():
    score = ScoreTransactions(holding(AmountLedModel()), FakePredictionLog(), RecordingTelemetry(), 3)
    scored = score(rows([-4.0, 3.0]), np.array([0.0, 0.0]), (None, None), "r", explain=True)
    assert scored.reasons == {
        0: [("log_amount", 5.0), ("V14", -1.0), ("V1", 0.5)],
        1: [("log_amount", 5.0), ("V14", -1.0), ("V1", 0.5)],
    }


def test_the_log_receives_the_request_as_scored_and_the_telemetry_its_decisions():
    holder = holding(FakeModel(), threshold=0.5)
    log, telemetry = FakePredictionLog(), DecisionTelemetry()
    score = ScoreTransactions(holder, log, telemetry)
    inputs, times = rows([-4.0, 3.0]), np.array([12.0, np.nan])
    before = time.time()
    scored = score(inputs, times, ["t1", None], "req-9")
    after = time.time()
    assert scored.serving is holder.require()
    (batch,) = log.batches
    np.testing.assert_array_equal(batch.inputs, inputs)
    np.testing.assert_array_equal(batch.times, times)
    assert batch.transaction_ids == ("t1", None)
    np.testing.assert_array_equal(batch.probabilities, scored.probabilities)
    assert batch.decisions.tolist() == [True, False]
    assert (batch.model_name, batch.model_version, batch.request_id) == ("fake-model", 7, "req-9")
    assert isinstance(batch.scored_at, float)
    assert before <= batch.scored_at <= after
    assert telemetry.batches == [(scored.probabilities.tolist(), [True, False])]
