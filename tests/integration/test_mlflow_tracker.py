"""The MLflow tracker against a SQLite store and a real `mlflow server`: runs, artifacts, logged models."""

from __future__ import annotations

import json
import logging
import math
import os
import threading
import time
import uuid
from pathlib import Path

import lightgbm as lgb
import mlflow
import pandas as pd
import pytest
from mlflow import MlflowClient
from mlflow.exceptions import MlflowException
from mlflow.models import Model
from mlflow.utils.validation import MAX_PARAM_VAL_LENGTH

from fraud_detection.domain.model import ModelMetadata
from fraud_detection.infrastructure.lightgbm.model import LightGBMFraudModel
from fraud_detection.infrastructure.mlflow import MlflowExperimentTracker, TrackingStoreUnavailableError
from fraud_detection.infrastructure.mlflow.connection import HTTP_DEFAULTS
from fraud_detection.infrastructure.mlflow.tracker import ABANDONED_TAG
from tests.fixtures.mlflow_server import MlflowBackend

pytestmark = pytest.mark.integration

METADATA = ModelMetadata("fe-1", 0.375, "d" * 64, {"auprc": 0.81, "roc_auc": 0.97})


def tracker_for(backend: MlflowBackend) -> MlflowExperimentTracker:
    """A fresh experiment per test: the server is shared by the whole session."""
    name = f"tracker-test-{uuid.uuid4().hex[:8]}"
    return MlflowExperimentTracker(backend.tracking_uri, name, backend.artifact_location)


def read_artifact(client: MlflowClient, run_id: str, path: str, scratch: Path) -> bytes:
    return Path(client.download_artifacts(run_id, path, str(scratch))).read_bytes()


def test_run_logs_params_metrics_tags_and_artifacts_then_finishes(
    mlflow_backend: MlflowBackend, tmp_path: Path
) -> None:
    tracker = tracker_for(mlflow_backend)
    with tracker.start_run("train", {"trigger": "test"}) as run:
        run.log_params(
            {"learning_rate": 0.02, "rounds": 20, "balanced": True, "note": None, "long": "x" * 7000}
        )
        run.log_metrics({"auprc": 0.81, "alerts": 12})
        run.set_tags({"dataset_id": "abc"})
        run.log_dict({"success": True, "failed": [1, 2]}, "reports/validation.json")
        run.log_dict({"rows": 3}, "reports/split.yaml")
        run.log_bytes(b"\x89PNG\r\n\x1a\nfake", "plots/pr_curve.png")
        run.log_bytes(b"<html></html>", "report.html")

    client = MlflowClient(mlflow_backend.tracking_uri)
    logged = client.get_run(run.run_id)
    assert logged.info.status == "FINISHED"
    assert logged.info.run_name == "train"
    assert logged.info.experiment_id == tracker.experiment_id
    params = logged.data.params
    assert {key: params[key] for key in ("learning_rate", "rounds", "balanced", "note")} == {
        "learning_rate": "0.02",
        "rounds": "20",
        "balanced": "True",
        "note": "None",
    }
    assert len(params["long"]) == MAX_PARAM_VAL_LENGTH
    assert params["long"].endswith("[truncated]")
    assert logged.data.metrics == {"auprc": 0.81, "alerts": 12.0}
    assert logged.data.tags["trigger"] == "test"
    assert logged.data.tags["dataset_id"] == "abc"
    validation = read_artifact(client, run.run_id, "reports/validation.json", tmp_path)
    assert json.loads(validation) == {"success": True, "failed": [1, 2]}
    assert read_artifact(client, run.run_id, "reports/split.yaml", tmp_path).decode().strip() == "rows: 3"
    assert read_artifact(client, run.run_id, "plots/pr_curve.png", tmp_path) == b"\x89PNG\r\n\x1a\nfake"
    assert read_artifact(client, run.run_id, "report.html", tmp_path) == b"<html></html>"


def fail_inside_a_run(tracker: MlflowExperimentTracker, started: list[str]) -> None:
    with tracker.start_run("train", {}) as run:
        started.append(run.run_id)
        run.log_metrics({"auprc": 0.5})
        raise RuntimeError("training blew up")


