"""A rollout served through the real API app and captured by the real Parquet logs: served rows under
"predictions" with the version that answered, dark rows under the shadow prefix with the other version."""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from types import SimpleNamespace

import numpy as np
import pytest
from dependency_injector import providers
from fastapi.testclient import TestClient

from fraud_detection.composition import Container
from fraud_detection.domain.model import CHAMPION, ModelMetadata
from fraud_detection.domain.ports.acceleration import ModelAccelerator
from fraud_detection.domain.ports.prediction_log import PredictionBatch
from fraud_detection.domain.ports.rollout import SHADOW_CAPTURE_PREFIX, RolloutStore
from fraud_detection.domain.rollout import Rollout, Stage
from fraud_detection.domain.schema import V_COLUMNS
from fraud_detection.entrypoints.api.app import create_app
from fraud_detection.infrastructure.arrow.prediction_log import ParquetPredictionLog, read_predictions
from fraud_detection.settings import Settings
from tests.api_clients import SERVICE, bearer, write_clients
from tests.fakes import FakeModel, FakeModelCache, FakeRegistry

pytestmark = pytest.mark.integration


class MemoryRolloutStore(RolloutStore):
    def __init__(self, rollout: Rollout | None) -> None:
        self.rollout = rollout

    def load(self) -> Rollout | None:
        return self.rollout

    def save(self, rollout: Rollout) -> None:
        self.rollout = rollout


def transaction(v14: float, transaction_id: str) -> dict[str, object]:
    return {name: 0.1 for name in V_COLUMNS} | {"V14": v14, "Amount": 12.5, "transaction_id": transaction_id}


def serve(tmp_path, rollout: Rollout, **more: float) -> tuple[Container, TestClient]:
    settings = Settings(home=tmp_path, model_poll_seconds=0, rollout_shadow_budget_ms=60_000.0, **more)
    container = Container(settings)
    registry = FakeRegistry()
    for weight in (1.0, -1.0):  # v1 the champion, v2 the challenger: their answers always differ
        uri = f"models:/{weight}"
        registry.uri_models[uri] = FakeModel(weight)
        registry.register(uri, "run", ModelMetadata("fe-1", 0.5, "d" * 64))
    registry.set_alias(CHAMPION, 1)
    container.adapters.registry.override(providers.Object(registry))
    container.serving.model_cache.override(providers.Object(FakeModelCache()))
    container.serving.rollout_store.override(providers.Object(MemoryRolloutStore(rollout)))
    container.batch.model_accelerator.override(providers.Object(ModelAccelerator()))
    write_clients(tmp_path, None)
    return container, TestClient(create_app(container), headers=SERVICE)


def test_shadow_rows_land_under_the_shadow_prefix_with_the_challengers_version(tmp_path):
    container, client = serve(tmp_path, Rollout.start("fake-model", 2, 1, now=0.0))
    with client:
        single = client.post("/v1/score", json=transaction(-5.0, "tx-1")).json()
        rows = [transaction(2.0, "tx-2"), transaction(-3.0, "tx-3")]
        batch = client.post("/v1/score/batch", json={"transactions": rows}).json()
        # A few jobs wait for the shadow sweep (a drain after a response needs a batch's worth queued).
        shown = 'fraud_rollout_scored_rows_total{role="shadow",version="2"} 3.0'
        deadline = time.monotonic() + 5
        while shown not in (metrics := client.get("/metrics").text) and time.monotonic() < deadline:
            time.sleep(0.02)
    assert single["model"]["version"] == 1
    assert single["decision"] == "fraud"
    assert [item["model_version"] for item in batch["results"]] == [1, 1]
    assert batch["canary"] is None  # shadow: every answer is the champion's
    store = container.adapters.object_store()
    served = read_predictions(store).frame
    dark = read_predictions(store, SHADOW_CAPTURE_PREFIX).frame
    assert len(served) == len(dark) == 3
    assert set(served["model_version"]) == {1}
    assert set(dark["model_version"]) == {2}
    assert sorted(served["transaction_id"]) == sorted(dark["transaction_id"])
    paired = (
        served.set_index("transaction_id")["probability"] + dark.set_index("transaction_id")["probability"]
    )
    np.testing.assert_allclose(paired.to_numpy(), 1.0)  # the challenger's own (mirrored) scores
    assert 'fraud_rollout_scored_rows_total{role="shadow",version="2"} 3.0' in metrics
    assert 'fraud_rollout_stage{stage="shadow"} 1.0' in metrics


def test_canary_answers_carry_the_challengers_version_and_the_champion_scores_them_in_the_dark(tmp_path):
    canary = Rollout.start("fake-model", 2, 1, now=0.0).moved(Stage.CANARY, 100.0, "test", now=1.0)
    container, client = serve(tmp_path, canary, rollout_canary_dark_share=1.0)  # pair every request
    with client:
        single = client.post("/v1/score", json=transaction(-5.0, "tx-1")).json()
        batch = client.post("/v1/score/batch", json={"transactions": [transaction(2.0, "tx-2")]}).json()
        view = container.serving.runtime().replica_view()
    assert single["model"] == {"name": "fake-model", "version": 2}
    assert single["decision"] == "legit"
    assert batch["model"]["version"] == 1
    assert batch["results"][0]["model_version"] == 2
    # The threshold its row was decided at: a client checking decisions against the champion's found
    # canary rows flagged below it.
    assert batch["canary"]["model"] == {"name": "fake-model", "version": 2}
    assert batch["canary"]["threshold"] == single["threshold"]
    assert (view["stage"], view["challenger_version"]) == ("canary", 2)
    store = container.adapters.object_store()
    assert set(read_predictions(store).frame["model_version"]) == {2}
    assert set(read_predictions(store, SHADOW_CAPTURE_PREFIX).frame["model_version"]) == {1}


class BlockingStatus:
    """EvaluateRollout's stand-in for GET /admin/rollout: each gathering waits until released."""

    def __init__(self) -> None:
        self.calls = 0
        self.release = threading.Event()

    def __call__(self, apply: bool = True, now: float | None = None) -> SimpleNamespace:
        self.calls += 1
        number = self.calls
        assert self.release.wait(30), "never released"
        return SimpleNamespace(to_dict=lambda: {"gathering": number})


def test_status_requests_that_arrive_during_a_gathering_share_it(tmp_path):
    """Each gathering holds the rollout's evidence in the API's memory: concurrent status requests (a
    dashboard and an operator) must not each hold their own."""
    container, client = serve(tmp_path, Rollout.start("fraud-lgbm", 2, 1, time.time()))
    status = BlockingStatus()
    container.rollout.evaluate.override(providers.Object(status))
    operator = bearer("operator")
    with client, ThreadPoolExecutor(3) as pool:
        asked = [pool.submit(client.get, "/admin/rollout", headers=operator) for _ in range(3)]
        deadline = time.monotonic() + 30
        while status.calls == 0 and time.monotonic() < deadline:
            time.sleep(0.01)
        time.sleep(0.5)  # the other two requests arrive while the first gathering runs
        status.release.set()
        answers = [future.result(timeout=30) for future in asked]
        assert [answer.status_code for answer in answers] == [200] * 3
        assert [answer.json()["gathering"] for answer in answers] == [1, 1, 1]
        assert status.calls == 1
        assert client.get("/admin/rollout", headers=operator).json()["gathering"] == 2  # not cached


def captured_batch(request: str, rows: int, version: int, scored_at: float) -> PredictionBatch:
    rng = np.random.default_rng(version)
    return PredictionBatch(
        inputs=rng.normal(size=(rows, 29)), times=np.zeros(rows),
        transaction_ids=tuple(f"tx-{i}" for i in range(rows)), probabilities=rng.uniform(size=rows),
        decisions=np.zeros(rows, bool), model_name="fraud-lgbm", model_version=version,
        request_id=request, scored_at=scored_at,
    )  # fmt: skip


@pytest.mark.parametrize(("limit", "gathered"), [(40, True), (39, False)])
def test_a_status_past_the_apis_row_limit_comes_without_evidence(tmp_path, limit, gathered):
    """20 served and 20 shadow rows: within FRAUD_ROLLOUT_STATUS_MAX_ROWS the evidence; past it the state
    alone, saying where to read the evidence, instead of the API task running out of memory."""
    started = time.time() - 3600.0
    rollout = Rollout.start("fraud-lgbm", 2, 1, started)
    container, client = serve(tmp_path, rollout, rollout_status_max_rows=limit)
    container.rollout.store.override(providers.Object(MemoryRolloutStore(rollout)))
    store = container.adapters.object_store()
    for prefix, version in (("predictions", 1), (SHADOW_CAPTURE_PREFIX, 2)):
        with ParquetPredictionLog(store, prefix=prefix) as log:
            log.append(captured_batch(prefix, 20, version, started + 60.0))

    with client:
        answer = client.get("/admin/rollout", headers=bearer("operator"))

    assert answer.status_code == 200
    body = answer.json()
    assert body["rollout"]["stage"] == "shadow"
    assert isinstance(body["replica"], dict)  # this replica's own view still comes
    if gathered:
        assert body["evidence"]["paired_rows"] == 20
        assert body["verdict"]["action"] == "hold"
        return
    assert (body["evidence"], body["verdict"], body["applied"]) == (None, None, False)
    assert "more than 39 captured rows" in body["detail"]
    assert "FRAUD_ROLLOUT_STATUS_MAX_ROWS" in body["detail"]
    assert "fraud rollout status" in body["detail"]