def test_run_ends_failed_when_the_block_raises(mlflow_backend: MlflowBackend) -> None:
    started: list[str] = []
    with pytest.raises(RuntimeError, match="training blew up"):
        fail_inside_a_run(tracker_for(mlflow_backend), started)

    assert MlflowClient(mlflow_backend.tracking_uri).get_run(started[0]).info.status == "FAILED"


def test_a_new_run_marks_runs_left_running_past_the_bound_failed_and_no_other(
    mlflow_backend: MlflowBackend, caplog: pytest.LogCaptureFixture
) -> None:
    """A run whose process died before its end reached MLflow stays RUNNING until a later run ends it."""
    caplog.set_level(logging.WARNING)
    tracker = tracker_for(mlflow_backend)
    client = MlflowClient(mlflow_backend.tracking_uri)
    now_ms = int(time.time() * 1000)
    abandoned = client.create_run(tracker.experiment_id, start_time=now_ms - 13 * 3_600_000).info.run_id
    recent = client.create_run(tracker.experiment_id, start_time=now_ms - 11 * 3_600_000).info.run_id
    ended = client.create_run(tracker.experiment_id, start_time=now_ms - 20 * 3_600_000).info.run_id
    client.set_terminated(ended, "FINISHED")

    with tracker.start_run("train", {}) as run:
        pass

    marked = client.get_run(abandoned)
    assert marked.info.status == "FAILED"
    assert marked.data.tags[ABANDONED_TAG].startswith("no end recorded within 12 h of its start")
    assert run.run_id in marked.data.tags[ABANDONED_TAG]
    assert client.get_run(recent).info.status == "RUNNING"
    assert client.get_run(ended).info.status == "FINISHED"
    assert ABANDONED_TAG not in client.get_run(ended).data.tags
    assert client.get_run(run.run_id).info.status == "FINISHED"
    assert any(abandoned in record.getMessage() for record in caplog.records)


def test_a_failed_look_for_abandoned_runs_does_not_stop_the_new_run(
    mlflow_sqlite_store: MlflowBackend, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.WARNING)
    tracker = tracker_for(mlflow_sqlite_store)

    def refuse(*args: object, **kwargs: object) -> None:
        raise MlflowException("search is down")

    monkeypatch.setattr(MlflowClient, "search_runs", refuse)
    with tracker.start_run("train", {}) as run:
        run.log_metrics({"auprc": 0.5})

    assert MlflowClient(mlflow_sqlite_store.tracking_uri).get_run(run.run_id).info.status == "FINISHED"
    assert "could not look for abandoned MLflow runs" in caplog.text


def test_nan_metrics_are_kept_as_nan(mlflow_backend: MlflowBackend) -> None:
    with tracker_for(mlflow_backend).start_run("train", {}) as run:
        run.log_metrics({"roc_auc": float("nan"), "auprc": 0.0})

    metrics = MlflowClient(mlflow_backend.tracking_uri).get_run(run.run_id).data.metrics
    assert math.isnan(metrics["roc_auc"])
    assert metrics["auprc"] == 0.0


def test_location_is_the_ui_url_on_a_server_and_the_artifact_folder_otherwise(
    mlflow_backend: MlflowBackend,
) -> None:
    tracker = tracker_for(mlflow_backend)
    with tracker.start_run("train", {}) as run:
        location = run.location

    if mlflow_backend.kind == "server":
        expected = f"{mlflow_backend.tracking_uri}/#/experiments/{tracker.experiment_id}/runs/{run.run_id}"
        assert location == expected
    else:
        assert mlflow_backend.artifact_location is not None
        assert location.startswith(mlflow_backend.artifact_location)
        assert run.run_id in location


def test_log_model_files_the_model_under_the_run_and_its_experiment(
    mlflow_backend: MlflowBackend,
    tiny_booster: lgb.Booster,
    feature_rows: pd.DataFrame,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.chdir(tmp_path)  # MLflow's fallback default experiment would write ./mlruns here
    tracker = tracker_for(mlflow_backend)
    with tracker.start_run("train", {}) as run:
        run.log_metrics({"auprc": 0.81})
        model_uri = run.log_model(LightGBMFraudModel(tiny_booster), METADATA, feature_rows)

    assert model_uri.startswith("models:/m-")
    client = MlflowClient(mlflow_backend.tracking_uri)
    logged = client.get_logged_model(model_uri.removeprefix("models:/"))
    assert logged.experiment_id == tracker.experiment_id
    assert logged.source_run_id == run.run_id
    assert str(logged.status) == "READY"
    assert {metric.key for metric in logged.metrics or []} == {"auprc"}
    assert not (tmp_path / "mlruns").exists()
    mlmodel = mlflow.artifacts.download_artifacts(
        f"{logged.artifact_location}/MLmodel",
        dst_path=str(tmp_path),
        tracking_uri=mlflow_backend.tracking_uri,
    )
    model_info = Model.load(mlmodel)
    assert model_info.metadata == {
        "feature_version": "fe-1",
        "threshold": 0.375,
        "dataset_id": "d" * 64,
        "metrics": {"auprc": 0.81, "roc_auc": 0.97},
    }
    assert model_info.signature.inputs.input_names() == list(feature_rows.columns)
    assert model_info.saved_input_example_info is not None


def test_log_model_leaves_mlflow_global_state_as_it_found_it(
    mlflow_backend: MlflowBackend, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> None:
    before = (mlflow.get_tracking_uri(), os.environ.get("MLFLOW_TRACKING_URI"))
    with tracker_for(mlflow_backend).start_run("train", {}) as run:
        run.log_model(LightGBMFraudModel(tiny_booster), METADATA, feature_rows)

    assert (mlflow.get_tracking_uri(), os.environ.get("MLFLOW_TRACKING_URI")) == before
    assert mlflow.active_run() is None


@pytest.mark.slow
def test_trackers_on_two_stores_log_models_concurrently_each_into_its_own(
    tmp_path: Path, tiny_booster: lgb.Booster, feature_rows: pd.DataFrame
) -> None:
    stores = [tmp_path / "a", tmp_path / "b"]
    trackers = [
        MlflowExperimentTracker(f"sqlite:///{store / 'mlflow.db'}", "concurrent", (store / "art").as_uri())
        for store in stores
    ]
    uris: dict[int, list[str]] = {0: [], 1: []}
    errors: list[BaseException] = []

    def train(index: int) -> None:
        try:
            for _ in range(2):
                with trackers[index].start_run("train", {}) as run:
                    uris[index].append(
                        run.log_model(LightGBMFraudModel(tiny_booster), METADATA, feature_rows)
                    )
        except BaseException as error:  # surfaced by the assertion below
            errors.append(error)

    threads = [threading.Thread(target=train, args=(index,)) for index in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)

    assert errors == []
    for index, store in enumerate(stores):
        client = MlflowClient(f"sqlite:///{store / 'mlflow.db'}")
        for model_uri in uris[index]:
            logged = client.get_logged_model(model_uri.removeprefix("models:/"))
            assert logged.artifact_location.startswith((store / "art").as_uri())


def test_unreachable_server_raises_a_domain_error_naming_the_uri(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")  # the retry schedule is measured elsewhere
    tracker = MlflowExperimentTracker("http://127.0.0.1:9", "unreachable")

    with (
        pytest.raises(TrackingStoreUnavailableError, match=r"http://127\.0\.0\.1:9 is unavailable"),
        tracker.start_run("train", {}),
    ):
        pytest.fail("a run started on a server that is down")


def test_http_retry_defaults_apply_unless_the_deployer_set_them(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    monkeypatch.setenv("MLFLOW_HTTP_REQUEST_TIMEOUT", "42")

    MlflowExperimentTracker("http://127.0.0.1:9", "defaults")

    assert os.environ["MLFLOW_HTTP_REQUEST_MAX_RETRIES"] == HTTP_DEFAULTS["MLFLOW_HTTP_REQUEST_MAX_RETRIES"]
    assert os.environ["MLFLOW_HTTP_REQUEST_TIMEOUT"] == "42"
